"""The cache key of an LM request: a sha256 of its canonical JSON, without credentials."""

from __future__ import annotations

import dataclasses
import enum
import hashlib
import json
from collections.abc import Mapping
from typing import Any

from pliable.errors import UsageError
from pliable.lm.options import is_secret_option

__all__ = ["request_key"]


def _canonical(value: Any) -> Any:
    """``value`` as JSON-native data, the same for equal values on every run."""
    if value is None or isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, float):
        return int(value) if value.is_integer() else value  # temperature 0 == 0.0
    if isinstance(value, Mapping):
        # keys are made text here; the encoder sorts them
        return {
            (k if isinstance(k, str) else _dumps(_canonical(k))): _canonical(v)
            for k, v in value.items()
        }
    if isinstance(value, (list, tuple)):
        return [_canonical(v) for v in value]
    if isinstance(value, (set, frozenset)):
        return sorted((_canonical(v) for v in value), key=_dumps)
    if isinstance(value, enum.Enum):
        return _canonical(value.value)
    if isinstance(value, (bytes, bytearray)):
        return {"__bytes__": bytes(value).hex()}
    if isinstance(value, type):
        schema = getattr(value, "model_json_schema", None)  # a pydantic model class
        named = {"__type__": f"{value.__module__}.{value.__qualname__}"}
        return {**named, "schema": _canonical(schema())} if callable(schema) else named
    if callable(dump := getattr(value, "model_dump", None)):  # a pydantic model
        return _canonical(dump(mode="json"))
    if dataclasses.is_dataclass(value):
        return _canonical({f.name: getattr(value, f.name) for f in dataclasses.fields(value)})
    raise UsageError(
        f"Cannot build an LM cache key from a value of type {type(value).__name__}: {value!r}. "
        "Pass JSON-like data (dicts, lists, str, numbers), pydantic models or dataclasses."
    )


_ENCODER = json.JSONEncoder(sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def _dumps(value: Any) -> str:
    return _ENCODER.encode(value)


_ANSWER_CHANGING = frozenset({"extra_body", "extra_query"})


def request_key(request: Mapping[str, Any]) -> str:
    """The sha256 hex digest identifying an LM request for caching.

    Covers the model, messages, every sampling setting and an optional ``sample`` index; leaves
    out credentials and transport settings (``api_key``, ``api_base``, ``timeout``, retries,
    headers, and any top-level name containing key, token, secret or password, but not
    ``max_tokens`` and other token counts). ``extra_body`` and ``extra_query`` stay in: they
    can carry sampling settings (a server's own), and the key is a hash, never the values.
    """
    kept = {
        k: v
        for k, v in request.items()
        if not (isinstance(k, str) and is_secret_option(k)) or k in _ANSWER_CHANGING
    }
    messages = kept.pop("messages", None)
    digest = hashlib.sha256(_dumps(_canonical(kept)).encode())
    if messages is not None:
        # fast path: chat messages are dicts of strings, which json sorts and writes as they
        # are; anything else goes through the full canonical form
        plain = isinstance(messages, list) and all(
            isinstance(m, dict) and all(isinstance(v, str) for v in m.values()) for m in messages
        )
        digest.update(b"\x00messages\x00")
        digest.update(_dumps(messages if plain else _canonical(messages)).encode())
    return digest.hexdigest()
