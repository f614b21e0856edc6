"""Usage accounting: every LM call is recorded into the active ``pl.track_usage()`` blocks.

    with pl.track_usage() as usage:
        program(question="...")
    usage.total.calls, usage.total.cost      # all models
    usage.by_model()["openai/gpt-4o-mini"]   # one model
    print(usage.summary())

Cache hits are counted as hits (``cache_hits``), cost nothing and are not LM calls
(``calls`` counts only requests that reached a model). Like traces, trackers live in
:mod:`contextvars`, so worker threads pliable starts record into their caller's tracker.

A tracker may hold a :class:`RequestJournal` (a compile's run log): every request is written
to it (durably) before it is sent and every answer when it arrives, so a run killed and
resumed knows what it spent, and gets back the answers it already had (:func:`replay_answer`).
The journal is closed when its ``track_usage()`` block ends.
"""

from __future__ import annotations

import contextvars
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

if TYPE_CHECKING:
    from pliable.lm.budget import Budget, Spent

__all__ = [
    "CallRecord",
    "ModelUsage",
    "RequestJournal",
    "accounted_by_caller",
    "backend_accounts",
    "UsageTracker",
    "journaling",
    "record_call",
    "replay_answer",
    "reserve_call",
    "track_usage",
]


class CallRecord(NamedTuple):
    """One LM request as seen by pliable."""

    model: str
    prompt_tokens: int
    completion_tokens: int
    cost: float
    latency: float
    cached: bool


@dataclass
class ModelUsage:
    """Totals over many calls."""

    calls: int = 0
    cache_hits: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost: float = 0.0
    latency: float = 0.0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def add(self, record: CallRecord) -> None:
        if record.cached:
            self.cache_hits += 1
            return
        self.calls += 1
        self.prompt_tokens += record.prompt_tokens
        self.completion_tokens += record.completion_tokens
        self.cost += record.cost
        self.latency += record.latency


class RequestJournal(Protocol):
    """A durable, append-only record of a run's LM requests (an optimizer's run log).

    ``sent`` is written before a request goes out, so a run killed at any point has counted
    every request that may have reached the model; ``answered`` when its answer arrives, so a
    resumed run can :meth:`replay` it instead of asking again. ``seconds`` is the run's time
    so far (its budget's clock). Both may be called from many threads at once.
    """

    def sent(self, seconds: float) -> None:
        """Record (durably, before it is sent) one request about to go out."""

    def answered(
        self,
        record: CallRecord,
        *,
        key: str | None,
        texts: Sequence[str] | None,
        seconds: float,
    ) -> None:
        """Record an answer: its usage and cost, and with ``key`` (the request's cache key)
        and ``texts``, those for :meth:`replay`. It need not be durable against a machine
        crash (which would only cost the request again), only against the process dying."""

    def replay(self, key: str) -> dict[str, Any] | None:
        """An answer an earlier, interrupted run got for the request ``key`` and this run
        has not replayed yet (``{"texts": [...], "usage": {...}}``, a well-formed cache
        entry: see :func:`~pliable.lm.cache_rows.row_problem`), or None. Each recorded answer
        is replayed once."""

    def close(self) -> None:
        """The ``track_usage()`` block journaling into it has ended: release what it keeps
        open. It may still be written to and read afterwards."""


