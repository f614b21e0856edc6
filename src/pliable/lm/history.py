"""A bounded history of LM calls, and ``pl.inspect_history(n)`` to read it.

Each :class:`~pliable.lm.LM` keeps its own ``lm.history``; the process keeps the last
calls of every LM too, which ``inspect_history`` reads by default. Secrets are never stored:
entries hold the model, messages, sampling options, the texts returned and usage.
"""

from __future__ import annotations

import sys
import threading
import time
from collections import deque
from collections.abc import Mapping, Sequence
from typing import IO, TYPE_CHECKING, Any, NamedTuple

from pliable.lm.types import Message, Usage

if TYPE_CHECKING:
    from pliable.lm.lm import LM

__all__ = ["History", "HistoryEntry", "inspect_history"]


class HistoryEntry(NamedTuple):
    """One call: what was sent (no secrets), what came back, usage, and when."""

    model: str
    messages: tuple[Message, ...]
    options: Mapping[str, Any]
    texts: tuple[str, ...]
    usage: Usage
    cached: bool
    latency: float
    timestamp: float

    def render(self) -> str:
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(self.timestamp))
        source = "cache hit" if self.cached else f"{self.latency:.2f}s"
        head = (
            f"=== {self.model} at {when} ({source}; {self.usage.prompt_tokens} prompt + "
            f"{self.usage.completion_tokens} completion tokens) ==="
        )
        parts = [head]
        parts += [f"--- {m['role']} ---\n{m['content']}" for m in self.messages]
        for i, text in enumerate(self.texts):
            label = "response" if len(self.texts) == 1 else f"response {i + 1}"
            parts.append(f"--- {label} ---\n{text}")
        return "\n".join(parts)


class History:
    """A thread-safe ring buffer of :class:`HistoryEntry`."""

    def __init__(self, maxlen: int = 100) -> None:
        self._entries: deque[HistoryEntry] = deque(maxlen=maxlen)
        self._lock = threading.Lock()

    def append(self, entry: HistoryEntry) -> None:
        with self._lock:
            self._entries.append(entry)

    def last(self, n: int = 1) -> list[HistoryEntry]:
        with self._lock:
            return list(self._entries)[-n:] if n > 0 else []

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def __iter__(self) -> Any:
        return iter(self.last(len(self)))


GLOBAL_HISTORY = History(maxlen=200)


def inspect_history(
    n: int = 1, *, lm: LM | None = None, file: IO[str] | None = None, show: bool = True
) -> list[HistoryEntry]:
    """Print the last ``n`` prompts and completions readably, and return them as data.

    ``lm`` limits it to one LM's history; ``show=False`` only returns the entries.
    """
    entries: Sequence[HistoryEntry] = (lm.history if lm is not None else GLOBAL_HISTORY).last(n)
    if show:
        out = file or sys.stdout
        for entry in entries:
            out.write(entry.render() + "\n\n")
    return list(entries)
