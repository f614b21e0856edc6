"""Ready-made metrics. Each function builds a metric: ``pl.metrics.exact_match("answer")``.

A metric built here is called as ``metric(example, prediction)`` (a trace may be passed
third and is ignored) and prints as the call that built it. The text metrics normalise
answers SQuAD-style (see :func:`~pliable.evaluation.text.normalize_answer`), and a label that
is a list counts any of its items as a right answer. A field missing from the example or the
prediction is a :class:`~pliable.errors.UsageError` (kept on the row by ``evaluate``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from pliable.errors import UsageError
from pliable.evaluation.judge import llm_judge
from pliable.evaluation.metric_base import Metric, field_value
from pliable.evaluation.text import (
    as_text,
    contains_tokens,
    gold_answers,
    normalize_answer,
    token_f1,
)

__all__ = ["exact_match", "f1", "llm_judge", "multiple_choice", "passage_match"]


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _same(prediction: Any, gold: Any, normalize: bool) -> bool:
    if _is_number(prediction) and _is_number(gold):
        return float(prediction) == float(gold)
    if normalize:
        return normalize_answer(prediction) == normalize_answer(gold)
    return as_text(prediction) == as_text(gold)


def exact_match(field: str = "answer", *, normalize: bool = True) -> Metric:
    """1.0 if the prediction's ``field`` equals the example's (or one of a list of them).

    With ``normalize`` (the default) case, punctuation, articles and spacing are ignored;
    numbers compare by value; other non-text values compare as text.
    """

    def score(example: Any, prediction: Any, trace: Any = None) -> float:
        name = repr(metric)
        gold = field_value(example, field, role="example", metric=name)
        pred = field_value(prediction, field, role="prediction", metric=name)
        return float(any(_same(pred, g, normalize) for g in gold_answers(gold)))

    shown: dict[str, Any] = {"field": field} if normalize else {"field": field, "normalize": False}
    metric = Metric(score, "exact_match", **shown)
    return metric


def f1(field: str = "answer") -> Metric:
    """Token-level F1 of the prediction's ``field`` against the example's (best over a list)."""

    def score(example: Any, prediction: Any, trace: Any = None) -> float:
        name = repr(metric)
        gold = field_value(example, field, role="example", metric=name)
        pred = field_value(prediction, field, role="prediction", metric=name)
        return max(token_f1(pred, g) for g in gold_answers(gold) or [""])

    metric = Metric(score, "f1", field=field)
    return metric


def _passage_text(passage: Any) -> Any:
    if isinstance(passage, Mapping):
        for key in ("text", "long_text", "content"):
            if key in passage:
                return passage[key]
    return passage


def passage_match(field: str = "context", answer_field: str = "answer") -> Metric:
    """1.0 if a retrieved passage (the prediction's ``field``: a list of passages or one)
    contains the example's ``answer_field`` (or one of a list of them), compared normalised
    and as whole words. Passages may be strings or dicts with a ``text`` key."""

    def score(example: Any, prediction: Any, trace: Any = None) -> float:
        name = repr(metric)
        gold = field_value(example, answer_field, role="example", metric=name)
        found = field_value(prediction, field, role="prediction", metric=name)
        passages = [found] if isinstance(found, (str, Mapping)) else list(found or [])
        texts = [_passage_text(p) for p in passages]
        return float(any(contains_tokens(texts, g) for g in gold_answers(gold)))

    metric = Metric(score, "passage_match", field=field, answer_field=answer_field)
    return metric


_LETTER = re.compile(r"\s*[(\[]?\s*([A-Za-z])\s*(?:[)\].:]|$)", re.DOTALL)


# "[2]", "[2] Yes", or "[[choices]][2]" (the input field's marker, then the number)
_NUMBERED = re.compile(r"^\s*(?:\[\[\s*[A-Za-z_]\w*\s*\]\]\s*)?\[(\d+)\]\s*(.*)$", re.S)


def choice_index(value: Any, choices: Sequence[Any]) -> int | None:
    """Which choice ``value`` names: the choice's text (normalised), a letter (``"B"``,
    ``"(b)"``, ``"B) Paris"``) or a 0-based index; ``None`` when it names none."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, str) and (numbered := _NUMBERED.match(value)):
        # "[2] Yes" or "[2]": how pliable numbered list inputs in prompts before it wrote
        # bullets (1-based), and how a model may still number them; a model may prefix the
        # list's marker ("[[choices]][2]")
        rest = numbered.group(2).strip()
        by_text = choice_index(rest, choices) if rest else None
        if by_text is not None:
            return by_text
        k = int(numbered.group(1)) - 1
        return k if 0 <= k < len(choices) else None
    wanted = normalize_answer(value)
    for i, choice in enumerate(choices):
        if normalize_answer(choice) == wanted and wanted:
            return i
    if isinstance(value, str):
        letter = _LETTER.match(value)
        if letter:
            index = ord(letter.group(1).upper()) - ord("A")
            return index if index < len(choices) else None
        if value.strip().isdigit():
            value = int(value.strip())
    if isinstance(value, int):
        return value if 0 <= value < len(choices) else None
    return None


def multiple_choice(field: str = "answer", choices_field: str = "choices") -> Metric:
    """1.0 if the prediction's ``field`` names the same choice as the example's.

    Either side may name a choice by its text (case and punctuation ignored), by letter
    (A, B, C ...), by 0-based index, or as ``[k]`` / ``[k] text`` with k counted from 1 (the
    way pliable numbers a list in a prompt), also after the list's marker
    (``[[choices]][2]``); the choices are the example's ``choices_field``.
    """

    def score(example: Any, prediction: Any, trace: Any = None) -> float:
        name = repr(metric)
        choices = field_value(example, choices_field, role="example", metric=name)
        if isinstance(choices, str) or not isinstance(choices, Sequence):
            raise UsageError(
                f"Metric {name}: the example's {choices_field!r} should be a list of choices; "
                f"got {type(choices).__name__} {choices!r}."
            )
        gold = field_value(example, field, role="example", metric=name)
        gold_index = choice_index(gold, choices)
        if gold_index is None:
            raise UsageError(
                f"Metric {name}: the example's {field!r} = {gold!r} names none of the choices "
                f"{list(choices)!r}. Give the answer as a choice's text, letter or index."
            )
        pred = field_value(prediction, field, role="prediction", metric=name)
        return float(choice_index(pred, choices) == gold_index)

    metric = Metric(score, "multiple_choice", field=field, choices_field=choices_field)
    return metric
