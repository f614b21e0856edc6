"""The contract between programs and language models: messages in, a ``Completion`` out."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypedDict, runtime_checkable

__all__ = ["Completion", "LanguageModel", "Message", "Usage"]


class Message(TypedDict):
    """One chat message: ``{"role": "system" | "user" | "assistant", "content": "..."}``."""

    role: str
    content: str


@dataclass(frozen=True)
class Usage:
    """Tokens and cost of one LM call (``cost`` in US dollars, 0 when unknown or local)."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost: float = 0.0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.prompt_tokens + other.prompt_tokens,
            self.completion_tokens + other.completion_tokens,
            self.cost + other.cost,
        )


@dataclass(frozen=True)
class Completion:
    """What an LM returns: one text per requested choice (``n``), plus usage."""

    texts: tuple[str, ...]
    model: str
    usage: Usage = field(default_factory=Usage)
    cached: bool = False

    @property
    def text(self) -> str:
        """The first choice's text."""
        return self.texts[0]


@runtime_checkable
class LanguageModel(Protocol):
    """Anything that turns chat messages into a :class:`Completion`.

    ``options`` are sampling settings such as ``temperature``, ``max_tokens``, ``n``, ``stop``
    and ``response_format`` (a JSON schema, only sent when ``supports_response_schema``).
    """

    model: str

    @property
    def supports_response_schema(self) -> bool: ...

    def complete(self, messages: Sequence[Message], **options: Any) -> Completion: ...
