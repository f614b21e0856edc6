"""Tracing: every predictor call inside ``with pl.trace() as t`` is recorded in ``t``.

A trace entry is ``(predictor, inputs, outputs)``. Recording happens at call time inside the
predictor, so it follows any Python control flow (loops, branches, recursion, early returns).
The active traces live in a :mod:`contextvars` variable: a trace started in one thread does
not see calls made by unrelated threads, and worker threads started through
:class:`ContextThreadPool` record into the trace of the code that started them. Appending is
guarded by a lock, so many workers can share one trace.
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, NamedTuple, ParamSpec, TypeVar

if TYPE_CHECKING:
    from pliable.data.example import Prediction
    from pliable.programs.predict import Predict

__all__ = ["ContextThreadPool", "Trace", "TraceEntry", "record", "trace"]

P = ParamSpec("P")
T = TypeVar("T")


class TraceEntry(NamedTuple):
    """One predictor call: the predictor, the inputs it got and the prediction it made."""

    predictor: Predict
    inputs: dict[str, Any]
    outputs: Prediction


class Trace:
    """The entries recorded inside one ``pl.trace()`` block, in call order."""

    def __init__(self) -> None:
        self._entries: list[TraceEntry] = []
        self._lock = threading.Lock()

    def append(self, entry: TraceEntry) -> None:
        with self._lock:
            self._entries.append(entry)

    @property
    def entries(self) -> list[TraceEntry]:
        with self._lock:
            return list(self._entries)

    def for_predictor(self, predictor: Predict) -> list[TraceEntry]:
        """The entries made by one predictor (compared by identity)."""
        return [e for e in self.entries if e.predictor is predictor]

    def __iter__(self) -> Iterator[TraceEntry]:
        return iter(self.entries)

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def __getitem__(self, index: int) -> TraceEntry:
        with self._lock:
            return self._entries[index]

    def __repr__(self) -> str:
        return f"Trace({len(self)} entries)"


_active: contextvars.ContextVar[tuple[Trace, ...]] = contextvars.ContextVar(
    "pliable_traces", default=()
)


@contextmanager
def trace() -> Iterator[Trace]:
    """Record every predictor call made inside the block (nested blocks all record)."""
    t = Trace()
    token = _active.set((*_active.get(), t))
    try:
        yield t
    finally:
        _active.reset(token)


def record(entry: TraceEntry) -> None:
    """Add ``entry`` to every active trace (called by predictors)."""
    for t in _active.get():
        t.append(entry)


class ContextThreadPool(ThreadPoolExecutor):
    """A thread pool whose tasks run in a copy of the submitting code's context.

    Worker threads therefore see the caller's ``pl.using(...)`` settings and record into the
    caller's active traces.
    """

    def submit(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> Future[T]:
        ctx = contextvars.copy_context()
        return super().submit(lambda: ctx.run(fn, *args, **kwargs))
