"""The long CLI commands (``compile``, ``eval``, ``inspect``) and what they load: programs,
datasets and metrics named on the command line."""

from __future__ import annotations

import argparse
import importlib.util
import math
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pliable.data.example import Example
from pliable.errors import UsageError
from pliable.programs.module import Module

if TYPE_CHECKING:
    from pliable.adapters.base import Adapter

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


def _import_object(spec: str) -> Any:
    path, _, name = spec.rpartition(":")
    file = Path(path)
    if not file.is_file():
        raise UsageError(f"{spec!r}: no such file {path!r}. Use file.py:object.")
    module_spec = importlib.util.spec_from_file_location(file.stem, file)
    if module_spec is None or module_spec.loader is None:
        raise UsageError(f"{spec!r}: cannot import {path!r} as Python.")
    module = importlib.util.module_from_spec(module_spec)
    sys.modules[file.stem] = module
    module_spec.loader.exec_module(module)
    if not hasattr(module, name):
        raise UsageError(f"{spec!r}: {path} has no {name!r}.")
    return getattr(module, name)


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
    if ".py:" in spec:
        obj = _import_object(spec)
        program = obj() if callable(obj) and not isinstance(obj, Module) else obj
        if not isinstance(program, Module):
            raise UsageError(f"{spec!r} is not a pl.Module (got {type(program).__name__}).")
        return program
    return (ChainOfThought if cot else Predict)(spec, adapter=adapter_named(adapter))


def load_metric(spec: str) -> Callable[..., Any]:
    """``exact_match``, ``f1``, ``multiple_choice``, ``passage_match`` (optionally ``:field``),
    or ``file.py:function``."""
    from pliable.evaluation import metrics

    if ".py:" in spec:
        metric: Callable[..., Any] = _import_object(spec)
        return metric
    name, _, field = spec.partition(":")
    if name not in _METRICS:
        raise UsageError(
            f"Unknown metric {spec!r}. Use one of {', '.join(_METRICS)} (optionally name:field), "
            "or file.py:function."
        )
    factory = getattr(metrics, name)
    made: Callable[..., Any] = factory(field) if field else factory()
    return made


class _Job:
    """Program, data and metric chosen by the shared options."""

    def __init__(self, args: argparse.Namespace, *, need_train: bool) -> None:
        self.task = None
        self.trainset: list[Example] = []
        self.devset: list[Example] = []
        if args.task:
            from pliable.tasks import load_task

            self.task = load_task(args.task)
            self.trainset, self.devset = list(self.task.trainset), list(self.task.devset)
        elif args.bigbench:
            from pliable.data import load_bigbench, split

            examples = load_bigbench(args.bigbench, seed=args.seed, limit=args.limit)
            self.trainset, self.devset = split(examples, train=0.5, seed=args.seed)
        else:
            self._files(args, need_train)
        if args.limit:
            self.devset = self.devset[: args.limit]
        if args.program:
            self.program = load_program(
                args.program,
                cot=args.cot,
                adapter=args.adapter,
                lm=_lm(args) if args.model else None,  # --model overrides the file's
            )
        elif self.task is not None:
            self.program = self.task.program_factory()
        elif args.bigbench:
            from pliable.programs import ChainOfThought, Predict
            from pliable.signatures import Signature

            if self.devset and "choices" in self.devset[0]:
                sig = Signature(
                    "question, choices: list[str] -> answer",
                    "Answer the question with exactly one of the choices, copied word for word.",
                )
            else:
                sig = Signature("question -> answer", "Answer the question in a few words.")
            adapter = adapter_named(args.adapter)
            self.program = (ChainOfThought if args.cot else Predict)(sig, adapter=adapter)
        else:
            raise UsageError("Name a program: a signature string, file.py:object or a .json file.")
        if args.metric:
            self.metric = load_metric(args.metric)
        elif self.task is not None:
            self.metric = self.task.metric
        elif args.bigbench and self.devset and "choices" in self.devset[0]:
            self.metric = load_metric("multiple_choice")
        else:
            self.metric = load_metric("exact_match")

    def _files(self, args: argparse.Namespace, need_train: bool) -> None:
        from pliable.data import load_examples

        if not args.inputs:
            raise UsageError("--inputs names the input fields of the data files (comma-separated).")
        inputs = [name.strip() for name in args.inputs.split(",") if name.strip()]
        if need_train and not args.train:
            raise UsageError("Pass --train FILE (or --task NAME / --bigbench TASK).")
        if args.train:  # eval reads it too: the majority-answer floor counts answers there
            self.trainset = list(load_examples(args.train, inputs=inputs))
        if not args.dev:
            raise UsageError("Pass --dev FILE (or --task NAME / --bigbench TASK).")
        self.devset = list(load_examples(args.dev, inputs=inputs))


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
        return LabeledFewShot(labeled)
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
    from pliable.settings import using

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
    print(report.summary())
    if args.run_dir:
        _say(args, f"run log in {args.run_dir}; `pliable report {args.run_dir}` writes the page")
    if not report.usable:
        wrote = f" ({args.out} not written)" if args.out else ""
        print(f"error: no usable program{wrote}: {report.unusable}", file=sys.stderr)
        return 5
    if args.out:
        path = compiled.save(args.out)
        _say(args, f"wrote {path}")
    return 0


def report_job(args: argparse.Namespace) -> int:
    from pliable.report.page import write_report

    path = write_report(args.run_dir, args.out)
    print(path)
    return 0


def eval_job(args: argparse.Namespace) -> int:
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
