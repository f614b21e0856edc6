"""``majority_floor``: the score of always giving the most common answer, at 0 LM calls.

A program that picks one of a few labels can score well while doing nothing: on a two-choice
task where 60% of the answers are "no", always answering "no" scores 0.6. That score is the
*floor*; a program that does not beat it has learnt nothing about the inputs, whatever its
gain over another program. :func:`majority_floor` measures it with the metric itself, on the
same dev examples, without calling an LM.

Which field it floors, in this order:

* ``field=`` when given;
* with ``pl.metrics.multiple_choice(field, choices_field)``, that metric's ``field``;
* else the last predictor's (``program.named_predictors()``, walked from the last) output
  field that the examples carry a gold label for, when that field is a ``Literal``, an
  ``Enum`` or a ``bool`` (optional or not), or when the examples' inputs carry a
  ``choices`` list; for a plain function program, the examples' only label when their
  inputs carry ``choices``.

Free-text outputs (a ``str`` field and no ``choices``) have no floor: ``None``.

The constant answer is the most common gold value of the field in the trainset (ties go to
the one seen first; text compares normalised). Where the examples carry ``choices``, the
floor may instead always pick the same *position* (``always choice 2``), when the right
choice's position repeats more often in the trainset than its text does (choice lists that
differ per question). Without a trainset the majority is taken on the dev examples
themselves, and the floor says so (``source="devset"``): it then knows the answers it is
scored on, which makes it a stricter bar, not a looser one.

A metric that asks an LM (``pl.metrics.llm_judge``, or a metric of your own that calls one)
makes the floor unavailable rather than spend a call: it is scored inside
``track_usage(max_calls=0)``. So does a metric that raises on the constant prediction (for
instance one that also reads a ``reasoning`` field).
"""

from __future__ import annotations

import dataclasses
import enum
import json
import logging
import math
import typing
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from pliable.data.example import Example, Prediction
from pliable.data.score import metric_name, to_score
from pliable.errors import BudgetExceededError, UsageError
from pliable.evaluation.jsonable import jsonable
from pliable.evaluation.metric_base import Metric, metric_caller
from pliable.evaluation.metrics import choice_index
from pliable.evaluation.text import normalize_answer
from pliable.lm.usage import track_usage

__all__ = ["Floor", "FloorComparison", "majority_floor"]

logger = logging.getLogger(__name__)

Strategy = Literal["answer", "position"]
Source = Literal["trainset", "devset"]


def _ordinal(k: int) -> str:
    suffix = "th" if 10 <= k % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(k % 10, "th")
    return f"{k}{suffix}"


@dataclass(frozen=True)
class FloorComparison:
    """A program's per-example scores against the floor's, paired: the mean of
    ``program − floor``, its bootstrap interval at ``confidence`` and a p-value."""

    difference: float
    ci_low: float
    ci_high: float
    p_value: float
    confidence: float
    floor: Floor = dataclasses.field(repr=False)

    @property
    def verdict(self) -> Literal["above", "not clearly above", "at or below"]:
        """``"above"`` when the interval lies above 0, ``"at or below"`` when the program's
        mean is not higher than the floor's, else ``"not clearly above"``."""
        if self.difference <= 0.0:
            return "at or below"
        return "above" if self.ci_low > 0.0 else "not clearly above"

    @property
    def beaten(self) -> bool:
        """Whether the program beats the floor beyond the noise."""
        return self.verdict == "above"

    def describe(self) -> str:
        """A phrase for a sentence about the program, e.g. ``"at or below the majority-answer
        floor 0.600 (always 'no')"``."""
        f = self.floor
        if self.verdict == "above":
            return f"above the majority-answer floor {f.score:.3f}"
        if self.verdict == "at or below":
            return f"at or below the majority-answer floor {f.score:.3f} ({f.answer_text()})"
        level = f"{100 * self.confidence:g}% CI"
        return (
            f"not clearly above the majority-answer floor {f.score:.3f} ({f.answer_text()}): "
            f"{self.difference:+.3f}, {level} [{self.ci_low:+.3f}, {self.ci_high:+.3f}]"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "difference": self.difference,
            "ci_low": self.ci_low,
            "ci_high": self.ci_high,
            "p_value": self.p_value,
            "confidence": self.confidence,
            "verdict": self.verdict,
        }


