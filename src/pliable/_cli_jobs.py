"""The long CLI commands (``compile``, ``eval``, ``inspect``) and what they load: programs,
datasets and metrics named on the command line."""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pliable._cli_imports import metric_from_file, program_from_file
from pliable.data.example import Example
from pliable.errors import UsageError
from pliable.programs.module import Module

if TYPE_CHECKING:
    from pliable.adapters.base import Adapter
    from pliable.optimizers.report import ScoreSummary

__all__ = [
    "adapter_named",
    "compile_job",
    "eval_job",
    "inspect_job",
    "load_program",
    "report_job",
]

_METRICS = ("exact_match", "f1", "multiple_choice", "passage_match")
OPTIMIZERS = ("bootstrap", "random-search", "labeled", "joint", "reflective", "hill-climb")
STORAGE_HELP = (
    "for joint: an Optuna storage URL (sqlite:///study.db, postgresql://user@host/db) that "
    "keeps the study; several workers given the same --storage and --study-name share one "
    "search: the trials of --auto count once across them, a killed worker's trial is run "
    "again by another, and every worker ends with the same program"
)
STUDY_NAME_HELP = "for joint: the study in --storage (give the same one to every worker)"


def adapter_named(name: str) -> Adapter | None:
    """``--adapter``: ``chat``, ``json``, or ``auto`` (``None``: the default for the LM, JSON
    where it enforces a JSON schema, as every local model does, else chat)."""
    from pliable.adapters import ChatAdapter, JSONAdapter

    if name == "auto":
        return None
    return JSONAdapter() if name == "json" else ChatAdapter()


def load_program(spec: str, *, cot: bool = False, adapter: str = "auto", lm: Any = None) -> Module:
    """A compiled ``.json`` file, ``file.py:object`` (a Module, its class, or a factory), or a
    signature string (a ``Predict``, or ``ChainOfThought`` with ``cot``). ``lm`` (from
    ``--model``) replaces every LM a compiled file records."""
    from pliable.compiled import load
    from pliable.programs import ChainOfThought, Predict

    if spec.endswith(".json"):
        loaded: Module = load(spec, lm=lm)
        return loaded
    if spec.endswith(".py"):
        raise UsageError(
            f"{spec!r}: name the program in the file as {spec}:NAME (a pl.Module, its class, "
            "or a function that returns one)."
        )
    if ".py:" in spec:
        return program_from_file(spec)
    return (ChainOfThought if cot else Predict)(spec, adapter=adapter_named(adapter))


def load_metric(spec: str) -> Callable[..., Any]:
    """``exact_match``, ``f1``, ``multiple_choice``, ``passage_match`` (optionally ``:field``),
    or ``file.py:function``."""
    from pliable.evaluation import metrics

    if ".py:" in spec:
        return metric_from_file(spec)
    name, _, field = spec.partition(":")
    if name not in _METRICS:
        raise UsageError(
            f"Unknown metric {spec!r}. Use one of {', '.join(_METRICS)} (optionally name:field), "
            "or file.py:function."
        )
    factory = getattr(metrics, name)
    made: Callable[..., Any] = factory(field) if field else factory()
    return made


def _signature_of(program: Module) -> Any:
    """The program's own signature (Predict, ChainOfThought), else its only predictor's, else
    None (a multi-step program names its inputs in ``forward``)."""
    sig = getattr(program, "signature", None)
    if sig is None:
        predictors = program.predictors()
        sig = predictors[0].signature if len(predictors) == 1 else None
    return sig


