"""What honest selection costs or saves: the same search, two selection rules, scored on test.

Every optimizer run in ``compile_vs_dspy.py`` ends with pliable's honest selection: the best
candidate on the valset replaces the program passed in only when its gain is outside the
noise (``compile(require_significance=True)``, the default; see
``pliable/optimizers/selection.py``). With 20 validation examples a gain of 10 or 15 points is
inside that noise, and the third pass saw ``BootstrapRandomSearch`` keep the zero-shot program
over a candidate with demos on two task-seeds. This script measures the rule, not one case:
for each task and seed it compiles ``BootstrapRandomSearch`` twice on the same data and LM
cache, with the default rule and with ``require_significance=False`` (keep the best candidate
on the valset, as DSPy's optimizers do), and scores both picks on the test split. The second
compile replays the first one's LM calls from the cache, so both rules judge the same
candidates with the same scores.

Data, program, metric, teacher and servers are ``compile_vs_dspy.py``'s (``_cvd_common``;
split 20/20/100, 6 candidates as in its ``random_search`` pair, the 1.5B teacher bootstrapping).

Run:  nice .venv/bin/python benchmarks/selection_replay.py --model local/qwen2.5-coder-0.5b \\
          --teacher local/qwen2.5-coder-1.5b [--tasks ...] [--seeds 0 1 2] [--resume]
Writes benchmarks/results/selection_replay[-<models>].json (``--out`` to change). ``--cache DIR``
keeps the LM cache there (default: a temporary folder), so a stopped run goes on without
repeating its calls.
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
from _cvd_common import FULL_TASKS, Config, load_split, log, program_spec, serve, split_config
from _cvd_metric import init_metric, is_generative, pliable_metric
from _models import add_model_args, resolve_models

RULES = ("honest", "best on valset")


def run_one(cfg: Config, endpoints: Any, task: str, seed: int, cache: Path) -> dict[str, Any]:
    import pliable as pl
    from pliable.optimizers.state import state_hash

    train, val, test = load_split(cfg, task, seed)
    generative = is_generative(train[0])
    signature, instructions = program_spec(generative)
    metric = pliable_metric(generative)
    start = time.monotonic()

    def lm(model: str, base: str) -> Any:
        return pl.LM(
            model,
            api_base=base,
            api_key="none",
            cache=str(cache),
            temperature=0,
            max_tokens=cfg.max_tokens,
        )

    student = lm(endpoints.student_model, endpoints.student_base)
    teacher = pl.Predict(pl.Signature(signature, instructions))
    teacher.lm = lm(endpoints.teacher_model, endpoints.teacher_base)
    picks: dict[str, Any] = {}
    tested: dict[str, list[float]] = {}
    for rule in RULES:
        optimizer = pl.BootstrapRandomSearch(
            metric,
            num_candidates=6,
            max_bootstrapped_demos=4,
            max_labeled_demos=4,
            teacher=teacher,
            num_threads=cfg.num_threads,
        )
        with pl.using(lm=student):
            program = optimizer.compile(
                pl.Predict(pl.Signature(signature, instructions)),
                trainset=train,
                valset=val,
                require_significance=rule == "honest",
                progress=False,
            )
            report = program.report
            state = state_hash(program)
            if state not in tested:
                result = pl.evaluate(
                    program, test, metric, num_threads=cfg.num_threads, progress=False
                )
                tested[state] = [float(r.score) for r in sorted(result.rows, key=lambda r: r.index)]
        values = tested[state]
        picks[rule] = {
            "selected": report.selected,
            "demos": len(program.demos),
            "state": state,
            "lm_calls": report.lm_calls,
            "report": report.to_dict(),
            "test_mean": sum(values) / len(values),
            "values": values,
        }
        shown = 100 * picks[rule]["test_mean"]
        log(f"  {task} seed {seed} {rule}: {report.selected}, test {shown:.1f}")
    return {
        "task": task,
        "seed": seed,
        "picks": picks,
        "seconds": round(time.monotonic() - start, 1),
    }


def report(records: list[dict[str, Any]]) -> dict[str, Any]:
    from pliable.evaluation.stats import paired_bootstrap

    rows = [
        [
            f"{r['task']} s{r['seed']}",
            *(
                f"{100 * r['picks'][k]['test_mean']:.1f} ({r['picks'][k]['selected']}, "
                f"{r['picks'][k]['demos']} demos)"
                for k in RULES
            ),
        ]
        for r in records
    ]
    print(table(["task, seed", *(f"test %: {k}" for k in RULES)], rows))
    if not records:
        return {}
    pooled = {k: [x for r in records for x in r["picks"][k]["values"]] for k in RULES}
    p = paired_bootstrap(pooled["honest"], pooled["best on valset"])
    differ = sum(
        r["picks"]["honest"]["state"] != r["picks"]["best on valset"]["state"] for r in records
    )
    summary = {
        "best on valset - honest": {
            "points": round(100 * p.difference, 1),
            "ci": [round(100 * p.ci_low, 1), round(100 * p.ci_high, 1)],
            "n": len(pooled["honest"]),
        },
        "task_seeds": len(records),
        "task_seeds_where_the_picks_differ": differ,
    }
    print(
        f"best on valset - honest: {100 * p.difference:+.1f} points "
        f"[{100 * p.ci_low:+.1f}, {100 * p.ci_high:+.1f}] over {len(pooled['honest'])} test "
        f"examples; the picks differ on {differ} of {len(records)} task-seeds"
    )
    return summary


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_model_args(ap)
    ap.add_argument("--tasks", nargs="+", default=FULL_TASKS)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--cache", type=Path, help="the LM cache (default: a temporary folder)")
    ap.add_argument("--out", type=Path)
    ap.add_argument("--resume", action="store_true")
    args = ap.parse_args()
    models = resolve_models(args)
    out = args.out or RESULTS_DIR / f"selection_replay{models.file_suffix()}.json"
    cfg = split_config(args.tasks, args.seeds, args.threads)
    records: list[dict[str, Any]] = []
    if args.resume and out.exists():
        records = json.loads(out.read_text())["runs"]
    done = {(r["task"], r["seed"]) for r in records}
    init_metric()
    meta = {
        "script": "benchmarks/selection_replay.py",
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
