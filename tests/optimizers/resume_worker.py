"""A compile run in its own process, for the crash-and-resume tests.

    python resume_worker.py OPTIMIZER RUN_DIR CACHE_DIR CALLS_LOG OUT [HANG_AT]
        [--budget N] [--no-cache] [--hang-after N]

The LM is a function-backed provider behind ``pl.LM`` (so the real cache applies; CACHE_DIR
is unused with ``--no-cache``). CALLS_LOG plays the server's request log: every request
appends the hash of its prompt to it (fsync'd) before it is answered, so it survives a
``kill -9`` and counts what reached the "server" over every invocation. With HANG_AT, request
number HANG_AT of this process blocks forever before it is logged or answered; with
``--hang-after N``, the request that makes CALLS_LOG N lines long is logged and then blocks
forever (it reached the server and is in flight when the test kills the process). Either way
the file CALLS_LOG.hanging appears when the process hangs. OUT gets the compiled program's
state, final score, notes and reported LM calls.
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


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    for name in ("optimizer", "run_dir", "cache_dir", "calls_log", "out"):
        parser.add_argument(name)
    parser.add_argument("hang_at", nargs="?", type=int, default=0)
    parser.add_argument("--budget", type=int, default=None)
    parser.add_argument("--no-cache", action="store_true")
    parser.add_argument("--hang-after", type=int, default=0)
    return parser.parse_args()


def hang(calls_log: str, number: int) -> None:
    with open(calls_log + ".hanging", "w") as f:
        f.write(str(number))
    while True:
        time.sleep(1)


def main() -> None:
    args = arguments()
    calls_log = args.calls_log
    lock = threading.Lock()
    count = [0]
    path = Path(calls_log)
    logged = [len(path.read_text().split()) if path.exists() else 0]

    def answer(messages: list[dict[str, str]], options: dict[str, object]) -> str:
        with lock:
            count[0] += 1
            number = count[0]
        if args.hang_at and number >= args.hang_at:
            # every earlier request has been answered and cached (the run is sequential)
            hang(calls_log, number)
        digest = hashlib.sha256(json.dumps([messages, options], sort_keys=True).encode())
        with lock, open(calls_log, "a") as f:
            f.write(digest.hexdigest()[:16] + "\n")
            f.flush()
            os.fsync(f.fileno())
            logged[0] += 1
            in_flight = logged[0] == args.hang_after
        if in_flight:
            hang(calls_log, logged[0])
        text = messages[-1]["content"]
        if text.endswith("Reply with your instruction only."):  # a proposal
            return f"Add the two numbers and reply with the sum (variant {options.get('sample')})."
        q = text.split("[[question]]\n", 1)[-1].split("\n", 1)[0]
        a, _, b = q.partition("+")
        total = int(a) + int(b)
        system = messages[0]["content"]
        wrong = int(a) % 3 == 0 and "sum" not in system and "Example" not in text
        return f"[[answer]]\n{total + 1 if wrong else total}"

    pl.register_provider("resumefake", lambda model, settings: pl.FunctionLM(answer))
    lm = pl.LM("resumefake/adder", cache=False if args.no_cache else args.cache_dir)
    data = [
        pl.Example(question=f"{i}+{i + 1}", answer=str(2 * i + 1)).with_inputs("question")
        for i in range(24)
    ]
    train, val = data[:12], data[12:]

    def metric(example: pl.Example, pred: pl.Prediction) -> bool:
        return bool(example.answer == pred.answer)

    optimizers = {
        "random-search": lambda: pl.BootstrapRandomSearch(
            metric, num_candidates=4, max_bootstrapped_demos=2, num_threads=1
        ),
        "joint": lambda: pl.JointSearch(
            metric, num_instructions=3, num_demo_sets=3, num_trials=6, num_threads=1
        ),
    }
    program = pl.Predict("question -> answer", lm=lm)
    budget = pl.Budget(lm_calls=args.budget) if args.budget is not None else None
    compiled = optimizers[args.optimizer]().compile(
        program,
        trainset=train,
        valset=val,
        run_dir=args.run_dir,
        budget=budget,
        require_significance=False,
    )
    from pliable.optimizers.state import program_state

    report = compiled.report
    result = {
        "state": program_state(compiled),
        "final": report.final.score if report.final else None,
        "notes": report.notes,
        "lm_calls": report.lm_calls,
        "stopped": report.stopped,
    }
    with open(args.out, "w") as f:
        json.dump(result, f, sort_keys=True)


if __name__ == "__main__":
    main()
