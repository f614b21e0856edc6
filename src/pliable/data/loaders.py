"""Load examples from JSONL, CSV, JSON and Hugging Face ``datasets``, checking every row.

    train = load_examples("qa.jsonl", inputs=["question"], types={"answer": int})

Every row becomes an :class:`~pliable.data.example.Example` with ``inputs`` marked. A bad row
(a broken JSON line, a line that is not an object, a missing field, a value of the wrong type)
raises :class:`DataError` naming ``file:line``, the field and the value; with
``skip_bad_rows=True`` bad rows are skipped, logged, and counted on the returned
:class:`Examples` list.
"""

from __future__ import annotations

import contextlib
import difflib
import json
import logging
import math
import os
import random
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from enum import Enum
from typing import Any, TypeVar, overload

from pliable.data.example import Example
from pliable.data.readers import ABSENT, BadRow, DataError, Rows, kind, open_rows, show
from pliable.errors import UsageError

__all__ = ["DataError", "Examples", "load_examples", "split"]

logger = logging.getLogger(__name__)

_SKIP_HINT = (
    "What to do: fix the row, or pass skip_bad_rows=True to skip bad rows "
    "(they are counted on the result's .skipped and logged)."
)
_MAX_REASONS = 100
_PLAIN_TYPES = (str, int, float, bool, list, dict)
_TRUE = {"true", "yes", "y", "t", "1"}
_FALSE = {"false", "no", "n", "f", "0"}


class Examples(list[Example]):
    """A plain ``list`` of examples that also tells what loading skipped.

    ``skipped`` counts the bad rows left out (only with ``skip_bad_rows=True``) and
    ``skip_reasons`` says why, one ``"file:line: reason"`` line each (the first 100).
    """

    skipped: int
    skip_reasons: list[str]

    def __init__(
        self,
        examples: Iterable[Example] = (),
        *,
        skipped: int = 0,
        skip_reasons: Sequence[str] = (),
    ) -> None:
        super().__init__(examples)
        self.skipped = skipped
        self.skip_reasons = list(skip_reasons)


# --- checking and coercing values -------------------------------------------------------------


def _check_type(name: str, tp: object) -> None:
    if not (isinstance(tp, type) and (tp in _PLAIN_TYPES or issubclass(tp, Enum))):
        raise UsageError(
            f"types[{name!r}] = {tp!r} is not supported. Use one of str, int, float, bool, list, "
            "dict or an Enum class."
        )


def coerce_value(value: Any, tp: type) -> Any:
    """Return ``value`` as ``tp``, converting text ("3" → 3) and lossless numbers; else raise
    ``ValueError``. Booleans are never numbers, and only integral floats become ints."""
    if tp is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, int) and value in (0, 1):
            return bool(value)
        if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
            return value.strip().lower() in _TRUE
    elif isinstance(value, bool):
        pass  # a boolean is not a number or a string here
    elif tp is int:
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str) and re.fullmatch(r"\s*[+-]?\d+\s*", value):
            try:
                return int(value)
            except ValueError:  # more digits than Python reads (sys.get_int_max_str_digits)
                digits = len(value.strip().lstrip("+-"))
                raise ValueError(
                    f"expected int, got {show(value)}: {digits} digits, over Python's limit "
                    "for reading an int from text"
                ) from None
    elif tp is float:
        if isinstance(value, (int, float)):
            return float(value)
        if isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                pass
    elif tp is str:
        if isinstance(value, str):
            return value
        if isinstance(value, (int, float)):
            return str(value)
    elif tp in (list, dict):
        if isinstance(value, tp):
            return value
        if isinstance(value, str):
            try:
                parsed = json.loads(value)
            except (ValueError, RecursionError):  # broken, too deep, or an int too long
                parsed = None
            if isinstance(parsed, tp):
                return parsed
    elif issubclass(tp, Enum):
        if isinstance(value, tp):
            return value
        try:
            return tp(value)
        except ValueError:
            if isinstance(value, str) and value in tp.__members__:
                return tp.__members__[value]
    raise ValueError(f"expected {tp.__name__}, got {show(value)} ({type(value).__name__})")


