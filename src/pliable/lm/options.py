"""Which LM option names hold credentials or transport settings rather than sampling ones.

Such options never reach a cache key, the history, a log line or a compiled file.

Also the options the in-process models (``LocalLM``, ``SoftPromptLM``) take, and their check.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from pliable.errors import ConfigurationError

__all__ = ["is_secret_option"]

# The options of the in-process models: LocalLM's SUPPORTED_OPTIONS, and SoftPromptLM's (which
# ignores repeat_penalty and response_format), so that a program runs on either unchanged.
_LOCAL_OPTIONS = (
    "max_tokens",
    "n",
    "repeat_penalty",
    "response_format",
    "seed",
    "stop",
    "temperature",
    "top_p",
)

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


def _checked_options(
    owner: str, options: dict[str, Any], *, seed: int, max_tokens: int
) -> tuple[int, int, int, list[str], dict[str, Any]]:
    """The options of an in-process model's ``complete``, checked against ``_LOCAL_OPTIONS``:
    ``n``, ``seed``, ``max_tokens`` (defaults: 1 and the given ones), ``stop`` as a list, and
    the options that are not None.

    ``owner`` names the model in the errors, e.g. ``"LocalLM (local/smollm2)"``.
    """
    unknown = sorted(set(options) - set(_LOCAL_OPTIONS))
    if unknown:
        raise ConfigurationError(
            f"{owner} does not support the option(s) {', '.join(unknown)}. "
            f"Supported: {', '.join(_LOCAL_OPTIONS)}."
        )
    opts = {k: v for k, v in options.items() if v is not None}
    n, seed = int(opts.get("n", 1)), int(opts.get("seed", seed))
    max_tokens = int(opts.get("max_tokens", max_tokens))
    if n < 1 or max_tokens < 1:
        raise ConfigurationError(f"n and max_tokens must be >= 1; got {n} and {max_tokens}.")
    stop = opts.get("stop", [])
    stop = [stop] if isinstance(stop, str) else list(stop)
    if not all(isinstance(s, str) and s for s in stop):
        raise ConfigurationError(f"stop must be a string or a list of strings; got {stop!r}.")
    return n, seed, max_tokens, stop, opts
