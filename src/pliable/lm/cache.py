"""A persistent cache of LM calls: an in-memory LRU in front of one SQLite file.

Values are JSON text (never pickle). The SQLite file runs in WAL mode, so many threads and
processes can share it, and a process killed mid-write leaves it readable.

Access times (for evicting least recently used rows) are kept with one-minute resolution: a
hit on an entry whose stored time is older than that queues ``key -> now`` in memory, and the
queue is written in one batch with the next ``put`` (before any eviction), once 256 keys are
queued, or on ``close``. So a hit almost never writes, and never waits on a write lock.
"""

from __future__ import annotations

import dataclasses
import enum
import hashlib
import json
import logging
import os
import sqlite3
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

from pliable.errors import UsageError
from pliable.lm.options import is_secret_option

__all__ = ["Cache", "default_cache_dir", "is_secret_option", "request_key"]

logger = logging.getLogger(__name__)
_T = TypeVar("_T")

DB_NAME = "lm-cache.sqlite3"
_FLUSH_EVERY = 256  # queued access times
_TOUCH_AFTER = 60.0  # seconds: resolution of the stored access times
_TIMEOUT = 10.0  # seconds to wait for another process's write lock
_clock = time.time  # wall clock: access times are compared across processes
_UPSERT = """INSERT INTO entries VALUES (?, ?, ?, ?) ON CONFLICT (key) DO UPDATE SET
    value = excluded.value, size = excluded.size, accessed = excluded.accessed"""
_SCHEMA = """
CREATE TABLE IF NOT EXISTS entries (
    key TEXT PRIMARY KEY, value TEXT NOT NULL, size INTEGER NOT NULL, accessed REAL NOT NULL);
CREATE INDEX IF NOT EXISTS entries_accessed ON entries (accessed);
CREATE TABLE IF NOT EXISTS stats (id INTEGER PRIMARY KEY CHECK (id = 0), total INTEGER NOT NULL);
INSERT OR IGNORE INTO stats VALUES (0, 0);
CREATE TRIGGER IF NOT EXISTS ins AFTER INSERT ON entries BEGIN
    UPDATE stats SET total = total + new.size; END;
CREATE TRIGGER IF NOT EXISTS del AFTER DELETE ON entries BEGIN
    UPDATE stats SET total = total - old.size; END;
CREATE TRIGGER IF NOT EXISTS upd AFTER UPDATE OF size ON entries BEGIN
    UPDATE stats SET total = total - old.size + new.size; END;
"""


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


def _canonical(value: Any) -> Any:
    """``value`` as JSON-native data, the same for equal values on every run."""
    if value is None or isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, float):
        return int(value) if value.is_integer() else value  # temperature 0 == 0.0
    if isinstance(value, Mapping):
        # keys are made text here; the encoder sorts them
        return {
            (k if isinstance(k, str) else _dumps(_canonical(k))): _canonical(v)
            for k, v in value.items()
        }
    if isinstance(value, (list, tuple)):
        return [_canonical(v) for v in value]
    if isinstance(value, (set, frozenset)):
        return sorted((_canonical(v) for v in value), key=_dumps)
    if isinstance(value, enum.Enum):
        return _canonical(value.value)
    if isinstance(value, (bytes, bytearray)):
        return {"__bytes__": bytes(value).hex()}
    if isinstance(value, type):
        schema = getattr(value, "model_json_schema", None)  # a pydantic model class
        named = {"__type__": f"{value.__module__}.{value.__qualname__}"}
        return {**named, "schema": _canonical(schema())} if callable(schema) else named
    if callable(dump := getattr(value, "model_dump", None)):  # a pydantic model
        return _canonical(dump(mode="json"))
    if dataclasses.is_dataclass(value):
        return _canonical({f.name: getattr(value, f.name) for f in dataclasses.fields(value)})
    raise UsageError(
        f"Cannot build an LM cache key from a value of type {type(value).__name__}: {value!r}. "
        "Pass JSON-like data (dicts, lists, str, numbers), pydantic models or dataclasses."
    )


