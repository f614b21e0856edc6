"""Typed values to prompt text, and LM text (or decoded JSON) back to typed values.

:func:`render_value` writes a value the way adapters ask the model to write it;
:func:`coerce` reads it back, tolerantly: quotes, case, a trailing period, ``yes``/``no`` for
booleans, a lone number inside a sentence, bullet lists for ``list[...]`` and damaged JSON are
all accepted. What cannot be read raises ``ValueError`` with the reason; adapters turn that
into a :class:`~pliable.errors.ParseError` naming the field.
"""

from __future__ import annotations

import contextlib
import dataclasses
import enum
import json
import math
import re
import typing
from functools import lru_cache
from typing import Any, Literal

from pliable.adapters.json_repair import loads_lenient
from pliable.signatures.types import is_pydantic_model, optional_inner, type_name

__all__ = ["coerce", "json_schema", "render_input", "render_value", "to_jsonable", "type_hint"]

_TRUE = {"true", "yes", "y", "1", "correct", "t"}
_FALSE = {"false", "no", "n", "0", "incorrect", "f"}
_NULL = {"null", "none", "", "n/a"}
_NUM = re.compile(r"[-+]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:[eE][-+]?\d+)?|[-+]?\.\d+")
_BULLET = re.compile(r"^\s*(?:[-*•]|\d+[.)]|\[\d+\])\s+(.*)$")


def to_jsonable(value: Any) -> Any:
    """Turn pydantic models, enums, tuples, sets and dataclasses (e.g. retrieved passages)
    into plain JSON data."""
    if isinstance(value, enum.Enum):
        return value.value
    if hasattr(value, "model_dump") and is_pydantic_model(type(value)):
        return value.model_dump(mode="json")
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return to_jsonable(dataclasses.asdict(value))
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [to_jsonable(v) for v in value]
    return value


def _dumps(value: Any) -> str:
    return json.dumps(to_jsonable(value), ensure_ascii=False)


def render_value(value: Any, annotation: Any) -> str:
    """Write an output value as the model is asked to write it (JSON for non-text types)."""
    if isinstance(value, str) and annotation is not Any:
        return value
    if isinstance(value, enum.Enum) and isinstance(value.value, str):
        return value.value
    return _dumps(value)


def _text(value: Any) -> bool:
    """Plain text: a ``str`` that is not an enum member (a list of enum members, even ``str``
    ones, is written as JSON, as it is once the program is saved and loaded)."""
    return isinstance(value, str) and not isinstance(value, enum.Enum)


def render_input(value: Any) -> str:
    """Write an input value for the prompt: text as is, lists of text as bullet lines.

    Bullets, not numbers: shown ``[1] Yes`` / ``[2] No``, small models answer with the marker
    (``[1] No``, or ``[2]`` alone), which is not the choice's text."""
    if isinstance(value, enum.Enum) and isinstance(value.value, str):
        return value.value  # before str: a str enum member is its value, on every Python
    if isinstance(value, str):
        return value
    if isinstance(value, (list, tuple)) and value and all(_text(v) for v in value):
        return "\n".join(f"- {v}" for v in value)
    return _dumps(value)


@lru_cache(maxsize=512)
def json_schema(annotation: Any) -> dict[str, Any]:
    """The JSON schema of a field type (pydantic's, without titles)."""
    from pydantic import TypeAdapter

    schema = TypeAdapter(annotation).json_schema()
    return _strip_titles(schema)  # type: ignore[no-any-return]


def _strip_titles(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: _strip_titles(v) for k, v in node.items() if k != "title"}
    if isinstance(node, list):
        return [_strip_titles(v) for v in node]
    return node


@lru_cache(maxsize=512)
def type_hint(annotation: Any) -> str:
    """A few words telling the model how to write a value of this type ('' for text)."""
    if annotation is str:
        return ""
    inner = optional_inner(annotation)
    if inner is not None:
        base = type_hint(inner) or "text"
        return f"{base}, or null"
    if annotation is bool:
        return "true or false"
    if annotation is int:
        return "an integer"
    if annotation is float:
        return "a number"
    if annotation is Any:
        return "JSON"
    origin = typing.get_origin(annotation)
    if origin is Literal:
        return "one of: " + ", ".join(
            str(v) if isinstance(v, str) else json.dumps(v) for v in typing.get_args(annotation)
        )
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return "one of: " + ", ".join(str(m.value) for m in annotation)
    if (origin is list or origin is dict) and _plain(annotation):
        return f"JSON {type_name(annotation)}"
    if origin is list or origin is dict or is_pydantic_model(annotation):
        schema = json.dumps(json_schema(annotation), separators=(",", ":"))
        return f"JSON matching {schema}"
    return type_name(annotation)


