"""Provider registry: which backend serves a model name, chosen by its prefix.

``pl.LM("local/smollm2")`` and ``pl.LM("openai/gpt-4o-mini")`` both go through
:func:`make_backend`. Prefixes registered with :func:`register_provider` win; every other name
goes to litellm, which knows ``openai/``, ``anthropic/``, ``ollama_chat/``, ``hosted_vllm/``
and the rest. pliable registers its embedded model (``local/``) through the very hook users
call, and packages can register theirs through the ``pliable.providers`` entry-point group
(an entry point named after the prefix, pointing at a factory).

A factory is ``factory(model, settings) -> LanguageModel``; ``settings`` holds ``api_key``,
``api_base``, ``timeout`` and ``supports_response_schema`` when given.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import Any

from pliable.errors import ConfigurationError
from pliable.lm.types import LanguageModel

__all__ = ["ProviderFactory", "make_backend", "register_provider", "unregister_provider"]

ProviderFactory = Callable[[str, Mapping[str, Any]], LanguageModel]

_registry: dict[str, ProviderFactory] = {}
_lock = threading.Lock()
_entry_points_loaded = False


def unregister_provider(prefix: str) -> None:
    """Forget the provider registered for ``prefix`` (a no-op if there is none)."""
    with _lock:
        if prefix != "local":
            _registry.pop(prefix, None)


def register_provider(prefix: str, factory: ProviderFactory) -> None:
    """Serve model names ``"<prefix>/..."`` with ``factory`` (replacing an earlier one)."""
    if not prefix or "/" in prefix:
        raise ConfigurationError(
            f"A provider prefix is a non-empty name without '/'; got {prefix!r}."
        )
    with _lock:
        _registry[prefix] = factory


def _load_entry_points() -> None:
    global _entry_points_loaded
    if _entry_points_loaded:
        return
    _entry_points_loaded = True
    from importlib.metadata import entry_points

    for ep in entry_points(group="pliable.providers"):
        if ep.name not in _registry:
            register_provider(ep.name, ep.load())


LOCAL_SETTINGS = ("n_ctx", "n_threads", "weight_repacking", "prefix_cache_mb", "parallel")


def _local(model: str, settings: Mapping[str, Any]) -> LanguageModel:
    from pliable.lm.local import LocalLM

    return LocalLM(model, **{k: settings[k] for k in LOCAL_SETTINGS if k in settings})


def _litellm(model: str, settings: Mapping[str, Any]) -> LanguageModel:
    from pliable.lm.litellm_backend import LiteLLMBackend

    return LiteLLMBackend(model, **settings)


register_provider("local", _local)


def make_backend(model: str, settings: Mapping[str, Any] | None = None) -> LanguageModel:
    """The backend for ``model``: a registered prefix, an entry point, or litellm."""
    prefix = model.split("/", 1)[0] if "/" in model else model
    if prefix not in _registry:
        _load_entry_points()
    factory = _registry.get(prefix, _litellm)
    return factory(model, dict(settings or {}))