class _Builder:
    """Turns one parsed row into an Example, or raises BadRow."""

    def __init__(
        self,
        inputs: Sequence[str],
        fields: Sequence[str] | None,
        types: Mapping[str, type],
        default_fields: Sequence[str] | None = None,
    ) -> None:
        self.inputs = tuple(inputs)
        self.fields = None if fields is None else tuple(fields)
        self.types = types
        self.required: tuple[str, ...] | None = None
        if fields is not None or default_fields is not None:
            self._settle(fields if fields is not None else default_fields or ())

    def _settle(self, base: Iterable[str]) -> None:
        self.required = tuple(dict.fromkeys([*base, *self.inputs, *self.types]))

    def __call__(self, data: Any) -> Example:
        if not isinstance(data, Mapping):
            raise BadRow(f"expected an object, got {kind(data)}: {show(data)}", value=data)
        present = {k: v for k, v in data.items() if v is not ABSENT}
        if self.required is None:  # the first row's keys (CSV: the header) are the fields
            self._settle(data)
        for name in self.required or ():
            if name not in present:
                close = difflib.get_close_matches(name, [str(k) for k in present], n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                raise BadRow(
                    f"field {name!r}: missing{hint}; the row is {show(present)}",
                    field=name,
                    value=present,
                )
        values = {k: present[k] for k in self.fields} if self.fields is not None else present
        for name, tp in self.types.items():
            try:
                values[name] = coerce_value(present[name], tp)
            except ValueError as exc:
                raise BadRow(f"field {name!r}: {exc}", field=name, value=present[name]) from None
        return Example(values).with_inputs(*self.inputs)


def _collect(
    rows: Rows,
    build: Callable[[Any], Example],
    *,
    source: str,
    skip_bad_rows: bool,
    limit: int | None,
    hint: str = _SKIP_HINT,
) -> Examples:
    good: list[Example] = []
    skipped, seen, reasons = 0, 0, list[str]()
    if limit == 0:
        return Examples()
    with contextlib.closing(rows):
        for row in rows:
            seen += 1
            try:
                if isinstance(row.data, BadRow):
                    raise row.data
                good.append(build(row.data))
            except BadRow as bad:
                text = f"{row.where}: {bad.reason}"
                if not skip_bad_rows:
                    raise DataError(
                        f"{text}\n{hint}",
                        source=source,
                        line=row.line,
                        field=bad.field,
                        value=bad.value,
                    ) from None
                skipped += 1
                if len(reasons) < _MAX_REASONS:
                    reasons.append(text)
                continue
            if limit is not None and len(good) >= limit:
                break
    if not seen:
        raise DataError(
            f"{source} has no rows: it is empty. What to do: check the path, or fill the file.",
            source=source,
        )
    if not good:
        raise DataError(
            f"Every row of {source} is bad ({skipped} skipped), so no examples are left. "
            f"First reasons:\n  " + "\n  ".join(reasons[:3]),
            source=source,
        )
    if skipped:
        more = f" (and {skipped - 3} more)" if skipped > 3 else ""
        logger.warning(
            "Skipped %d bad row(s) of %s: %s%s", skipped, source, "; ".join(reasons[:3]), more
        )
    return Examples(good, skipped=skipped, skip_reasons=reasons)


def load_examples(
    source: str | os.PathLike[str],
    *,
    inputs: Sequence[str],
    fields: Sequence[str] | None = None,
    types: Mapping[str, type] | None = None,
    skip_bad_rows: bool = False,
    limit: int | None = None,
    split: str = "train",
) -> Examples:
    """Load a data file or dataset as examples with ``inputs`` marked.

    ``source`` is chosen by what it is:

    - ``.jsonl`` / ``.ndjson``: one JSON object a line (blank lines are ignored);
    - ``.csv`` / ``.tsv``: a header row, then one row a line (values are text);
    - ``.json``: a list of objects, or a BIG-bench task (rows become ``question``, ``answer``
      and, for multiple choice, ``choices``; see :func:`~pliable.data.bigbench.load_bigbench`);
    - a folder saved with ``Dataset.save_to_disk`` (a ``DatasetDict`` picks ``split``), or a
      ``.parquet`` / ``.arrow`` file: read with Hugging Face ``datasets``;
    - anything else that is not an existing path: a hub dataset name,
      ``datasets.load_dataset(source, split=split)`` (needs network).

    ``datasets`` is only imported for the last two (``pip install "pliable[datasets]"``).

    ``fields`` lists the fields every row must have and the only ones kept (it must include
    ``inputs``). By default every column is kept and required: the CSV header, a dataset's
    columns, or for JSON/JSONL the first row's keys. ``types`` checks and converts fields
    (``{"answer": int}`` turns CSV text ``"3"`` into ``3``): str, int, float, bool, list,
    dict (JSON text is parsed) or an Enum. Other values are kept as loaded.

    A bad row raises :class:`DataError` naming ``file:line`` (1-based, counting a CSV header;
    ``row N`` for ``datasets``), the field and the value. With ``skip_bad_rows=True`` bad rows
    are skipped and logged instead, and counted on the result's ``skipped`` /
    ``skip_reasons``. An empty source, or one with no good row, raises :class:`DataError`.
    ``limit`` keeps the first ``limit`` good rows.
    """
    inputs = [inputs] if isinstance(inputs, str) else list(inputs)
    types = dict(types or {})
    if not inputs:
        raise UsageError("load_examples needs inputs=[...]: the fields a program is called with.")
    if fields is not None:
        fields = [fields] if isinstance(fields, str) else list(fields)
        absent = [f for f in [*inputs, *types] if f not in fields]
        if absent:
            raise UsageError(
                f"{absent} are in inputs/types but not in fields={fields}. Add them to fields "
                "(fields lists every field to keep)."
            )
    for name, tp in types.items():
        _check_type(name, tp)
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 0):
        raise UsageError(f"limit must be a whole number >= 0 or None, not {limit!r}.")

    label, rows, default_fields = open_rows(source, split)
    build = _Builder(inputs, fields, types, default_fields)
    return _collect(rows, build, source=label, skip_bad_rows=skip_bad_rows, limit=limit)


