"""One JointSearch worker of a shared study, in its own process (tests/optimizers/postgres).

    python joint_worker.py STORAGE STUDY OUT [--trials N] [--budget N] [--no-fill]
        [--sampling] [--hang-at N] [--calls-log FILE] [--heartbeat S]

The task adds two numbers; the task LM (a pl.FunctionLM, answers at once) is always right
under an instruction that says "sum" and right on even first numbers otherwise. The proposer
LM writes that instruction when its tip asks for detail; with ``--sampling`` every proposal
also names the process, as an LM that samples would write different ones in each worker.
CALLS_LOG gets one JSON line per LM call (the process, the kind of call, the question and a
hash of the prompt). With ``--hang-at N``, the N-th task call on a valset question blocks
forever (OUT.hanging appears), for the test that kills the worker mid-trial. OUT gets the
worker's report: its trials, full evaluations, LM calls and the program it returns.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import threading
import time
from pathlib import Path

import pliable as pl
from pliable.optimizers.state import state_hash

VALSET = range(100, 112)
TRAINSET = range(8)
MAGIC = "Add the two numbers and reply with their sum."


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    for name in ("storage", "study", "out"):
        parser.add_argument(name)
    parser.add_argument("--trials", type=int, default=9)
    parser.add_argument("--budget", type=int, default=None)
    parser.add_argument("--no-fill", action="store_true")
    parser.add_argument("--sampling", action="store_true")
    parser.add_argument("--hang-at", type=int, default=0)
    parser.add_argument("--calls-log", default=None)
    parser.add_argument("--heartbeat", type=int, default=1)
    return parser.parse_args()


def examples(numbers: range) -> list[pl.Example]:
    return [
        pl.Example(question=f"{i}+{i + 1}", answer=str(2 * i + 1)).with_inputs("question")
        for i in numbers
    ]


def main() -> None:
    args = arguments()
    lock = threading.Lock()
    val_calls = [0]

    def log(kind: str, question: str, messages: list[dict[str, str]]) -> None:
        if not args.calls_log:
            return
        digest = hashlib.sha256(json.dumps(messages, sort_keys=True).encode()).hexdigest()
        line = json.dumps({"pid": os.getpid(), "kind": kind, "q": question, "prompt": digest})
        with lock, open(args.calls_log, "a") as f:
            f.write(line + "\n")
            f.flush()
            os.fsync(f.fileno())

    def task(messages: list[dict[str, str]]) -> str:
        question = messages[-1]["content"].split("[[question]]\n", 1)[-1].split("\n", 1)[0]
        a, _, b = question.partition("+")
        if int(a) in VALSET:
            with lock:
                val_calls[0] += 1
                hang = val_calls[0] == args.hang_at
            if hang:
                Path(args.out + ".hanging").write_text(str(os.getpid()))
                while True:
                    time.sleep(1)
        log("task", question, messages)
        right = "sum" in messages[0]["content"] or int(a) % 2 == 0
        return f"[[answer]]\n{int(a) + int(b) if right else 0}"

    def propose(messages: list[dict[str, str]], options: dict[str, object]) -> str:
        log("propose", "", messages)
        text = MAGIC if "Be detailed" in messages[-1]["content"] else "Answer the question."
        if args.sampling:
            text += f" (written in process {os.getpid()}, sample {options.get('sample')})"
        return f"[[instruction]]\n{text}"

    program = pl.Predict("question -> answer", lm=pl.FunctionLM(task))
    search = pl.JointSearch(
        lambda example, pred: example.answer == pred.answer,
        auto=None,
        num_instructions=3,
        num_demo_sets=3,
        num_trials=args.trials,
        minibatch_size=4,
        full_eval_every=3,
        prompt_lm=pl.FunctionLM(propose),
        storage=args.storage,
        study_name=args.study,
        heartbeat=args.heartbeat,
        fill_budget=not args.no_fill,
        num_threads=1,
    )
    budget = pl.Budget(lm_calls=args.budget) if args.budget is not None else None
    compiled = search.compile(
        program,
        trainset=examples(TRAINSET),
        valset=examples(VALSET),
        budget=budget,
        require_significance=False,
    )
    report = compiled.report
    result = {
        "pid": os.getpid(),
        "state": state_hash(compiled),
        "instructions": compiled.signature.instructions,
        "final": report.final.score if report.final else None,
        "lm_calls": report.lm_calls,
        "stopped": report.stopped,
        "notes": report.notes,
        "trials": [c["trial"] for c in report.candidates if "trial" in c],
        "full": [c["name"] for c in report.candidates if c["score"] is not None],
        "shared": [c["name"] for c in report.candidates if c.get("shared")],
    }
    Path(args.out).write_text(json.dumps(result, sort_keys=True))


if __name__ == "__main__":
    main()