@dataclass
class UsageTracker:
    """The calls recorded inside one ``track_usage()`` block."""

    records: list[CallRecord] = field(default_factory=list)
    max_calls: int | None = None
    budget: Budget | None = None
    prior: Spent | None = None
    journal: RequestJournal | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _calls: int = 0
    _tokens: int = 0
    _cost: float = 0.0
    _started: float = field(default_factory=time.monotonic, repr=False)

    def spent(self) -> Spent:
        """What was spent inside the block, plus ``prior`` (a resumed run's earlier spend).
        ``lm_calls`` counts calls reserved, including those still in flight."""
        from pliable.lm.budget import Spent

        now = Spent(self._calls, self._tokens, self._cost, time.monotonic() - self._started)
        return now + self.prior if self.prior is not None else now

    def reserve(self) -> None:
        """Count one LM call about to be made; refuse it past ``max_calls`` or the budget."""
        from pliable.errors import BudgetExceededError

        with self._lock:
            if self.max_calls is not None and self._calls >= self.max_calls:
                raise BudgetExceededError(
                    f"LM call budget reached: {self.max_calls} calls were allowed. Raise the "
                    "limit (--max-calls / track_usage(max_calls=...)) or use a smaller dataset."
                )
            if self.budget is not None:
                reached = self.budget.exhausted(self.spent())
                if reached is not None:
                    raise BudgetExceededError(
                        f"Budget reached: {reached} allowed by {self.budget}. Raise the "
                        "limit, or resume later from the same run_dir with a larger budget."
                    )
            self._calls += 1

    def add(self, record: CallRecord) -> None:
        with self._lock:
            self.records.append(record)
            if not record.cached:
                self._tokens += record.prompt_tokens + record.completion_tokens
                self._cost += record.cost

    def by_model(self) -> dict[str, ModelUsage]:
        out: dict[str, ModelUsage] = {}
        with self._lock:
            for r in self.records:
                out.setdefault(r.model, ModelUsage()).add(r)
        return out

    @property
    def total(self) -> ModelUsage:
        total = ModelUsage()
        with self._lock:
            for r in self.records:
                total.add(r)
        return total

    def summary(self) -> str:
        """A small table of calls, cache hits, tokens and cost per model."""
        rows = [("model", "calls", "cache hits", "prompt tok", "completion tok", "cost $")]
        for model, u in sorted(self.by_model().items()):
            rows.append(
                (
                    model,
                    str(u.calls),
                    str(u.cache_hits),
                    str(u.prompt_tokens),
                    str(u.completion_tokens),
                    f"{u.cost:.6f}",
                )
            )
        t = self.total
        rows.append(
            (
                "total",
                str(t.calls),
                str(t.cache_hits),
                str(t.prompt_tokens),
                str(t.completion_tokens),
                f"{t.cost:.6f}",
            )
        )
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
        return "\n".join(
            "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows
        )


_active: contextvars.ContextVar[tuple[UsageTracker, ...]] = contextvars.ContextVar(
    "pliable_usage", default=()
)


@contextmanager
def track_usage(
    *,
    max_calls: int | None = None,
    budget: Budget | None = None,
    prior: Spent | None = None,
    journal: RequestJournal | None = None,
) -> Iterator[UsageTracker]:
    """Record every LM call made inside the block (nested blocks all record).

    With ``max_calls`` or a :class:`~pliable.Budget`, an LM call once a limit is reached
    (cache hits are free) raises :class:`~pliable.errors.BudgetExceededError` before anything
    is sent. ``prior`` is spending from before the block (a resumed run) that counts against
    the budget. ``journal`` records every request and answer (see :class:`RequestJournal`);
    it is closed when the block ends.
    """
    tracker = UsageTracker(max_calls=max_calls, budget=budget, prior=prior, journal=journal)
    token = _active.set((*_active.get(), tracker))
    try:
        yield tracker
    finally:
        _active.reset(token)
        if journal is not None:
            journal.close()


_accounted: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "pliable_usage_accounted", default=False
)


@contextmanager
def accounted_by_caller() -> Iterator[None]:
    """Inside this block a backend's own accounting is skipped: ``pl.LM`` has already
    reserved and will record the call (so a fake wrapped in ``pl.LM`` counts once)."""
    token = _accounted.set(True)
    try:
        yield
    finally:
        _accounted.reset(token)


def backend_accounts() -> bool:
    """Whether a backend called now should reserve and record its own call."""
    return not _accounted.get()


def reserve_call() -> None:
    """Called before an LM request: counts it against every active limit (refusing it past
    one), then writes it to every active journal, so it is on disk before it is sent."""
    trackers = _active.get()
    for tracker in trackers:
        tracker.reserve()
    for tracker in trackers:
        if tracker.journal is not None:
            tracker.journal.sent(tracker.spent().seconds)


def record_call(
    record: CallRecord, *, key: str | None = None, texts: Sequence[str] | None = None
) -> None:
    """Called after an LM call: adds it to every active tracker, and an answer from the model
    (not a cache hit) to every active journal, with the request's cache ``key`` and the
    answer's ``texts`` when a resumed run is to replay them from the journal (``pl.LM``
    without a persistent cache)."""
    for tracker in _active.get():
        tracker.add(record)
        if tracker.journal is not None and not record.cached:
            tracker.journal.answered(record, key=key, texts=texts, seconds=tracker.spent().seconds)


def journaling() -> bool:
    """Whether a journal is recording the calls made now (a request's key is then needed
    even without a cache, to replay it)."""
    return any(tracker.journal is not None for tracker in _active.get())


def replay_answer(key: str) -> dict[str, Any] | None:
    """The answer an interrupted earlier run got for the request ``key`` (from the innermost
    journal that has one; see :meth:`RequestJournal.replay`), or None."""
    for tracker in reversed(_active.get()):
        if tracker.journal is not None:
            found = tracker.journal.replay(key)
            if found is not None:
                return found
    return None
