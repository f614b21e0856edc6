"""Is the gap between the two BootstrapFewShot programs the demos or the prompt layout?

``compile_vs_dspy.py`` has pliable's ``BootstrapFewShot`` reference a few points behind DSPy's
with the same demo count, the same teacher and the same student. Either framework's program
differs in two ways: which train examples its teacher bootstrapped into demos, and how its
adapter lays the demos and the question out (pliable's chat format against DSPy's
``ChatAdapter`` with its ``[[ ## field ## ]]`` markers). This script separates the two. It
compiles ``BootstrapFewShot(4, 4)`` with the teacher on each side, then scores the four
crossings on the test split:

* ``pl/pl``: pliable's layout, pliable's demos (the compiled pliable program);
* ``pl/dspy``: pliable's layout, DSPy's demos;
* ``dspy/dspy``: DSPy's layout, DSPy's demos (the compiled DSPy program);
* ``dspy/pl``: DSPy's layout, pliable's demos;

and each layout with no demos (``pl/0``, ``dspy/0``). A demo is the train example's inputs and
the answer its bootstrapped trace shows. Data, program, metric, servers and the split are
``compile_vs_dspy.py``'s (``_cvd_common``), so the numbers read next to its reference rows.

Run:  nice .venv/bin/python benchmarks/demo_swap.py --model local/qwen2.5-coder-0.5b \\
          --teacher local/qwen2.5-coder-1.5b [--tasks ...] [--seeds 0] [--resume]
Writes benchmarks/results/demo_swap[-<models>].json (``--out`` to change). ``--cache DIR``
keeps both frameworks' LM caches there (default: a fresh temporary folder), so a stopped run
goes on without repeating its calls.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import RESULTS_DIR, git_revision, machine_info, now_iso, table, write_json
from _cvd_common import (
    FULL_TASKS,
    Config,
    load_split,
    log,
    program_spec,
    serve,
    split_config,
    to_dspy,
)
from _cvd_metric import answer_of, dspy_metric, init_metric, is_generative, pliable_metric
from _models import add_model_args, resolve_models

CELLS = ("pl/pl", "pl/dspy", "dspy/dspy", "dspy/pl", "pl/0", "dspy/0")


def _demo(d: Any, fields: list[str]) -> dict[str, Any]:
    return {k: (list(d[k]) if k == "choices" else d[k]) for k in fields}


def run_one(cfg: Config, endpoints: Any, task: str, seed: int, cache: Path) -> dict[str, Any]:
    import dspy

    import pliable as pl

    train, _val, test = load_split(cfg, task, seed)
    generative = is_generative(train[0])
    fields = ["question", "answer"] if generative else ["question", "choices", "answer"]
    inputs = fields[:-1]
    signature, instructions = program_spec(generative)
    metric = pliable_metric(generative)
    start = time.monotonic()

    def pl_lm(model: str, base: str) -> Any:
        return pl.LM(
            model,
            api_base=base,
            api_key="none",
            cache=str(cache / "pliable"),
            temperature=0,
            max_tokens=cfg.max_tokens,
        )

    def dspy_lm(model: str, base: str) -> Any:
        return dspy.LM(
            model,
            api_base=base,
            api_key="none",
            cache=True,
            temperature=0.0,
            max_tokens=cfg.max_tokens,
        )

    student = pl_lm(endpoints.student_model, endpoints.student_base)
    teacher = pl.Predict(pl.Signature(signature, instructions))
    teacher.lm = pl_lm(endpoints.teacher_model, endpoints.teacher_base)
    with pl.using(lm=student):
        compiled = pl.BootstrapFewShot(
            metric, max_bootstrapped_demos=4, max_labeled_demos=4, teacher=teacher
        ).compile(pl.Predict(pl.Signature(signature, instructions)), trainset=train)
    pl_demos = [_demo(d, fields) for d in compiled.demos]

    dspy.configure_cache(
        enable_disk_cache=True, enable_memory_cache=True, disk_cache_dir=str(cache / "dspy")
    )
    dspy.configure(lm=dspy_lm(endpoints.student_model, endpoints.student_base))
    with contextlib.redirect_stdout(sys.stderr):
        dcompiled = dspy.BootstrapFewShot(
            metric=dspy_metric,
            max_bootstrapped_demos=4,
            max_labeled_demos=4,
            teacher_settings={"lm": dspy_lm(endpoints.teacher_model, endpoints.teacher_base)},
        ).compile(dspy.Predict(dspy.Signature(signature, instructions)), trainset=to_dspy(train))
    dspy_demos = [_demo(d, fields) for d in dcompiled.predictors()[0].demos]

    def score_pl(demos: list[dict[str, Any]]) -> tuple[list[float], list[Any]]:
        program = pl.Predict(pl.Signature(signature, instructions))
        program.demos = [pl.Example(d).with_inputs(*inputs) for d in demos]
        with pl.using(lm=student):
            result = pl.evaluate(program, test, metric, num_threads=cfg.num_threads, progress=False)
        rows = sorted(result.rows, key=lambda r: r.index)
        return [float(r.score) for r in rows], [
            None if r.error else answer_of(r.prediction) for r in rows
        ]

    def score_dspy(demos: list[dict[str, Any]]) -> tuple[list[float], list[Any]]:
        program = dspy.Predict(dspy.Signature(signature, instructions))
        program.demos = [dspy.Example(**d) for d in demos]
        evaluator = dspy.Evaluate(
            devset=to_dspy(test),
            metric=dspy_metric,
            num_threads=cfg.num_threads,
            display_progress=False,
            max_errors=len(test) + 1,
            failure_score=0.0,
        )
        with contextlib.redirect_stdout(sys.stderr):
            result = evaluator(program)
        return [float(s) for _, _, s in result.results], [
            answer_of(p) for _, p, _ in result.results
        ]

    plan = {
        "pl/pl": (score_pl, pl_demos),
        "pl/dspy": (score_pl, dspy_demos),
        "dspy/dspy": (score_dspy, dspy_demos),
        "dspy/pl": (score_dspy, pl_demos),
        "pl/0": (score_pl, []),
        "dspy/0": (score_dspy, []),
    }
    cells: dict[str, Any] = {}
    for name, (score, demos) in plan.items():
        values, answers = score(demos)
        cells[name] = {"mean": sum(values) / len(values), "values": values, "answers": answers}
        log(f"  {task} seed {seed} {name}: {100 * cells[name]['mean']:.1f}")
    return {
        "task": task,
        "seed": seed,
        "demos": {"pliable": pl_demos, "dspy": dspy_demos},
        "cells": cells,
        "seconds": round(time.monotonic() - start, 1),
    }


def report(records: list[dict[str, Any]]) -> dict[str, Any]:
    from pliable.evaluation.stats import paired_bootstrap

    rows = [
        [f"{r['task']} s{r['seed']}", *(f"{100 * r['cells'][c]['mean']:.1f}" for c in CELLS)]
        for r in records
    ]
    print(table(["task, seed", *(f"{c} (layout/demos)" for c in CELLS)], rows))
    summary: dict[str, Any] = {}
    if not records:
        return summary
    pooled = {c: [x for r in records for x in r["cells"][c]["values"]] for c in CELLS}
    contrasts = {
        "layout, pliable's demos (pl/pl - dspy/pl)": ("dspy/pl", "pl/pl"),
        "layout, DSPy's demos (pl/dspy - dspy/dspy)": ("dspy/dspy", "pl/dspy"),
        "layout, no demos (pl/0 - dspy/0)": ("dspy/0", "pl/0"),
        "demos, pliable's layout (pl/pl - pl/dspy)": ("pl/dspy", "pl/pl"),
        "demos, DSPy's layout (dspy/pl - dspy/dspy)": ("dspy/dspy", "dspy/pl"),
    }
    for label, (a, b) in contrasts.items():
        p = paired_bootstrap(pooled[a], pooled[b])
        summary[label] = {
            "points": round(100 * p.difference, 1),
            "ci": [round(100 * p.ci_low, 1), round(100 * p.ci_high, 1)],
            "n": len(pooled[a]),
        }
        print(
            f"{label}: {100 * p.difference:+.1f} points "
            f"[{100 * p.ci_low:+.1f}, {100 * p.ci_high:+.1f}] over {len(pooled[a])} examples"
        )
    return summary


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_model_args(ap)
    ap.add_argument("--tasks", nargs="+", default=FULL_TASKS)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--cache", type=Path, help="LM caches (default: a temporary folder)")
    ap.add_argument("--out", type=Path)
    ap.add_argument("--resume", action="store_true")
    args = ap.parse_args()
    models = resolve_models(args)
    out = args.out or RESULTS_DIR / f"demo_swap{models.file_suffix()}.json"
    cfg = split_config(args.tasks, args.seeds, args.threads)
    records: list[dict[str, Any]] = []
    if args.resume and out.exists():
        records = json.loads(out.read_text())["runs"]
    done = {(r["task"], r["seed"]) for r in records}
    init_metric()
    meta = {
        "script": "benchmarks/demo_swap.py",
        "command": " ".join(sys.argv),
        "git_revision": git_revision(),
        "started": now_iso(),
        "machine": machine_info(),
        "models": models.to_dict(),
    }
    with contextlib.ExitStack() as stack:
        cache = args.cache or Path(stack.enter_context(tempfile.TemporaryDirectory()))
        endpoints, _servers = stack.enter_context(serve(models, None))
        for seed in args.seeds:
            for task in args.tasks:
                if (task, seed) in done:
                    continue
                log(f"{task} seed {seed}")
                records.append(run_one(cfg, endpoints, task, seed, cache))
                write_json(out, {**meta, "runs": records, "summary": report(records)})
    write_json(out, {**meta, "runs": records, "summary": report(records)})
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
