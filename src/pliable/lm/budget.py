"""``pl.Budget``: limits on what a run may spend, enforced from pliable's own counters.

    budget = pl.Budget(lm_calls=200, tokens=400_000, usd=0.50, seconds=600)
    compiled = optimizer.compile(program, trainset=train, valset=dev, budget=budget)

Every limit is optional. Before each LM request the active budget checks what has been spent
so far (calls, prompt + completion tokens, cost, seconds since the run started); once a limit
is reached the request is refused with :class:`~pliable.errors.BudgetExceededError` and the
optimizer stops cleanly with the best program found so far. Calls are counted before they
are sent, so ``lm_calls`` is never exceeded; tokens, cost and time are known only after a
call returns, so a call already in flight may go past those limits by its own size. Cache
hits are free: they count against no limit. With a ``run_dir`` the run log records each call
before it is sent, so a compile killed and resumed (any number of times) counts every earlier
call too, answered or not.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from pliable.errors import UsageError

__all__ = ["Budget", "Spent"]


@dataclass(frozen=True)
class Spent:
    """What a run has spent: LM calls, tokens, dollars and seconds."""

    lm_calls: int = 0
    tokens: int = 0
    usd: float = 0.0
    seconds: float = 0.0

    def __add__(self, other: Spent) -> Spent:
        return Spent(
            self.lm_calls + other.lm_calls,
            self.tokens + other.tokens,
            self.usd + other.usd,
            self.seconds + other.seconds,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "lm_calls": self.lm_calls,
            "tokens": self.tokens,
            "usd": self.usd,
            "seconds": self.seconds,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Spent:
        return cls(
            int(data.get("lm_calls", 0)),
            int(data.get("tokens", 0)),
            float(data.get("usd", 0.0)),
            float(data.get("seconds", 0.0)),
        )


@dataclass(frozen=True)
class Budget:
    """Limits on LM calls, tokens (prompt + completion), cost in US dollars and wall time."""

    lm_calls: int | None = None
    tokens: int | None = None
    usd: float | None = None
    seconds: float | None = None

    def __post_init__(self) -> None:
        for name in ("lm_calls", "tokens", "usd", "seconds"):
            value = getattr(self, name)
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise UsageError(
                    f"Budget({name}=...) takes a number or None; got "
                    f"{type(value).__name__} {value!r}."
                )
            if not math.isfinite(value) or value < 0:
                raise UsageError(
                    f"Budget({name}=...) must be a finite number >= 0; got {value!r}. "
                    "Leave it out (None) for no limit."
                )

    @property
    def unlimited(self) -> bool:
        return all(getattr(self, n) is None for n in ("lm_calls", "tokens", "usd", "seconds"))

    def exhausted(self, spent: Spent) -> str | None:
        """Which limit ``spent`` has reached (a readable phrase), or None."""
        if self.lm_calls is not None and spent.lm_calls >= self.lm_calls:
            return f"{self.lm_calls} LM calls"
        if self.tokens is not None and spent.tokens >= self.tokens:
            return f"{self.tokens} tokens (spent {spent.tokens})"
        if self.usd is not None and spent.usd >= self.usd:
            return f"${self.usd:.4f} (spent ${spent.usd:.4f})"
        if self.seconds is not None and spent.seconds >= self.seconds:
            return f"{self.seconds:g} s (ran {spent.seconds:.1f} s)"
        return None

    def to_dict(self) -> dict[str, Any]:
        return {
            k: getattr(self, k)
            for k in ("lm_calls", "tokens", "usd", "seconds")
            if getattr(self, k) is not None
        }

    def __str__(self) -> str:
        parts = [f"{k}={v}" for k, v in self.to_dict().items()]
        return f"Budget({', '.join(parts) or 'unlimited'})"