@dataclass(frozen=True)
class Floor:
    """The score of always giving one answer, measured with the metric on the dev examples.

    ``answer`` is the constant answer put in the prediction's ``field``; with
    ``strategy="position"`` it is instead a choice number counted from 1 (the prediction is
    that choice's text in each example). ``source`` says where the majority was counted
    (``"trainset"``, or ``"devset"`` when no trainset had the field), ``support`` how many of
    that set's ``total`` labelled examples have that answer. ``values`` are the per-example
    scores, in the dev examples' order. It cost 0 LM calls.
    """

    score: float
    field: str
    answer: Any
    strategy: Strategy
    source: Source
    support: int
    total: int
    metric: str = ""
    values: tuple[float, ...] = dataclasses.field(default=(), repr=False)

    @property
    def n(self) -> int:
        return len(self.values)

    def answer_text(self) -> str:
        """``always 'no'`` or ``always choice 2``."""
        if self.strategy == "position":
            return f"always choice {self.answer}"
        shown = jsonable(self.answer)
        text = repr(shown) if not isinstance(shown, (dict, list)) else json.dumps(shown)
        return f"always {text if len(text) <= 40 else text[:37] + '...'}"

    def describe(self) -> str:
        """The constant answer and where it comes from, e.g. ``always 'no' (the trainset's
        most common `answer`: 58 of 100)``."""
        where = "the trainset's" if self.source == "trainset" else "these dev examples' own"
        what = (
            f"most common position of the right choice ({_ordinal(self.answer)})"
            if self.strategy == "position"
            else f"most common `{self.field}`"
        )
        note = "; no trainset given" if self.source == "devset" else ""
        return f"{self.answer_text()} ({where} {what}: {self.support} of {self.total}{note})"

    def __str__(self) -> str:
        return f"{self.score:.3f} {self.describe()}, 0 LM calls"

    def compare(self, values: Sequence[float], *, confidence: float = 0.95) -> FloorComparison:
        """A program's per-example scores on the same dev examples (same order) against the
        floor's, with a paired bootstrap."""
        from pliable.evaluation.stats import paired_bootstrap

        if len(values) != len(self.values):
            raise UsageError(
                f"Floor.compare() takes the program's scores on the floor's {self.n} dev "
                f"examples, in order; got {len(values)} scores. Score the program on the same "
                "examples."
            )
        test = paired_bootstrap(list(self.values), list(values), confidence=confidence)
        return FloorComparison(
            test.difference, test.ci_low, test.ci_high, test.p_value, confidence, self
        )

    def to_dict(self) -> dict[str, Any]:
        """Everything but the per-example values, as JSON-able data."""
        return {
            "score": self.score,
            "field": self.field,
            "answer": jsonable(self.answer),
            "strategy": self.strategy,
            "source": self.source,
            "support": self.support,
            "total": self.total,
            "n": self.n,
            "metric": self.metric,
            "lm_calls": 0,
            "text": self.describe(),
        }


# --- which field ------------------------------------------------------------------------------


def _is_closed(annotation: Any) -> bool:
    """Whether a field type has a few fixed values: Literal, Enum, bool (or Optional of one)."""
    origin = typing.get_origin(annotation)
    if origin is Literal:
        return True
    if annotation is bool:
        return True
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return True
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    union = origin is typing.Union or type(annotation).__name__ == "UnionType"
    return union and len(args) == 1 and _is_closed(args[0])


def _labels(examples: Sequence[Example]) -> set[str]:
    """The label fields every example has."""
    keys = [set(ex.labels()) for ex in examples]
    return set.intersection(*keys) if keys else set()


def _has_choices(examples: Sequence[Example], name: str) -> bool:
    def ok(ex: Example) -> bool:
        value = ex.get(name)
        return (ex.input_keys is None or name in ex.input_keys) and isinstance(value, (list, tuple))

    return bool(examples) and all(ok(ex) for ex in examples)


def _output_fields(program: Any) -> list[tuple[str, Any]]:
    """``(name, annotation)`` of every predictor's output fields, the last predictor first."""
    named = getattr(program, "named_predictors", None)
    if not callable(named):
        return []
    out: list[tuple[str, Any]] = []
    for _, predictor in reversed(named()):
        outputs = predictor.signature.output_fields
        out += [(name, f.annotation) for name, f in outputs.items()]
    return out


def _target(
    program: Any, examples: Sequence[Example], metric: Any, wanted: str | None
) -> tuple[str, str | None] | None:
    """The field to floor and the input holding its choices (or None), else None."""
    labels = _labels(examples)
    arguments = getattr(metric, "arguments", {}) if isinstance(metric, Metric) else {}
    choices = "choices" if _has_choices(examples, "choices") else None
    if isinstance(metric, Metric) and metric.__name__ == "multiple_choice":
        choices_field = str(arguments.get("choices_field", "choices"))
        choices = choices_field if _has_choices(examples, choices_field) else None
        scored = str(arguments.get("field", "answer"))
        if wanted is None:
            return (scored, choices) if scored in labels and choices is not None else None
    if wanted is not None:
        if wanted not in labels:
            shown = ", ".join(sorted(labels)) or "(none)"
            raise UsageError(
                f"majority_floor(field={wanted!r}): not every dev example has a label "
                f"{wanted!r}; the labels they all have: {shown}. Name one of those."
            )
        return wanted, choices
    outputs = _output_fields(program)
    for name, annotation in outputs:
        if name in labels and (choices is not None or _is_closed(annotation)):
            return name, choices
    if not outputs and choices is not None and len(labels) == 1:
        return next(iter(labels)), choices
    return None


