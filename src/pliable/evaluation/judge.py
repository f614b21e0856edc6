"""``llm_judge(criteria)``: a metric that asks an LM whether a prediction meets criteria.

The judge is a :class:`~pliable.Predict` over :class:`JudgeSignature`: it reads the
criteria, the example and the prediction (each written out as ``field: value`` lines) and
answers a yes/no ``verdict`` with ``feedback``. The metric returns
``Score(1.0 or 0.0, feedback)``. The judge uses ``lm`` when given, else the LM in force where
the metric runs (``pl.using`` / ``pl.configure``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from pliable.data.score import Score
from pliable.evaluation.metric_base import Metric, MetricFn
from pliable.programs.predict import Predict
from pliable.signatures import InputField, OutputField, Signature

if TYPE_CHECKING:
    from pliable.lm.types import LanguageModel

__all__ = ["JudgeMetric", "JudgeSignature", "llm_judge"]


class JudgeSignature(Signature):
    """Judge whether the prediction meets the criteria, given the example it answers.
    Be strict: the verdict is true only if every part of the criteria is met."""

    criteria: str = InputField(desc="what a good prediction must do")
    example: str = InputField(desc="the example's fields, one `name: value` per line")
    prediction: str = InputField(desc="the prediction's fields, one `name: value` per line")
    verdict: bool = OutputField(desc="true if the prediction meets the criteria, else false")
    feedback: str = OutputField(desc="one or two sentences on why, and what to fix")


def as_lines(values: Any, fields: Sequence[str] | None = None) -> str:
    """``name: value`` lines for the chosen fields of a mapping (or its text, if not one)."""
    if not isinstance(values, Mapping):
        return str(values)
    names = list(values) if fields is None else [f for f in fields if f in values]
    return "\n".join(f"{name}: {values[name]}" for name in names)


class JudgeMetric(Metric):
    """The metric ``llm_judge`` builds; ``judge`` is its :class:`~pliable.Predict`."""

    def __init__(self, fn: MetricFn, judge: Predict, **arguments: Any) -> None:
        super().__init__(fn, "llm_judge", **arguments)
        self.judge = judge


def llm_judge(
    criteria: str,
    *,
    lm: LanguageModel | None = None,
    fields: Sequence[str] | None = None,
) -> JudgeMetric:
    """A metric asking an LM whether the prediction meets ``criteria``.

    Args:
        criteria: what a good prediction does, in words (e.g. "answers the question
            correctly and cites a source").
        lm: the judge's LM (else the one configured where the metric runs).
        fields: the example fields shown to the judge (default: all of them). The
            prediction's fields are all shown.
    """
    judge = Predict(JudgeSignature, lm=lm)
    chosen = None if fields is None else list(fields)

    def score(example: Any, prediction: Any, trace: Any = None) -> Score:
        verdict = judge(
            criteria=criteria,
            example=as_lines(example, chosen),
            prediction=as_lines(prediction),
        )
        return Score(1.0 if verdict.verdict else 0.0, str(verdict.feedback or ""))

    shown = criteria if len(criteria) <= 60 else criteria[:57] + "..."
    arguments: dict[str, Any] = {"criteria": shown}
    if chosen is not None:
        arguments["fields"] = chosen
    return JudgeMetric(score, judge, **arguments)
