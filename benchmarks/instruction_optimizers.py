"""Every optimizer on one BIG-bench task with a local model, at the same LM-call budget.

Each run is what a user types, as a subprocess with its own empty cache directory:

    pliable compile --bigbench TASK --limit N --seed S --max-tokens M --optimizer O \
        --budget-calls B --run-dir DIR --out F --quiet

with no ``--model`` by default, so SmolLM2-135M-Instruct runs in-process via llama.cpp;
``--model local/NAME`` passes that model on. ``--teacher local/NAME`` (alias
``--prompt-model``), which the CLI has no option for, runs the same CLI through
``_teacher_cli.py``: the teacher writes the instructions (joint, hill-climb), reflects
(reflective) and bootstraps (bootstrap); its calls count in the budget and are reported apart
("teacher calls"). A model name that does not resolve stops the script before any run.

The numbers come from the compile report in ``--out``: baseline and final valset scores with
95% intervals, the best candidate's valset score (before honest selection, which keeps the
program passed in when the gain is inside the noise), LM calls actually made, whether the
budget stopped the run, and wall time. ``--budget-calls`` is the same for every optimizer, so
JointSearch and BootstrapRandomSearch are compared at a matched budget.

Run:  .venv/bin/python benchmarks/instruction_optimizers.py [--task sports_understanding]
          [--optimizers random-search joint reflective hill-climb bootstrap]
          [--limit 60] [--budget 150] [--seed 0] [--max-tokens 16] [--git-ref HEAD]
          [--model local/NAME] [--teacher local/NAME]
Writes benchmarks/results/instruction_optimizers.json (with another model or a teacher,
``instruction_optimizers-<model>[-teacher-<teacher>].json``; ``--out`` to change), which
records both models (``models``).
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

from _common import RESULTS_DIR, export_src, git_revision, machine_info, now_iso, table, write_json
from _models import DEFAULT_MODEL, Models, add_model_args, resolve_models
from _teacher_cli import teacher_cli, teacher_usage

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OPTIMIZERS = ["bootstrap", "random-search", "joint", "hill-climb", "reflective"]


def run_one(
    optimizer: str, args: argparse.Namespace, env: dict[str, str], tmp: Path, models: Models
) -> dict[str, Any]:
    out = tmp / f"{optimizer}.json"
    run_dir = tmp / f"{optimizer}-run"
    usage_file = tmp / f"{optimizer}-usage.json"
    cli_args = [
        "compile",
        "--bigbench",
        args.task,
        "--limit",
        str(args.limit),
        "--seed",
        str(args.seed),
        "--max-tokens",
        str(args.max_tokens),
        "--optimizer",
        optimizer,
        "--budget-calls",
        str(args.budget),
        "--run-dir",
        str(run_dir),
        "--out",
        str(out),
        "--quiet",
    ]
    if models.student != DEFAULT_MODEL:
        cli_args += ["--model", models.student]
    command = teacher_cli(sys.executable, models, args.teacher_max_tokens, usage_file, cli_args)
    run_env = {**env, "PLIABLE_CACHE_DIR": str(tmp / f"{optimizer}-cache")}
    start = time.perf_counter()
    proc = subprocess.run(command, cwd=ROOT, env=run_env, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{optimizer} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    report = json.loads(out.read_text())["report"]
    full = [c["score"] for c in report["candidates"] if c.get("score") is not None]
    return {
        "optimizer": optimizer,
        "command": " ".join(["pliable", *cli_args])
        + (
            f"  (teacher {models.teacher}, through benchmarks/_teacher_cli.py)"
            if models.has_teacher
            else ""
        ),
        "teacher_usage": teacher_usage(usage_file, models) if models.has_teacher else None,
        "report_optimizer": report["optimizer"],
        "baseline": report["baseline"],
        "final": report["final"],
        "best_candidate_score": max(full) if full else None,
        "selected": report["selected"],
        "comparison": report["comparison"],
        "candidates": len(report["candidates"]),
        "lm_calls": report["lm_calls"],
        "cache_hits": report["cache_hits"],
        "prompt_tokens": report["prompt_tokens"],
        "stopped_by_budget": report["stopped"] is not None,
        "wall_time": wall,
        "summary": proc.stdout,
    }


def fmt(summary: dict[str, Any] | None) -> str:
    if not summary:
        return "-"
    return f"{summary['score']:.2f} [{summary['ci_low']:.2f}, {summary['ci_high']:.2f}]"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--task", default="sports_understanding")
    parser.add_argument("--optimizers", nargs="+", default=DEFAULT_OPTIMIZERS)
    parser.add_argument("--limit", type=int, default=60)
    parser.add_argument("--budget", type=int, default=150)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-tokens", type=int, default=16)
    parser.add_argument("--git-ref", default=None)
    add_model_args(parser)
    parser.add_argument(
        "--teacher-max-tokens", type=int, default=256, help="max_tokens of the teacher's writing"
    )
    parser.add_argument("--out", type=Path, help="JSON result path")
    args = parser.parse_args()
    models = resolve_models(args)  # a name that does not resolve stops here, in one line
    out_path = args.out or RESULTS_DIR / f"instruction_optimizers{models.file_suffix()}.json"

    env = {k: v for k, v in os.environ.items() if k != "PLIABLE_DEFAULT_LM"}
    rows = []
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        revision = git_revision()
        if args.git_ref:
            revision = export_src(args.git_ref, tmp / "ref")
            env["PYTHONPATH"] = str(tmp / "ref" / "src")
        results = []
        for optimizer in args.optimizers:
            print(f"running {optimizer} ...", file=sys.stderr, flush=True)
            result = run_one(optimizer, args, env, tmp, models)
            results.append(result)
            rows.append(
                [
                    result["report_optimizer"],
                    fmt(result["baseline"]),
                    f"{result['best_candidate_score']:.2f}"
                    if result["best_candidate_score"] is not None
                    else "-",
                    fmt(result["final"]),
                    result["selected"],
                    result["candidates"],
                    f"{result['lm_calls']} / {args.budget}",
                    (result["teacher_usage"] or {}).get("teacher", {}).get("lm_calls", "-"),
                    "yes" if result["stopped_by_budget"] else "no",
                    f"{result['wall_time']:.0f} s",
                ]
            )
    headers = [
        "optimizer",
        "baseline",
        "best candidate",
        "final (selected)",
        "kept",
        "candidates",
        "LM calls / budget",
        "teacher calls",
        "budget stop",
        "wall time",
    ]
    print(table(headers, rows))
    write_json(
        out_path,
        {
            "benchmark": "instruction_optimizers",
            "command": "benchmarks/instruction_optimizers.py " + " ".join(sys.argv[1:]),
            "task": args.task,
            "limit": args.limit,
            "budget_calls": args.budget,
            "seed": args.seed,
            "max_tokens": args.max_tokens,
            "model": models.student,
            "teacher": models.teacher,
            "teacher_max_tokens": args.teacher_max_tokens if models.has_teacher else None,
            "models": models.to_dict(),
            "revision": revision,
            "machine": machine_info(),
            "date": now_iso(),
            "results": results,
        },
    )


if __name__ == "__main__":
    main()
