import dataclasses
import json
import logging
import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
from datetime import datetime
from pathlib import Path

import pytest
from pydantic import BaseModel

import pliable as pl
from pliable.lm import cache as cache_mod
from pliable.lm.cache import Cache, default_cache_dir, request_key

WORKER = str(Path(__file__).with_name("cache_worker.py"))
DB = "lm-cache.sqlite3"


def rows(directory):
    """Every stored row, read with the plain sqlite3 module: key -> (value text, size)."""
    with sqlite3.connect(Path(directory) / DB) as conn:
        return {k: (v, s) for k, v, s in conn.execute("SELECT key, value, size FROM entries")}


# -- storage -------------------------------------------------------------------------------


def test_round_trip_survives_reopen_and_returns_fresh_copies(tmp_path):
    value = {"texts": ["Paris", "París"], "usage": {"prompt_tokens": 3, "cost": 0.5}, "n": None}
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
        reopened.put("k", {"replaced": True})
        assert reopened.get("k") == {"replaced": True}
        assert len(reopened) == 1
        reopened.clear()
        assert len(reopened) == 0
        assert reopened.get("k") is None
    assert rows(tmp_path) == {}


def test_values_are_json_text_on_disk(tmp_path):
    value = {"text": "café ✓", "scores": [1, 2.5], "nested": {"b": 1, "a": [True, None]}}
    with Cache(tmp_path) as cache:
        cache.put("k", value)
    text, size = rows(tmp_path)["k"]
    assert isinstance(text, str)
    assert json.loads(text) == value
    assert "café ✓" in text  # ensure_ascii=False
    assert text.index('"nested"') < text.index('"scores"') < text.index('"text"')  # sort_keys
    assert text.index('"a"') < text.index('"b"')
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


def test_memory_only_writes_no_file(tmp_path, monkeypatch):
    monkeypatch.setenv("PLIABLE_CACHE_DIR", str(tmp_path / "env"))
    for cache in (Cache(persistent=False), Cache(tmp_path / "given", persistent=False)):
        assert cache.path is None
        assert not cache.persistent
        cache.put("k", {"v": 1})
        assert cache.get("k") == {"v": 1}
        assert len(cache) == 1
        cache.close()
    assert list(tmp_path.iterdir()) == []


def test_memory_only_is_bounded_by_entries():
    cache = Cache(persistent=False, memory_entries=3)
    for i in range(5):
        cache.put(f"k{i}", {"i": i})
    cache.get("k2")
    cache.put("k5", {"i": 5})
    assert [cache.get(f"k{i}") is not None for i in range(6)] == [0, 0, 1, 0, 1, 1]


@pytest.mark.parametrize("touch_first", [True, False])
def test_size_limit_evicts_least_recently_used_first(tmp_path, monkeypatch, touch_first):
    clock = [1000.0]
    monkeypatch.setattr(cache_mod, "_clock", lambda: clock[0])
    pad = {"pad": "x" * 990}  # about 1002 bytes per row with its key
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
                    cache.put(f"t{t}-{i}", {"t": t, "i": i, "pad": "y" * rng.randrange(200)})
                    continue
                other, j = rng.randrange(8), rng.randrange(0, 200, 2)
                gets[t] += 1
                value = cache.get(f"t{other}-{j}")
                assert value is None or (value["t"], value["i"]) == (other, j)
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
                assert (got["t"], got["i"]) == (t, i)


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
            assert got["i"] == i
        cache.put("after", {"ok": True})
        assert len(cache) >= last + 2


# -- damaged files -------------------------------------------------------------------------


def test_corrupt_file_warns_and_falls_back_to_memory(tmp_path, caplog):
    garbage = b"this is not a sqlite database\n" * 200
    (tmp_path / DB).write_bytes(garbage)
    cache = Cache(tmp_path)
    with caplog.at_level(logging.WARNING, logger="pliable.lm.cache"):
        cache.put("k", {"v": 1})
        assert cache.get("k") == {"v": 1}
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    message = warnings[0].getMessage()
    assert str(tmp_path / DB) in message
    assert "delete" in message
    assert "memory only" in message
    assert not cache.persistent
    assert len(cache) == 1
    assert (tmp_path / DB).read_bytes() == garbage  # the user's file is left alone


def test_unwritable_directory_warns_and_falls_back_to_memory(tmp_path, caplog):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    cache = Cache(blocker / "cache")
    with caplog.at_level(logging.WARNING, logger="pliable.lm.cache"):
        cache.put("k", {"v": 1})
    assert cache.get("k") == {"v": 1}
    assert "memory only" in caplog.text
    assert not cache.persistent


def test_default_directory_follows_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("PLIABLE_CACHE_DIR", str(tmp_path / "mine"))
    assert default_cache_dir() == tmp_path / "mine"
    cache = Cache()
    assert cache.path == tmp_path / "mine" / DB
    assert not (tmp_path / "mine").exists()  # created lazily
    cache.put("k", {"v": 1})
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
