"""Adapters: signature + demos + inputs -> chat messages; LM text -> typed outputs."""

from pliable.adapters.base import Adapter
from pliable.adapters.chat import ChatAdapter
from pliable.adapters.json_adapter import JSONAdapter
from pliable.adapters.json_repair import loads_lenient
from pliable.adapters.template import TemplateAdapter

__all__ = ["Adapter", "ChatAdapter", "JSONAdapter", "TemplateAdapter", "loads_lenient"]
