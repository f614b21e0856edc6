"""The one shape of an LM cache row, checked when it is written and again when it is read.

``pl.LM`` stores each answer as ``{"texts": [str, ...], "usage": {"prompt_tokens": n,
"completion_tokens": n, "cost": x}}`` (numbers non-negative and finite). A row read back from
the file is trusted only if it still has that shape: the file can be edited by hand, written
by a damaged disk, or shared with another program. Keys beyond these are allowed (and kept),
so a newer pliable writing more fields into a shared file does not have its rows deleted by
an older one.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any, TypeGuard

__all__ = ["ROW_SHAPE", "USAGE_FIELDS", "decode_row", "row_problem"]

USAGE_FIELDS = ("prompt_tokens", "completion_tokens", "cost")
ROW_SHAPE = (
    '{"texts": [str, ...], "usage": {"prompt_tokens": n, "completion_tokens": n, "cost": x}} '
    "with at least one text and non-negative numbers"
)


def _is_count(value: object) -> TypeGuard[int | float]:
    """A non-negative finite number (``True`` and ``False`` are not numbers here)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    return math.isfinite(value) and value >= 0


def row_problem(value: object) -> str | None:
    """What is wrong with ``value`` as an LM cache row, or ``None`` when it is one."""
    if not isinstance(value, Mapping):
        return f"it is a {type(value).__name__}, not an object"
    texts = value.get("texts")
    if not isinstance(texts, (list, tuple)) or not texts:
        return f"'texts' is {_shown(texts)}, not a non-empty list of strings"
    if not all(isinstance(t, str) for t in texts):
        return "'texts' holds a value that is not a string"
    usage = value.get("usage")
    if not isinstance(usage, Mapping):
        return f"'usage' is {_shown(usage)}, not an object"
    for name in USAGE_FIELDS:
        if not _is_count(usage.get(name)):
            return f"'usage.{name}' is {_shown(usage.get(name))}, not a non-negative number"
    return None


def _shown(value: object) -> str:
    return "missing" if value is None else f"{value!r:.60}"


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not a number a cache row can hold")


def decode_row(text: object, accessed: object) -> tuple[dict[str, Any], float]:
    """The value and access time of a stored row; ``ValueError`` saying why it is not
    to be trusted."""
    if not isinstance(text, str):
        raise ValueError(f"the value is stored as {type(text).__name__}, not text")
    if not _is_count(accessed):
        raise ValueError(f"the access time is {accessed!r:.60}, not a number")
    try:
        value = json.loads(text, parse_constant=_no_constants)
    except RecursionError:
        raise ValueError("the value is nested too deeply") from None
    except ValueError as exc:
        raise ValueError(f"the value is not valid JSON ({exc})") from None
    problem = row_problem(value)
    if problem is not None:
        raise ValueError(problem)
    return value, float(accessed)
