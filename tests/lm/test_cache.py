import dataclasses
import hashlib
import json
import logging
import os
import random
import signal
import sqlite3
import stat
import subprocess
import sys
import threading
from datetime import datetime
from pathlib import Path

import pytest
from pydantic import BaseModel

import pliable as pl
from pliable.lm import cache as cache_mod
from pliable.lm.cache import DB_NAME as DB
from pliable.lm.cache import Cache, default_cache_dir, request_key

WORKER = str(Path(__file__).with_name("cache_worker.py"))


def rows(directory):
    """Every stored row, read with the plain sqlite3 module: key -> (value text, size)."""
    uri = (Path(directory) / DB).resolve().as_uri() + "?mode=ro"  # works on a read-only file
    conn = sqlite3.connect(uri, uri=True)
    try:
        return {k: (v, s) for k, v, s in conn.execute("SELECT key, value, size FROM entries")}
    finally:
        conn.close()


def row(*texts, prompt_tokens=1, completion_tokens=1, cost=0.0):
    """A value in the shape pl.LM stores for an answer."""
    usage = {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens, "cost": cost}
    return {"texts": list(texts), "usage": usage}


def cache_warnings(caplog):
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == "pliable.lm.cache" and r.levelno == logging.WARNING
    ]


# -- storage -------------------------------------------------------------------------------


def test_round_trip_survives_reopen_and_returns_fresh_copies(tmp_path):
    value = {**row("Paris", "París", prompt_tokens=3, cost=0.5), "n": None}  # extra keys kept
    with Cache(tmp_path) as cache:
        assert cache.get("k") is None
        cache.put("k", value)
        got = cache.get("k")
        assert got == value
        got["texts"].append("mutated")
        assert cache.get("k") == value
        assert (cache.hits, cache.misses) == (2, 1)
        assert cache.path == tmp_path / DB
        assert len(cache) == 1
    with Cache(tmp_path) as reopened:
        assert reopened.get("k") == value
        reopened.put("k", row("replaced"))
        assert reopened.get("k") == row("replaced")
        assert len(reopened) == 1
        reopened.clear()
        assert len(reopened) == 0
        assert reopened.get("k") is None
    assert rows(tmp_path) == {}


def test_values_are_json_text_on_disk(tmp_path):
    value = {**row("café ✓", cost=2.5), "nested": {"b": 1, "a": [True, None]}}
    with Cache(tmp_path) as cache:
        cache.put("k", value)
    text, size = rows(tmp_path)["k"]
    assert isinstance(text, str)
    assert json.loads(text) == value
    assert "café ✓" in text  # ensure_ascii=False
    assert text.index('"nested"') < text.index('"texts"') < text.index('"usage"')  # sort_keys
    assert text.index('"a"') < text.index('"b"')
    assert text.index('"completion_tokens"') < text.index('"cost"') < text.index('"prompt_')
    assert size == len("k") + len(text.encode())


def test_non_json_value_is_a_usage_error_naming_key_and_type(tmp_path):
    cache = Cache(tmp_path)
    with pytest.raises(pl.UsageError, match=r"'call-1'.*datetime"):
        cache.put("call-1", {"when": datetime(2024, 1, 1)})
    with pytest.raises(pl.UsageError, match=r"'call-2'.*Point"):
        cache.put("call-2", {"p": [Point(1, 2)]})
    with pytest.raises(pl.UsageError, match=r"'call-3'.*list"):
        cache.put("call-3", ["not", "a", "dict"])  # type: ignore[arg-type]
    assert cache.get("call-1") is None
    assert len(cache) == 0


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ({"v": 1}, "'texts' is missing"),
        ({**row("a"), "texts": "Paris"}, "'texts' is 'Paris'"),
        ({**row("a"), "texts": []}, "'texts' is []"),
        ({**row("a"), "texts": ["a", 1]}, "not a string"),
        ({"texts": ["a"]}, "'usage' is missing"),
        (row("a", prompt_tokens=-1), "'usage.prompt_tokens' is -1"),
        (row("a", completion_tokens="3"), "'usage.completion_tokens' is '3'"),
        (row("a", cost=float("nan")), "'usage.cost' is nan"),
        (row("a", prompt_tokens=True), "'usage.prompt_tokens' is True"),
    ],
)
def test_put_refuses_values_it_would_not_trust_when_reading_them_back(tmp_path, value, problem):
    cache = Cache(tmp_path)
    with pytest.raises(pl.UsageError, match="value for key 'k'") as caught:
        cache.put("k", value)
    assert problem in str(caught.value)
    assert 'An LM cache value is {"texts": [str, ...]' in str(caught.value)
    assert cache.get("k") is None
    assert len(cache) == 0


