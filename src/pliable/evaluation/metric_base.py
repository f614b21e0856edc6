"""``Metric``: a named metric callable, and how evaluation calls any metric.

The built-in metrics (``exact_match``, ``f1`` ...) are :class:`Metric` objects: they print
as the call that made them (``exact_match(field='answer')``) and take
``(example, prediction, trace=None)``. User metrics are plain functions taking
``(example, prediction)`` or ``(example, prediction, trace)``; :func:`metric_caller` checks the
shape once and returns a function that always takes all three.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import Any

from pliable.data.score import metric_name
from pliable.errors import UsageError

__all__ = ["Metric", "field_value", "metric_caller"]

MetricFn = Callable[[Any, Any, Any], Any]


class Metric:
    """A metric with a readable name; calling it runs ``fn(example, prediction, trace)``."""

    named_by_repr = True  # metric_name() shows repr(metric): the call that made it

    def __init__(self, fn: MetricFn, name: str, **arguments: Any) -> None:
        self._fn = fn
        self.__name__ = name
        self.arguments = arguments

    def __call__(self, example: Any, prediction: Any, trace: Any = None) -> Any:
        return self._fn(example, prediction, trace)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.arguments.items())
        return f"{self.__name__}({args})"


def field_value(obj: Any, name: str, *, role: str, metric: str) -> Any:
    """``obj[name]`` (or ``obj.name``); a missing field is a ``UsageError`` naming the metric.

    A prediction that is a bare string (a program returning text) is its own value.
    """
    if isinstance(obj, Mapping):
        if name in obj:
            return obj[name]
        fields = ", ".join(map(str, obj)) or "(none)"
    elif role == "prediction" and isinstance(obj, str):
        return obj
    elif hasattr(obj, name):
        return getattr(obj, name)
    else:
        fields = f"(a {type(obj).__name__}, not a mapping)"
    raise UsageError(
        f"Metric {metric}: the {role} has no field {name!r}; its fields: {fields}. "
        f"Pass the right field name to the metric."
    )


def metric_caller(metric: Any) -> tuple[MetricFn, bool]:
    """A function calling ``metric`` with ``(example, prediction, trace)`` as it accepts, and
    whether ``metric`` takes the trace. A metric that cannot take two arguments is refused."""
    if not callable(metric):
        raise UsageError(f"metric must be a callable; got {type(metric).__name__} {metric!r}.")
    try:
        params = list(inspect.signature(metric).parameters.values())
    except (TypeError, ValueError):  # a builtin without a signature: assume (example, pred)
        return (lambda ex, pred, tr: metric(ex, pred)), False
    kinds = inspect.Parameter
    by_position = (kinds.POSITIONAL_ONLY, kinds.POSITIONAL_OR_KEYWORD)
    positional = [p for p in params if p.kind in by_position]
    star = any(p.kind is kinds.VAR_POSITIONAL for p in params)
    keyword_trace = any(p.name == "trace" and p.kind is kinds.KEYWORD_ONLY for p in params)
    if len(positional) < 2 and not star:
        raise UsageError(
            f"Metric {metric_name(metric)} takes {len(positional)} positional argument(s); a "
            "metric is called as metric(example, prediction) or "
            "metric(example, prediction, trace)."
        )
    if len(positional) >= 3 or star:
        return (lambda ex, pred, tr: metric(ex, pred, tr)), True
    if keyword_trace:
        return (lambda ex, pred, tr: metric(ex, pred, trace=tr)), True
    return (lambda ex, pred, tr: metric(ex, pred)), False