class _Job:
    """Program, data and metric chosen by the shared options, all checked before any LM call:
    the data files exist and load, the inputs are known, the metric scores the first dev
    example against its own labels."""

    def __init__(self, args: argparse.Namespace, *, need_train: bool) -> None:
        from pliable._cli_checks import check_metric, check_model

        check_model(args.model)
        self.task = None
        self.trainset: list[Example] = []
        self.devset: list[Example] = []
        loaded: Module | None = None
        if args.task:
            from pliable.tasks import load_task

            self.task = load_task(args.task)
            self.trainset, self.devset = list(self.task.trainset), list(self.task.devset)
        elif args.bigbench:
            from pliable.data import load_bigbench, split

            examples = load_bigbench(args.bigbench, seed=args.seed, limit=args.limit)
            self.trainset, self.devset = split(examples, train=0.5, seed=args.seed)
        else:
            loaded = self._files(args, need_train)
        if args.limit:
            self.devset = self.devset[: args.limit]
        if not self.devset:
            raise UsageError("The dev set is empty: give a --dev file with at least one row.")
        self.program: Module = loaded if loaded is not None else self._program(args)
        sig = _signature_of(self.program)
        outputs = list(sig.output_fields) if sig is not None else []
        if args.metric:
            self.metric = load_metric(args.metric)
        elif self.task is not None:
            self.metric = self.task.metric
        elif args.bigbench and "choices" in self.devset[0]:
            self.metric = load_metric("multiple_choice")
        else:
            self.metric = load_metric(f"exact_match:{_default_field(outputs, self.devset[0])}")
        check_metric(self.metric, self.devset[0], outputs)

    def _program(self, args: argparse.Namespace) -> Module:
        if args.program:
            return load_program(
                args.program,
                cot=args.cot,
                adapter=args.adapter,
                lm=_lm(args) if args.model else None,  # --model overrides the file's
            )
        if self.task is not None:
            made: Module = self.task.program_factory()
            return made
        if args.bigbench:
            from pliable.programs import ChainOfThought, Predict
            from pliable.signatures import Signature

            if "choices" in self.devset[0]:
                sig = Signature(
                    "question, choices: list[str] -> answer",
                    "Answer the question with exactly one of the choices, copied word for word.",
                )
            else:
                sig = Signature("question -> answer", "Answer the question in a few words.")
            adapter = adapter_named(args.adapter)
            return (ChainOfThought if args.cot else Predict)(sig, adapter=adapter)
        raise UsageError("Name a program: a signature string, file.py:object or a .json file.")

    def _files(self, args: argparse.Namespace, need_train: bool) -> Module:
        """Load the program, then the data files with its inputs; return the program."""
        from pliable.data import load_examples

        if need_train and not args.train:
            raise UsageError("Pass --train FILE (or --task NAME / --bigbench TASK).")
        if not args.dev:
            raise UsageError("Pass --dev FILE (or --task NAME / --bigbench TASK).")
        if not args.program:
            raise UsageError("Name a program: a signature string, file.py:object or a .json file.")
        program = self._program(args)
        if args.inputs:
            inputs = [name.strip() for name in args.inputs.split(",") if name.strip()]
        else:
            sig = _signature_of(program)
            if sig is None:
                raise UsageError(
                    "--inputs names the input fields of the data files (comma-separated); "
                    f"{args.program} has several steps, so they cannot be read from it."
                )
            inputs = list(sig.input_fields)
        skip = bool(getattr(args, "skip_bad_rows", False))
        if args.train:  # eval reads it too: the majority-answer floor counts answers there
            self.trainset = list(load_examples(args.train, inputs=inputs, skip_bad_rows=skip))
        self.devset = list(load_examples(args.dev, inputs=inputs, skip_bad_rows=skip))
        return program


def _default_field(outputs: list[str], example: Example) -> str:
    """The field the default metric (exact match) compares: the program's only output."""
    if len(outputs) == 1:
        return outputs[0]
    if not outputs and "answer" in example:
        return "answer"
    shown = ", ".join(outputs) or "unknown"
    raise UsageError(
        f"Which output should the default metric compare? The program's outputs: {shown}. "
        "Pass --metric exact_match:FIELD (or f1:FIELD, or file.py:function)."
    )


def _lm(args: argparse.Namespace) -> Any:
    from pliable.lm import LM

    options: dict[str, Any] = {"temperature": 0.0}
    if args.max_tokens:
        options["max_tokens"] = args.max_tokens
    return LM(args.model, cache=not args.no_cache, **options)


def _teacher(args: argparse.Namespace, job: _Job) -> tuple[Any, Module | None]:
    """``--teacher``: its LM (instruction writing, reflection) and the program on it
    (bootstrapping), else ``(None, None)``."""
    if not getattr(args, "teacher", None):
        return None, None
    from pliable.lm import LM

    options: dict[str, Any] = {"temperature": 0.0}
    if args.max_tokens:
        options["max_tokens"] = args.max_tokens
    lm = LM(args.teacher, cache=not args.no_cache, **options)
    program = job.program.deepcopy()
    for predictor in program.predictors():
        predictor.lm = lm
    return lm, program


