"""``optimizer.estimate(...)``: the LM calls (and, where pricing is known, the cost) a compile
plans to make, before it spends anything.

Counts are upper bounds from the optimizer's settings, assuming each predictor is called once
per example (a loop such as a multi-hop program calls some predictors more often). Cache hits
and memoised evaluations make the real number lower, never higher; a budget cuts it short.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from pliable.data.example import Example
from pliable.lm.budget import Budget
from pliable.programs.module import Module

__all__ = ["Estimate", "price_per_call"]

_COMPLETION_TOKENS = 120  # an assumed answer length, for pricing


@dataclass(frozen=True)
class Estimate:
    """The planned LM calls per phase, their total, and the cost when pricing is known."""

    optimizer: str
    phases: dict[str, int]
    model: str | None = None
    prompt_tokens_per_call: int | None = None
    usd_per_call: float | None = None
    budget: Budget | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def lm_calls(self) -> int:
        return sum(self.phases.values())

    @property
    def usd(self) -> float | None:
        return None if self.usd_per_call is None else self.usd_per_call * self.lm_calls

    @property
    def fits(self) -> bool | None:
        """Whether the plan fits the budget's call and cost limits (None: no budget)."""
        if self.budget is None or self.budget.unlimited:
            return None
        if self.budget.lm_calls is not None and self.lm_calls > self.budget.lm_calls:
            return False
        usd = self.usd
        return not (self.budget.usd is not None and usd is not None and usd > self.budget.usd)

    def __str__(self) -> str:
        width = max([len(p) for p in self.phases] + [5])
        lines = [f"{self.optimizer}: planned LM calls (upper bound)"]
        lines += [f"  {p.ljust(width)}  {n:>7}" for p, n in self.phases.items()]
        lines.append(f"  {'total'.ljust(width)}  {self.lm_calls:>7}")
        if self.model is not None:
            if self.usd is None:
                lines.append(f"  cost: unknown (no pricing for {self.model})")
            else:
                tokens = self.prompt_tokens_per_call
                lines.append(
                    f"  cost: about ${self.usd:.4f} on {self.model} (~{tokens} prompt tokens "
                    f"+ {_COMPLETION_TOKENS} completion tokens per call)"
                )
        if self.budget is not None and not self.budget.unlimited:
            verdict = "fits" if self.fits else "does NOT fit; the run will stop early"
            lines.append(f"  budget: {self.budget}: the plan {verdict}")
        lines += [f"  note: {n}" for n in self.notes]
        return "\n".join(lines)


def _model_of(program: Module) -> Any:
    from pliable import settings

    for p in program.predictors():
        if p.lm is not None:
            return p.lm
    return settings.current().lm  # never loads the embedded model just to estimate


def price_per_call(
    program: Module, examples: Sequence[Example]
) -> tuple[str | None, int | None, float | None]:
    """(model name, prompt tokens per call, USD per call) for the program's LM, where known.

    Prompt size is measured by rendering each predictor's messages for the first example
    that has all its inputs (about four characters per token). Local models cost nothing.
    """
    lm = _model_of(program)
    model = getattr(lm, "model", None) if lm is not None else None
    if model is None:
        return None, None, None
    sizes = []
    for p in program.predictors():
        fields = list(p.signature.input_fields)
        sample = next((e for e in examples if all(f in e for f in fields)), None)
        if sample is None:
            continue
        try:
            messages = p.messages(**{f: sample[f] for f in fields})
        except Exception:  # an input that does not render: no size from this predictor
            continue
        sizes.append(sum(len(m["content"]) for m in messages) // 4)
    tokens = int(sum(sizes) / len(sizes)) if sizes else None
    if str(model).startswith("local/") or not str(model):
        return str(model), tokens, 0.0
    if type(lm).__name__ in ("ScriptedLM", "FunctionLM"):
        return str(model), tokens, 0.0
    try:
        from pliable.lm.litellm_backend import token_prices

        prices = token_prices(str(model))
    except Exception:  # pricing is best effort
        prices = None
    if not prices or tokens is None:
        return str(model), tokens, None
    usd = tokens * prices[0] + _COMPLETION_TOKENS * prices[1]
    return str(model), tokens, usd