def _plain(annotation: Any) -> bool:
    """True for str/int/float/bool and lists/dicts of them (short names say it all)."""
    if annotation in (str, int, float, bool, Any):
        return True
    if typing.get_origin(annotation) in (list, dict):
        return all(_plain(a) for a in typing.get_args(annotation))
    return False


def _clean_token(text: str) -> str:
    return text.strip().strip("`*\"'").strip().rstrip(".!").strip().strip("\"'")


def _lone_number(text: str) -> str:
    cleaned = _clean_token(text)
    if _NUM.fullmatch(cleaned):
        return cleaned.replace(",", "")
    found = _NUM.findall(text)
    if len(found) == 1:
        return str(found[0]).replace(",", "")
    raise ValueError(f"expected a number, got {text!r}")


def _coerce_int(raw: Any) -> int:
    if isinstance(raw, bool):
        raise ValueError(f"expected an integer, got {raw!r}")
    if isinstance(raw, int):
        return raw
    if isinstance(raw, float):
        if raw.is_integer():
            return int(raw)
        raise ValueError(f"expected an integer, got {raw!r}")
    if isinstance(raw, str):
        num = _lone_number(raw)
        value = float(num) if any(c in num for c in ".eE") else int(num)
        if isinstance(value, float):
            if not value.is_integer():
                raise ValueError(f"expected an integer, got {raw!r}")
            return int(value)
        return value
    raise ValueError(f"expected an integer, got {raw!r}")


def _coerce_float(raw: Any) -> float:
    if isinstance(raw, bool):
        raise ValueError(f"expected a number, got {raw!r}")
    if isinstance(raw, (int, float)):
        value = float(raw)
    elif isinstance(raw, str):
        if "%" in raw:
            raise ValueError(f"expected a plain number, got a percentage {raw!r}")
        value = float(_lone_number(raw))
    else:
        raise ValueError(f"expected a number, got {raw!r}")
    if not math.isfinite(value):
        raise ValueError(f"expected a finite number, got {raw!r}")
    return value


def _coerce_bool(raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, int) and raw in (0, 1):
        return bool(raw)
    if isinstance(raw, str):
        token = _clean_token(raw).lower()
        if token in _TRUE:
            return True
        if token in _FALSE:
            return False
    raise ValueError(f"expected true or false, got {raw!r}")


# A choice wrapped the way models emphasise it: [[x]], [x], (x), <x>, **x**, a "## x" heading.
_WRAPPERS = re.compile(r"\A(?:\[\[(.*)\]\]|\[(.*)\]|\((.*)\)|<(.*)>|#{1,6}[ \t]+(.*))\Z", re.S)


def _unwrapped(token: str) -> str | None:
    m = _WRAPPERS.match(token)
    return None if m is None else _clean_token(next(g for g in m.groups() if g is not None))


def _choice_tokens(raw: str) -> list[str]:
    """The forms of ``raw`` tried in order: cleaned, unwrapped once, then the same for its
    first line (a choice followed by an explanation or a stray marker line)."""
    forms: list[str] = []
    token = _clean_token(raw)
    first = _clean_token(token.split("\n", 1)[0])
    for form in (token, _unwrapped(token), first, _unwrapped(first)):
        if form and form not in forms:
            forms.append(form)
    return forms


_NO_MATCH = object()


def _match_token(token: str, choices: list[Any], *, text_only: bool = False) -> Any:
    """The choice ``token`` names (exact, then ignoring case, then as a bool or int, unless
    ``text_only``)."""
    for c in choices:
        if isinstance(c, str) and c == token:
            return c
    for c in choices:
        if isinstance(c, str) and c.lower() == token.lower():
            return c
    if text_only:
        return _NO_MATCH
    for c in choices:
        if isinstance(c, bool):
            try:
                if _coerce_bool(token) is c:
                    return c
            except ValueError:
                pass
        elif isinstance(c, int):
            try:
                if _coerce_int(token) == c:
                    return c
            except ValueError:
                pass
    return _NO_MATCH


def _match_choice(raw: Any, choices: list[Any], what: str) -> Any:
    for c in choices:
        if raw == c and type(raw) is type(c):
            return c
    if isinstance(raw, str):
        for i, token in enumerate(_choice_tokens(raw)):
            # the loose forms (unwrapped, first line) must name a text choice exactly: a
            # number picked out of a sentence's first line is no answer
            found = _match_token(token, choices, text_only=i > 0)
            if found is not _NO_MATCH:
                return found
    shown = ", ".join(repr(c) for c in choices)
    raise ValueError(f"expected {what} ({shown}), got {raw!r}")


