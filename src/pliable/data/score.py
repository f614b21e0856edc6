"""``Score``: what a metric returns when it has more to say than a number.

A metric may return a float, a bool (``True`` → 1.0, ``False`` → 0.0) or a
``Score(value, feedback)``; :func:`to_score` turns any of them into a ``Score`` and refuses
everything else with a :class:`~pliable.errors.UsageError` naming the metric and the value.
Optimizers read ``feedback`` to learn why an example scored as it did. ``BestOfN`` and
``Refine``'s reward functions return the same values, which is why this lives in ``data`` (below
``programs``) and not in ``evaluation``.
"""

from __future__ import annotations

import math
import numbers
import sys
from dataclasses import dataclass
from typing import Any

from pliable.errors import UsageError

__all__ = ["Score", "metric_name", "to_score"]


def _as_number(value: Any) -> float | None:
    """``value`` as a float if it is a bool or a real number (numpy's included), else None."""
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    np = sys.modules.get("numpy")
    if np is not None and isinstance(value, np.bool_):
        return 1.0 if bool(value) else 0.0
    if isinstance(value, numbers.Real):
        return float(value)
    return None


@dataclass(frozen=True)
class Score:
    """A metric's verdict on one example: ``value`` and, optionally, why (``feedback``)."""

    value: float
    feedback: str = ""

    def __post_init__(self) -> None:
        number = _as_number(self.value)
        if number is None or not math.isfinite(number):
            raise UsageError(
                f"Score(value=...) takes a finite number or a bool; got "
                f"{type(self.value).__name__} {self.value!r}."
            )
        if not isinstance(self.feedback, str):
            raise UsageError(
                f"Score(feedback=...) takes a string; got "
                f"{type(self.feedback).__name__} {self.feedback!r}."
            )
        object.__setattr__(self, "value", number)

    def __float__(self) -> float:
        return self.value


def metric_name(metric: Any) -> str:
    """A readable name: the repr of a metric whose class sets ``named_by_repr = True`` (the
    built-in :class:`~pliable.evaluation.metric_base.Metric`, which prints as the call that
    made it), else the function's name, else the repr."""
    if getattr(type(metric), "named_by_repr", False) is True:
        return repr(metric)
    name = getattr(metric, "__name__", None)
    return str(name) if name else repr(metric)


def to_score(value: Any, metric: Any) -> Score:
    """Read a metric's return value as a ``Score``; anything unreadable is a ``UsageError``."""
    if isinstance(value, Score):
        return value
    number = _as_number(value)
    if number is not None and math.isfinite(number):
        return Score(number)
    raise UsageError(
        f"Metric {metric_name(metric)} returned {type(value).__name__} {value!r}; a metric must "
        "return a float, a bool, or pl.Score(value, feedback). Fix the metric's return value."
    )
