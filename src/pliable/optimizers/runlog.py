"""The run log: ``run_dir/run.jsonl``, one JSON event per line, appended as a run goes.

The first line is the run's header (optimizer, settings, dataset fingerprints, program
state). Later lines record every evaluated example (``row``: candidate state hash, example
key, score, error and prediction; ``example``: an example's inputs and labels, once each,
for the report page), every candidate (``candidate``: its name, scores, and the spend so
far) and the end of the run. A crash can leave a half-written last line; opening the log drops it.

The log is also the run's journal of LM requests (a
:class:`~pliable.lm.usage.RequestJournal`): a ``request`` line is written (and fsync'd)
before each request is sent, and an ``answer`` line (usage and cost) when its answer arrives;
for a ``pl.LM`` without a persistent cache the answer line also holds the request's cache key
and the answer's texts (with one, the cache has them). So however often a run is killed, the
requests counted on resume (:func:`logged_spend`) include every one that may have reached the
model, and a resumed run takes the answers it already had from the cache or the log instead
of asking again. Only the requests in flight at a kill lose their answers and are sent again:
one when requests go one at a time (``num_threads=1`` and a program that runs none in
parallel), otherwise up to as many as run at once (``num_threads`` times what the program
itself runs in parallel, as in ``pl.Parallel``). Answers from a bare
:class:`~pliable.lm.LanguageModel` (not wrapped in ``pl.LM``) are counted but not replayed.
An answer line is written to the OS but not fsync'd: ``kill -9`` cannot lose it, and a machine
crash that does only costs that request again. A logged answer that is not what ``pl.LM``
writes (a hand-edited or damaged line) is not replayed: its request goes to the model again.

While a run journals, the log keeps one file open (appends under one lock, so lines never
interleave; threads waiting for an fsync share one) and the usage block that journals into it
closes it when it ends; other writes open the file for themselves.

Opening an existing log checks that its header matches the new run: resuming with other
data, another program or other settings would mix two runs, so it is refused.
"""

from __future__ import annotations

import json
import logging
import math
import os
import threading
from collections import deque
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from pliable.errors import UsageError
from pliable.lm.budget import Spent
from pliable.lm.cache_rows import row_problem
from pliable.lm.usage import CallRecord, ModelUsage

if TYPE_CHECKING:
    from pliable.data.example import Example
    from pliable.evaluation.result import EvaluationRow

__all__ = ["RunLog", "logged_spend", "row_event"]

logger = logging.getLogger(__name__)

LOG_NAME = "run.jsonl"
_JOURNAL = ("request", "answer")  # the events of the LM request journal


