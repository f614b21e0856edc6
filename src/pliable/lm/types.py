"""The contract between programs and language models: messages in, a ``Completion`` out."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple, Protocol, TypedDict, runtime_checkable

__all__ = ["Completion", "LanguageModel", "Message", "Usage"]


class Message(TypedDict):
    """One chat message: ``{"role": "system" | "user" | "assistant", "content": "..."}``."""

    role: str
    content: str


class Usage(NamedTuple):
    """Tokens and cost of one LM call (``cost`` in US dollars, 0 when unknown or local)."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost: float = 0.0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


class Completion(NamedTuple):
    """What an LM returns: one text per requested choice (``n``), plus usage."""

    texts: tuple[str, ...]
    model: str
    usage: Usage = Usage()
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
