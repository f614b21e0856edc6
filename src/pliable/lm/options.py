"""Which LM option names hold credentials or transport settings rather than sampling ones.

Such options never reach a cache key, the history, a log line or a compiled file.
"""

from __future__ import annotations

from functools import lru_cache

__all__ = ["is_secret_option"]

_DROPPED = frozenset(
    {"api_key", "api_base", "base_url", "organization", "headers", "extra_headers"}
    | {"timeout", "num_retries", "max_retries", "aws_access_key_id", "aws_secret_access_key"}
)
# sampling settings whose names look like secrets
_KEPT = frozenset({"top_k", "tokenizer"})
_KEPT_SUFFIXES = ("_token_ids", "tokens")
_SECRET_WORDS = ("key", "token", "secret", "password", "credential", "auth")


@lru_cache(maxsize=1024)
def is_secret_option(name: str) -> bool:
    """True for option names that hold credentials or transport settings."""
    low = name.lower()
    if low in _DROPPED:
        return True
    if low in _KEPT or low.endswith(_KEPT_SUFFIXES):
        return False
    return any(word in low for word in _SECRET_WORDS)
