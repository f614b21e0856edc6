"""Adapters: signature + demos + inputs -> chat messages; LM text -> typed outputs."""

from typing import TYPE_CHECKING

from pliable._lazy import attach

if TYPE_CHECKING:
    from pliable.adapters.base import Adapter
    from pliable.adapters.chat import ChatAdapter
    from pliable.adapters.json_adapter import JSONAdapter
    from pliable.adapters.json_repair import loads_lenient
    from pliable.adapters.template import TemplateAdapter

__all__ = [
    "Adapter",
    "ChatAdapter",
    "JSONAdapter",
    "TemplateAdapter",
    "loads_lenient",
]

_LAZY = {
    "Adapter": "pliable.adapters.base",
    "ChatAdapter": "pliable.adapters.chat",
    "JSONAdapter": "pliable.adapters.json_adapter",
    "TemplateAdapter": "pliable.adapters.template",
    "loads_lenient": "pliable.adapters.json_repair",
}

if not TYPE_CHECKING:
    __getattr__, __dir__ = attach(__name__, _LAZY)

del TYPE_CHECKING, attach