def _amount(value: object) -> float:
    """A count, cost or time from a log line; 0 for anything but a finite number >= 0 (a
    damaged line counts what it can)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return 0.0
    return float(value) if math.isfinite(value) and value >= 0 else 0.0


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def logged_spend(events: Iterable[dict[str, Any]]) -> tuple[ModelUsage, Spent]:
    """What the run whose log holds ``events`` spent: its journaled requests (every one sent
    or about to be, answered or not) with the tokens and cost of their answers, and that as
    a :class:`~pliable.lm.budget.Spent` for its budget, never less than the last spend the
    log recorded (a log written before requests were journaled has only that)."""
    usage = ModelUsage()
    seconds = 0.0
    last = Spent()
    for event in events:
        kind = event.get("event")
        if kind == "request":
            usage.calls += 1
        elif kind == "answer":
            usage.prompt_tokens += int(_amount(event.get("prompt_tokens")))
            usage.completion_tokens += int(_amount(event.get("completion_tokens")))
            usage.cost += _amount(event.get("cost"))
        if kind in _JOURNAL:
            seconds = max(seconds, _amount(event.get("t")))
        if isinstance(event.get("spent"), dict):
            last = Spent.from_dict(event["spent"])
    spent = Spent(
        max(usage.calls, last.lm_calls),
        max(usage.total_tokens, last.tokens),
        max(usage.cost, last.usd),
        max(seconds, last.seconds),
    )
    return usage, spent


def row_event(state: str, key: str, row: EvaluationRow) -> dict[str, Any]:
    """The ``row`` event of ``row``: the score of the program with ``state`` on the example
    with ``key``, its error (a failed row is retried on resume, not replayed), and its
    prediction as JSON (what the report page shows beside the example)."""
    from pliable.evaluation.jsonable import jsonable

    return {
        "event": "row",
        "state": state,
        "example": key,
        "score": row.score,
        "error": row.error,
        "prediction": jsonable(row.prediction),
    }


def _example_event(key: str, example: Example) -> dict[str, Any]:
    from pliable.evaluation.jsonable import jsonable

    inputs = example.input_keys or frozenset()
    values = {k: jsonable(v) for k, v in example.items()}
    return {
        "event": "example",
        "example": key,
        "inputs": {k: v for k, v in values.items() if k in inputs},
        "labels": {k: v for k, v in values.items() if k not in inputs},
    }


class RunLog:
    """Append-only JSONL log of a compile run, with what an earlier run already did.

    ``prior`` is what the earlier invocations spent (it counts against the budget),
    ``before`` the same as LM usage (calls, tokens, cost: the report adds it up);
    ``events`` holds the log's events but its LM requests and answers."""

    def __init__(self, run_dir: str | os.PathLike[str], header: dict[str, Any]) -> None:
        self.dir = Path(run_dir)
        self.path = self.dir / LOG_NAME
        self._lock = threading.Lock()  # every write, and the state written with it
        self._sync_lock = threading.Lock()  # one fsync of the open file at a time
        self._file: IO[bytes] | None = None  # kept open while the run journals
        self._closed = False  # closed for good: later writes open the file for themselves
        self._written = 0  # writes through the open file so far
        self._synced = 0  # the first ``_synced`` of them are fsync'd
        self.rows: dict[tuple[str, str], tuple[float, str | None]] = {}
        self.events: list[dict[str, Any]] = []
        self.prior = Spent()
        self.before = ModelUsage()
        self.resumed = False
        self._answers: dict[str, deque[dict[str, Any]]] = {}  # not replayed yet, by key
        self._examples: set[str] = set()  # the keys of the examples logged
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise UsageError(f"run_dir {str(self.dir)!r} cannot be created: {exc}") from exc
        if self.path.exists() and self.path.stat().st_size:
            self._load(header)
        else:
            self.path.write_text("")
            self.append({"event": "start", **header})

    @staticmethod
    def read(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
        """The complete events of a log (a torn last line is skipped, and so is a damaged
        line before it)."""
        text = Path(path).read_text(encoding="utf-8", errors="replace")
        events = []
        for line in text.splitlines(keepends=True):
            if not line.endswith("\n"):
                break
            try:
                event = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(event, dict):
                events.append(event)
        return events

    def _load(self, header: dict[str, Any]) -> None:
        raw = self.path.read_bytes()
        good = raw[: raw.rfind(b"\n") + 1]
        if len(good) != len(raw):
            self.path.write_bytes(good)  # drop the line a crash cut short
        events = self.read(self.path)
        if not events or events[0].get("event") != "start":
            raise UsageError(
                f"{self.path} is not a pliable run log (no start event). Pass a new or empty "
                "run_dir."
            )
        start = events[0]
        for key, value in header.items():
            if start.get(key) == value:
                continue
            raise UsageError(
                f"{self.path} records another run: its {key!r} is {start.get(key)!r}, this "
                f"run's is {value!r}. Resume with the same program, data and settings, or "
                "pass a new run_dir."
            )
        self.resumed = True
        self.events = [e for e in events if e.get("event") not in _JOURNAL]
        self.before, self.prior = logged_spend(events)
        bad: list[str] = []
        for event in events:
            kind = event.get("event")
            if kind == "row" and event.get("error") is None:
                self.rows[(event["state"], event["example"])] = (event["score"], None)
            elif kind == "example":
                self._examples.add(str(event.get("example")))
            elif kind == "answer" and isinstance(event.get("key"), str) and "texts" in event:
                usage = {k: event.get(k) for k in ("prompt_tokens", "completion_tokens", "cost")}
                answer = {"texts": event["texts"], "usage": usage}
                problem = row_problem(answer)
                if problem is None:
                    self._answers.setdefault(event["key"], deque()).append(answer)
                else:
                    bad.append(problem)
        if bad:
            logger.warning(
                "%s: %d logged answer(s) are not what pl.LM writes (the first: %s); their "
                "requests go to the model again.",
                self.path,
                len(bad),
                bad[0],
            )

    def append(self, event: dict[str, Any]) -> None:
        line = json.dumps(event, sort_keys=True, default=str) + "\n"
        with self._lock:
            self.events.append(event)
            number = self._write(line)
        self._sync(number)

    def _write(self, text: str, *, durable: bool = True, keep_open: bool = False) -> int:
        """Append ``text`` (whole lines; the caller holds the lock). Through the open file
        (opened first with ``keep_open``, unless closed for good) it returns the write's number
        for :meth:`_sync`, to call once the lock is released; otherwise the file is opened for
        this write (and fsync'd now when ``durable``), and it returns 0."""
        data = text.encode("utf-8")
        if self._file is None and keep_open and not self._closed:
            self._file = open(self.path, "ab", buffering=0)  # noqa: SIM115 - closed by close()
        if self._file is None:
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                _write_all(fd, data)
                if durable:
                    os.fsync(fd)
            finally:
                os.close(fd)
            return 0
        _write_all(self._file.fileno(), data)
        self._written += 1
        return self._written if durable else 0

    def _sync(self, number: int) -> None:
        """Make write ``number`` of the open file durable (0: nothing to do). The caller
        does not hold the lock: one fsync covers every write before it, so threads waiting
        here share it instead of queueing behind the lock."""
        if not number:
            return
        with self._sync_lock:
            if self._synced >= number:
                return  # another thread's fsync covered it
            with self._lock:
                upto, file = self._written, self._file
            if file is not None:  # else closed, and fsync'd when it was
                os.fsync(file.fileno())
                self._synced = upto

    def close(self) -> None:
        """Close the file the journal keeps open (fsync'd first). The log can still be
        written to: each write then opens the file for itself."""
        with self._sync_lock, self._lock:
            self._closed = True
            file, self._file = self._file, None
            if file is not None:
                try:
                    os.fsync(file.fileno())
                    self._synced = self._written
                finally:
                    file.close()

    # -- the LM request journal (pliable.lm.usage.RequestJournal) ---------------------------

    def sent(self, seconds: float) -> None:
        line = json.dumps({"event": "request", "t": round(seconds, 3)}) + "\n"
        with self._lock:
            number = self._write(line, keep_open=True)
        self._sync(number)  # on disk before the request is sent

    def answered(
        self,
        record: CallRecord,
        *,
        key: str | None,
        texts: Sequence[str] | None,
        seconds: float,
    ) -> None:
        event: dict[str, Any] = {
            "event": "answer",
            "model": record.model,
            "prompt_tokens": record.prompt_tokens,
            "completion_tokens": record.completion_tokens,
            "cost": record.cost,
            "t": round(seconds, 3),
        }
        if key is not None and texts is not None:
            event.update(key=key, texts=list(texts))
        line = json.dumps(event, sort_keys=True) + "\n"
        with self._lock:  # written to the OS, not fsync'd: see the module's docstring
            self._write(line, durable=False, keep_open=True)

    def replay(self, key: str) -> dict[str, Any] | None:
        with self._lock:
            queue = self._answers.get(key)
            return queue.popleft() if queue else None

    def append_rows(
        self,
        rows: list[dict[str, Any]],
        *,
        spent: dict[str, Any] | None = None,
        examples: dict[str, Example] | None = None,
    ) -> None:
        """Append many ``row`` events at once (one write, one fsync), then what the run has
        spent so far (so a resumed run counts it against its budget). ``examples`` (by key)
        not logged yet are logged first, once each."""
        lines = [*rows, {"event": "spent", "spent": spent}] if spent is not None else rows
        if not lines:
            return
        with self._lock:
            new = {k: ex for k, ex in (examples or {}).items() if k not in self._examples}
            self._examples.update(new)
            lines = [*(_example_event(k, ex) for k, ex in new.items()), *lines]
            text = "".join(json.dumps(r, sort_keys=True) + "\n" for r in lines)
            for r in rows:
                if r.get("error") is None:  # a failed row is retried on resume, as on load
                    self.rows[(r["state"], r["example"])] = (r["score"], None)
            number = self._write(text)
        self._sync(number)
