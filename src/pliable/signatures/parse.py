"""Parse the string form of a signature: ``"question: str, k: int -> answers: list[str]"``.

No ``eval``: types are read by a small recursive-descent parser over a fixed vocabulary
(``str int float bool Any list dict Literal Optional None``, plus ``T | None``) and any custom
types the caller names. Errors show the string with a caret under the bad part.
"""

from __future__ import annotations

import ast
import keyword
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, Optional

from pliable.errors import SignatureError

__all__ = ["ParsedField", "parse_signature_string"]

_HINT = (
    'Write fields as "name" or "name: type", separated by commas, with inputs and outputs '
    'split by one "->", e.g. "context, question: str -> answer: list[str]".'
)
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_TOKEN = re.compile(
    r"\s*(?:(?P<str>'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\")|(?P<num>-?\d+)|"
    r"(?P<name>[A-Za-z_][A-Za-z0-9_.]*)|(?P<punct>[\[\],|]))"
)
_BUILTIN_TYPES: dict[str, Any] = {
    "str": str,
    "int": int,
    "float": float,
    "bool": bool,
    "Any": Any,
    "typing.Any": Any,
}


@dataclass(frozen=True)
class ParsedField:
    name: str
    annotation: Any


def _fail(text: str, start: int, end: int, reason: str, hint: str = _HINT) -> SignatureError:
    width = max(1, end - start)
    caret = " " * (start + 2) + "^" * width
    return SignatureError(
        f"Malformed signature: {reason}\n  {text}\n{caret}\n{hint}",
        text=text,
        column=start + 1,
        advice=hint,
    )


def _split_top_level(text: str, sep: str, start: int, end: int) -> list[tuple[int, int]]:
    """Split ``text[start:end]`` on ``sep`` outside brackets and quotes; return spans."""
    spans: list[tuple[int, int]] = []
    depth = 0
    quote: str | None = None
    i = piece_start = start
    while i < end:
        ch = text[i]
        if quote:
            if ch == "\\":
                i += 1
            elif ch == quote:
                quote = None
        elif ch in "'\"":
            quote = ch
        elif ch == "[":
            depth += 1
        elif ch == "]":
            depth -= 1
        elif depth == 0 and text.startswith(sep, i):
            spans.append((piece_start, i))
            i += len(sep)
            piece_start = i
            continue
        i += 1
    spans.append((piece_start, end))
    return spans


class _TypeParser:
    def __init__(self, text: str, start: int, end: int, types: Mapping[str, Any]) -> None:
        self.text = text
        self.types = types
        self.tokens: list[tuple[str, str, int, int]] = []
        pos = start
        while pos < end:
            if not text[pos:end].strip():
                break
            m = _TOKEN.match(text, pos, end)
            if not m or m.end() == pos:
                raise _fail(text, pos, pos + 1, f"unexpected character {text[pos]!r} in a type")
            kind = m.lastgroup or ""
            value = m.group(kind)
            self.tokens.append((kind, value, m.start(kind), m.end(kind)))
            pos = m.end()
        self.i = 0
        self.end = end

    def peek(self) -> tuple[str, str, int, int] | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self, value: str | None = None) -> tuple[str, str, int, int]:
        tok = self.peek()
        if tok is None:
            what = f"{value!r}" if value else "a type"
            raise _fail(self.text, self.end, self.end + 1, f"expected {what} but the type ended")
        if value is not None and tok[1] != value:
            raise _fail(self.text, tok[2], tok[3], f"expected {value!r}, found {tok[1]!r}")
        self.i += 1
        return tok

    def parse(self) -> Any:
        tp = self.union()
        tok = self.peek()
        if tok is not None:
            raise _fail(self.text, tok[2], tok[3], f"unexpected {tok[1]!r} after the type")
        return tp

    def union(self) -> Any:
        first_tok = self.peek()
        parts = [self.atom()]
        while (tok := self.peek()) is not None and tok[1] == "|":
            self.take("|")
            parts.append(self.atom())
        if len(parts) == 1:
            return parts[0]
        non_none = [p for p in parts if p is not type(None)]
        if len(parts) == 2 and len(non_none) == 1:
            return Optional[non_none[0]]  # noqa: UP045
        start = first_tok[2] if first_tok else self.end
        raise _fail(
            self.text,
            start,
            self.tokens[self.i - 1][3],
            "only `T | None` unions are supported",
            "Use Optional[T], a Literal[...] of the allowed values, or a pydantic model.",
        )

    def args(self) -> list[Any]:
        self.take("[")
        items = [self.union()]
        while (tok := self.peek()) is not None and tok[1] == ",":
            self.take(",")
            items.append(self.union())
        self.take("]")
        return items

    def literal_values(self) -> list[Any]:
        self.take("[")
        values: list[Any] = []
        while True:
            kind, value, start, end = self.take()
            if kind == "str":
                values.append(ast.literal_eval(value))
            elif kind == "num":
                values.append(int(value))
            elif value in ("True", "False"):
                values.append(value == "True")
            else:
                raise _fail(
                    self.text,
                    start,
                    end,
                    f"Literal values must be quoted strings, "
                    f"integers or True/False; found {value!r}",
                )
            sep = self.take()
            if sep[1] == "]":
                return values
            if sep[1] != ",":
                raise _fail(self.text, sep[2], sep[3], f"expected ',' or ']', found {sep[1]!r}")

    def atom(self) -> Any:
        kind, value, start, end = self.take()
        if kind != "name":
            raise _fail(self.text, start, end, f"expected a type name, found {value!r}")
        nxt = self.peek()
        has_args = nxt is not None and nxt[1] == "["
        bare = value.removeprefix("typing.")
        if bare == "Literal":
            return Literal.__getitem__(tuple(self.literal_values()))
        if bare == "None":
            return type(None)
        if bare in ("list", "List"):
            args = self.args() if has_args else [Any]
            if len(args) != 1:
                raise _fail(self.text, start, self.tokens[self.i - 1][3], "list takes one type")
            return list[args[0]]  # type: ignore[valid-type]
        if bare in ("dict", "Dict"):
            args = self.args() if has_args else [str, Any]
            if len(args) != 2:
                raise _fail(
                    self.text,
                    start,
                    self.tokens[self.i - 1][3],
                    "dict takes two types: dict[str, T]",
                )
            return dict[args[0], args[1]]  # type: ignore[valid-type]
        if bare == "Optional":
            args = self.args()
            if len(args) != 1:
                raise _fail(self.text, start, self.tokens[self.i - 1][3], "Optional takes one type")
            return Optional[args[0]]  # noqa: UP045
        if value in self.types:
            tp = self.types[value]
        elif value in _BUILTIN_TYPES:
            tp = _BUILTIN_TYPES[value]
        else:
            known = ", ".join(sorted({*_BUILTIN_TYPES, *self.types} - {"typing.Any"}))
            raise _fail(
                self.text,
                start,
                end,
                f"unknown type {value!r}",
                f"Known types: {known}, list[...], dict[str, ...], Literal[...], Optional[...]. "
                "Pass your own classes with types={'Name': Name}, or use the class form.",
            )
        if has_args:
            raise _fail(self.text, nxt[2], nxt[3], f"{value} takes no type arguments")  # type: ignore[index]
        return tp


