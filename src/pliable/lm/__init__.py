"""Language models: ``LM`` (litellm providers and the embedded local model), the
``LanguageModel`` contract, usage tracking, call history, and fake LMs for tests."""

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
