"""Language models: the ``LanguageModel`` contract, and fake LMs for tests."""

from pliable.lm.fake import FakeCall, FunctionLM, ScriptedLM
from pliable.lm.types import Completion, LanguageModel, Message, Usage

__all__ = [
    "Completion",
    "FakeCall",
    "FunctionLM",
    "LanguageModel",
    "Message",
    "ScriptedLM",
    "Usage",
]
