"""A module that the hostile compiled files in ``tests/compiled`` name, and that pliable must
never import while reading a compiled file.

Importing it, and calling or instantiating anything it defines, appends one line to the file
named by the environment variable ``PLIABLE_HOSTILE_MARKER`` (``import``, ``call:boom``,
``init:Evil``, ...), so a test sees that it happened, in this process or another. The events
are also kept in :data:`EVENTS`. It imports nothing from pliable, so that importing it has no
effect on pliable itself.
"""

from __future__ import annotations

import enum
import os
from typing import Any

from pydantic import BaseModel

EVENTS: list[str] = []


def _mark(event: str) -> None:
    EVENTS.append(event)
    path = os.environ.get("PLIABLE_HOSTILE_MARKER")
    if path:
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(event + "\n")


_mark("import")


def boom(*args: Any, **kwargs: Any) -> str:
    """A zero-argument callable (it takes anything)."""
    _mark("call:boom")
    return "boom"


def evil_tool(query: str = "") -> str:
    """Looks like a ReAct tool."""
    _mark("call:evil_tool")
    return "evil"


class Evil:
    """A plain class."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        _mark("init:Evil")

    def __call__(self, *args: Any, **kwargs: Any) -> str:
        _mark("call:Evil")
        return "evil"


class EvilAdapter:
    """Looks like a pliable adapter (format, parse, to_dict, from_dict)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        _mark("init:EvilAdapter")

    @classmethod
    def from_dict(cls, data: Any = None) -> EvilAdapter:
        _mark("call:EvilAdapter.from_dict")
        return cls()

    def to_dict(self) -> dict[str, Any]:
        _mark("call:EvilAdapter.to_dict")
        return {}

    def format(self, *args: Any, **kwargs: Any) -> list[dict[str, str]]:
        _mark("call:EvilAdapter.format")
        return [{"role": "user", "content": "evil"}]

    def parse(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        _mark("call:EvilAdapter.parse")
        return {}


class EvilProgram:
    """Looks like a pliable program (named_predictors, load, __call__)."""

    report: Any = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        _mark("init:EvilProgram")

    def named_predictors(self) -> list[tuple[str, Any]]:
        _mark("call:EvilProgram.named_predictors")
        return []

    def __call__(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        _mark("call:EvilProgram")
        return {}


class EvilRetriever:
    """Looks like a retriever."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        _mark("init:EvilRetriever")

    def search(self, query: str, k: int = 3) -> list[Any]:
        _mark("call:EvilRetriever.search")
        return []

    def __len__(self) -> int:
        return 0


class EvilEmbedder:
    """Looks like an embedder."""

    name = "evil"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        _mark("init:EvilEmbedder")

    def embed(self, texts: Any) -> list[list[float]]:
        _mark("call:EvilEmbedder.embed")
        return [[1.0] for _ in texts]


class _MarkingEnumMeta(enum.EnumMeta):
    def __call__(cls, *args: Any, **kwargs: Any) -> Any:
        _mark(f"call:{cls.__name__}")
        return super().__call__(*args, **kwargs)


class Color(enum.Enum, metaclass=_MarkingEnumMeta):
    """Same members as the Color of the corpus' typed signature; Color(value) is marked."""

    RED = "red"
    GREEN = "green"


class Addr(BaseModel):
    """Same fields as the corpus' Addr."""

    city: str

    def model_post_init(self, context: Any, /) -> None:
        _mark("init:Addr")


class Person(BaseModel):
    """Same fields as the corpus' Person."""

    name: str
    age: int
    addr: Addr

    def model_post_init(self, context: Any, /) -> None:
        _mark("init:Person")
