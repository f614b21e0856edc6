"""A compile run in its own process, for the crash-and-resume test.

    python resume_worker.py OPTIMIZER RUN_DIR CACHE_DIR CALLS_LOG OUT [HANG_AT]

The LM is a function-backed provider behind ``pl.LM`` (so the real cache applies). Every
answered request appends the hash of its prompt to CALLS_LOG; with HANG_AT, request number
HANG_AT blocks forever before answering, so the test can kill the process mid-run.
"""

from __future__ import annotations

import hashlib
import json
import sys
import threading
import time

import pliable as pl


def main() -> None:
    name, run_dir, cache_dir, calls_log, out = sys.argv[1:6]
    hang_at = int(sys.argv[6]) if len(sys.argv) > 6 else 0
    lock = threading.Lock()
    count = [0]

    def answer(messages: list[dict[str, str]], options: dict[str, object]) -> str:
        with lock:
            count[0] += 1
            number = count[0]
        if hang_at and number >= hang_at:
            # every earlier request has been answered and cached (the run is sequential)
            with open(calls_log + ".hanging", "w") as f:
                f.write(str(number))
            while True:
                time.sleep(1)
        text = messages[-1]["content"]
        if text.endswith("Reply with your instruction only."):  # a proposal
            reply = f"Add the two numbers and reply with the sum (variant {options.get('sample')})."
        else:
            q = text.split("[[question]]\n", 1)[-1].split("\n", 1)[0]
            a, _, b = q.partition("+")
            total = int(a) + int(b)
            system = messages[0]["content"]
            wrong = int(a) % 3 == 0 and "sum" not in system and "Example" not in text
            reply = f"[[answer]]\n{total + 1 if wrong else total}"
        digest = hashlib.sha256(json.dumps([messages, options], sort_keys=True).encode())
        with lock, open(calls_log, "a") as f:
            f.write(digest.hexdigest()[:16] + "\n")
        return reply

    pl.register_provider("resumefake", lambda model, settings: pl.FunctionLM(answer))
    lm = pl.LM("resumefake/adder", cache=cache_dir)
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
    compiled = optimizers[name]().compile(
        program, trainset=train, valset=val, run_dir=run_dir, require_significance=False
    )
    from pliable.optimizers.state import program_state

    report = compiled.report
    result = {
        "state": program_state(compiled),
        "final": report.final.score if report.final else None,
        "notes": report.notes,
    }
    with open(out, "w") as f:
        json.dump(result, f, sort_keys=True)


if __name__ == "__main__":
    main()