def _parse_side(
    text: str, start: int, end: int, side: str, types: Mapping[str, Any]
) -> list[ParsedField]:
    fields: list[ParsedField] = []
    seen: set[str] = set()
    if not text[start:end].strip():
        return fields
    for piece_start, piece_end in _split_top_level(text, ",", start, end):
        piece = text[piece_start:piece_end]
        lead = len(piece) - len(piece.lstrip())
        name_start = piece_start + lead
        if not piece.strip():
            raise _fail(text, piece_start, piece_end + 1, f"empty field among the {side}s")
        colon = _split_top_level(text, ":", name_start, piece_end)
        name_end = colon[0][1]
        name = text[name_start:name_end].strip()
        name_stop = name_start + len(name)
        if not _IDENT.fullmatch(name) or keyword.iskeyword(name):
            raise _fail(
                text,
                name_start,
                max(name_stop, name_start + 1),
                f"{name!r} is not a valid field name (use a Python identifier)",
            )
        if name in seen:
            raise _fail(
                text, name_start, name_stop, f"field {name!r} appears twice among the {side}s"
            )
        seen.add(name)
        if len(colon) > 2:
            raise _fail(text, colon[1][1], colon[1][1] + 1, "a field has one ':' before its type")
        annotation: Any = str
        if len(colon) == 2:
            type_start, type_end = colon[1]
            if not text[type_start:type_end].strip():
                raise _fail(text, type_start - 1, type_start, f"field {name!r} has ':' but no type")
            annotation = _TypeParser(text, type_start, type_end, types).parse()
        fields.append(ParsedField(name, annotation))
    return fields


def _check_brackets(text: str) -> None:
    opened: list[int] = []
    quote: str | None = None
    for i, ch in enumerate(text):
        if quote:
            if ch == quote and text[i - 1] != "\\":
                quote = None
        elif ch in "'\"":
            quote = ch
        elif ch == "[":
            opened.append(i)
        elif ch == "]":
            if not opened:
                raise _fail(text, i, i + 1, "']' without a matching '['")
            opened.pop()
    if opened:
        raise _fail(text, opened[-1], opened[-1] + 1, "'[' is never closed")
    if quote:
        start = text.rindex(quote)
        raise _fail(text, start, start + 1, "a quoted Literal value is never closed")


def parse_signature_string(
    text: str, types: Mapping[str, Any] | None = None
) -> tuple[list[ParsedField], list[ParsedField]]:
    """Parse ``"inputs -> outputs"`` into input and output fields (name and annotation)."""
    if not isinstance(text, str):
        raise SignatureError(
            f"A signature string must be a str; got {type(text).__name__}: {text!r}."
        )
    _check_brackets(text)
    arrows = _split_top_level(text, "->", 0, len(text))
    if len(arrows) != 2:
        if len(arrows) == 1:
            raise _fail(text, 0, len(text), 'no "->" between inputs and outputs')
        second = arrows[1][1]
        raise _fail(text, second, second + 2, 'more than one "->"')
    (in_start, in_end), (out_start, out_end) = arrows
    type_map = dict(types or {})
    inputs = _parse_side(text, in_start, in_end, "input", type_map)
    outputs = _parse_side(text, out_start, out_end, "output", type_map)
    if not outputs:
        raise _fail(text, out_start, max(out_end, out_start + 1), 'no output fields after "->"')
    clash = {f.name for f in inputs} & {f.name for f in outputs}
    if clash:
        name = sorted(clash)[0]
        pos = text.rfind(name)
        raise _fail(text, pos, pos + len(name), f"field {name!r} is both an input and an output")
    return inputs, outputs
