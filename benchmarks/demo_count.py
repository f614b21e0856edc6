"""How many demos should a bootstrapped prompt hold? Labeled demos added after the
bootstrapped ones vs a total cap.

``compile_vs_dspy.py`` runs both frameworks with ``max_bootstrapped_demos=4,
max_labeled_demos=4``. DSPy fills labeled demos only up to ``max_labeled_demos`` demos in all,
so four bootstrapped demos leave no room for labeled ones. Until issue 15, pliable added up to
four labeled demos after them (eight in all); since then ``max_labeled_demos`` caps all the
demos on both sides. This script measures what the difference is worth on pliable's side
alone, with everything else fixed: the same bootstrapped demos (``pl.BootstrapFewShot`` with
the teacher, the same cache), then

* ``added``: the bootstrapped demos topped up with labeled demos from the unused train examples
  to ``B + L`` in all (``BootstrapFewShot(max_labeled_demos=B+L)``; before issue 15's change,
  ``max_labeled_demos=L`` added ``L`` after however many were bootstrapped);
* ``total``: the bootstrapped demos topped up with labeled ones to ``--labeled`` demos in all
  (DSPy's rule; with every bootstrapped slot filled, no labeled demo is added);
* ``labeled``: ``--labeled`` labeled demos alone (``pl.LabeledFewShot``), for reference;

each scored on the test split, paired on the same examples. Data, program, metric, servers and
the split are ``compile_vs_dspy.py``'s (``_cvd_common``), so the numbers read next to its
``bootstrap_few_shot`` reference rows. Programs with the same state are scored once.

Run:  nice .venv/bin/python benchmarks/demo_count.py --model local/qwen2.5-coder-0.5b \\
          --teacher local/qwen2.5-coder-1.5b [--tasks ...] [--seeds 0 1 2] [--resume]
Writes benchmarks/results/demo_count[-<models>].json (``--out`` to change).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from _common import RESULTS_DIR, git_revision, machine_info, now_iso, table, write_json
from _cvd_common import FULL_TASKS, Config, load_split, log, program_spec, serve, split_config
from _cvd_metric import init_metric, is_generative, pliable_metric
from _models import add_model_args, resolve_models

VARIANTS = ("added", "total", "labeled")


def _programs(
    train: list[Any], generative: bool, lm: Any, teacher_lm: Any, boot: int, labeled: int
) -> dict[str, Any]:
    import pliable as pl
    from pliable.optimizers.labeled_few_shot import labeled_demos

    signature, instructions = program_spec(generative)
    student = pl.Predict(pl.Signature(signature, instructions))
    teacher = student.deepcopy()
    teacher.lm = teacher_lm
    metric = pliable_metric(generative)
    with pl.using(lm=lm):
        added = pl.BootstrapFewShot(
            metric, max_bootstrapped_demos=boot, max_labeled_demos=boot + labeled, teacher=teacher
        ).compile(student, trainset=train)
        # bootstrapped alone (its teacher sees no labeled demos, so its calls differ)
        booted = (
            pl.BootstrapFewShot(
                metric, max_bootstrapped_demos=boot, max_labeled_demos=0, teacher=teacher
            )
            .compile(student, trainset=train)
            .demos
        )
    used = {d.question for d in booted}
    rest = [ex for ex in train if ex.question not in used]
    total = student.deepcopy()
    total.demos = booted + labeled_demos(total, rest, labeled - len(booted))
    only_labeled = pl.LabeledFewShot(labeled).compile(student, trainset=train)
    log(f"bootstrapped {len(booted)}; demos added={len(added.demos)} total={len(total.demos)}")
    return {"added": added, "total": total, "labeled": only_labeled}


def _score(program: Any, test: list[Any], lm: Any, generative: bool, threads: int) -> list[float]:
    import pliable as pl

    with pl.using(lm=lm):
        result = pl.evaluate(
            program, test, pliable_metric(generative), num_threads=threads, progress=False
        )
    return [float(r.score) for r in sorted(result.rows, key=lambda r: r.index)]


def run_one(cfg: Config, endpoints: Any, task: str, seed: int, args: Any) -> dict[str, Any]:
    import pliable as pl
    from pliable.optimizers.state import state_hash

    train, _val, test = load_split(cfg, task, seed)
    generative = is_generative(train[0])
    with tempfile.TemporaryDirectory(prefix="demo-count-") as cache:
        common: dict[str, Any] = {"api_key": "none", "cache": cache, "temperature": 0}
        lm = pl.LM(
            endpoints.student_model,
            api_base=endpoints.student_base,
            max_tokens=cfg.max_tokens,
            **common,
        )
        teacher_lm = pl.LM(
            endpoints.teacher_model,
            api_base=endpoints.teacher_base,
            max_tokens=cfg.max_tokens,
            **common,
        )
        start = time.monotonic()
        programs = _programs(train, generative, lm, teacher_lm, args.bootstrapped, args.labeled)
        scored: dict[str, list[float]] = {}
        out: dict[str, Any] = {"task": task, "seed": seed, "variants": {}}
        for name in args.variants:
            program = programs[name]
            state = state_hash(program)
            if state not in scored:
                scored[state] = _score(program, test, lm, generative, cfg.num_threads)
            values = scored[state]
            out["variants"][name] = {
                "demos": len(program.demos),
                "state": state,
                "mean": sum(values) / len(values),
                "values": values,
            }
        out["seconds"] = round(time.monotonic() - start, 1)
    return out


def report(records: list[dict[str, Any]], variants: Sequence[str]) -> dict[str, Any]:
    from pliable.evaluation.stats import paired_bootstrap

    rows = []
    for r in records:
        v = r["variants"]
        rows.append(
            [
                f"{r['task']} s{r['seed']}",
                *(f"{100 * v[n]['mean']:.1f} ({v[n]['demos']})" for n in variants),
            ]
        )
    print(table(["task, seed", *(f"{n} (demos)" for n in variants)], rows))
    summary: dict[str, Any] = {}
    if records:
        pooled = {n: [x for r in records for x in r["variants"][n]["values"]] for n in variants}
        for a, b in (("added", "total"), ("added", "labeled")):
            if a not in pooled or b not in pooled:
                continue
            p = paired_bootstrap(pooled[a], pooled[b])
            summary[f"{b} - {a}"] = {
                "points": round(100 * p.difference, 1),
                "ci": [round(100 * p.ci_low, 1), round(100 * p.ci_high, 1)],
                "n": len(pooled[a]),
            }
            print(
                f"{b} - {a}: {100 * p.difference:+.1f} points "
                f"[{100 * p.ci_low:+.1f}, {100 * p.ci_high:+.1f}] "
                f"over {len(pooled[a])} test examples"
            )
    return summary


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_model_args(ap)
    ap.add_argument("--tasks", nargs="+", default=FULL_TASKS)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--bootstrapped", type=int, default=4)
    ap.add_argument("--labeled", type=int, default=4)
    ap.add_argument("--threads", type=int, default=4)
    ap.add_argument("--variants", nargs="+", choices=VARIANTS, default=list(VARIANTS))
    ap.add_argument("--out", type=Path)
    ap.add_argument("--resume", action="store_true")
    args = ap.parse_args()
    models = resolve_models(args)
    out = args.out or RESULTS_DIR / f"demo_count{models.file_suffix()}.json"
    cfg = split_config(args.tasks, args.seeds, args.threads)
    records: list[dict[str, Any]] = []
    if args.resume and out.exists():
        records = json.loads(out.read_text())["runs"]
    done = {(r["task"], r["seed"]) for r in records}
    init_metric()
    meta = {
        "script": "benchmarks/demo_count.py",
        "command": " ".join(sys.argv),
        "git_revision": git_revision(),
        "started": now_iso(),
        "machine": machine_info(),
        "models": models.to_dict(),
        "bootstrapped": args.bootstrapped,
        "labeled": args.labeled,
        "variants": args.variants,
    }
    with serve(models, None) as (endpoints, _servers):
        for task in args.tasks:
            for seed in args.seeds:
                if (task, seed) in done:
                    continue
                log(f"{task} seed {seed}")
                records.append(run_one(cfg, endpoints, task, seed, args))
                summary = report(records, args.variants)
                write_json(out, {**meta, "runs": records, "summary": summary})
    write_json(out, {**meta, "runs": records, "summary": report(records, args.variants)})
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