# --- splitting -----------------------------------------------------------------------------------

T = TypeVar("T")


@overload
def split(
    examples: Sequence[T],
    *,
    train: float | int,
    dev: float | int | None = None,
    test: None = None,
    seed: int = 0,
) -> tuple[list[T], list[T]]: ...


@overload
def split(
    examples: Sequence[T],
    *,
    train: float | int,
    dev: float | int | None = None,
    test: float | int,
    seed: int = 0,
) -> tuple[list[T], list[T], list[T]]: ...


def split(
    examples: Sequence[T],
    *,
    train: float | int,
    dev: float | int | None = None,
    test: float | int | None = None,
    seed: int = 0,
) -> tuple[list[T], ...]:
    """Shuffle ``examples`` with ``random.Random(seed)`` and cut them into parts.

        train, dev = split(examples, train=0.8)                 # dev: the other 20%
        train, dev, test = split(examples, train=50, dev=20, test=30)

    Sizes are all fractions (floats, adding up to at most 1) or all counts (ints, adding up to
    at most ``len(examples)``). ``dev=None`` means "every example left over"; ``test=None``
    means no test part, and a pair is returned. Fractions are rounded at the cut points, so
    the parts never add up to more than there are examples. Any other examples are left out.

    Guarantees: each example (each position of ``examples``) goes into at most one part, so
    the parts never share an example (equal duplicates in the input stay duplicates); the same
    ``examples`` in the same order with the same ``seed`` always give the same parts; and
    ``examples`` itself is not changed.
    """
    items = list(examples)
    asked = {"train": train, "dev": dev, "test": test}
    given = {name: size for name, size in asked.items() if size is not None}
    for name, size in given.items():
        if isinstance(size, bool) or not isinstance(size, (int, float)):
            raise UsageError(f"split: {name}={size!r} is not a size; give a fraction or a count.")
        if isinstance(size, float) and not (math.isfinite(size) and 0 < size <= 1):
            raise UsageError(f"split: {name}={size!r}: a fraction must be > 0 and <= 1.")
        if isinstance(size, int) and size < 1:
            raise UsageError(f"split: {name}={size!r}: a count must be at least 1.")
    if len({isinstance(size, float) for size in given.values()}) > 1:
        raise UsageError(
            f"split: sizes mix fractions and counts ({_sizes(given)}); give all as fractions "
            "(0.8) or all as counts (80)."
        )
    if not items:
        raise UsageError("split: there are no examples to split.")
    total = len(items)
    counts: dict[str, int] = {}
    if isinstance(train, float):
        share = sum(given.values())
        if share > 1 + 1e-9:
            raise UsageError(f"split: fractions {_sizes(given)} add up to {share:g}, over 1.")
        done, cum = 0, 0.0
        for name, size in given.items():  # round the cut points, not the sizes
            cum += size
            end = min(total, round(cum * total))
            counts[name], done = end - done, end
            if counts[name] == 0:
                raise UsageError(
                    f"split: {name}={size!r} of {total} examples is 0 examples. Ask for a larger "
                    "part, or give counts."
                )
    else:
        if sum(given.values()) > total:
            raise UsageError(
                f"split: counts {_sizes(given)} add up to {sum(given.values())}, more than the "
                f"{total} examples."
            )
        counts = {name: int(size) for name, size in given.items()}
    if dev is None:
        counts["dev"] = total - sum(counts.values())
    random.Random(seed).shuffle(items)
    parts: list[list[T]] = []
    start = 0
    for name in ("train", "dev", "test"):
        if name in counts:
            parts.append(items[start : start + counts[name]])
            start += counts[name]
    return tuple(parts)


def _sizes(given: Mapping[str, float | int]) -> str:
    return ", ".join(f"{name}={size!r}" for name, size in given.items())