# --- which answer -----------------------------------------------------------------------------


def _key(value: Any) -> Any:
    if isinstance(value, str):
        return ("text", normalize_answer(value) or value)
    try:
        hash(value)
    except TypeError:
        return ("json", json.dumps(jsonable(value), sort_keys=True))
    return ("value", value)


def _majority(
    rows: Sequence[Example], name: str, choices_field: str | None
) -> tuple[Strategy, Any, int, int] | None:
    """(strategy, answer, support, total) of the most common gold in ``rows``, else None."""
    counts: Counter[Any] = Counter()
    first: dict[Any, Any] = {}
    positions: Counter[int] = Counter()
    total = 0
    for ex in rows:
        if name not in ex or ex[name] is None:
            continue
        gold = ex[name]
        if choices_field is not None:
            options = ex.get(choices_field)
            if not isinstance(options, (list, tuple)):
                continue
            index = choice_index(gold, options)
            if index is None:
                continue
            gold = options[index]
            positions[index] += 1
        total += 1
        key = _key(gold)
        counts[key] += 1
        first.setdefault(key, gold)
    if not total:
        return None
    key, support = counts.most_common(1)[0]
    if positions:
        index, by_position = positions.most_common(1)[0]
        if by_position > support:
            return "position", index + 1, by_position, total
    return "answer", first[key], support, total


def _prediction(
    ex: Example, name: str, strategy: Strategy, answer: Any, choices: str | None
) -> Any:
    if strategy == "answer":
        return Prediction({name: answer})
    options = ex.get(choices) if choices is not None else None
    k = int(answer) - 1
    if isinstance(options, (list, tuple)) and 0 <= k < len(options):
        return Prediction({name: options[k]})
    return Prediction({name: f"[{answer}]"})  # no such choice here: names none of them


def _scores(
    metric: Callable[..., Any], examples: Sequence[Example], predictions: Sequence[Any]
) -> tuple[float, ...] | None:
    call, _ = metric_caller(metric)
    values: list[float] = []
    try:
        with track_usage(max_calls=0):  # the floor never spends an LM call
            for ex, pred in zip(examples, predictions, strict=True):
                values.append(to_score(call(ex, pred, []), metric).value)
    except BudgetExceededError:
        logger.info("no majority floor: the metric %s calls an LM", metric_name(metric))
        return None
    except Exception as exc:  # the metric cannot score a constant answer: no floor
        logger.info(
            "no majority floor: the metric %s raised on the constant answer: %r",
            metric_name(metric),
            exc,
        )
        return None
    return tuple(values)


def majority_floor(
    program: Any,
    devset: Iterable[Example],
    metric: Callable[..., Any],
    *,
    trainset: Iterable[Example] | None = None,
    field: str | None = None,
) -> Floor | None:
    """The score on ``devset`` of always giving ``trainset``'s most common answer, or
    ``None`` when no floor applies (free-text outputs, a metric that needs an LM).

    Args:
        program: the program being scored; only its predictors' signatures are read (it is
            never called).
        devset: the examples to score the constant answer on (inputs marked).
        metric: the metric the program is scored with.
        trainset: where the most common answer is counted; without one (or without the
            field in it), the dev examples themselves (``source="devset"``).
        field: the field to floor, when it is not found from the signature (e.g. a ``str``
            label with few values).
    """
    from pliable.evaluation.judge import JudgeMetric

    dev = list(devset)
    if not dev or isinstance(metric, JudgeMetric):
        return None
    target = _target(program, dev, metric, field)
    if target is None:
        return None
    name, choices = target
    train = list(trainset or [])
    source: Source = "trainset"
    pick = _majority(train, name, choices)
    if pick is None:
        source, pick = "devset", _majority(dev, name, choices)
    if pick is None:
        return None
    strategy, answer, support, total = pick
    predictions = [_prediction(ex, name, strategy, answer, choices) for ex in dev]
    values = _scores(metric, dev, predictions)
    if values is None:
        return None
    return Floor(
        score=math.fsum(values) / len(values),
        field=name,
        answer=answer,
        strategy=strategy,
        source=source,
        support=support,
        total=total,
        metric=metric_name(metric),
        values=values,
    )
