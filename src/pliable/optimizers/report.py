"""``CompileReport``: what an optimizer did and measured, saved with the compiled program."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pliable.data.example import Example
    from pliable.evaluation import EvaluationResult
    from pliable.lm.usage import ModelUsage, UsageTracker

__all__ = ["CompileReport", "ScoreSummary", "fingerprint"]


def fingerprint(examples: Sequence[Example]) -> str:
    """A short, stable hash of a dataset (its rows as canonical JSON)."""
    from pliable.adapters.values import to_jsonable

    rows = [json.dumps(to_jsonable(dict(e)), sort_keys=True, default=str) for e in examples]
    return hashlib.sha256("\n".join(rows).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class ScoreSummary:
    """A score on a dataset with its bootstrap confidence interval; ``errors`` examples raised
    errors, the first of them ``first_error`` (its message; None when none did, or when it is
    not known)."""

    score: float
    ci_low: float
    ci_high: float
    n: int
    errors: int = 0
    first_error: str | None = None

    @classmethod
    def of(cls, result: EvaluationResult) -> ScoreSummary:
        first = next((r.error for r in result.rows if r.error is not None), None)
        first = (first.splitlines() or [""])[0][:300] if first is not None else None
        return cls(result.score, result.ci_low, result.ci_high, result.n, result.n_errors, first)

    def __str__(self) -> str:
        return f"{self.score:.3f} [{self.ci_low:.3f}, {self.ci_high:.3f}] (n={self.n})"


@dataclass
class CompileReport:
    """Baseline vs final on the valset, the candidates tried, and the cost of compiling."""

    optimizer: str
    settings: dict[str, Any]
    dataset: dict[str, Any]
    baseline: ScoreSummary | None = None
    final: ScoreSummary | None = None
    candidates: list[dict[str, Any]] = field(default_factory=list)
    lm_calls: int = 0
    cache_hits: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost: float = 0.0
    wall_time: float = 0.0
    notes: list[str] = field(default_factory=list)
    budget: dict[str, Any] | None = None
    stopped: str | None = None  # why the run stopped early (the budget), else None
    # "compiled"; "baseline" when the gain was inside the noise; "unchanged" when the best
    # program found is the one passed in
    selected: str = "compiled"
    comparison: dict[str, float] | None = None  # final − baseline on the valset, paired
    run_dir: str | None = None
    # always the trainset's most common answer, scored on the valset at 0 LM calls
    # (Floor.to_dict()), or None when no floor applies (free-text outputs, an LM metric)
    floor: dict[str, Any] | None = None
    # the final program − the floor on the valset, paired (FloorComparison.to_dict())
    floor_comparison: dict[str, Any] | None = None
    # False when the program returned scores below the majority-answer floor on the valset
    # (and so did every candidate scored there): nothing usable was found; ``unusable`` says
    # why. ``pliable compile`` exits 5 and writes no file.
    usable: bool = True
    unusable: str | None = None

    def add_usage(self, usage: UsageTracker, *, before: ModelUsage | None = None) -> None:
        """Set the LM calls, tokens and cost from ``usage``, plus ``before`` (what the earlier
        invocations of a resumed run spent). Cache hits (answers replayed from the run log
        among them) are this invocation's."""
        from pliable.lm.usage import ModelUsage

        total = usage.total
        before = before or ModelUsage()
        self.lm_calls = before.calls + total.calls
        self.cache_hits = total.cache_hits
        self.prompt_tokens = before.prompt_tokens + total.prompt_tokens
        self.completion_tokens = before.completion_tokens + total.completion_tokens
        self.cost = before.cost + total.cost

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def _final_vs_floor(self) -> str:
        c = self.floor_comparison
        if c is None:
            return ""
        if c["verdict"] != "not clearly above":
            return f" ({c['verdict']} the floor)"
        level = f"{100 * c['confidence']:g}% CI"
        return (
            f" (not clearly above the floor: {c['difference']:+.3f}, {level} "
            f"[{c['ci_low']:+.3f}, {c['ci_high']:+.3f}])"
        )

    def summary(self) -> str:
        lines = [
            f"{self.optimizer} on {self.dataset.get('train_size', 0)} train / "
            f"{self.dataset.get('val_size', 0)} val examples"
        ]
        if not self.usable:
            lines.append(f"  NO USABLE PROGRAM: {self.unusable}")
        floor = self.floor
        if self.baseline is not None:
            below = floor is not None and self.baseline.score <= floor["score"]
            lines.append(f"  baseline: {self.baseline}" + (" (at or below the floor)" * below))
        if floor is not None:
            lines.append(f"  floor:    {floor['score']:.3f} {floor['text']}, 0 LM calls")
        if self.final is not None:
            lines.append(f"  final:    {self.final}{self._final_vs_floor()}")
        full = [c for c in self.candidates if isinstance(c.get("score"), float)]
        if self.comparison is not None:
            c = self.comparison
            # an optimizer without candidates (BootstrapFewShot) compiles one program
            what = "best candidate" if self.candidates else "compiled"
            lines.append(
                f"  {what} − baseline: {c['difference']:+.3f} "
                f"[{c['ci_low']:+.3f}, {c['ci_high']:+.3f}] -> kept the {self.selected} program"
            )
        if self.candidates:
            lines.append(f"  candidates: {len(self.candidates)} tried, {len(full)} scored in full")
        for c in sorted(full, key=lambda c: -c["score"])[:5]:
            lines.append(f"    {c['score']:.3f}  {c.get('name')}")
        lines.append(
            f"  LM calls {self.lm_calls} (+{self.cache_hits} cache hits), tokens "
            f"{self.prompt_tokens}+{self.completion_tokens}, cost ${self.cost:.4f}, "
            f"{self.wall_time:.1f}s"
        )
        if self.stopped:
            lines.append(f"  stopped early: {self.stopped}")
        lines += [f"  note: {n}" for n in self.notes]
        return "\n".join(lines)
