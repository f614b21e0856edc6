"""The SQLite file behind the LM cache: opening it (read-write, or read-only when it cannot be
written), telling what an SQLite error means, and moving a damaged file aside."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
from pathlib import Path

__all__ = [
    "TIMEOUT",
    "UPSERT",
    "file_id",
    "move_aside",
    "open_read_only",
    "open_read_write",
    "problem",
    "writable",
]

TIMEOUT = 10.0  # seconds to wait for another process's write lock
UPSERT = """INSERT INTO entries VALUES (?, ?, ?, ?) ON CONFLICT (key) DO UPDATE SET
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
# primary SQLite result codes (``exc.sqlite_errorcode & 0xFF``, Python 3.11+; else the message)
_BUSY, _LOCKED, _READONLY, _CORRUPT, _FULL, _NOTADB = 5, 6, 8, 11, 13, 26


def problem(exc: BaseException) -> str:
    """What an SQLite error means here: full, readonly, corrupt, busy or other."""
    code = getattr(exc, "sqlite_errorcode", None)
    code = code & 0xFF if isinstance(code, int) else None
    text = str(exc).lower()
    if code == _FULL or "disk is full" in text:
        return "full"
    if code == _READONLY or "readonly database" in text:
        return "readonly"
    if code in (_CORRUPT, _NOTADB) or "malformed" in text or "not a database" in text:
        return "corrupt"
    if code in (_BUSY, _LOCKED) or "locked" in text:
        return "busy"
    return "other"


def file_id(path: Path) -> tuple[int, int] | None:
    """Which file is at ``path`` now (device and inode), or ``None`` if none is."""
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_dev, st.st_ino


def writable(path: Path) -> bool:
    """Whether SQLite may write ``path`` and create its -wal and -shm files next to it."""
    return os.access(path, os.W_OK) and os.access(path.parent, os.W_OK)


def _connect(target: str | Path, *, uri: bool = False) -> sqlite3.Connection:
    return sqlite3.connect(
        target, timeout=TIMEOUT, isolation_level=None, check_same_thread=False, uri=uri
    )


def open_read_write(path: Path) -> sqlite3.Connection:
    """``path`` in WAL mode, created with its directory and tables if needed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = _connect(path)
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


def open_read_only(path: Path) -> sqlite3.Connection:
    """``path`` opened for reading only: ``mode=ro``, or also ``immutable=1`` when SQLite
    cannot create the -shm file a WAL reader needs (a read-only directory)."""
    failure: sqlite3.Error | None = None
    for query in ("?mode=ro", "?mode=ro&immutable=1"):
        conn = _connect(path.resolve().as_uri() + query, uri=True)
        try:
            found = conn.execute("SELECT 1 FROM sqlite_master WHERE name='entries'").fetchone()
        except sqlite3.OperationalError as exc:
            conn.close()
            failure = exc
            continue
        except BaseException:
            conn.close()
            raise
        if found:
            return conn
        conn.close()
        raise sqlite3.OperationalError(f"{path} is read-only and holds no LM cache")
    assert failure is not None
    raise failure


def move_aside(path: Path) -> Path:
    """Rename a damaged ``path`` to ``<name>.corrupt-<time>-<pid>`` (``OSError`` if it cannot
    be), with its WAL, which must never be replayed into the fresh file made in its place."""
    aside = path.with_name(f"{path.name}.corrupt-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}")
    os.replace(path, aside)
    with contextlib.suppress(OSError):
        os.replace(f"{path}-wal", f"{aside}-wal")
    with contextlib.suppress(OSError):
        os.remove(f"{path}-shm")  # the old file's index; the fresh file makes its own
    return aside
