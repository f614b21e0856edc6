"""The default adapter: chosen from the LM a call uses.

A predictor with no adapter of its own (and none set with ``pl.using`` / ``pl.configure``)
uses :class:`~pliable.adapters.json_adapter.JSONAdapter` when its LM enforces a JSON schema
(``lm.supports_response_schema``: every local model, where the schema becomes a llama.cpp
grammar, and litellm providers with structured outputs), so a reply always parses into the
output fields; otherwise :class:`~pliable.adapters.chat.ChatAdapter`, whose ``[[name]]``
markers need no support from the LM. Zero-shot on the four packaged local models, the JSON
adapter's replies parsed and named a choice where the chat format's often did not (see
BENCHMARKS.md, "Prompt formats").
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pliable.adapters.chat import ChatAdapter
from pliable.adapters.json_adapter import JSONAdapter

if TYPE_CHECKING:
    from pliable.adapters.base import Adapter
    from pliable.lm.types import LanguageModel

__all__ = ["default_adapter", "default_adapter_for_model"]

_CHAT = ChatAdapter()
_JSON = JSONAdapter()


def default_adapter(lm: LanguageModel | None) -> Adapter:
    """The adapter for calls to ``lm``: JSON when it enforces a JSON schema, else chat.

    ``None`` stands for the embedded local model, which a call with no LM configured uses.
    """
    if lm is None:
        return _JSON
    return _JSON if getattr(lm, "supports_response_schema", False) else _CHAT


def default_adapter_for_model(model: str | None) -> Adapter:
    """:func:`default_adapter` for an LM known only by name (as a compiled file records it).

    Local names need no lookup (every local model enforces a schema); other names ask the
    provider layer, which sends nothing (litellm's model table); an unknown one gets chat.
    """
    if model is None or model == "local" or model.startswith("local/"):
        return _JSON
    if model.startswith(("soft/", "transformers/")):  # pliable's soft-prompt runtime: no schema
        return _CHAT
    from pliable.errors import PliableError
    from pliable.lm.lm import LM

    try:
        return default_adapter(LM(model, cache=False))
    except PliableError:
        return _CHAT
