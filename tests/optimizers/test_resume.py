"""Kill a real compile process mid-run, resume it from its run_dir, and compare with an
uninterrupted run: same result, and no LM request made twice; killed twice with a budget,
the requests that reached the LM over every invocation stay within it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

WORKER = Path(__file__).with_name("resume_worker.py")


def run_worker(
    optimizer: str, root: Path, hang_at: int = 0, *extra: str
) -> subprocess.Popen[bytes]:
    args = [
        sys.executable,
        str(WORKER),
        optimizer,
        str(root / "run"),
        str(root / "cache"),
        str(root / "calls.log"),
        str(root / "out.json"),
    ]
    if hang_at:
        args.append(str(hang_at))
    args += extra
    env = {**os.environ, "PLIABLE_DEFAULT_LM": "off"}
    return subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def calls(root: Path) -> list[str]:
    log = root / "calls.log"
    return log.read_text().split() if log.exists() else []


def kill_when_hanging(proc: subprocess.Popen[bytes], root: Path) -> None:
    """Wait until the worker hangs inside a request, then kill -9 it."""
    hanging = root / "calls.log.hanging"
    deadline = time.monotonic() + 120
    while not hanging.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert hanging.exists(), "the worker never reached the request it hangs on"
    proc.kill()
    proc.wait()
    hanging.unlink()


def finish(proc: subprocess.Popen[bytes]) -> None:
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err.decode()


@pytest.mark.parametrize("optimizer", ["random-search", "joint"])
def test_killed_compile_resumes_to_the_same_result_without_repeating_calls(tmp_path, optimizer):
    whole = tmp_path / "whole"
    finish(run_worker(optimizer, whole))
    expected = json.loads((whole / "out.json").read_text())
    total = len(calls(whole))
    assert total > 10

    crashed = tmp_path / "crashed"
    hang_at = total // 2
    proc = run_worker(optimizer, crashed, hang_at=hang_at)
    deadline = time.monotonic() + 120
    hanging = crashed / "calls.log.hanging"
    while not hanging.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert hanging.exists(), "the worker never reached the request it hangs on"
    proc.kill()  # the process hangs inside request number hang_at
    proc.wait()
    before = calls(crashed)
    assert len(before) == hang_at - 1
    assert not (crashed / "out.json").exists()
    log = (crashed / "run" / "run.jsonl").read_text()
    assert '"event": "end"' not in log

    finish(run_worker(optimizer, crashed))
    resumed = json.loads((crashed / "out.json").read_text())
    after = calls(crashed)
    assert resumed["state"] == expected["state"]
    assert resumed["final"] == expected["final"]
    assert any("resumed from" in n for n in resumed["notes"])
    # every request answered before the crash came from the cache or the run log afterwards
    assert len(after) == len(set(after))
    assert len(after) == total


@pytest.mark.parametrize(
    ("optimizer", "cache"),
    [("random-search", True), ("random-search", False), ("joint", False)],
)
def test_a_budget_holds_across_two_kills_and_only_the_requests_in_flight_repeat(
    tmp_path, optimizer, cache
):
    budget, kills = 40, (12, 27)  # an uninterrupted run makes over 50 requests
    flags = ["--budget", str(budget)] + ([] if cache else ["--no-cache"])
    for n in kills:
        # killed while request n is in flight: it reached the server, its answer is lost
        kill_when_hanging(
            run_worker(optimizer, tmp_path, 0, "--hang-after", str(n), *flags), tmp_path
        )
        assert len(calls(tmp_path)) == n
        assert not (tmp_path / "out.json").exists()
    finish(run_worker(optimizer, tmp_path, 0, *flags))
    result = json.loads((tmp_path / "out.json").read_text())
    sent = calls(tmp_path)
    assert len(sent) <= budget  # over all three invocations, as the server counted them
    assert result["stopped"] is not None
    assert f"{budget} LM calls" in result["stopped"]
    # the request in flight at each kill is sent again; every answered one is replayed
    # (from the run log with the cache off, from the cache with it on)
    assert len(sent) - len(set(sent)) <= len(kills)
    assert f"{kills[-1]} LM calls were made before" in " ".join(result["notes"])
    assert result["lm_calls"] == len(sent)  # the report adds up every invocation
