"""Read JSON the way small models write it: repair common damage locally, never re-ask.

Handles: code fences, prose around the value, single-quoted strings, Python's
``True/False/None``, unquoted keys, trailing commas, comments, raw newlines inside strings and
a value cut off at the end (unclosed strings, arrays and objects are closed).
"""

from __future__ import annotations

import json
import re
from typing import Any

__all__ = ["loads_lenient"]

# A closing fence starts a line; a JSON string cannot hold a raw newline, so ``` inside a
# string value is never taken for one.
_FENCE = re.compile(r"```(?:json|JSON)?[ \t]*\n(.*?)\n[ \t]*```", re.DOTALL)
_LITERALS = {
    "True": "true",
    "False": "false",
    "None": "null",
    "true": "true",
    "false": "false",
    "null": "null",
    "NaN": "null",
    "Infinity": "null",
}
_BARE = re.compile(r"[A-Za-z_$][\w$-]*")
_NUMBER = re.compile(r"-?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")


def loads_lenient(text: str, *, want: type | None = None) -> Any:
    """Parse JSON from ``text``, repairing it if needed. Raises ``ValueError`` if hopeless.

    ``want`` (``dict`` or ``list``) says which top-level value to look for in prose.
    """
    stripped = text.strip()
    try:
        return json.loads(stripped)
    except ValueError:
        pass
    fence = _FENCE.search(stripped)
    first_value = min((i for i in (stripped.find("{"), stripped.find("[")) if i >= 0), default=-1)
    if fence and (first_value < 0 or fence.start() < first_value):
        stripped = fence.group(1).strip()
        try:
            return json.loads(stripped)
        except ValueError:
            pass
    openers = "{" if want is dict else "[" if want is list else "{["
    starts = [i for i in (stripped.find(c) for c in openers) if i >= 0]
    if not starts:
        raise ValueError(f"no JSON {'object' if want is dict else 'value'} found")
    candidate = stripped[min(starts) :]
    try:
        value, _ = json.JSONDecoder().raw_decode(candidate)
        return value
    except ValueError:
        pass
    repaired = _repair(candidate)
    try:
        value, _ = json.JSONDecoder().raw_decode(repaired)
    except ValueError as exc:
        raise ValueError(f"JSON could not be repaired: {exc}") from exc
    return value


def _read_string(src: str, i: int, quote: str, out: list[str]) -> int:
    """Copy the string starting at ``src[i] == quote`` as a JSON string; return next index."""
    out.append('"')
    i += 1
    n = len(src)
    while i < n:
        ch = src[i]
        if ch == "\\" and i + 1 < n:
            nxt = src[i + 1]
            if nxt == "'":
                out.append("'")
            elif nxt in '"\\/bfnrtu':
                out.append(ch + nxt)
            else:
                out.append("\\\\" + nxt)
            i += 2
            continue
        if ch == quote:
            out.append('"')
            return i + 1
        if ch == '"':
            out.append('\\"')
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\r":
            out.append("\\r")
        elif ch == "\t":
            out.append("\\t")
        elif ord(ch) < 0x20:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
        i += 1
    out.append('"')  # cut off inside a string: close it
    return n


def _drop_trailing_comma(out: list[str]) -> None:
    j = len(out) - 1
    while j >= 0 and out[j].isspace():
        j -= 1
    if j >= 0 and out[j] == ",":
        del out[j]


def _repair(src: str) -> str:
    out: list[str] = []
    stack: list[str] = []
    i, n = 0, len(src)
    while i < n:
        ch = src[i]
        if ch in "\"'":
            i = _read_string(src, i, ch, out)
        elif ch in "{[":
            stack.append("}" if ch == "{" else "]")
            out.append(ch)
            i += 1
        elif ch in "}]":
            _drop_trailing_comma(out)
            if stack:
                # close any inner bracket the model forgot before this one
                while stack and stack[-1] != ch:
                    out.append(stack.pop())
                if stack:
                    stack.pop()
                out.append(ch)
            i += 1
            if not stack:
                break
        elif src.startswith("//", i):
            while i < n and src[i] != "\n":
                i += 1
        elif src.startswith("/*", i):
            end = src.find("*/", i + 2)
            i = n if end < 0 else end + 2
        elif (m := _NUMBER.match(src, i)) and (i == 0 or not src[i - 1].isalnum()):
            out.append(m.group())
            i = m.end()
        elif m := _BARE.match(src, i):
            word = m.group()
            rest = src[m.end() :].lstrip()
            if rest.startswith(":") and stack and stack[-1] == "}":
                out.append(json.dumps(word))  # unquoted key
            elif word in _LITERALS:
                out.append(_LITERALS[word])
            else:
                out.append(json.dumps(word))  # bare word as a value: keep it as text
            i = m.end()
        else:
            out.append(ch)
            i += 1
    _drop_trailing_comma(out)
    while stack:
        tail = "".join(out).rstrip()
        if tail.endswith(":"):
            out.append("null")
        out.append(stack.pop())
    return "".join(out)
