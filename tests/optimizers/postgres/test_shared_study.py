"""Several JointSearch workers (processes) on one study in a real PostgreSQL database.

What holds across the workers of one study (``JointSearch(storage=..., study_name=...)``):

* ``num_trials`` is the study's total: exactly that many trials complete, each run by one
  worker; a trial a worker asked for once the total was claimed is failed as surplus, with
  nothing evaluated (and no parameters, unless it was a failed trial queued again);
* the candidates are built once and searched by every worker (workers started together all
  build; one set is stored, atomically, and the others switch to it);
* a worker joining later builds nothing and scores no (program, example) pair the study
  already holds; only the baseline is scored by every worker;
* a worker killed with ``kill -9`` mid-trial: its trial is failed after three missed
  heartbeats and queued again with the same parameters, for another worker (or dropped if a
  new trial completed the study first); the study completes;
* every worker returns the same program: the best full-valset score of the study;
* ``budget=`` is each worker's own: no worker spends past it.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

optuna = pytest.importorskip("optuna")

pytestmark = pytest.mark.postgres

WORKER = Path(__file__).with_name("joint_worker.py")
VAL = 12  # the worker's valset size
TIMEOUT = 90


def env() -> dict[str, str]:
    return {**os.environ, "PLIABLE_DEFAULT_LM": "off"}


def start(url: str, study: str, out: Path, *extra: str) -> subprocess.Popen[bytes]:
    command = [sys.executable, str(WORKER), url, study, str(out), *extra]
    return subprocess.Popen(command, env=env(), stderr=subprocess.PIPE)


def finish(*workers: subprocess.Popen[bytes]) -> None:
    for worker in workers:
        _, err = worker.communicate(timeout=TIMEOUT)
        assert worker.returncode == 0, err.decode()[-2000:]


def results(*outs: Path) -> list[dict]:
    return [json.loads(out.read_text()) for out in outs]


def trials(url: str, study: str) -> dict[str, list]:
    by_state: dict[str, list] = {}
    for t in optuna.load_study(study_name=study, storage=url).trials:
        by_state.setdefault(t.state.name, []).append(t)
    return by_state


def calls(log: Path) -> list[dict]:
    return [json.loads(line) for line in log.read_text().splitlines()]


def val_question(call: dict) -> bool:
    return call["kind"] == "task" and int(call["q"].split("+")[0]) >= 100


def best_note(result: dict) -> str:
    return next(n for n in result["notes"] if n.startswith("best candidate on the valset"))


def study_best(url: str, study: str) -> str:
    """The study's best full-valset record (ties: the configuration tried first)."""
    attrs = optuna.load_study(study_name=study, storage=url).user_attrs
    records = [v for k, v in attrs.items() if k.startswith("pliable_full:") and "values" in v]
    best = max(records, key=lambda r: (sum(r["values"]) / len(r["values"]), -r["trials"][0]))
    return f"best candidate on the valset: trial {best['trials'][0]} on the full valset"


def check_trials(url: str, study: str, ran: list[list[int]], total: int) -> dict[str, list]:
    """``total`` trials complete, each run by one worker; the others are surplus or failed."""
    states = trials(url, study)
    complete = sorted(t.number for t in states.get("COMPLETE", []))
    assert len(complete) == total
    numbers = [n for worker in ran for n in worker]
    assert sorted(numbers) == complete  # each completed trial ran in exactly one worker
    assert "RUNNING" not in states
    assert "WAITING" not in states
    for t in states.get("FAIL", []):
        assert "pliable_scores" not in t.user_attrs  # nothing recorded for a failed trial
        if t.user_attrs.get("pliable_surplus") and "failed_trial" not in t.system_attrs:
            assert t.params == {}  # told failed before any parameter was chosen
    spaces = {t.user_attrs["pliable"]["space"] for t in states["COMPLETE"]}
    assert len(spaces) == 1  # every trial searched the same candidates
    return states


def test_workers_started_together_split_the_trials_and_return_one_program(postgres_url, tmp_path):
    log = tmp_path / "calls.log"
    outs = [tmp_path / f"w{i}.json" for i in range(3)]
    # --sampling: each process's proposals differ, as with an LM that samples
    workers = [
        start(postgres_url, "together", out, "--sampling", "--calls-log", str(log)) for out in outs
    ]
    finish(*workers)
    got = results(*outs)
    check_trials(postgres_url, "together", [r["trials"] for r in got], total=9)
    # one set of candidates (one process's proposals) and one program
    assert len({r["instructions"] for r in got}) == 1
    assert len({r["state"] for r in got}) == 1
    assert {best_note(r) for r in got} == {study_best(postgres_url, "together")}
    assert "written in process" in got[0]["instructions"]  # a proposal won, not the original
    # each worker's report counts the calls it made
    per_pid = Counter(c["pid"] for c in calls(log))
    assert {r["pid"]: r["lm_calls"] for r in got} == dict(per_pid)
    names = optuna.get_all_study_names(storage=postgres_url)
    assert "together:candidates" not in names  # the lock was released


