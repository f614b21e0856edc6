"""``pliable compile ...`` with a teacher model, for the benchmarks that run the CLI
(``bigbench_compile.py``, ``instruction_optimizers.py``; :func:`teacher_cli` builds the
command, :func:`teacher_usage` reads what it recorded).

    python benchmarks/_teacher_cli.py --teacher local/NAME --usage-out FILE -- compile ...

runs pliable's own CLI (``pliable.cli.main``, the same arguments and output) with one change:
the optimizer the CLI builds gets the teacher model, which the CLI has no option for, in the
roles it has:

* ``JointSearch`` and ``InstructionHillClimb``: ``prompt_lm`` (the instruction proposer's LM);
* ``Reflective``: ``reflection_lm``;
* ``BootstrapFewShot``: ``teacher=`` the program on the teacher model, holding the labeled
  demos the student would have had as its own teacher (so only the model differs);
* ``BootstrapRandomSearch`` and ``LabeledFewShot``: none (they take no teacher).

Writing calls go to ``pl.LM(TEACHER, temperature=0, max_tokens=--teacher-max-tokens)``
(proposers pass their own ``max_tokens``; reflection uses this one); the bootstrapping teacher
uses the task calls' settings. The whole run is inside ``pl.track_usage()``, and ``--usage-out``
gets its calls by model (the student's and the teacher's apart) and the roles the teacher had.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from _models import Models

HERE = Path(__file__).resolve().parent


def teacher_cli(
    python: str, models: Models, teacher_max_tokens: int, usage_file: Path, cli_args: list[str]
) -> list[str]:
    """The command of one compile: the CLI itself, or with a teacher this helper."""
    if not models.has_teacher:
        return [python, "-m", "pliable.cli", *cli_args]
    return [
        python,
        str(HERE / "_teacher_cli.py"),
        "--teacher",
        models.teacher,
        "--teacher-max-tokens",
        str(teacher_max_tokens),
        "--usage-out",
        str(usage_file),
        "--",
        *cli_args,
    ]


def teacher_usage(usage_file: Path, models: Models) -> dict[str, Any]:
    """What ``--usage-out`` recorded: the student's and the teacher's calls apart, and the
    teacher's roles."""
    record = json.loads(usage_file.read_text(encoding="utf-8"))
    by_model = record["by_model"]
    zero = {"lm_calls": 0, "cache_hits": 0, "prompt_tokens": 0, "completion_tokens": 0}
    return {
        "teacher_roles": record["teacher_roles"],
        "student": by_model.get(models.student, zero),
        "teacher": by_model.get(models.teacher, zero),
        "by_model": by_model,
    }


def attach_teacher(
    optimizer: Any, job: Any, cli: argparse.Namespace, teacher: str, limit: int
) -> tuple[Any, list[str]]:
    """``optimizer`` with the teacher in the roles it has (a new one for BootstrapFewShot,
    whose teacher is a constructor argument), and the names of those roles."""
    import pliable as pl

    cache = not cli.no_cache
    roles: list[str] = []
    writer = pl.LM(teacher, cache=cache, temperature=0.0, max_tokens=limit)
    if hasattr(optimizer, "prompt_lm"):
        proposer = getattr(optimizer, "proposer", None)
        if proposer is not None:
            proposer.prompt_lm = writer
        else:
            optimizer.prompt_lm = writer
        roles.append(f"{type(optimizer).__name__} prompt_lm (instruction proposer)")
    if hasattr(optimizer, "reflection_lm"):
        optimizer.reflection_lm = writer
        roles.append(f"{type(optimizer).__name__} reflection_lm")
    if type(optimizer) is pl.BootstrapFewShot:
        from pliable.optimizers.labeled_few_shot import labeled_demos

        options: dict[str, Any] = {"temperature": 0.0}
        if cli.max_tokens:
            options["max_tokens"] = cli.max_tokens
        lm = pl.LM(teacher, cache=cache, **options)
        program = job.program.deepcopy()
        k = optimizer.max_labeled_demos + 1 if optimizer.max_labeled_demos else 0
        for predictor in program.predictors():
            predictor.lm = lm
            predictor.demos = labeled_demos(predictor, job.trainset, k)
        optimizer = pl.BootstrapFewShot(
            optimizer.metric,
            max_bootstrapped_demos=optimizer.max_bootstrapped_demos,
            max_labeled_demos=optimizer.max_labeled_demos,
            metric_threshold=optimizer.metric_threshold,
            max_rounds=optimizer.max_rounds,
            teacher=program,
            seed=optimizer.seed,
            num_threads=optimizer.num_threads,
        )
        roles.append("BootstrapFewShot teacher= (bootstrapping)")
    return optimizer, roles


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--teacher", required=True, help="a pliable model name, e.g. local/gemma3-270m")
    ap.add_argument("--teacher-max-tokens", type=int, default=256, help="of the writing calls")
    ap.add_argument("--usage-out", type=Path, required=True, help="calls by model, as JSON")
    ap.add_argument("cli", nargs=argparse.REMAINDER, help="-- then the pliable CLI's arguments")
    args = ap.parse_args(argv)
    cli_args = args.cli[1:] if args.cli[:1] == ["--"] else args.cli

    import pliable as pl
    from pliable import _cli_jobs as jobs
    from pliable import cli

    build = jobs._optimizer
    roles: list[str] = []

    def with_teacher(cli_ns: argparse.Namespace, job: Any) -> Any:
        optimizer, found = attach_teacher(
            build(cli_ns, job), job, cli_ns, args.teacher, args.teacher_max_tokens
        )
        roles.extend(found)
        return optimizer

    jobs._optimizer = with_teacher  # type: ignore[assignment]
    with pl.track_usage() as usage:
        code = cli.main(cli_args)
    by_model = {
        name: {
            "lm_calls": u.calls,
            "cache_hits": u.cache_hits,
            "prompt_tokens": u.prompt_tokens,
            "completion_tokens": u.completion_tokens,
        }
        for name, u in usage.by_model().items()
    }
    record = {"teacher": args.teacher, "teacher_roles": roles, "by_model": by_model}
    args.usage_out.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    return code


if __name__ == "__main__":
    sys.exit(main())
