"""A persistent cache of LM calls: an in-memory LRU in front of one SQLite file.

Values are JSON text (never pickle). The SQLite file runs in WAL mode, so many threads and
processes can share it, and a process killed mid-write leaves it readable.

Access times (for evicting least recently used rows) are kept with one-minute resolution: a
hit on an entry whose stored time is older than that queues ``key -> now`` in memory, and the
queue is written in one batch with the next ``put`` (before any eviction), once 256 keys are
queued, or on ``close``. So a hit almost never writes, and never waits on a write lock.

The file is not trusted, and each problem is warned about once per process and file:

- a row that is not what ``pl.LM`` writes (:mod:`pliable.lm.cache_rows`) is a miss, and is
  deleted;
- a file that cannot be written (it or its directory is read-only) is read: its answers are
  used, new ones are kept in memory only;
- a damaged file ("not a database", "malformed") is moved aside to
  ``lm-cache.sqlite3.corrupt-<time>-<pid>`` and a fresh one is made in its place;
- a full disk pauses writing for a minute at a time; reads go on.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import os
import sqlite3
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from pliable.errors import UsageError
from pliable.lm.cache_file import (
    TIMEOUT,
    UPSERT,
    file_id,
    move_aside,
    open_read_only,
    open_read_write,
    problem,
    writable,
)
from pliable.lm.cache_key import request_key
from pliable.lm.cache_rows import ROW_SHAPE, decode_row, row_problem
from pliable.lm.options import is_secret_option

__all__ = ["Cache", "default_cache_dir", "is_secret_option", "request_key"]

logger = logging.getLogger(__name__)
_T = TypeVar("_T")

DB_NAME = "lm-cache.sqlite3"
_FLUSH_EVERY = 256  # queued access times
_TOUCH_AFTER = 60.0  # seconds: resolution of the stored access times
_FULL_PAUSE = 60.0  # seconds without writes after "database or disk is full"
_clock = time.time  # wall clock: access times are compared across processes


_warned: set[tuple[str, str]] = set()  # (problem, file) pairs already warned about
_warned_lock = threading.Lock()


def _warn_once(what: str, path: object, message: str, *args: object) -> None:
    """A warning the first time ``what`` happens to ``path`` in this process, then debug."""
    with _warned_lock:
        first = (what, str(path)) not in _warned
        _warned.add((what, str(path)))
    logger.log(logging.WARNING if first else logging.DEBUG, message, *args)


@dataclasses.dataclass(slots=True)
class _Entry:
    """A memory-layer entry: the JSON text and the access time SQLite has (or will have)."""

    text: str
    stamp: float


def default_cache_dir() -> Path:
    """``$PLIABLE_CACHE_DIR``, else the platform's user cache directory plus ``pliable``."""
    if env := os.environ.get("PLIABLE_CACHE_DIR"):
        return Path(env).expanduser()
    if sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA") or str(Path.home() / "AppData" / "Local")
        return Path(base) / "pliable" / "Cache"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches" / "pliable"
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "pliable"