def _say(args: argparse.Namespace, text: str) -> None:
    if not args.quiet:
        print(text, file=sys.stderr)


def _optimizer(args: argparse.Namespace, job: _Job) -> Any:
    from pliable.optimizers import BootstrapFewShot, BootstrapRandomSearch, LabeledFewShot

    settings = dict(job.task.recommended) if job.task is not None else {}
    name = args.optimizer or settings.pop("optimizer", "bootstrap")
    settings.pop("optimizer", None)
    boot = (
        args.max_demos if args.max_demos is not None else settings.get("max_bootstrapped_demos", 4)
    )
    labeled = (
        args.max_labeled if args.max_labeled is not None else settings.get("max_labeled_demos", 4)
    )
    teacher_lm, teacher = _teacher(args, job)
    if name == "bootstrap":
        return BootstrapFewShot(
            job.metric,
            max_bootstrapped_demos=boot,
            max_labeled_demos=labeled,
            num_threads=args.threads,
            teacher=teacher,
        )
    if name == "random-search":
        return BootstrapRandomSearch(
            job.metric,
            max_bootstrapped_demos=boot,
            max_labeled_demos=labeled,
            num_threads=args.threads,
            num_candidates=args.candidates,
            teacher=teacher,
        )
    if name == "labeled":
        return LabeledFewShot(labeled, metric=job.metric)
    if name == "joint":
        from pliable.optimizers.joint_search import JointSearch

        return JointSearch(
            job.metric,
            auto=args.auto or "light",
            max_bootstrapped_demos=boot,
            max_labeled_demos=labeled,
            num_threads=args.threads,
            seed=args.seed,
            prompt_lm=teacher_lm,
            teacher=teacher,
            storage=getattr(args, "storage", None),
            study_name=getattr(args, "study_name", None),
        )
    if name == "reflective":
        from pliable.optimizers.reflective import Reflective

        return Reflective(
            job.metric, num_threads=args.threads, seed=args.seed, reflection_lm=teacher_lm
        )
    if name == "hill-climb":
        from pliable.optimizers.instruction_hill_climb import InstructionHillClimb

        return InstructionHillClimb(
            job.metric, num_threads=args.threads, seed=args.seed, prompt_lm=teacher_lm
        )
    raise UsageError(f"Unknown optimizer {name!r}; use one of {', '.join(OPTIMIZERS)}.")


def _budget(args: argparse.Namespace) -> Any:
    from pliable.lm.budget import Budget

    calls = args.budget_calls if args.budget_calls is not None else args.max_calls
    if args.budget_calls is not None and args.max_calls is not None:
        raise UsageError("Pass one of --budget-calls and --max-calls (they mean the same).")
    return Budget(
        lm_calls=calls,
        tokens=args.budget_tokens,
        usd=args.budget_usd,
        seconds=args.budget_seconds,
    )


def compile_job(args: argparse.Namespace) -> int:
    from pliable._cli_checks import check_model, check_out, cli_words, failed_past
    from pliable.settings import using

    check_out(args.out)
    check_model(getattr(args, "teacher", None), "--teacher")
    job = _Job(args, need_train=True)
    optimizer = _optimizer(args, job)
    budget = _budget(args)
    lm = _lm(args)
    if args.estimate:
        with using(lm=lm):
            plan = optimizer.estimate(
                job.program, trainset=job.trainset, valset=job.devset, budget=budget
            )
        print(plan)
        return 0
    _say(
        args,
        f"compiling with {optimizer.name} on {len(job.trainset)} train / "
        f"{len(job.devset)} dev examples ({args.model or 'the embedded local model'})",
    )
    progress = False if args.quiet else None
    with using(lm=lm):
        compiled = optimizer.compile(
            job.program,
            trainset=job.trainset,
            valset=job.devset,
            budget=None if budget.unlimited else budget,
            run_dir=args.run_dir,
            require_significance=not args.keep_insignificant,
            progress=progress,
        )
    report = compiled.report
    print(cli_words(report.summary()))
    if args.run_dir:
        _say(args, f"run log in {args.run_dir}; `pliable report {args.run_dir}` writes the page")
    kept = report.final or report.baseline
    if kept is not None and failed_past(kept.errors, kept.n, args.max_error_rate):
        wrote = f" ({args.out} not written)" if args.out else ""
        print(
            f"error: {kept.errors} of {kept.n} dev examples raised errors with the program "
            f"kept{wrote}; {_first_error(kept)}",
            file=sys.stderr,
        )
        return 1
    if not report.usable:
        wrote = f" ({args.out} not written)" if args.out else ""
        print(f"error: no usable program{wrote}: {report.unusable}", file=sys.stderr)
        return 5
    if args.out:
        path = compiled.save(args.out)
        _say(args, f"wrote {path}")
    return 0


