"""The litellm backend: every hosted or OpenAI-compatible provider, imported lazily.

This is the only module that imports litellm, and only when a request is made, so
``import pliable`` stays fast. litellm's own retries are turned off: :class:`~pliable.lm.LM`
retries with backoff itself, and maps litellm's exceptions to pliable's
(:class:`~pliable.errors.ProviderError` and subclasses) keeping the provider's message.
"""

from __future__ import annotations

import difflib
import os
import re
import threading
from collections.abc import Sequence
from types import ModuleType
from typing import Any

from pliable.errors import (
    ConfigurationError,
    LMAuthError,
    LMBadRequestError,
    LMRateLimitError,
    LMServerError,
    LMTimeoutError,
    ProviderError,
)
from pliable.lm.types import Completion, Message, Usage

__all__ = ["LiteLLMBackend", "key_advice", "map_provider_error", "token_prices", "unknown_provider"]

_import_lock = threading.Lock()


def _litellm() -> ModuleType:
    with _import_lock:
        # use the pricing table shipped with litellm instead of fetching it at import
        os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
        import litellm

        litellm.suppress_debug_info = True
        litellm.telemetry = False
        return litellm


def token_prices(model: str) -> tuple[float, float] | None:
    """USD per prompt token and per completion token for ``model`` from litellm's pricing
    table (the one shipped with litellm; nothing is fetched), or ``None`` when it has no entry.
    The name is looked up as given, then without its ``provider/`` prefix. Imports litellm."""
    table = _litellm().model_cost
    info = table.get(model) or table.get(model.split("/", 1)[-1])
    if not info:
        return None
    return (
        float(info.get("input_cost_per_token") or 0.0),
        float(info.get("output_cost_per_token") or 0.0),
    )


_AUTH = {"AuthenticationError", "PermissionDeniedError"}
_BAD = {
    "BadRequestError",
    "NotFoundError",
    "ContextWindowExceededError",
    "UnprocessableEntityError",
    "UnsupportedParamsError",
    "ContentPolicyViolationError",
}
_TIMEOUT = {"Timeout", "APITimeoutError", "TimeoutError", "ReadTimeout"}
_SERVER = {
    "InternalServerError",
    "ServiceUnavailableError",
    "APIConnectionError",
    "BadGatewayError",
    "ConnectError",
}


# How providers say "no key" or "bad key" when litellm does not raise AuthenticationError
# (OpenAI's client reports a missing key as a 500 InternalServerError).
_AUTH_TEXT = re.compile(
    r"missing credentials|api[_ ]?key|unauthori[sz]ed|invalid (?:x-)?api|authenticat"
    r"|permission denied|incorrect key",
    re.IGNORECASE,
)
_NO_PROVIDER = "LLM Provider NOT provided"


def key_advice(model: str) -> str:
    """What to do about a missing or rejected key for ``model``'s provider."""
    provider = model.split("/", 1)[0] if "/" in model else "openai"
    variable = f"{re.sub(r'[^A-Za-z0-9]', '_', provider).upper()}_API_KEY"
    return (
        f"Set {variable} in the environment (or pass api_key=... to pl.LM), and check that "
        "the key is valid for this model. Not retried."
    )


def unknown_provider(model: str) -> ConfigurationError:
    """The error for a model name litellm cannot route, with the nearest names pliable
    knows (its local models, its registered prefixes, litellm's providers)."""
    from pliable.lm.packaged import known_names

    litellm = _litellm()
    local = known_names()
    providers = [str(getattr(p, "value", p)) for p in litellm.provider_list]
    near = [n for n in local if n.split("/", 1)[1] == model.lower()]
    near += difflib.get_close_matches(model, local, n=2, cutoff=0.6)
    prefix, _, rest = model.rpartition("/")
    for p in difflib.get_close_matches(prefix or model, providers, n=2, cutoff=0.75):
        near.append(f"{p}/{rest}" if prefix else f"{p}/...")
    shown = list(dict.fromkeys(near))
    hint = f" Did you mean {' or '.join(repr(n) for n in shown)}?" if shown else ""
    return ConfigurationError(
        f"Unknown model {model!r}: a model name starts with its provider "
        f"(openai/gpt-4o-mini, anthropic/..., ollama_chat/..., local/smollm2).{hint}"
    )