def test_memory_only_writes_no_file(tmp_path, monkeypatch):
    monkeypatch.setenv("PLIABLE_CACHE_DIR", str(tmp_path / "env"))
    for cache in (Cache(persistent=False), Cache(tmp_path / "given", persistent=False)):
        assert cache.path is None
        assert not cache.persistent
        cache.put("k", row("1"))
        assert cache.get("k") == row("1")
        assert len(cache) == 1
        cache.close()
    assert list(tmp_path.iterdir()) == []


def test_memory_only_is_bounded_by_entries():
    cache = Cache(persistent=False, memory_entries=3)
    for i in range(5):
        cache.put(f"k{i}", row(str(i)))
    cache.get("k2")
    cache.put("k5", row("5"))
    assert [cache.get(f"k{i}") is not None for i in range(6)] == [0, 0, 1, 0, 1, 1]


@pytest.mark.parametrize("touch_first", [True, False])
def test_size_limit_evicts_least_recently_used_first(tmp_path, monkeypatch, touch_first):
    clock = [1000.0]
    monkeypatch.setattr(cache_mod, "_clock", lambda: clock[0])
    overhead = len(json.dumps(row(""), sort_keys=True, ensure_ascii=False)) + len("k0")
    pad = row("x" * (1002 - overhead))  # 1002 bytes per row with its key
    cache = Cache(tmp_path, max_bytes=4500)
    for i in range(4):
        clock[0] += 1
        cache.put(f"k{i}", pad)
    clock[0] += 100  # later than the access-time resolution
    if touch_first:
        assert cache.get("k0") == pad
    cache.put("k4", pad)  # 5 rows > 4500 bytes: evict down to 4050
    first = "k1" if touch_first else "k0"
    assert sorted(rows(tmp_path)) == sorted({"k0", "k1", "k2", "k3", "k4"} - {first})
    assert cache.get(first) is None  # gone from the memory layer too
    clock[0] += 1
    cache.put("k5", pad)
    second = "k2" if touch_first else "k1"
    stored = rows(tmp_path)
    assert sorted(stored) == sorted({"k0", "k1", "k2", "k3", "k4", "k5"} - {first, second})
    assert sum(size for _, size in stored.values()) <= 4500
    cache.close()


def test_many_threads_get_and_put_correct_values(tmp_path):
    cache = Cache(tmp_path, memory_entries=16)  # small, so most reads go to SQLite
    errors: list[BaseException] = []
    gets = [0] * 8

    def work(t: int) -> None:
        rng = random.Random(t)
        try:
            for i in range(200):
                if i % 2 == 0:
                    cache.put(f"t{t}-{i}", row(f"{t}-{i}", "y" * rng.randrange(200)))
                    continue
                other, j = rng.randrange(8), rng.randrange(0, 200, 2)
                gets[t] += 1
                value = cache.get(f"t{other}-{j}")
                assert value is None or value["texts"][0] == f"{other}-{j}"
                if other == t and j < i:
                    assert value is not None
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert cache.hits + cache.misses == sum(gets)
    assert len(cache) == 8 * 100
    cache.close()
    with Cache(tmp_path) as reopened:
        for t in range(8):
            for i in range(0, 200, 2):
                got = reopened.get(f"t{t}-{i}")
                assert got is not None
                assert got["texts"][0] == f"{t}-{i}"


# -- several processes ---------------------------------------------------------------------