def _first_error(summary: ScoreSummary) -> str:
    """The first failing dev example's error (its first line), to show with a failed run."""
    if not summary.first_error:
        return "run `pliable eval` on the program to see the errors"
    return f"the first: {(summary.first_error.splitlines() or [''])[0]}"


def report_job(args: argparse.Namespace) -> int:
    from pliable.report.page import write_report

    path = write_report(args.run_dir, args.out)
    print(path)
    return 0


def eval_job(args: argparse.Namespace) -> int:
    from pliable._cli_checks import failed_past
    from pliable.evaluation import evaluate
    from pliable.lm.usage import track_usage
    from pliable.settings import using

    job = _Job(args, need_train=False)
    with using(lm=_lm(args)), track_usage(max_calls=args.max_calls):
        result = evaluate(
            job.program,
            job.devset,
            job.metric,
            trainset=job.trainset or None,
            num_threads=args.threads,
            progress=False if args.quiet else None,
        )
    print(result.summary())
    if failed_past(result.n_errors, result.n, args.max_error_rate):
        first = next(r for r in result.rows if r.error is not None)
        message = (str(first.error).splitlines() or [""])[0]
        print(
            f"error: {result.n_errors} of {result.n} examples failed; the first, example "
            f"{first.index} (in the {first.failed_in}): {message}",
            file=sys.stderr,
        )
        return 1
    return 0


def inspect_job(args: argparse.Namespace) -> int:
    """Print a compiled file's prompts readably: per predictor, the messages it sends with
    ``{field}`` placeholders for the inputs. Rendered from the file alone, so a ReAct file
    needs no tools and a custom program needs no class."""
    from pliable.compiled.render import (
        file_models,
        per_call_parts,
        read_predictors,
        render_messages,
    )

    parsed, predictors = read_predictors(args.file)
    prompts = render_messages(predictors, models=file_models(parsed))
    for name, predictor in predictors.items():
        sig = predictor.signature
        print(f"=== predictor {name}: {sig.signature_string()} ({len(predictor.demos)} demos) ===")
        for message in prompts[name]:
            print(f"--- {message['role']} ---")
            print(message["content"])
        print()
    missing = per_call_parts(parsed)
    if missing is not None:
        print(f"note: not all of the prompt is shown above: {missing}.")
    from pliable.compiled.io import report_of

    line = _report_line(report_of(parsed) or {})
    if line:
        print(line)
    return 0


def _report_line(report: dict[str, Any]) -> str | None:
    """The compile report's one-line summary, or None if the report lacks (well-typed) scores:
    a report is what a file says, so every value is checked before it is shown."""

    def score(section: Any) -> float | None:
        value = section.get("score") if isinstance(section, dict) else None
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return None
        try:
            number = float(value)
        except OverflowError:  # an integer too large for a float
            return None
        return number if math.isfinite(number) else None

    final, base = report.get("final"), report.get("baseline")
    final_score, base_score = score(final), score(base)
    if final_score is None or base_score is None:
        return None
    n = final.get("n") if isinstance(final, dict) else None
    floor_score = score(report.get("floor"))
    comparison = report.get("floor_comparison")
    verdict = comparison.get("verdict") if isinstance(comparison, dict) else None
    beside = ""
    if floor_score is not None:
        beside = f"; majority-answer floor {floor_score:.3f}"
        if isinstance(verdict, str):
            beside += f", final {verdict[:40]} it"
    optimizer = str(report.get("optimizer"))[:60]
    count = n if isinstance(n, int) and not isinstance(n, bool) else "?"
    return (
        f"compiled by {optimizer}: baseline {base_score:.3f} -> final {final_score:.3f} "
        f"(n={count}){beside}"
    )