class Cache:
    """LM responses by request key: a thread-safe LRU in memory, then SQLite on disk.

    ``max_bytes`` bounds the stored keys and JSON values (the file adds some overhead); past
    it, least recently used rows are deleted down to 90%. ``persistent=False`` keeps
    everything in memory. Values have the shape ``pl.LM`` stores
    (:data:`~pliable.lm.cache_rows.ROW_SHAPE`). A read-only file is used for reading; a
    damaged one is moved aside and replaced by a fresh one; a file that cannot be used at all
    is reported as a warning and the cache continues in memory only.
    """

    def __init__(
        self,
        directory: str | os.PathLike[str] | None = None,
        *,
        max_bytes: int = 1 << 30,
        memory_entries: int = 4096,
        persistent: bool = True,
    ) -> None:
        self.max_bytes = max_bytes
        self.memory_entries = memory_entries
        self._dir = Path(directory) if directory is not None else default_cache_dir()
        self._path: Path | None = self._dir / DB_NAME if persistent else None
        self._mem: OrderedDict[str, _Entry] = OrderedDict()
        self._mem_bytes = 0
        self._touched: dict[str, float] = {}
        self._lock = threading.Lock()  # memory layer and counters
        self._db_lock = threading.Lock()  # the connection and the file's state below
        self._conn: sqlite3.Connection | None = None
        self._pid = 0
        self._disabled = not persistent
        self._read_only = False
        self._full_until = 0.0  # time.monotonic() before which writes are skipped
        self._healed = False  # a damaged file is moved aside at most once per Cache
        self._file_id: tuple[int, int] | None = None  # the file the connection is to
        self.hits = 0
        self.misses = 0

    @property
    def path(self) -> Path | None:
        """The SQLite file (``None`` for a memory-only cache)."""
        return self._path

    @property
    def persistent(self) -> bool:
        """Whether entries go to disk (``False`` after falling back to memory only)."""
        return not self._disabled

    @property
    def read_only(self) -> bool:
        """Whether the file is only read (it or its directory cannot be written); known once
        the file is opened, on first use."""
        return self._read_only and not self._disabled

    def get(self, key: str) -> dict[str, Any] | None:
        """The value stored under ``key`` (a fresh copy), or ``None``."""
        now = _clock()
        value: dict[str, Any] | None = None
        with self._lock:
            entry = self._mem.get(key)
            if entry is not None:
                self._mem.move_to_end(key)
                self.hits += 1
                self._touch(key, entry, now)
        if entry is None:
            found = self._db_read(key)
            with self._lock:
                if found is None:
                    self.misses += 1
                    return None
                self.hits += 1
                entry = self._remember(key, found[0], found[1])
                self._touch(key, entry, now)
            value = found[2]  # just decoded: a fresh copy
        if len(self._touched) >= _FLUSH_EVERY:
            self._db_write(None, None, now)
        if value is None:
            value = json.loads(entry.text)  # checked when it was put or read
        return value

    def put(self, key: str, value: dict[str, Any]) -> None:
        """Store ``value`` under ``key``, replacing any earlier value.

        ``value`` is what ``pl.LM`` stores for an answer (``ROW_SHAPE``); anything else is a
        ``UsageError``, as the cache would not trust it when reading it back.
        """

        def refuse(obj: object) -> Any:
            raise UsageError(
                f"Cannot cache the value for key {key!r}: it holds a {type(obj).__name__} "
                f"({obj!r:.200}), which is not JSON-serializable. Convert it to dicts, lists, "
                "str, numbers, bools or None first."
            )

        if not isinstance(value, dict):
            refuse(value)  # type: ignore[unreachable]
        try:
            text = json.dumps(value, sort_keys=True, ensure_ascii=False, default=refuse)
        except (TypeError, ValueError) as exc:
            raise UsageError(f"Cannot cache the value for key {key!r}: {exc}.") from exc
        if (wrong := row_problem(value)) is not None:
            raise UsageError(
                f"Cannot cache the value for key {key!r}: {wrong}. An LM cache value is "
                f"{ROW_SHAPE}."
            )
        now = _clock()
        with self._lock:
            self._remember(key, text, now)
            self._touched.pop(key, None)
        self._db_write(key, text, now)

    def __len__(self) -> int:
        count = self._with_db(lambda conn: conn.execute("SELECT COUNT(*) FROM entries").fetchone())
        return len(self._mem) if count is None else int(count[0])

    def clear(self) -> None:
        """Remove every entry (memory and disk); the hit and miss counters are kept."""
        with self._lock:
            self._mem.clear()
            self._mem_bytes = 0
            self._touched.clear()
        self._with_db(lambda conn: conn.execute("DELETE FROM entries"), write=True)

    def close(self) -> None:
        """Write pending access times and close the file; a later call reopens it."""
        self._db_write(None, None, _clock())
        with self._db_lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def __enter__(self) -> Cache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- internals -----------------------------------------------------------------------

    def _remember(self, key: str, text: str, stamp: float) -> _Entry:
        """Put ``text`` in the memory LRU (caller holds ``_lock``)."""
        old = self._mem.pop(key, None)
        self._mem_bytes += len(text) - (len(old.text) if old is not None else 0)
        self._mem[key] = entry = _Entry(text, stamp)
        while self._mem and (
            len(self._mem) > self.memory_entries or self._mem_bytes > self.max_bytes
        ):
            self._mem_bytes -= len(self._mem.popitem(last=False)[1].text)
        return entry

    def _touch(self, key: str, entry: _Entry, now: float) -> None:
        """Queue a new access time for a hit on a stale one (caller holds ``_lock``)."""
        if now - entry.stamp > _TOUCH_AFTER and not (self._disabled or self._read_only):
            self._touched[key] = entry.stamp = now

    def _connect(self) -> sqlite3.Connection | None:
        """The open connection, opening the file if needed (caller holds ``_db_lock``)."""
        if self._disabled or self._path is None:
            return None
        if self._conn is not None and self._pid == os.getpid():
            return self._conn
        deadline = time.monotonic() + TIMEOUT
        delay = 0.005
        while True:  # a fresh process (or a fork) opens its own connection
            try:
                self._conn, self._pid = self._open(self._path), os.getpid()
                return self._conn
            except sqlite3.Error as exc:
                what = problem(exc)
                if what == "corrupt" and self._heal(exc):
                    continue
                if what != "busy" or time.monotonic() > deadline:  # busy: being created
                    self._fall_back(exc)
                    return None
            except OSError as exc:
                self._fall_back(exc)
                return None
            time.sleep(delay)
            delay = min(delay * 2, 0.1)

    def _open(self, path: Path) -> sqlite3.Connection:
        """``path`` opened read-write (created with its tables if needed), or read-only when
        it exists and cannot be written."""
        self._file_id = file_id(path)
        self._read_only = self._file_id is not None and not writable(path)
        if not self._read_only:
            try:
                conn = open_read_write(path)
            except sqlite3.Error as exc:
                if problem(exc) != "readonly" or self._file_id is None:
                    raise
                self._read_only = True  # SQLite found it cannot write the file or directory
            else:
                self._file_id = file_id(path)
                return conn
        return open_read_only(path)

    def _heal(self, exc: sqlite3.Error) -> bool:
        """Move a damaged file (and its WAL) aside, so that the next connection makes a fresh
        one; at most once per Cache. ``False`` when that is not possible."""
        path = self._path
        if path is None or self._healed or self._read_only:
            return False
        self._healed = True
        if self._conn is not None:
            with contextlib.suppress(sqlite3.Error):
                self._conn.close()
            self._conn = None
        if file_id(path) != self._file_id:  # another process has replaced it already
            return True
        try:
            aside = move_aside(path)
        except OSError:
            return False
        _warn_once(
            "corrupt",
            path,
            "pliable LM cache: %s was damaged (%s: %s); moved it to %s and started a fresh "
            "cache in its place.",
            *(path, type(exc).__name__, exc, aside),
        )
        return True

    def _fall_back(self, exc: BaseException) -> None:
        self._disabled = True
        if self._conn is not None:
            with contextlib.suppress(sqlite3.Error):
                self._conn.close()
            self._conn = None
        _warn_once(
            "unusable",
            self._path,
            "pliable LM cache: cannot use %s (%s: %s); caching in memory only for this process.",
            *(self._path, type(exc).__name__, exc),
        )

    def _may_write(self) -> bool:
        """Whether to write now (caller holds ``_db_lock``): not to a read-only file, nor
        for a minute after the disk was found full."""
        if self._read_only:
            _warn_once(
                "read-only",
                self._path,
                "pliable LM cache: %s is read-only; the answers in it are used, new ones are "
                "not stored (this warning is shown once per process).",
                self._path,
            )
            return False
        return time.monotonic() >= self._full_until

    def _failed(self, conn: sqlite3.Connection, exc: sqlite3.Error) -> None:
        """React to ``exc``, raised by work on ``conn`` (caller holds ``_db_lock``)."""
        with contextlib.suppress(sqlite3.Error):  # closed already, if _heal gave up
            if conn.in_transaction:  # a failed COMMIT can leave the write lock held
                conn.rollback()
        what = problem(exc)
        if what == "full":
            self._full_until = time.monotonic() + _FULL_PAUSE
            _warn_once(
                "full",
                self._path,
                "pliable LM cache: %s: %s. The answers in it are still used; new ones are not "
                "stored while the disk is full (this warning is shown once per process).",
                *(self._path, exc),
            )
        elif what == "readonly":
            self._read_only = True
            self._may_write()  # its warning
        elif what == "corrupt" or not isinstance(exc, sqlite3.OperationalError):
            self._fall_back(exc)
        else:  # locked for too long, ...
            _warn_once(what, self._path, "pliable LM cache: %s on %s; skipped.", exc, self._path)

    def _with_db(
        self, work: Callable[[sqlite3.Connection], _T], *, write: bool = False
    ) -> _T | None:
        """``work(connection)`` under the connection lock; ``None`` without a usable file, or
        for a ``write`` that cannot be done now (read-only file, full disk).

        SQLite errors are warned about once per process: a busy or full database skips this
        operation, a damaged one is moved aside and the work done again on a fresh file, and
        anything else switches the cache to memory only.
        """
        with self._db_lock:
            for attempt in range(2):
                conn = self._connect()
                if conn is None or (write and not self._may_write()):
                    return None
                try:
                    return work(conn)
                except sqlite3.Error as exc:
                    if attempt or problem(exc) != "corrupt" or not self._heal(exc):
                        self._failed(conn, exc)
                        return None
        return None

    def _db_read(self, key: str) -> tuple[str, float, dict[str, Any]] | None:
        """The stored text, access time and decoded value under ``key``; ``None`` for a miss,
        including a row pliable did not write (which is deleted)."""
        sql = "SELECT value, accessed FROM entries WHERE key = ?"
        row = self._with_db(lambda conn: conn.execute(sql, (key,)).fetchone())
        if row is None:
            return None
        try:
            value, stamp = decode_row(row[0], row[1])
        except ValueError as exc:
            _warn_once(
                "bad-row",
                self._path,
                "pliable LM cache: ignored and deleted an entry of %s that pliable did not write "
                "(%s; key %s). Later ones are deleted without a warning.",
                *(self._path, exc, key),
            )
            sql = "DELETE FROM entries WHERE key = ? AND value IS ?"  # unless rewritten since
            self._with_db(lambda conn: conn.execute(sql, (key, row[0])), write=True)
            return None
        return row[0], stamp, value

    def _db_write(self, key: str | None, text: str | None, now: float) -> None:
        """One transaction: queued access times, then (optionally) ``key``, then eviction."""
        with self._lock:
            touched, self._touched = self._touched, {}

        def write(conn: sqlite3.Connection) -> None:
            with conn:  # commits, or rolls back on an exception
                conn.execute("BEGIN IMMEDIATE")
                sql = "UPDATE entries SET accessed = ? WHERE key = ?"
                conn.executemany(sql, [(t, k) for k, t in touched.items()])
                if key is not None and text is not None:
                    conn.execute(UPSERT, (key, text, len(key) + len(text.encode()), now))
                    self._evict(conn)

        if touched or key is not None:
            self._with_db(write, write=True)

    def _evict(self, conn: sqlite3.Connection) -> None:
        total = int(conn.execute("SELECT total FROM stats").fetchone()[0])
        if total <= self.max_bytes:
            return
        excess, doomed = total - int(self.max_bytes * 0.9), []
        rows = conn.execute("SELECT key, size FROM entries ORDER BY accessed, key")
        for k, size in rows:
            doomed.append(k)
            excess -= size
            if excess <= 0:
                break
        rows.close()
        conn.executemany("DELETE FROM entries WHERE key = ?", [(k,) for k in doomed])
        with self._lock:
            for k in doomed:
                if (old := self._mem.pop(k, None)) is not None:
                    self._mem_bytes -= len(old.text)
