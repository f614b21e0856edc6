"""``EvaluationResult``: the score of a program on a dev set, with its interval and rows."""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from functools import cached_property
from typing import Any

from pliable.data.example import Example
from pliable.evaluation.floor import Floor, FloorComparison
from pliable.evaluation.jsonable import jsonable
from pliable.lm.usage import ModelUsage
from pliable.programs.tracing import TraceEntry

__all__ = ["EvaluationResult", "EvaluationRow", "format_score"]


@dataclass(frozen=True)
class EvaluationRow:
    """One example's outcome. ``error`` is ``"Type: message"`` when the program or the metric
    raised (``failed_in`` says which; the score is then 0.0), else ``None``."""

    index: int
    example: Example
    prediction: Any
    score: float
    feedback: str = ""
    error: str | None = None
    failed_in: str | None = None
    exception: BaseException | None = field(default=None, repr=False, compare=False)
    trace: tuple[TraceEntry, ...] = field(default=(), repr=False, compare=False)

    @property
    def ok(self) -> bool:
        return self.error is None

    def to_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "example": jsonable(self.example.to_dict()),
            "prediction": jsonable(self.prediction),
            "score": self.score,
            "feedback": self.feedback,
            "error": self.error,
            "failed_in": self.failed_in,
        }


def format_score(value: float, as_percent: bool) -> str:
    """A score for a summary: a percentage for [0, 1] scores, else three decimals, or four
    significant digits when that would be a wall of digits (a metric returning 1e300)."""
    if as_percent:
        return f"{100 * value:.1f}%"
    return f"{value:.3f}" if abs(value) < 1e6 else f"{value:.4g}"


def _usage_dict(usage: ModelUsage) -> dict[str, Any]:
    return {**asdict(usage), "total_tokens": usage.total_tokens}


@dataclass(frozen=True)
class EvaluationResult:
    """What :func:`~pliable.evaluate` found.

    ``score`` is the mean of the rows' scores (in the metric's units; failed rows count 0),
    ``ci_low``/``ci_high`` its percentile bootstrap interval at level ``confidence``. ``usage``
    totals every LM call made while evaluating (program and metric), ``usage_by_model``
    splits it per model; ``wall_time`` is in seconds.

    ``floor`` is the score of always giving the most common answer (see
    :func:`~pliable.evaluation.floor.majority_floor`), or ``None`` when no floor applies;
    ``vs_floor`` compares the rows' scores with it.
    """

    score: float
    ci_low: float
    ci_high: float
    confidence: float
    rows: tuple[EvaluationRow, ...]
    usage: ModelUsage
    usage_by_model: dict[str, ModelUsage]
    wall_time: float
    metric: str = ""
    program: str = ""
    floor: Floor | None = None

    @property
    def percent(self) -> float:
        return 100.0 * self.score

    @property
    def n(self) -> int:
        return len(self.rows)

    @property
    def n_errors(self) -> int:
        return sum(1 for r in self.rows if r.error is not None)

    @property
    def scores(self) -> list[float]:
        return [r.score for r in self.rows]

    @property
    def failures(self) -> list[EvaluationRow]:
        """The rows whose program or metric raised."""
        return [r for r in self.rows if r.error is not None]

    @property
    def in_unit_range(self) -> bool:
        """Whether every score lies in [0, 1] (then scores read as percentages)."""
        return all(0.0 <= s <= 1.0 for s in self.scores)

    @cached_property
    def vs_floor(self) -> FloorComparison | None:
        """The rows' scores against the floor's (paired; a bootstrap, run once), or ``None``
        without a floor."""
        if self.floor is None or self.floor.n != self.n:
            return None
        return self.floor.compare(self.scores, confidence=self.confidence)

    def __repr__(self) -> str:
        pct = self.in_unit_range
        floor = "" if self.floor is None else f", floor={format_score(self.floor.score, pct)}"
        return (
            f"EvaluationResult(score={format_score(self.score, pct)}, "
            f"ci=[{format_score(self.ci_low, pct)}, {format_score(self.ci_high, pct)}], "
            f"n={self.n}, errors={self.n_errors}{floor})"
        )

    def _floor_line(self) -> str | None:
        if self.floor is None:
            return None
        versus = self.vs_floor
        verdict = ""
        if versus is not None:
            level = f"{100 * versus.confidence:g}% CI"
            verdict = {
                "above": "; the program is above it",
                "at or below": "; the program does not beat it",
                "not clearly above": (
                    f"; the program is not clearly above it ({versus.difference:+.3f}, {level} "
                    f"[{versus.ci_low:+.3f}, {versus.ci_high:+.3f}])"
                ),
            }[versus.verdict]
        shown = format_score(self.floor.score, self.in_unit_range)
        return f"  floor      {shown} {self.floor.describe()}, 0 LM calls{verdict}"

    def _error_line(self) -> str:
        failures = self.failures
        if not failures:
            return "0"
        kinds = Counter((r.error or "").split(":", 1)[0] for r in failures)
        by_kind = ", ".join(f"{kind} ×{count}" for kind, count in kinds.most_common())
        first = failures[0]
        message = (first.error or "").splitlines()[0]
        if len(message) > 160:
            message = message[:157] + "..."
        return (
            f"{len(failures)} of {self.n} ({by_kind}); first, example {first.index} "
            f"({first.failed_in}): {message}"
        )

    def summary(self) -> str:
        """A short readable report: score and interval, the majority-answer floor (when one
        applies), errors, LM usage, time."""
        pct = self.in_unit_range
        level = f"{100 * self.confidence:g}%"
        u = self.usage
        lines = [
            f"{self.metric or 'score'}: {format_score(self.score, pct)} on {self.n} examples "
            f"({level} CI {format_score(self.ci_low, pct)} to {format_score(self.ci_high, pct)})",
        ]
        floor = self._floor_line()
        if floor is not None:
            lines.append(floor)
        if self.program:
            lines.append(f"  program    {self.program}")
        lines += [
            f"  errors     {self._error_line()}",
            f"  LM calls   {u.calls} ({u.cache_hits} cache hits)",
            f"  tokens     {u.total_tokens} ({u.prompt_tokens} prompt, "
            f"{u.completion_tokens} completion)",
            f"  cost       ${u.cost:.6f}",
        ]
        if len(self.usage_by_model) > 1:
            lines += [
                f"    {model}: {mu.calls} calls, {mu.cache_hits} cache hits, "
                f"{mu.total_tokens} tokens, ${mu.cost:.6f}"
                for model, mu in sorted(self.usage_by_model.items())
            ]
        lines.append(f"  wall time  {self.wall_time:.2f} s")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """Everything but the traces and exception objects, as JSON-able data."""
        return {
            "metric": self.metric,
            "program": self.program,
            "score": self.score,
            "percent": self.percent,
            "ci_low": self.ci_low,
            "ci_high": self.ci_high,
            "confidence": self.confidence,
            "n": self.n,
            "n_errors": self.n_errors,
            "wall_time": self.wall_time,
            "usage": _usage_dict(self.usage),
            "usage_by_model": {m: _usage_dict(u) for m, u in self.usage_by_model.items()},
            "floor": self.floor.to_dict() if self.floor is not None else None,
            "vs_floor": versus.to_dict() if (versus := self.vs_floor) is not None else None,
            "rows": [r.to_dict() for r in self.rows],
        }