def map_provider_error(exc: BaseException, model: str) -> ProviderError:
    """Translate a litellm / provider exception into pliable's error for it."""
    name = type(exc).__name__
    status = getattr(exc, "status_code", None)
    status = status if isinstance(status, int) else None
    message = str(getattr(exc, "message", "") or exc)
    cls: type[ProviderError]
    # a rate limit or a timeout may mention the key ("your key's quota"): only the rest are
    # read for a missing or rejected key
    other = name not in _TIMEOUT and name != "RateLimitError" and status not in (408, 429)
    if name in _AUTH or status in (401, 403) or (other and _AUTH_TEXT.search(message)):
        error = LMAuthError(message, model=model, status_code=status)
        error.advice = key_advice(model)
        return error
    if name == "RateLimitError" or status == 429:
        cls = LMRateLimitError
    elif name in _TIMEOUT or status == 408:
        cls = LMTimeoutError
    elif name in _BAD or status in (400, 404, 422):
        cls = LMBadRequestError
    elif name in _SERVER or (status is not None and status >= 500):
        cls = LMServerError
    else:
        cls = ProviderError
    return cls(message, model=model, status_code=status)


class LiteLLMBackend:
    """Calls ``litellm.completion`` / ``acompletion`` for one model."""

    def __init__(
        self,
        model: str,
        *,
        api_key: str | None = None,
        api_base: str | None = None,
        timeout: float | None = None,
        supports_response_schema: bool | None = None,
    ) -> None:
        self.model = model
        self._api_key = api_key
        self._api_base = api_base
        self._timeout = timeout
        self._schema_support = supports_response_schema

    def __repr__(self) -> str:  # never shows the key
        base = f", api_base={self._api_base!r}" if self._api_base else ""
        return f"LiteLLMBackend({self.model!r}{base})"

    @property
    def supports_response_schema(self) -> bool:
        if self._schema_support is None:
            try:
                self._schema_support = bool(_litellm().supports_response_schema(model=self.model))
            except Exception:
                self._schema_support = False
        return self._schema_support

    def _request(self, messages: Sequence[Message], options: dict[str, Any]) -> dict[str, Any]:
        request: dict[str, Any] = {
            "model": self.model,
            "messages": list(messages),
            "num_retries": 0,
            "max_retries": 0,
            **options,
        }
        if self._api_key is not None:
            request["api_key"] = self._api_key
        if self._api_base is not None:
            request["api_base"] = self._api_base
        if self._timeout is not None:
            request["timeout"] = self._timeout
        return request

    def _completion(self, litellm: ModuleType, response: Any) -> Completion:
        choices = list(getattr(response, "choices", None) or [])
        if not choices:
            raise LMServerError("the provider returned no choices", model=self.model)
        refusal = getattr(choices[0].message, "refusal", None)
        if refusal and not choices[0].message.content:
            raise LMBadRequestError(f"the model refused: {refusal}", model=self.model)
        texts = tuple((choice.message.content or "") for choice in choices)
        usage = getattr(response, "usage", None)
        prompt = int(getattr(usage, "prompt_tokens", 0) or 0)
        completion = int(getattr(usage, "completion_tokens", 0) or 0)
        try:
            cost = float(litellm.completion_cost(completion_response=response) or 0.0)
        except Exception:  # pricing unknown for this model
            cost = 0.0
        return Completion(texts, self.model, Usage(prompt, completion, cost))

    def complete(self, messages: Sequence[Message], **options: Any) -> Completion:
        litellm = _litellm()
        try:
            response = litellm.completion(**self._request(messages, options))
        except Exception as exc:
            if _NO_PROVIDER in str(exc):
                raise unknown_provider(self.model) from exc
            raise map_provider_error(exc, self.model) from exc
        return self._completion(litellm, response)

    async def acomplete(self, messages: Sequence[Message], **options: Any) -> Completion:
        litellm = _litellm()
        try:
            response = await litellm.acompletion(**self._request(messages, options))
        except Exception as exc:
            if _NO_PROVIDER in str(exc):
                raise unknown_provider(self.model) from exc
            raise map_provider_error(exc, self.model) from exc
        return self._completion(litellm, response)
