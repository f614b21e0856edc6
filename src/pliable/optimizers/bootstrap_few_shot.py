"""``BootstrapFewShot``: demos from the program's own successful runs.

Bootstrapping runs a teacher (the program itself, or one you pass) over the trainset inside
``pl.trace()``. When the metric accepts an example's prediction, every predictor call of that
run becomes a demo of the predictor with the same name in the student, so a multi-stage
program gets demos for each stage from the same successful runs. The outputs no label covers
(reasoning, search queries, intermediate answers) are the teacher's; an output the example
labels is shown as its label in the demo of the last call that produced it. A lenient metric
accepts the teacher's own way of saying the answer (a choice's number instead of its text,
extra words around it), and a demo that shows it teaches the student that form. Demo counts
are exact: ``min(requested, available)``, never more.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Sequence
from typing import Any

from pliable.data.example import Example
from pliable.errors import RUN_STOPPING, BudgetExceededError, UsageError
from pliable.optimizers.base import Optimizer
from pliable.optimizers.labeled_few_shot import labeled_demos
from pliable.optimizers.report import CompileReport
from pliable.optimizers.run import Run
from pliable.programs.module import Module
from pliable.programs.tracing import trace

__all__ = ["BootstrapFewShot"]

logger = logging.getLogger(__name__)


def _passes(score: float, threshold: float | None) -> bool:
    return score >= threshold if threshold is not None else bool(score)


def _last_producers(labels: Example, entries: Sequence[Any]) -> dict[str, int]:
    """For each label, the trace position of the last call that output it: that call's demo
    shows the label, not the teacher's words for it."""
    return {key: i for i, entry in enumerate(entries) for key in entry.outputs if key in labels}