def test_two_processes_share_one_database(tmp_path):
    procs = [
        subprocess.Popen(
            [sys.executable, WORKER, "share", str(tmp_path), mine, theirs, "150"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for mine, theirs in (("a", "b"), ("b", "a"))
    ]
    for proc in procs:
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, out + err
        assert "missing 0" in out
    assert len(rows(tmp_path)) == 300


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")
def test_process_killed_mid_write_leaves_a_usable_database(tmp_path):
    last = -1
    with subprocess.Popen(
        [sys.executable, WORKER, "loop", str(tmp_path), "20000"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as proc:
        assert proc.stdout is not None
        try:
            for line in proc.stdout:
                last = int(line)
                if last >= 300:
                    break
            os.kill(proc.pid, signal.SIGKILL)  # most of the loop's time is spent inside put
        finally:
            proc.kill()
            _, err = proc.communicate(timeout=10)
    assert last >= 300, err
    assert proc.returncode == -signal.SIGKILL
    assert (tmp_path / f"{DB}-wal").exists()  # left behind by the killed writer
    with sqlite3.connect(tmp_path / DB) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    with Cache(tmp_path) as cache:
        assert cache.persistent
        for i in range(last + 1):
            got = cache.get(f"k{i}")
            assert got is not None
            assert got["texts"][0] == str(i)
        cache.put("after", row("ok"))
        assert len(cache) >= last + 2


# -- damaged files -------------------------------------------------------------------------


def lm_on(cache, name):
    """A pl.LM named ``name/m`` on ``cache``, answered by one FunctionLM (also returned)."""
    backend = pl.FunctionLM(lambda messages: f"answer to {messages[-1]['content']}")
    pl.register_provider(name, lambda model, settings: backend)
    return pl.LM(f"{name}/m", cache=cache), backend


def ask(lm, question):
    return lm.complete([{"role": "user", "content": question}]).texts


def edit_rows(directory, changes):
    """Overwrite stored rows by hand: key -> (value, access time)."""
    conn = sqlite3.connect(Path(directory) / DB)
    with conn:
        for key, (value, accessed) in changes.items():
            sql = "UPDATE entries SET value = ?, accessed = ? WHERE key = ?"
            assert conn.execute(sql, (value, accessed, key)).rowcount == 1
    conn.close()


NAN_COST = '{"texts": ["x"], "usage": {"prompt_tokens": 1, "completion_tokens": 1, "cost": NaN}}'
BAD_ROWS = {  # key -> (stored value, stored access time), none of which pliable writes
    "texts is a string": (json.dumps({**row("x"), "texts": "Paris"}), 1.0),
    "a list": ("[1]", 1.0),
    "texts not strings": (json.dumps({**row("x"), "texts": [1]}), 1.0),
    "no texts": (json.dumps({**row("x"), "texts": []}), 1.0),
    "no usage": ('{"texts": ["x"]}', 1.0),
    "usage a list": (json.dumps({**row("x"), "usage": [1, 1, 0]}), 1.0),
    "negative tokens": (json.dumps(row("x", prompt_tokens=-3)), 1.0),
    "tokens as text": (json.dumps(row("x", completion_tokens="7")), 1.0),
    "cost NaN": (NAN_COST, 1.0),
    "not JSON": ("{'texts': ['x']}", 1.0),
    "nested too deeply": ("[" * 100_000 + "]" * 100_000, 1.0),
    "a blob": (sqlite3.Binary(json.dumps(row("x")).encode()), 1.0),
    "access time text": (json.dumps(row("x")), "yesterday"),
}


def test_rows_pliable_did_not_write_are_misses_deleted_and_warned_once(tmp_path, caplog):
    with Cache(tmp_path) as cache:
        for key in [*BAD_ROWS, "good"]:
            cache.put(key, row(f"answer {key}"))
    edit_rows(tmp_path, BAD_ROWS)
    keys = list(BAD_ROWS)
    cache, again = Cache(tmp_path), Cache(tmp_path)  # fresh memory: every read goes to the file
    with caplog.at_level(logging.WARNING, logger="pliable.lm.cache"):
        for key in keys[:5]:
            assert cache.get(key) is None, key
        for key in keys[5:]:  # another Cache on the same file in this process: no new warning
            assert again.get(key) is None, key
        assert cache.get("good") == row("answer good")
    assert (cache.hits, cache.misses) == (1, 5)
    warnings = cache_warnings(caplog)
    assert len(warnings) == 1, warnings
    assert str(tmp_path / DB) in warnings[0]
    assert "did not write" in warnings[0]
    assert set(rows(tmp_path)) == {"good"}  # the bad rows are deleted
    cache.put("a list", row("stored again"))
    assert again.get("a list") == row("stored again")
    assert cache.persistent
    other = tmp_path / "other"  # another file warns once of its own
    with Cache(other) as cache:
        cache.put("k", row("x"))
    edit_rows(other, {"k": ("[1]", 1.0)})
    with caplog.at_level(logging.WARNING, logger="pliable.lm.cache"):
        assert Cache(other).get("k") is None
    assert len(cache_warnings(caplog)) == 2


def test_lm_answers_from_the_model_not_from_a_hand_edited_row(tmp_path, caplog):
    lm, backend = lm_on(Cache(tmp_path), "cache-rows")
    questions = ["q0", "q1", "q2"]
    for q in questions:
        ask(lm, q)
    assert len(backend.calls) == 3
    lm.cache.close()
    bad = [
        json.dumps({**row("x"), "texts": "Paris"}),
        "[1]",
        json.dumps({**row("x"), "texts": [1]}),
    ]
    edit_rows(tmp_path, {key: (v, 1.0) for key, v in zip(rows(tmp_path), bad, strict=True)})
    lm = pl.LM("cache-rows/m", cache=Cache(tmp_path))
    with caplog.at_level(logging.WARNING, logger="pliable.lm.cache"):
        for q in questions:
            assert ask(lm, q) == (f"answer to {q}",)
    assert len(backend.calls) == 6  # every damaged row was a miss
    assert len(cache_warnings(caplog)) == 1
    lm = pl.LM("cache-rows/m", cache=Cache(tmp_path))
    for q in questions:  # and the rows the model's answers replaced are trusted again
        assert ask(lm, q) == (f"answer to {q}",)
    assert len(backend.calls) == 6


def deny_writes_by_mode(monkeypatch):
    """Make os.access honour the write bits, as it does for anyone but root."""
    real = os.access

    def access(path, mode, *args, **kwargs):
        try:
            if mode & os.W_OK and not os.stat(path).st_mode & stat.S_IWUSR:
                return False
        except OSError:
            pass
        return real(path, mode, *args, **kwargs)

    monkeypatch.setattr(os, "access", access)


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX permissions")
def test_read_only_cache_serves_its_answers_and_stores_nothing(tmp_path, monkeypatch, caplog):
    directory = tmp_path / "cache"
    db = directory / DB
    lm, backend = lm_on(Cache(directory), "cache-ro")
    questions = [f"q{i}" for i in range(4)]
    for q in questions:
        ask(lm, q)
    lm.cache.close()
    before, stored = hashlib.sha256(db.read_bytes()).hexdigest(), rows(directory)
    db.chmod(0o444)
    directory.chmod(0o555)
    try:
        if os.access(directory, os.W_OK):  # root: the kernel lets it write anyway
            deny_writes_by_mode(monkeypatch)
        assert not os.access(db, os.W_OK)
        cache = Cache(directory)
        lm = pl.LM("cache-ro/m", cache=cache)
        with caplog.at_level(logging.WARNING, logger="pliable.lm.cache"):
            for q in questions:
                assert ask(lm, q) == (f"answer to {q}",)
            assert len(backend.calls) == 4  # all four were hits
            for q in ["new 1", "new 2", "new 1", "new 3"]:
                assert ask(lm, q) == (f"answer to {q}",)
            assert len(backend.calls) == 7  # "new 1" again came from memory
            assert len(cache) == 4
        assert cache.persistent
        assert cache.read_only
        warnings = cache_warnings(caplog)
        assert len(warnings) == 1, warnings
        assert "read-only" in warnings[0]
        assert str(db) in warnings[0]
        cache.close()
    finally:
        directory.chmod(0o755)
        db.chmod(0o644)
    assert hashlib.sha256(db.read_bytes()).hexdigest() == before
    assert rows(directory) == stored


def test_damaged_file_is_moved_aside_and_a_fresh_one_used(tmp_path, caplog):
    garbage = b"this is not a sqlite database\n" * 200
    (tmp_path / DB).write_bytes(garbage)
    cache = Cache(tmp_path)
    with caplog.at_level(logging.WARNING, logger="pliable.lm.cache"):
        cache.put("k", row("1"))
        cache.put("k2", row("2"))
        assert Cache(tmp_path, memory_entries=0).get("k") == row("1")
    assert cache.persistent
    [aside] = tmp_path.glob(f"{DB}.corrupt-*")
    assert aside.read_bytes() == garbage  # kept for a look, out of the way
    warnings = cache_warnings(caplog)
    assert len(warnings) == 1, warnings
    assert str(tmp_path / DB) in warnings[0]
    assert str(aside) in warnings[0]
    cache.close()
    assert set(rows(tmp_path)) == {"k", "k2"}
    code = (
        "import logging, sys\n"
        "logging.basicConfig(level=logging.WARNING)\n"
        "from pliable.lm.cache import Cache\n"
        "cache = Cache(sys.argv[1])\n"
        "print(cache.get('k')['texts'], cache.persistent)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "['1'] True"
    assert out.stderr == ""  # another process finds a healthy file: nothing to warn about


def test_file_damaged_under_two_open_caches_is_moved_aside_once(tmp_path, caplog):
    with Cache(tmp_path) as cache:
        for i in range(200):
            cache.put(f"k{i}", row(str(i), "x" * 2000))
    first, second = Cache(tmp_path, memory_entries=0), Cache(tmp_path, memory_entries=0)
    assert first.get("k0") is not None  # both are connected to the file
    assert second.get("k1") is not None
    db = tmp_path / DB
    with db.open("r+b") as f:  # every page but the first (header and schema) is damaged
        f.seek(4096)
        f.write(b"\xff" * (db.stat().st_size - 4096))
    with caplog.at_level(logging.WARNING, logger="pliable.lm.cache"):
        assert first.get("k199") is None  # malformed: moved aside, then a miss in a new file
        assert second.get("k198") is None  # already replaced: second just reconnects
        first.put("new", row("fresh"))
        assert second.get("new") == row("fresh")
    [aside] = (p for p in tmp_path.glob(f"{DB}.corrupt-*") if not p.name.endswith("-wal"))
    assert aside.with_name(f"{aside.name}-wal").exists()  # its WAL went with it
    assert len(cache_warnings(caplog)) == 1
    assert first.persistent
    assert second.persistent
    first.close()
    second.close()


def test_full_disk_warns_once_and_still_serves_reads(tmp_path, monkeypatch, caplog):
    with Cache(tmp_path) as cache:
        cache.put("old", row("stored before"))
    real_open = cache_mod.open_read_write

    def no_room(path):  # SQLite itself reports SQLITE_FULL past max_page_count
        conn = real_open(path)
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
        conn.execute(f"PRAGMA max_page_count = {pages}")
        return conn

    monkeypatch.setattr(cache_mod, "open_read_write", no_room)
    cache = Cache(tmp_path, memory_entries=1)
    with caplog.at_level(logging.WARNING, logger="pliable.lm.cache"):
        for i in range(40):
            cache.put(f"k{i}", row("x" * 5000))
        assert cache.get("k39") == row("x" * 5000)  # from memory
        assert cache.get("old") == row("stored before")  # from the file
    warnings = cache_warnings(caplog)
    assert len(warnings) == 1, warnings
    assert "full" in warnings[0]
    assert cache.persistent
    assert set(rows(tmp_path)) == {"old"}
    cache.close()


def test_full_disk_retries_quietly_and_stores_again_once_there_is_room(
    tmp_path, monkeypatch, caplog
):
    def full(self, conn):
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(cache_mod, "_FULL_PAUSE", 0.0)  # retry every write: still one warning
    monkeypatch.setattr(Cache, "_evict", full)  # runs inside each write transaction
    cache = Cache(tmp_path)
    with caplog.at_level(logging.WARNING, logger="pliable.lm.cache"):
        for i in range(30):
            cache.put(f"k{i}", row(str(i)))
        assert len(rows(tmp_path)) == 0
        monkeypatch.undo()  # room again
        cache.put("later", row("later"))
    assert set(rows(tmp_path)) == {"later"}
    assert len(cache_warnings(caplog)) == 1
    cache.close()


def test_unwritable_directory_warns_and_falls_back_to_memory(tmp_path, caplog):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    cache = Cache(blocker / "cache")
    with caplog.at_level(logging.WARNING, logger="pliable.lm.cache"):
        cache.put("k", row("1"))
    assert cache.get("k") == row("1")
    assert "memory only" in caplog.text
    assert not cache.persistent


def test_default_directory_follows_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("PLIABLE_CACHE_DIR", str(tmp_path / "mine"))
    assert default_cache_dir() == tmp_path / "mine"
    cache = Cache()
    assert cache.path == tmp_path / "mine" / DB
    assert not (tmp_path / "mine").exists()  # created lazily
    cache.put("k", row("1"))
    assert (tmp_path / "mine" / DB).exists()
    cache.close()
    monkeypatch.delenv("PLIABLE_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    if sys.platform.startswith("linux"):
        assert default_cache_dir() == tmp_path / "xdg" / "pliable"


# -- request keys --------------------------------------------------------------------------

BASE = {
    "model": "openai/gpt-4o-mini",
    "messages": [{"role": "user", "content": "What is the capital of France?"}],
    "temperature": 0.7,
    "max_tokens": 100,
}


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("api_key", "sk-secret"),
        ("api_base", "http://localhost:1234"),
        ("base_url", "http://proxy"),
        ("timeout", 30),
        ("num_retries", 3),
        ("max_retries", 5),
        ("headers", {"X-Trace": "1"}),
        ("extra_headers", {"Authorization": "Bearer x"}),
        ("organization", "org-1"),
        ("access_token", "t"),
        ("aws_secret_access_key", "s"),
        ("password", "p"),
        ("vertex_credentials_key", "c"),
    ],
)
def test_request_key_ignores_secrets_and_transport(name, value):
    assert request_key({**BASE, name: value}) == request_key(BASE)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("messages", [{"role": "user", "content": "What is the capital of Spain?"}]),
        ("temperature", 0.0),
        ("max_tokens", 101),
        ("max_completion_tokens", 50),
        ("top_k", 40),
        ("stop_token_ids", [2]),
        ("sample", 1),
        ("model", "openai/gpt-4o"),
        ("response_format", {"type": "json_object"}),
    ],
)
def test_request_key_changes_with_content_and_sampling(name, value):
    assert request_key({**BASE, name: value}) != request_key(BASE)


class Answer(BaseModel):
    text: str
    score: float


@dataclasses.dataclass
class Point:
    x: int
    y: int


def test_request_key_canonicalises_non_json_values():
    key = request_key(BASE)
    assert len(key) == 64
    assert int(key, 16) >= 0
    assert request_key(dict(reversed(BASE.items()))) == key
    assert request_key({**BASE, "temperature": 1}) == request_key({**BASE, "temperature": 1.0})
    assert request_key({**BASE, "stop": ("a", "b")}) == request_key({**BASE, "stop": ["a", "b"]})
    assert request_key({**BASE, "stop": {"b", "a"}}) == request_key({**BASE, "stop": {"a", "b"}})
    model = request_key({**BASE, "x": Answer(text="a", score=1.5)})
    assert model == request_key({**BASE, "x": Answer(text="a", score=1.5)})
    assert model != request_key({**BASE, "x": Answer(text="b", score=1.5)})
    assert request_key({**BASE, "x": Point(1, 2)}) != request_key({**BASE, "x": Point(2, 1)})
    schema = request_key({**BASE, "response_format": Answer})
    assert schema == request_key({**BASE, "response_format": Answer})
    assert schema != request_key({**BASE, "response_format": Point})
    with pytest.raises(pl.UsageError, match="object"):
        request_key({**BASE, "x": object()})


def test_request_key_is_the_same_in_another_process():
    request = {**BASE, "stop": {"zeta", "alpha", "mu", "beta", "omega"}, "n": (1, 2)}
    code = (
        "import sys; from pliable.lm.cache import request_key; "
        f"print(request_key({request!r}), end='')"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    assert out.stdout == request_key(request)