_ENCODER = json.JSONEncoder(sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def _dumps(value: Any) -> str:
    return _ENCODER.encode(value)


_ANSWER_CHANGING = frozenset({"extra_body", "extra_query"})


def request_key(request: Mapping[str, Any]) -> str:
    """The sha256 hex digest identifying an LM request for caching.

    Covers the model, messages, every sampling setting and an optional ``sample`` index; leaves
    out credentials and transport settings (``api_key``, ``api_base``, ``timeout``, retries,
    headers, and any top-level name containing key, token, secret or password, but not
    ``max_tokens`` and other token counts). ``extra_body`` and ``extra_query`` stay in: they
    can carry sampling settings (a server's own), and the key is a hash, never the values.
    """
    kept = {
        k: v
        for k, v in request.items()
        if not (isinstance(k, str) and is_secret_option(k)) or k in _ANSWER_CHANGING
    }
    messages = kept.pop("messages", None)
    digest = hashlib.sha256(_dumps(_canonical(kept)).encode())
    if messages is not None:
        # fast path: chat messages are dicts of strings, which json sorts and writes as they
        # are; anything else goes through the full canonical form
        plain = isinstance(messages, list) and all(
            isinstance(m, dict) and all(isinstance(v, str) for v in m.values()) for m in messages
        )
        digest.update(b"\x00messages\x00")
        digest.update(_dumps(messages if plain else _canonical(messages)).encode())
    return digest.hexdigest()


class Cache:
    """LM responses by request key: a thread-safe LRU in memory, then SQLite on disk.

    ``max_bytes`` bounds the stored keys and JSON values (the file adds some overhead); past
    it, least recently used rows are deleted down to 90%. ``persistent=False`` keeps
    everything in memory. An unusable database file is reported as a warning and the cache
    continues in memory only.
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
        self._db_lock = threading.Lock()  # the connection
        self._conn: sqlite3.Connection | None = None
        self._pid = 0
        self._disabled = not persistent
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

    def get(self, key: str) -> dict[str, Any] | None:
        """The value stored under ``key`` (a fresh copy), or ``None``."""
        now = _clock()
        with self._lock:
            entry = self._mem.get(key)
            if entry is not None:
                self._mem.move_to_end(key)
                self.hits += 1
                if now - entry.stamp > _TOUCH_AFTER and not self._disabled:
                    self._touched[key] = entry.stamp = now
        if entry is None:
            found = self._db_read(key)
            with self._lock:
                if found is None:
                    self.misses += 1
                    return None
                self.hits += 1
                entry = self._remember(key, found[0], found[1])
                if now - entry.stamp > _TOUCH_AFTER:
                    self._touched[key] = entry.stamp = now
        if len(self._touched) >= _FLUSH_EVERY:
            self._db_write(None, None, now)
        try:
            return json.loads(entry.text)  # type: ignore[no-any-return]
        except ValueError:  # only a hand-edited file can hold invalid JSON
            logger.warning("pliable LM cache: invalid JSON under key %r in %s", key, self._path)
            return None

    def put(self, key: str, value: dict[str, Any]) -> None:
        """Store ``value`` (JSON-serializable) under ``key``, replacing any earlier value."""

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
        self._with_db(lambda conn: conn.execute("DELETE FROM entries"))

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

    def _connect(self) -> sqlite3.Connection | None:
        """The open connection, opening the file if needed (caller holds ``_db_lock``)."""
        if self._disabled or self._path is None:
            return None
        if self._conn is not None and self._pid == os.getpid():
            return self._conn
        deadline = time.monotonic() + _TIMEOUT
        delay = 0.005
        while True:  # a fresh process (or a fork) opens its own connection
            try:
                self._conn, self._pid = self._open(self._path), os.getpid()
                return self._conn
            except sqlite3.OperationalError as exc:  # another process is creating the file
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    self._fall_back(exc)
                    return None
            except (sqlite3.Error, OSError) as exc:
                self._fall_back(exc)
                return None
            time.sleep(delay)
            delay = min(delay * 2, 0.1)

    @staticmethod
    def _open(path: Path) -> sqlite3.Connection:
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(
            path, timeout=_TIMEOUT, isolation_level=None, check_same_thread=False
        )
        try:
            if conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            if not conn.execute("SELECT 1 FROM sqlite_master WHERE name='stats'").fetchone():
                conn.executescript(f"BEGIN IMMEDIATE;{_SCHEMA}COMMIT;")
        except BaseException:
            conn.close()
            raise
        return conn

    def _fall_back(self, exc: BaseException) -> None:
        self._disabled = True
        self._conn = None
        logger.warning(
            "pliable LM cache: cannot use %s (%s: %s); caching in memory only for this process. "
            "To fix, delete the file and its -wal and -shm companions (rm %s*); it is rebuilt.",
            *(self._path, type(exc).__name__, exc, self._path),
        )

    def _with_db(self, work: Callable[[sqlite3.Connection], _T]) -> _T | None:
        """``work(connection)`` under the connection lock, or ``None`` without a usable file.

        SQLite errors become warnings: a busy or full database skips this one operation,
        a corrupt one switches the cache to memory only.
        """
        result = None
        with self._db_lock:
            conn = self._connect()
            try:
                result = None if conn is None else work(conn)
            except sqlite3.OperationalError as exc:  # locked for too long, disk full
                logger.warning("pliable LM cache: %s on %s; skipped.", exc, self._path)
            except sqlite3.Error as exc:  # not a database, malformed image, ...
                if conn is not None:
                    conn.close()
                self._fall_back(exc)
        return result

    def _db_read(self, key: str) -> tuple[str, float] | None:
        sql = "SELECT value, accessed FROM entries WHERE key = ?"
        row = self._with_db(lambda conn: conn.execute(sql, (key,)).fetchone())
        return None if row is None else (str(row[0]), float(row[1]))

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
                    conn.execute(_UPSERT, (key, text, len(key) + len(text.encode()), now))
                    self._evict(conn)

        if touched or key is not None:
            self._with_db(write)

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
