"""Where rows come from: JSONL, CSV, JSON (a list or a BIG-bench task) and ``datasets``.

Each reader yields :class:`Row` tuples ``(where, line, data)`` lazily; ``data`` is a
:class:`BadRow` when the row could not even be parsed. :mod:`pliable.data.loaders` checks the
rows and turns them into examples.
"""

from __future__ import annotations

import csv
import importlib
import json
import os
import re
from collections.abc import Generator
from pathlib import Path
from typing import Any, NamedTuple

from pliable.errors import ConfigurationError, DataError

__all__ = ["ABSENT", "BadRow", "DataError", "Row", "Rows", "open_rows", "read_json_document"]

_JSONL = {".jsonl", ".ndjson"}
_CSV = {".csv": ",", ".tsv": "\t"}
_HF_FILES = {".parquet": "parquet", ".arrow": "arrow"}
_KNOWN = sorted({*_JSONL, *_CSV, ".json", *_HF_FILES})
ABSENT: Any = object()  # a CSV row shorter than its header has no value for the last columns


class BadRow(Exception):
    """Internal: one row is bad. Turned into a :class:`DataError` or a skip by ``_collect``."""

    def __init__(self, reason: str, *, field: str | None = None, value: object = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.field = field
        self.value = value


class Row(NamedTuple):
    where: str  # "file:line" or "dataset row N", for messages
    line: int
    data: Any  # a parsed row, or a BadRow when it could not even be parsed


Rows = Generator[Row, None, None]


def show(value: object, limit: int = 120) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def kind(value: object) -> str:
    names = {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}
    if value is None:
        return "null"
    return names.get(type(value), f"a {type(value).__name__}")


def _decode_error(path: Path, exc: UnicodeDecodeError) -> DataError:
    return DataError(
        f"{path} is not UTF-8 text ({exc.reason} at byte {exc.start}). What to do: save it "
        "as UTF-8.",
        source=str(path),
    )


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise _decode_error(path, exc) from exc


def _jsonl_rows(path: Path) -> Rows:
    with path.open(encoding="utf-8-sig", newline="") as file:
        number = 0
        while True:
            try:
                line = file.readline()
            except UnicodeDecodeError as exc:
                raise _decode_error(path, exc) from exc
            if not line:
                return
            number += 1
            if not line.strip():
                continue
            try:
                data: Any = json.loads(line)
            except json.JSONDecodeError as exc:
                reason = f"{exc.msg} at column {exc.colno}"
                data = BadRow(f"not valid JSON ({reason}): {show(line.rstrip())}", value=line)
            yield Row(f"{path}:{number}", number, data)


def _csv_rows(path: Path, delimiter: str) -> Rows:
    with path.open(encoding="utf-8-sig", newline="") as file:
        reader = csv.reader(file, delimiter=delimiter)
        columns: list[str] | None = None
        end = 0
        while True:
            start = end + 1
            try:
                values = next(reader, None)
            except (csv.Error, UnicodeDecodeError) as exc:
                raise DataError(
                    f"{path}:{start}: unreadable CSV ({exc}).", source=str(path), line=start
                ) from exc
            end = reader.line_num
            if values is None:
                return
            if not values:
                continue  # a blank line
            if columns is None:
                columns = [name.strip() for name in values]
                bad = sorted({c for c in columns if columns.count(c) > 1 or not c})
                if bad:
                    raise DataError(
                        f"{path}:{start}: the header has empty or repeated column names {bad}; "
                        f"each column needs its own name. Header: {show(values)}",
                        source=str(path),
                        line=start,
                        value=values,
                    )
                continue
            data: Any = {c: values[i] if i < len(values) else ABSENT for i, c in enumerate(columns)}
            if len(values) > len(columns):
                data = BadRow(
                    f"the row has {len(values)} values but the header has {len(columns)} "
                    f"columns; extra values {show(values[len(columns) :])}",
                    value=values,
                )
            yield Row(f"{path}:{start}", start, data)


_WS = re.compile(r"[ \t\n\r]*")
_DECODER = json.JSONDecoder()


def _skip(text: str, pos: int) -> int:
    """The position of the first non-whitespace character at or after ``pos``."""
    match = _WS.match(text, pos)
    return match.end() if match else pos


def _array_items(text: str, pos: int) -> list[tuple[int, Any]]:
    """(1-based line, value) of each item of the JSON array at ``text[pos]`` (valid JSON)."""
    items: list[tuple[int, Any]] = []
    line, counted = 1 + text.count("\n", 0, pos), pos
    pos = _skip(text, pos + 1)
    while text[pos] != "]":
        value, end = _DECODER.raw_decode(text, pos)
        line, counted = line + text.count("\n", counted, pos), pos
        items.append((line, value))
        pos = _skip(text, end)
        if text[pos] == ",":
            pos = _skip(text, pos + 1)
    return items


def _member_array(text: str, key: str) -> list[tuple[int, Any]]:
    """The items of the top-level member ``key`` of the JSON object in ``text`` (valid JSON)."""
    pos = _skip(text, 0) + 1  # past "{"
    found: list[tuple[int, Any]] = []
    while True:
        pos = _skip(text, pos)
        if text[pos] == "}":
            return found
        name, pos = _DECODER.raw_decode(text, pos)
        pos = _skip(text, _skip(text, pos) + 1)  # past ":"
        if name == key and text[pos] == "[":
            found = _array_items(text, pos)  # the last one wins, as in json.loads
        _, pos = _DECODER.raw_decode(text, pos)
        pos = _skip(text, pos)
        if text[pos] == ",":
            pos += 1


def read_json_document(path: Path) -> tuple[Any, list[tuple[int, Any]]]:
    """Parse a ``.json`` file: (the whole document, its rows as (line, value)).

    The rows are the document's items when it is a list, its ``examples`` when it is an object
    (a BIG-bench task). Anything else, or broken JSON, raises :class:`DataError`.
    """
    text = _read_text(path)
    if not text.strip():
        return None, []
    try:
        document = json.loads(text)
    except ValueError as exc:
        where = f"{path}:{exc.lineno}" if isinstance(exc, json.JSONDecodeError) else str(path)
        raise DataError(
            f"{where}: not valid JSON ({exc}); the whole file must parse, so bad rows cannot "
            "be skipped. What to do: fix the file, or write it as JSONL (one object a line).",
            source=str(path),
            line=getattr(exc, "lineno", None),
        ) from exc
    if isinstance(document, list):
        return document, _array_items(text, _skip(text, 0))
    if isinstance(document, dict) and isinstance(document.get("examples"), list):
        return document, _member_array(text, "examples")
    raise DataError(
        f"{path}: expected a list of objects or a BIG-bench task (an object with an "
        f"'examples' list), got {kind(document)}: {show(document)}",
        source=str(path),
        value=document,
    )


def _json_rows(path: Path, document: Any, items: list[tuple[int, Any]]) -> Rows:
    if isinstance(document, dict):  # BIG-bench: map each example to question/answer[/choices]
        from pliable.data.bigbench import bigbench_row

        for line, item in items:
            try:
                data: Any = bigbench_row(item, document)
            except BadRow as bad:
                data = bad
            yield Row(f"{path}:{line}", line, data)
        return
    for line, item in items:
        yield Row(f"{path}:{line}", line, item)


def _import_datasets(what: str) -> Any:
    try:
        return importlib.import_module("datasets")
    except ImportError as exc:
        raise ConfigurationError(
            f"Loading {what} needs the optional `datasets` package, which is not installed. "
            'What to do: pip install "pliable[datasets]"'
        ) from exc


def _dataset_rows(dataset: Any, label: str) -> Rows:
    for number, row in enumerate(dataset, start=1):
        yield Row(f"{label} row {number}", number, row)


def _open_dataset(source: str | os.PathLike[str], split: str) -> tuple[str, Any]:
    path = Path(source).expanduser()
    if path.exists():
        datasets = _import_datasets(f"{path} (a Hugging Face dataset)")
    else:
        datasets = _import_datasets(
            f"{str(source)!r}, which is not an existing file or folder, as a hub dataset name"
        )
    if path.is_dir():
        try:
            loaded = datasets.load_from_disk(str(path))
        except FileNotFoundError as exc:
            raise DataError(
                f"{path} is a folder but not a dataset saved with save_to_disk ({exc}). "
                f"What to do: pass a data file ({', '.join(_KNOWN)}) or a saved dataset.",
                source=str(path),
            ) from exc
        if isinstance(loaded, datasets.DatasetDict):
            if split not in loaded:
                raise DataError(
                    f"{path} has no split {split!r}; its splits are {sorted(loaded)}. "
                    "What to do: pass split=... with one of them.",
                    source=str(path),
                )
            return f"{path} [{split}]", loaded[split]
        return str(path), loaded
    if path.is_file():
        builder = _HF_FILES[path.suffix.lower()]
        loaded = datasets.load_dataset(builder, data_files={"train": str(path)}, split="train")
        return str(path), loaded
    try:
        return f"{source} [{split}]", datasets.load_dataset(str(source), split=split)
    except Exception as exc:
        raise DataError(
            f"{str(source)!r} is not a local file or folder (no {path.resolve()}), and "
            f"datasets.load_dataset({str(source)!r}, split={split!r}) failed: {exc}",
            source=str(source),
        ) from exc


def _looks_like_path(source: str | os.PathLike[str]) -> bool:
    text = os.fspath(source)
    return (
        not isinstance(source, str)
        or Path(text).suffix.lower() in _KNOWN
        or text.startswith((".", "/", "~", "\\"))
        or (len(text) > 1 and text[1] == ":")  # a Windows drive
    )


def open_rows(
    source: str | os.PathLike[str], split: str
) -> tuple[str, Rows, tuple[str, ...] | None]:
    """``(label, rows, fields)`` for ``source``, by its suffix (see
    :func:`~pliable.data.loaders.load_examples`): a label for messages, the rows (files other
    than ``.json`` are read as the rows are), and the fields every row has by default (``None``:
    the first row's keys)."""
    path = Path(source).expanduser()
    suffix = path.suffix.lower()
    if path.is_file() and suffix in _JSONL:
        return str(path), _jsonl_rows(path), None
    if path.is_file() and suffix in _CSV:
        return str(path), _csv_rows(path, _CSV[suffix]), None
    if path.is_file() and suffix == ".json":
        document, items = read_json_document(path)
        bigbench = isinstance(document, dict)
        return (
            str(path),
            _json_rows(path, document, items),
            ("question", "answer") if bigbench else None,
        )
    if path.is_dir() or (path.is_file() and suffix in _HF_FILES) or not _looks_like_path(source):
        label, dataset = _open_dataset(source, split)
        return label, _dataset_rows(dataset, label), None
    if path.is_file():
        raise DataError(
            f"{path}: cannot tell its format from the suffix {suffix or '(none)'!r}. "
            f"What to do: use one of {', '.join(_KNOWN)}, or a saved dataset folder.",
            source=str(path),
        )
    raise DataError(
        f"{path}: no such file (looked at {path.resolve()}).", source=str(path), value=source
    )
