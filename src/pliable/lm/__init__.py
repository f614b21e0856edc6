"""Language models: ``LM`` (litellm providers and the embedded local model), the
``LanguageModel`` contract, usage tracking, call history, and fake LMs for tests."""

from typing import TYPE_CHECKING

from pliable._lazy import attach

if TYPE_CHECKING:
    from pliable.lm.budget import Budget, Spent
    from pliable.lm.cache import Cache, default_cache_dir, request_key
    from pliable.lm.fake import FakeCall, FunctionLM, ScriptedLM
    from pliable.lm.history import History, HistoryEntry, inspect_history
    from pliable.lm.lm import DEFAULT_MODEL, LM
    from pliable.lm.providers import make_backend, register_provider, unregister_provider
    from pliable.lm.types import Completion, LanguageModel, Message, Usage
    from pliable.lm.usage import CallRecord, ModelUsage, UsageTracker, track_usage

__all__ = [
    "Budget",
    "Cache",
    "CallRecord",
    "Completion",
    "DEFAULT_MODEL",
    "FakeCall",
    "FunctionLM",
    "History",
    "HistoryEntry",
    "LM",
    "LanguageModel",
    "Message",
    "ModelUsage",
    "ScriptedLM",
    "Spent",
    "Usage",
    "UsageTracker",
    "default_cache_dir",
    "inspect_history",
    "make_backend",
    "register_provider",
    "request_key",
    "track_usage",
    "unregister_provider",
]

_LAZY = {
    "Budget": "pliable.lm.budget",
    "Cache": "pliable.lm.cache",
    "CallRecord": "pliable.lm.usage",
    "Completion": "pliable.lm.types",
    "DEFAULT_MODEL": "pliable.lm.lm",
    "FakeCall": "pliable.lm.fake",
    "FunctionLM": "pliable.lm.fake",
    "History": "pliable.lm.history",
    "HistoryEntry": "pliable.lm.history",
    "LM": "pliable.lm.lm",
    "LanguageModel": "pliable.lm.types",
    "Message": "pliable.lm.types",
    "ModelUsage": "pliable.lm.usage",
    "ScriptedLM": "pliable.lm.fake",
    "Spent": "pliable.lm.budget",
    "Usage": "pliable.lm.types",
    "UsageTracker": "pliable.lm.usage",
    "default_cache_dir": "pliable.lm.cache",
    "inspect_history": "pliable.lm.history",
    "make_backend": "pliable.lm.providers",
    "register_provider": "pliable.lm.providers",
    "request_key": "pliable.lm.cache",
    "track_usage": "pliable.lm.usage",
    "unregister_provider": "pliable.lm.providers",
}

if not TYPE_CHECKING:
    __getattr__, __dir__ = attach(__name__, _LAZY)

del TYPE_CHECKING, attach
