"""Where rows come from: JSONL, CSV, JSON (a list or a BIG-bench task) and ``datasets``.

Each reader yields :class:`Row` tuples ``(where, line, data)`` lazily; ``data`` is a
:class:`BadRow` when the row could not even be parsed. :mod:`pliable.data.loaders` checks the
rows and turns them into examples.
"""

from __future__ import annotations

import codecs
import csv
import importlib
import json
import os
import re
import sys
from collections.abc import Generator
from pathlib import Path
from typing import Any, NamedTuple

from pliable.errors import ConfigurationError, DataError

__all__ = [
    "ABSENT",
    "BadRow",
    "DataError",
    "Row",
    "Rows",
    "loads_json",
    "not_utf8_error",
    "open_rows",
    "read_json_document",
]

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
    try:
        text = repr(value)
    except ValueError:  # an int too long for Python's digit limit
        text = f"<{type(value).__name__} too long to show>"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def kind(value: object) -> str:
    names = {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}
    if value is None:
        return "null"
    return names.get(type(value), f"a {type(value).__name__}")


_UTF8_HINT = (
    "What to do: re-save the file as UTF-8 (if it is Latin-1 or Windows-1252: "
    "iconv -f cp1252 -t utf-8 FILE > NEW, or 'Save as UTF-8' in an editor)."
)


def not_utf8_error(path: str | os.PathLike[str], exc: UnicodeDecodeError) -> DataError:
    """A one-line :class:`DataError` for a file that is not UTF-8: ``file:line``, the bad
    byte, its offset in the file and the text around it. ``exc`` is what reading raised; the
    file is read again (in binary, a chunk at a time) to find where the bad byte is."""
    found = _find_bad_utf8(Path(path))
    if found is None:  # the file changed, or cannot be read again: say what is known
        return DataError(
            f"{path}: not UTF-8 text ({exc.reason}). {_UTF8_HINT}",
            source=os.fspath(path),
            value=exc.object[exc.start : exc.end],
        )
    line, offset, bad, around, reason = found
    return DataError(
        f"{path}:{line}: not UTF-8 text: byte {' '.join(f'0x{b:02x}' for b in bad)} at byte "
        f"offset {offset} ({reason}), in '{around}'. {_UTF8_HINT}",
        source=os.fspath(path),
        line=line,
        value=bad,
    )


def _find_bad_utf8(
    path: Path, chunk_size: int = 1 << 20
) -> tuple[int, int, bytes, str, str] | None:
    """(1-based line, byte offset, the bad bytes, the text around them, the decoder's reason)
    of the first byte of ``path`` that is not UTF-8, or ``None`` if every byte is."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    done = newlines = 0  # bytes fed to the decoder before this chunk, and their newlines
    try:
        with path.open("rb") as file:
            while True:
                chunk = file.read(chunk_size)
                pending = decoder.getstate()[0]  # the start of a character cut by the chunk
                buffer = pending + chunk
                try:
                    decoder.decode(chunk, final=not chunk)
                except UnicodeDecodeError as exc:
                    start, end = exc.start, exc.end
                    line = newlines + buffer.count(b"\n", 0, start) + 1
                    first = max(buffer.rfind(b"\n", 0, start) + 1, start - 40)
                    last = buffer.find(b"\n", end)
                    last = min(len(buffer) if last < 0 else last, end + 40)
                    text = buffer[first:last].decode("utf-8", "backslashreplace")
                    around = "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
                    offset = done - len(pending) + start
                    return line, offset, buffer[start:end], around, exc.reason
                if not chunk:
                    return None
                newlines += chunk.count(b"\n")  # a cut character never holds a newline byte
                done += len(chunk)
    except OSError:
        return None


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise not_utf8_error(path, exc) from exc


# --- JSON that json.loads cannot take: too deep, or an integer with too many digits -----------

_JSON_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"?|[\[{]|[\]}]|-?\d+(\.\d*)?([eE][-+]?\d+)?')


def _int_digit_limit() -> int:
    """Python's limit on the digits of an int read from text (0: none; Python 3.10.7+)."""
    get: Any = getattr(sys, "get_int_max_str_digits", None)
    return int(get()) if get is not None else 0


