"""``pliable compare``: hard, programmatic and soft prompts on one dev set, in one table.

Each program named on the command line is scored on the same dev examples with the same
metric and the same LM:

* a text file (``.txt``, ``.md``, ``.prompt``): a hand-written template (:class:`pl.Template`),
  filled for the task's signature — a *hard* prompt;
* a compiled ``.json`` file: a *programmatic* prompt (or a *soft* prompt, when the file holds a
  trained soft-prompt adapter);
* ``zero-shot``: the task's program as declared, uncompiled.

The table gives the score with its 95% interval, the LM calls the evaluation made, what making
the prompt cost (compile LM calls, or training steps), the evaluation's wall time, and the size
of the artifact you would ship (the file, plus a soft prompt's adapter folder). Where the task
has a few fixed answers, a last ``floor`` row gives the score of always giving the most common
one (:func:`~pliable.evaluation.floor.majority_floor`, 0 LM calls).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from pliable.errors import UsageError
from pliable.programs.predict import Predict

__all__ = ["compare_job"]

_TEXT = (".txt", ".md", ".prompt", ".tmpl")


def _size(path: Path) -> int:
    if path.is_dir():
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    return path.stat().st_size if path.exists() else 0


def _human(n: int) -> str:
    size = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"


def _candidate(spec: str, job: Any) -> tuple[str, Any, str, int, str]:
    """(kind, program, cost to make, artifact bytes, label) for one command-line item."""
    from pliable.adapters.template_value import Template
    from pliable.compiled import load

    if spec == "zero-shot":
        return "zero-shot", job.program.deepcopy(), "-", 0, spec
    path = Path(spec)
    if not path.exists():
        raise UsageError(
            f"{spec!r}: no such file. Name a template file (.txt, .md, .prompt), a compiled "
            ".json file, or 'zero-shot'."
        )
    if path.suffix.lower() in _TEXT:
        predictors = job.program.predictors()
        if len(predictors) != 1:
            raise UsageError(
                f"{spec}: a template fills one predictor; the task's program has {len(predictors)}."
            )
        template = Template.from_file(path)
        hard = Predict.from_template(template, predictors[0].signature, allow_unused=False)
        return "hard", hard, "hand-written", _size(path), path.name
    data = json.loads(path.read_text(encoding="utf-8"))
    program = load(path)
    report = data.get("report") or {}
    soft = data.get("soft_prompt")
    if soft:
        steps = soft.get("steps") or report.get("training_steps")
        adapter = Path(str(soft.get("adapter_dir", "")))
        if not adapter.is_absolute():
            adapter = path.parent / adapter
        cost = f"{steps} training steps" if steps is not None else "trained"
        return "soft", program, cost, _size(path) + _size(adapter), path.name
    calls = report.get("lm_calls")
    cost = f"{calls} LM calls" if calls is not None else "-"
    return "programmatic", program, cost, _size(path), path.name


def compare_job(args: argparse.Namespace) -> int:
    from pliable._cli_jobs import _Job, _lm
    from pliable.evaluation import evaluate, majority_floor
    from pliable.lm.usage import track_usage
    from pliable.settings import using

    args.program = args.signature
    job = _Job(args, need_train=False)
    rows = []
    with using(lm=_lm(args)):
        for spec in args.programs:
            kind, program, cost, size, label = _candidate(spec, job)
            start = time.perf_counter()
            with track_usage() as usage:
                result = evaluate(
                    program,
                    job.devset,
                    job.metric,
                    num_threads=args.threads,
                    progress=False if args.quiet else None,
                    floor=False,  # once for all, below
                )
            wall = time.perf_counter() - start
            rows.append(
                [
                    label,
                    kind,
                    f"{result.score:.3f} [{result.ci_low:.3f}, {result.ci_high:.3f}]",
                    str(usage.total.calls),
                    cost,
                    f"{wall:.1f} s",
                    _human(size) if size else "-",
                ]
            )
    floor = majority_floor(job.program, job.devset, job.metric, trainset=job.trainset or None)
    if floor is not None:
        rows.append(["floor", "majority", f"{floor.score:.3f}", "0", floor.answer_text(), "-", "-"])
    headers = ["program", "kind", "score [95% CI]", "eval LM calls", "made with", "time", "size"]
    widths = [max(len(str(r[i])) for r in [headers, *rows]) for i in range(len(headers))]
    for row in [headers, ["-" * w for w in widths], *rows]:
        print("  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
    metric = getattr(job.metric, "__name__", None) or repr(job.metric)
    print(f"{len(job.devset)} dev examples, metric {metric}")
    if floor is not None:
        print(f"floor: {floor.describe()}")
    return 0
