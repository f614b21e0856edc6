"""The sampling options the in-process models (``LocalLM``, ``SoftPromptLM``) take, and
their check: one list, so a program runs on either model unchanged."""

from __future__ import annotations

from typing import Any

from pliable.errors import ConfigurationError

__all__: list[str] = []

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