def _as_json(raw: Any, want: type) -> Any:
    if isinstance(raw, str):
        return loads_lenient(raw, want=want)
    return raw


def _text_list(raw: str) -> list[Any]:
    """A list written as text: a JSON array, bullet or numbered lines, one item per line, or
    comma-separated items on one line."""
    text = raw.strip()
    if not text:
        return []
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    bullets = [m.group(1).strip() for ln in lines if (m := _BULLET.match(ln))]
    if bullets and len(bullets) == len(lines):  # "- a", "1. a", "[1] a" on every line
        return bullets
    if text.startswith(("[", "```")):
        try:
            data = loads_lenient(text, want=list)
        except ValueError:
            data = None
        if isinstance(data, list):
            return data
    if text.startswith("["):
        raise ValueError(f"expected a JSON array, got {raw!r}")
    if len(lines) == 1:
        return [part.strip() for part in lines[0].split(",") if part.strip()]
    return lines


def _coerce_list(raw: Any, item: Any) -> list[Any]:
    decoded = not isinstance(raw, str)
    if isinstance(raw, str):
        raw = _text_list(raw)
    if not isinstance(raw, list):
        raw = [raw]
    if item is Any and decoded:
        return list(raw)  # values decoded from JSON keep their JSON types ("true" stays text)
    return [coerce(item, v) for v in raw]


def _coerce_model(raw: Any, model: Any) -> Any:
    from pydantic import ValidationError

    if isinstance(raw, model):
        return raw
    data = _as_json(raw, dict)
    if isinstance(data, dict):
        data = dict(data)
        for name, info in model.model_fields.items():
            key = name if name in data else info.alias
            if key in data:
                # the same tolerance as top-level fields (case, quotes, "yes"...); what still
                # fails is left to pydantic, which names the field in its error
                with contextlib.suppress(ValueError):
                    data[key] = coerce(info.annotation, data[key])
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or '(root)'}: {e['msg']}" for e in exc.errors()
        )
        raise ValueError(f"does not match {model.__name__}: {problems}") from exc


def coerce(annotation: Any, raw: Any, *, null_words: bool = False) -> Any:
    """Read ``raw`` (LM text, or a value decoded from JSON) as a value of ``annotation``.

    ``null_words``: for free text (not JSON), read ``null``, ``none``, ``n/a`` and empty text
    as ``None`` for ``Optional`` fields. Inside decoded JSON only ``null`` is ``None``.
    """
    if annotation is str:
        if isinstance(raw, str):
            return raw
        if raw is None:
            raise ValueError("expected text, got null")
        return _dumps(raw)
    inner = optional_inner(annotation)
    if inner is not None:
        if raw is None:
            return None
        words_allowed = null_words or inner is not str
        if isinstance(raw, str) and words_allowed and _clean_token(raw).lower() in _NULL:
            return None
        return coerce(inner, raw)
    if annotation is Any:
        if isinstance(raw, str):
            try:
                return json.loads(raw)
            except ValueError:
                return raw
        return raw
    if annotation is bool:
        return _coerce_bool(raw)
    if annotation is int:
        return _coerce_int(raw)
    if annotation is float:
        return _coerce_float(raw)
    origin = typing.get_origin(annotation)
    if origin is Literal:
        return _match_choice(raw, list(typing.get_args(annotation)), "one of")
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        if isinstance(raw, annotation):
            return raw
        by_value = _match_choice(
            raw,
            [m.value for m in annotation] + [m.name for m in annotation],
            f"a {annotation.__name__}",
        )
        try:
            return annotation(by_value)
        except ValueError:
            return annotation[by_value]
    if origin is list:
        (item,) = typing.get_args(annotation) or (Any,)
        return _coerce_list(raw, item)
    if origin is dict:
        args = typing.get_args(annotation)
        value_type = args[1] if len(args) == 2 else Any
        data = _as_json(raw, dict)
        if not isinstance(data, dict):
            raise ValueError(f"expected a JSON object, got {raw!r}")
        if value_type is Any:  # decoded JSON keeps its types: the string "true" stays text
            return {str(k): v for k, v in data.items()}
        return {str(k): coerce(value_type, v) for k, v in data.items()}
    if is_pydantic_model(annotation):
        return _coerce_model(raw, annotation)
    raise ValueError(f"cannot read a value of type {type_name(annotation)}")