def test_a_later_worker_loads_the_candidates_and_rescores_nothing(postgres_url, tmp_path):
    first_log, second_log = tmp_path / "first.log", tmp_path / "second.log"
    first_out, second_out = tmp_path / "first.json", tmp_path / "second.json"
    finish(
        start(
            postgres_url,
            "later",
            first_out,
            "--trials",
            "6",
            "--sampling",
            "--calls-log",
            str(first_log),
        )
    )
    finish(
        start(
            postgres_url,
            "later",
            second_out,
            "--trials",
            "9",
            "--sampling",
            "--calls-log",
            str(second_log),
        )
    )
    first, second = results(first_out, second_out)
    check_trials(postgres_url, "later", [first["trials"], second["trials"]], total=9)
    assert second["trials"] == [6, 7, 8]  # num_trials counts the study's completed trials
    assert "study 'later': searching the candidates it holds" in second["notes"]
    before, after = calls(first_log), calls(second_log)
    # no bootstrapping (train questions) and no proposals: the candidates were loaded
    assert [c for c in after if not val_question(c)] == []
    # nothing scored by the first worker is scored again, but the baseline (every worker's)
    baseline = {c["prompt"] for c in after[:VAL]}
    assert baseline == {c["prompt"] for c in [c for c in before if val_question(c)][:VAL]}
    again = {c["prompt"] for c in after[VAL:]} & {c["prompt"] for c in before}
    assert again == set()
    assert best_note(second) == study_best(postgres_url, "later")


def test_a_worker_killed_mid_trial_leaves_the_study_whole(postgres_url, tmp_path):
    killed_out = tmp_path / "killed.json"
    # its 14th call on a valset question (the baseline takes 12) hangs, inside trial 0
    killed = start(postgres_url, "killed", killed_out, "--hang-at", str(VAL + 2))
    hanging = Path(str(killed_out) + ".hanging")
    deadline = time.monotonic() + TIMEOUT
    while not hanging.exists():
        assert killed.poll() is None, killed.communicate()[1].decode()[-2000:]
        assert time.monotonic() < deadline, "the worker never reached its trial"
        time.sleep(0.1)
    running = trials(postgres_url, "killed")["RUNNING"]
    assert [t.number for t in running] == [0]
    outs = [tmp_path / "a.json", tmp_path / "b.json"]
    others = [start(postgres_url, "killed", out) for out in outs]
    time.sleep(1)
    os.kill(killed.pid, signal.SIGKILL)
    killed.wait(timeout=10)
    finish(*others)
    got = results(*outs)
    states = check_trials(postgres_url, "killed", [r["trials"] for r in got], total=9)
    lost = next(t for t in states["FAIL"] if t.number == 0)
    assert not lost.user_attrs.get("pliable_surplus")
    # queued again once, with the same choice: run by another worker, or dropped when a new
    # trial took its place first (the queued copy appears just after the failure)
    retried = [t for ts in states.values() for t in ts if t.system_attrs.get("failed_trial") == 0]
    assert len(retried) == 1
    assert retried[0].params == lost.params
    assert retried[0].state.name == "COMPLETE" or retried[0].user_attrs["pliable_surplus"]
    assert len({r["state"] for r in got}) == 1
    assert {best_note(r) for r in got} == {study_best(postgres_url, "killed")}


def test_each_worker_spends_within_its_own_budget(postgres_url, tmp_path):
    logs = [tmp_path / "a.log", tmp_path / "b.log"]
    outs = [tmp_path / "a.json", tmp_path / "b.json"]
    budget = 40
    workers = [
        start(postgres_url, "budget", out, "--budget", str(budget), "--calls-log", str(log))
        for out, log in zip(outs, logs, strict=True)
    ]
    finish(*workers)
    got = results(*outs)
    for result, log in zip(got, logs, strict=True):
        assert result["lm_calls"] == len(calls(log)) <= budget
    assert any(r["stopped"] for r in got)  # 40 calls each cannot run the search
    states = trials(postgres_url, "budget")
    assert "RUNNING" not in states  # a trial the budget cut short is told failed
    ran = sorted(n for r in got for n in r["trials"])
    assert len(ran) == len(set(ran))  # no trial ran in both


CLI_PROGRAM = """
import pliable as pl


def answer(messages):
    question = messages[-1]["content"].split("[[question]]\\n", 1)[-1].split("\\n", 1)[0]
    a, _, b = question.partition("+")
    right = len(messages) > 2 or int(a) % 2 == 0  # right with demos, else on even numbers
    return f"[[answer]]\\n{int(a) + int(b) if right else 0}"


pl.register_provider("sharedcli", lambda model, settings: pl.FunctionLM(answer))
program = pl.Predict("question -> answer")
"""


def test_two_cli_workers_share_a_study(postgres_url, tmp_path):
    (tmp_path / "program.py").write_text(CLI_PROGRAM)
    for name, numbers in (("train", range(8)), ("dev", range(100, 112))):
        rows = [{"question": f"{i}+{i + 1}", "answer": str(2 * i + 1)} for i in numbers]
        (tmp_path / f"{name}.jsonl").write_text("\n".join(json.dumps(r) for r in rows))
    command = [
        *(sys.executable, "-m", "pliable.cli", "compile", f"{tmp_path / 'program.py'}:program"),
        *("--train", str(tmp_path / "train.jsonl"), "--dev", str(tmp_path / "dev.jsonl")),
        *("--inputs", "question", "--metric", "exact_match", "--model", "sharedcli/m"),
        *("--optimizer", "joint", "--auto", "light", "--no-cache", "--quiet"),
        *("--storage", postgres_url, "--study-name", "cli", "--keep-insignificant"),
    ]
    outs = [tmp_path / "a.json", tmp_path / "b.json"]
    workers = [
        subprocess.Popen([*command, "--out", str(out)], env=env(), stderr=subprocess.PIPE)
        for out in outs
    ]
    finish(*workers)
    states = trials(postgres_url, "cli")
    assert len(states["COMPLETE"]) == 10  # --auto light: 10 trials in the study, in all
    saved = [json.loads(out.read_text())["predictors"] for out in outs]
    assert saved[0] == saved[1]  # both workers wrote the same program
    assert saved[0]["self"]["demos"]  # the search found that demos make it right