def _json_trouble(text: str, exc: BaseException) -> tuple[int, str]:
    """(0-based position, reason) of what made ``json.loads(text)`` fail with ``exc``."""
    if isinstance(exc, json.JSONDecodeError):
        return exc.pos, f"not valid JSON ({exc.msg} at column {exc.colno})"
    limit = _int_digit_limit()
    depth = deepest = deepest_at = 0
    for match in _JSON_TOKEN.finditer(text):
        token = match.group()
        if token in ("[", "{"):
            depth += 1
            if depth > deepest:
                deepest, deepest_at = depth, match.start()
        elif token in ("]", "}"):
            depth -= 1
        elif token[0] != '"' and match.group(1) is None and match.group(2) is None:
            digits = len(token.lstrip("-"))
            if limit and digits > limit and not isinstance(exc, RecursionError):
                return match.start(), (
                    f"not readable JSON: an integer of {digits} digits at column "
                    f"{_column(text, match.start())}, over Python's limit of {limit} digits "
                    "(write it as a string)"
                )
    if isinstance(exc, RecursionError):
        return deepest_at, (
            f"not readable JSON: arrays/objects nested {deepest} deep (column "
            f"{_column(text, deepest_at)}), deeper than Python can parse"
        )
    return 0, f"not valid JSON ({exc})"


def _column(text: str, pos: int) -> int:
    return pos - text.rfind("\n", 0, pos)


def _around(text: str, pos: int) -> str:
    """The text of the line at ``pos``: up to 40 characters before it, 40 from it."""
    first = max(text.rfind("\n", 0, pos) + 1, pos - 40)
    last = text.find("\n", pos)
    return text[first : min(len(text) if last < 0 else last, pos + 40)].rstrip("\r")


def loads_json(text: str) -> Any:
    """``json.loads(text)``, but every failure is a ``ValueError`` whose message says in one
    line what is wrong and where (column): broken JSON, arrays or objects nested too deep to
    parse, an integer with more digits than Python reads."""
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise ValueError(_json_trouble(text, exc)[1]) from exc


def _jsonl_rows(path: Path) -> Rows:
    with path.open(encoding="utf-8-sig", newline="") as file:
        number = 0
        while True:
            try:
                line = file.readline()
            except UnicodeDecodeError as exc:
                raise not_utf8_error(path, exc) from exc
            if not line:
                return
            number += 1
            if not line.strip():
                continue
            try:
                data: Any = loads_json(line)
            except ValueError as exc:
                data = BadRow(f"{exc}: {show(line.rstrip())}", value=line)
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
            except UnicodeDecodeError as exc:
                raise not_utf8_error(path, exc) from exc
            except csv.Error as exc:
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
    except (ValueError, RecursionError) as exc:
        pos, reason = _json_trouble(text, exc)
        line = 1 + text.count("\n", 0, pos)
        raise DataError(
            f"{path}:{line}: {reason}, near {show(_around(text, pos))}; the whole file must "
            "parse, so bad rows cannot be skipped. What to do: fix the file, or write it as "
            "JSONL (one object a line).",
            source=str(path),
            line=line,
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
        builder = _HF_FILES.get(path.suffix.lower())
        if builder is None:
            raise _unknown_suffix(path)
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


def _unknown_suffix(path: Path) -> DataError:
    suffix = path.suffix.lower()
    return DataError(
        f"{path}: cannot tell its format from the suffix {suffix or '(none)'!r}; the accepted "
        f"data files are {', '.join(_KNOWN)}. What to do: rename the file to the suffix of "
        "its format, or convert it (JSONL: one JSON object a line; CSV: a header row first).",
        source=str(path),
        value=path.name,
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
    if path.is_file() and suffix not in _KNOWN:
        raise _unknown_suffix(path)
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
    raise DataError(
        f"{path}: no such file (looked at {path.resolve()}).", source=str(path), value=source
    )