class BootstrapFewShot(Optimizer):
    """Demos from the program's own successful traces, topped up with labeled examples.

    Args:
        metric: ``metric(example, prediction[, trace])`` returning a float, bool or Score.
        max_bootstrapped_demos: bootstrapped demos per predictor (exact when enough pass).
        max_labeled_demos: the demos per predictor that labeled examples top up to: unused
            trainset examples fill the slots the bootstrapped demos leave, so a predictor
            holds ``max(bootstrapped, max_labeled_demos)`` demos at most (DSPy's meaning: with
            ``4, 4`` and four passing runs, no labeled demo is added).
        metric_threshold: a run passes when its score is at least this (default: truthy).
        max_rounds: passes over the trainset; rounds after the first ask for fresh samples
            (``temperature=1.0`` and a new ``sample`` index).
        teacher: the program that produces traces (default: the program being compiled),
            e.g. the same program on a stronger LM. A teacher predictor without demos of its
            own is shown labeled demos, as the program itself is.
    """

    def __init__(
        self,
        metric: Callable[..., Any],
        *,
        max_bootstrapped_demos: int = 4,
        max_labeled_demos: int = 16,
        metric_threshold: float | None = None,
        max_rounds: int = 1,
        teacher: Module | None = None,
        seed: int = 0,
        num_threads: int = 1,
    ) -> None:
        from pliable.evaluation.metric_base import metric_caller

        metric_caller(metric)  # refuses a metric that cannot be called
        if min(max_bootstrapped_demos, max_labeled_demos) < 0 or max_rounds < 1:
            raise UsageError(
                "BootstrapFewShot: demo counts must be >= 0 and max_rounds >= 1; got "
                f"max_bootstrapped_demos={max_bootstrapped_demos}, "
                f"max_labeled_demos={max_labeled_demos}, max_rounds={max_rounds}."
            )
        self.metric = metric
        self.max_bootstrapped_demos = max_bootstrapped_demos
        self.max_labeled_demos = max_labeled_demos
        self.metric_threshold = metric_threshold
        self.max_rounds = max_rounds
        self.teacher = teacher
        self.seed = seed
        self.num_threads = num_threads

    def _plan(self, n_predictors: int, n_train: int, n_val: int) -> dict[str, int]:
        return {"bootstrap (teacher runs)": self.max_rounds * n_train * n_predictors}

    def _score(self, example: Example, prediction: Any, entries: list[Any]) -> float:
        from pliable.data.score import to_score
        from pliable.evaluation.metric_base import metric_caller

        call, _ = metric_caller(self.metric)
        return to_score(call(example, prediction, entries), self.metric).value

    def bootstrap(
        self, student: Module, trainset: Sequence[Example], report: CompileReport
    ) -> tuple[dict[str, list[Example]], set[int]]:
        """Run the teacher; return the bootstrapped demos by predictor name and the indexes
        of the trainset examples they came from."""
        teacher = (self.teacher or student).deepcopy()
        names = {id(p): n for n, p in teacher.named_predictors()}
        student_names = [n for n, _ in student.named_predictors()]
        if sorted(names.values()) != sorted(student_names):
            raise UsageError(
                f"BootstrapFewShot: the teacher's predictors {sorted(names.values())} differ "
                f"from the program's {sorted(student_names)}; use a teacher of the same shape."
            )
        demos: dict[str, list[Example]] = {n: [] for n in student_names}
        teacher_predictors = dict(teacher.named_predictors())
        teacher_demos = {
            name: list(p.demos)
            if self.teacher is not None and p.demos
            else labeled_demos(
                p, trainset, self.max_labeled_demos + 1 if self.max_labeled_demos else 0
            )
            for name, p in teacher_predictors.items()
        }
        used: set[int] = set()
        failures = errors = 0
        full = self.max_bootstrapped_demos
        try:
            for round_ in range(self.max_rounds):
                if round_ > 0:
                    for p in teacher.predictors():
                        p.config = {**p.config, "temperature": 1.0, "sample": round_}
                for index, example in enumerate(trainset):
                    if all(len(d) >= full for d in demos.values()):
                        break
                    if index in used:
                        continue
                    for name, predictor in teacher_predictors.items():
                        # the teacher sees labeled demos, never the example it is answering
                        predictor.demos = [d for d in teacher_demos[name] if d is not example]
                    try:
                        with trace() as t:
                            prediction = teacher(**example.inputs())
                        entries = t.entries
                        passed = _passes(
                            self._score(example, prediction, entries), self.metric_threshold
                        )
                    except RUN_STOPPING:
                        raise
                    except Exception as exc:  # a failing example is skipped, not fatal
                        if isinstance(exc, UsageError) and "Metric" in str(exc):
                            raise
                        errors += 1
                        logger.debug("bootstrap example %d failed: %r", index, exc)
                        continue
                    if not passed:
                        failures += 1
                        continue
                    used.add(index)
                    labels = example.labels()
                    last = _last_producers(labels, entries)
                    for position, entry in enumerate(entries):
                        target = names.get(id(entry.predictor))
                        if target is None or len(demos[target]) >= full:
                            continue
                        outputs = {
                            k: labels[k] if last.get(k) == position else entry.outputs[k]
                            for k in entry.predictor.signature.output_fields
                            if k in entry.outputs
                        }
                        demos[target].append(
                            Example({**entry.inputs, **outputs}).with_inputs(*entry.inputs)
                        )
        except BudgetExceededError as exc:
            report.stopped = str(exc)
            report.notes.append(
                f"bootstrap stopped by the budget after {len(used)} passing examples; "
                "keeping the demos found so far"
            )
        tried = len(used) + failures + errors
        report.notes.append(
            f"bootstrap: tried {tried} of {len(trainset)} train examples: {len(used)} passed "
            f"the metric, {failures} failed it, {errors} raised errors"
        )
        return demos, used

    def _compile(
        self,
        student: Module,
        trainset: list[Example],
        valset: list[Example] | None,
        run: Run,
    ) -> Module:
        ordered = list(trainset)
        if self.seed:
            random.Random(self.seed).shuffle(ordered)
        boot, used = self.bootstrap(student, ordered, run.report)
        rest = [ex for i, ex in enumerate(ordered) if i not in used]
        for name, predictor in student.named_predictors():
            room = max(0, self.max_labeled_demos - len(boot[name]))
            predictor.demos = boot[name] + labeled_demos(predictor, rest, room)
        return student
