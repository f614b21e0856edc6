"""``compare(a, b)``: is program b better than program a on the same dev set?

A paired bootstrap over examples: both programs were scored on the same examples, so the
per-example differences ``b - a`` are resampled together, which removes the variation due
to some examples being easier than others. The verdict follows the interval of the mean
difference: if it excludes 0, one program is better.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from pliable.errors import UsageError
from pliable.evaluation.result import EvaluationResult, format_score
from pliable.evaluation.stats import paired_bootstrap

__all__ = ["Comparison", "compare"]

logger = logging.getLogger(__name__)

B_BETTER = "b is better"
A_BETTER = "a is better"
NO_DIFFERENCE = "no significant difference"


@dataclass(frozen=True)
class Comparison:
    """The paired comparison of two evaluations (``difference`` is b − a)."""

    a_score: float
    b_score: float
    difference: float
    ci_low: float
    ci_high: float
    p_value: float
    confidence: float
    n: int
    b_wins: int
    a_wins: int
    ties: int
    as_percent: bool = True
    a_name: str = "a"
    b_name: str = "b"

    @property
    def verdict(self) -> str:
        """ "b is better", "a is better" or "no significant difference" (the interval decides)."""
        if self.ci_low > 0:
            return B_BETTER
        if self.ci_high < 0:
            return A_BETTER
        return NO_DIFFERENCE

    def _diff(self, value: float) -> str:
        return f"{100 * value:+.1f} points" if self.as_percent else f"{value:+.3f}"

    def summary(self) -> str:
        level = f"{100 * self.confidence:g}%"
        return "\n".join(
            [
                f"{self.verdict}: b − a = {self._diff(self.difference)} "
                f"({level} CI {self._diff(self.ci_low)} to {self._diff(self.ci_high)}, "
                f"p ≈ {self.p_value:.3g}, paired bootstrap over {self.n} examples)",
                f"  a  {format_score(self.a_score, self.as_percent)}  {self.a_name}",
                f"  b  {format_score(self.b_score, self.as_percent)}  {self.b_name}",
                f"  per example: b higher {self.b_wins}, a higher {self.a_wins}, equal {self.ties}",
            ]
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "a_score": self.a_score,
            "b_score": self.b_score,
            "difference": self.difference,
            "ci_low": self.ci_low,
            "ci_high": self.ci_high,
            "p_value": self.p_value,
            "confidence": self.confidence,
            "n": self.n,
            "b_wins": self.b_wins,
            "a_wins": self.a_wins,
            "ties": self.ties,
            "verdict": self.verdict,
            "a": self.a_name,
            "b": self.b_name,
        }


def _paired_scores(a: EvaluationResult, b: EvaluationResult) -> tuple[list[float], list[float]]:
    if a.n != b.n:
        raise UsageError(
            f"compare() needs two evaluations of the same devset; a has {a.n} examples and b "
            f"has {b.n}. Evaluate both programs on the same examples."
        )
    rows_a = {r.index: r for r in a.rows}
    rows_b = {r.index: r for r in b.rows}
    if rows_a.keys() != rows_b.keys():
        raise UsageError("compare(): the two evaluations cover different example indices.")
    for i in sorted(rows_a):
        if rows_a[i].example != rows_b[i].example:
            raise UsageError(
                f"compare(): example {i} differs between the evaluations "
                f"({rows_a[i].example!r} vs {rows_b[i].example!r}). Evaluate both programs on "
                "the same devset, in the same order."
            )
    order = sorted(rows_a)
    return [rows_a[i].score for i in order], [rows_b[i].score for i in order]


def compare(
    a: EvaluationResult,
    b: EvaluationResult,
    *,
    n_resamples: int = 10000,
    seed: int = 0,
    confidence: float = 0.95,
) -> Comparison:
    """Compare two evaluations of the same devset by a paired bootstrap (b − a)."""
    if a.metric != b.metric:
        logger.warning("compare(): the metrics differ (%s vs %s)", a.metric, b.metric)
    sa, sb = _paired_scores(a, b)
    test = paired_bootstrap(sa, sb, confidence=confidence, n_resamples=n_resamples, seed=seed)
    return Comparison(
        a_score=a.score,
        b_score=b.score,
        difference=test.difference,
        ci_low=test.ci_low,
        ci_high=test.ci_high,
        p_value=test.p_value,
        confidence=confidence,
        n=len(sa),
        b_wins=sum(1 for x, y in zip(sa, sb, strict=True) if y > x),
        a_wins=sum(1 for x, y in zip(sa, sb, strict=True) if y < x),
        ties=sum(1 for x, y in zip(sa, sb, strict=True) if y == x),
        as_percent=a.in_unit_range and b.in_unit_range,
        a_name=a.program or "a",
        b_name=b.program or "b",
    )
