"""Which LM options may be written down, and which hold credentials or transport settings.

Two lists with two jobs:

- :data:`SAMPLING_OPTIONS` is an **allowlist**: the options that shape a model's answer
  (temperature, max_tokens, stop, ...). Only these are written to a compiled file, and only
  these are read from one; endpoints, keys, headers, bodies, cache paths, retries and
  timeouts never are, whatever their name (:func:`file_options`, :func:`check_file_options`).
- :func:`is_secret_option` is a name check for what reaches a cache key, the history or a log
  line, where unknown provider options must still pass (they change the answer).

:func:`redact_url` hides the credentials in a URL (``https://user:pass@host`` ->
``https://***@host``) before it is shown anywhere.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

__all__ = [
    "SAMPLING_OPTIONS",
    "check_file_options",
    "file_options",
    "is_secret_option",
    "redact_url",
]

#: The LM options a compiled file may carry: sampling and output-shape settings only.
SAMPLING_OPTIONS = frozenset(
    {
        "temperature",
        "top_p",
        "top_k",
        "min_p",
        "typical_p",
        "max_tokens",
        "max_completion_tokens",
        "stop",
        "n",
        "seed",
        "presence_penalty",
        "frequency_penalty",
        "repeat_penalty",
        "logprobs",
        "top_logprobs",
        "reasoning_effort",
    }
)

_DROPPED = frozenset(
    {"api_key", "api_base", "base_url", "organization", "headers", "extra_headers"}
    | {"timeout", "num_retries", "max_retries", "aws_access_key_id", "aws_secret_access_key"}
    | {"default_headers", "extra_body", "extra_query", "metadata", "proxy", "proxies"}
)
# sampling settings whose names look like secrets
_KEPT = frozenset({"top_k", "tokenizer"})
_KEPT_SUFFIXES = ("_token_ids", "tokens")
_SECRET_WORDS = (
    "key",
    "token",
    "secret",
    "password",
    "passwd",
    "credential",
    "auth",
    "bearer",
    "cookie",
    "session",
)
_MAX_STOP = 16
# whole-number options and their ranges: a file sets what each call costs
_LIMITS = {
    "n": (1, 64),
    "max_tokens": (1, 1_000_000),
    "max_completion_tokens": (1, 1_000_000),
    "top_logprobs": (0, 20),
    "top_k": (0, 100_000),
    "seed": (-(2**63), 2**63 - 1),
}
_MAX_TEXT = 1000


@lru_cache(maxsize=1024)
def is_secret_option(name: str) -> bool:
    """True for option names that hold credentials or transport settings."""
    low = name.lower()
    if low in _DROPPED:
        return True
    if low in _KEPT or low.endswith(_KEPT_SUFFIXES):
        return False
    return any(word in low for word in _SECRET_WORDS)


def _plain_value(name: str, value: Any) -> str | None:
    """Why ``value`` is not a valid value for the sampling option ``name``, or None."""
    if value is None:
        return None
    if name == "stop":
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, (list, tuple)) or len(items) > _MAX_STOP:
            return f"a string or a list of at most {_MAX_STOP} strings"
        if not all(isinstance(s, str) and len(s) <= _MAX_TEXT for s in items):
            return "a list of short strings"
        return None
    if name == "reasoning_effort":
        return None if isinstance(value, str) and len(value) <= 32 else "a short string"
    if name == "logprobs":
        return None if isinstance(value, bool) else "true or false"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return "a number"
    if name in _LIMITS:
        low, high = _LIMITS[name]
        if not isinstance(value, int) or not low <= value <= high:
            return f"an integer from {low} to {high}"
        return None
    if value != value or abs(value) > 1e9:  # NaN or absurd
        return "a finite number"
    return None


def file_options(options: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The part of ``options`` a compiled file may hold, and the names left out (sorted).

    Used when saving: a key outside :data:`SAMPLING_OPTIONS`, or with a value that is not a
    plain sampling value, is left out, so no secret reaches a file by an unusual name.
    """
    kept: dict[str, Any] = {}
    dropped: list[str] = []
    for name, value in options.items():
        if name in SAMPLING_OPTIONS and _plain_value(name, value) is None:
            kept[name] = list(value) if isinstance(value, tuple) else value
        else:
            dropped.append(str(name))
    return kept, sorted(dropped)


def check_file_options(options: Any, where: str) -> str | None:
    """Why the LM options read from a compiled file at ``where`` are refused, or None.

    Only :data:`SAMPLING_OPTIONS` with plain values pass; anything else (an endpoint, a key,
    a header, a cache path, retries, a timeout) refuses the whole file.
    """
    if not isinstance(options, Mapping):
        return f"{where} must be an object of sampling options; got {type(options).__name__}"
    for name, value in options.items():
        if name not in SAMPLING_OPTIONS:
            allowed = ", ".join(sorted(SAMPLING_OPTIONS))
            return (
                f"{where} has the option {str(name)[:80]!r}, which a compiled file may not set "
                f"(only sampling options may: {allowed}). Endpoints, keys, headers, cache "
                "paths, retries and timeouts belong to the LM you pass when loading: "
                "pl.load(path, lm=pl.LM(model, api_base=...)). Remove the option from the file"
            )
        problem = _plain_value(name, value)
        if problem is not None:
            return f"{where}.{name} = {str(value)[:80]!r} should be {problem}"
    return None


def redact_url(url: str) -> str:
    """``url`` with its ``user:password@`` part replaced by ``***@`` and the values of query
    parameters whose names look like credentials replaced by ``***``."""
    from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

    try:
        parts = urlsplit(url)
    except ValueError:
        return "***"
    netloc = parts.netloc
    if "@" in netloc:
        netloc = "***@" + netloc.rsplit("@", 1)[1]
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        query = urlencode([(k, "***" if is_secret_option(k) else v) for k, v in pairs], safe="*")
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))
