"""``BootstrapRandomSearch``: try several demo sets, keep the one best on the valset.

Candidates, in order: zero-shot, labeled-only, bootstrapped (trainset order), then
bootstrapped from shuffled trainsets with a random number of demos. Each is scored on the
valset in chunks; a candidate is dropped as soon as it cannot beat the best so far even if it
scored perfectly on every example left. Ties keep the earlier (simpler) candidate.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from pliable.data.example import Example
from pliable.errors import UsageError
from pliable.optimizers.base import Optimizer, _needs_valset
from pliable.optimizers.bootstrap_few_shot import BootstrapFewShot
from pliable.optimizers.labeled_few_shot import LabeledFewShot
from pliable.optimizers.run import Run, Scores
from pliable.programs.module import Module

__all__ = ["BootstrapRandomSearch"]


class BootstrapRandomSearch(Optimizer):
    """Random search over demo sets, selected on the valset with early stopping.

    Args:
        metric: ``metric(example, prediction[, trace])``; judges bootstrapped demos and
            scores candidates.
        num_candidates: programs tried: zero-shot, labeled, then bootstrapped demo sets.
        max_bootstrapped_demos / max_labeled_demos: demo counts of the candidate sets.
        teacher: the program that bootstraps demos (default: the program being compiled),
            e.g. the same program on a stronger LM; see :class:`BootstrapFewShot`.
        chunk_size: valset examples scored between pruning checks.
        seed: seeds the shuffled trainsets and demo counts.
    """

    def __init__(
        self,
        metric: Callable[..., Any],
        *,
        num_candidates: int = 6,
        max_bootstrapped_demos: int = 4,
        max_labeled_demos: int = 4,
        metric_threshold: float | None = None,
        max_score: float = 1.0,
        chunk_size: int = 8,
        teacher: Module | None = None,
        seed: int = 0,
        num_threads: int = 4,
    ) -> None:
        if num_candidates < 1:
            raise UsageError(f"num_candidates must be >= 1; got {num_candidates}.")
        self.metric = metric
        self.num_candidates = num_candidates
        self.max_bootstrapped_demos = max_bootstrapped_demos
        self.max_labeled_demos = max_labeled_demos
        self.metric_threshold = metric_threshold
        self.max_score = max_score
        self.chunk_size = chunk_size
        self.teacher = teacher
        self.seed = seed
        self.num_threads = num_threads

    def _plan(self, n_predictors: int, n_train: int, n_val: int) -> dict[str, int]:
        boots = max(0, self.num_candidates - 2)
        return {
            f"bootstrap {boots} demo sets (teacher runs)": boots * n_train * n_predictors,
            f"score {self.num_candidates} candidates on the valset": self.num_candidates
            * n_val
            * n_predictors,
        }

    def _candidates(
        self, student: Module, trainset: list[Example], run: Run
    ) -> Iterator[tuple[str, Module]]:
        """Candidates one at a time (a budget stop leaves the earlier ones scored)."""
        zero = student.deepcopy()
        for p in zero.predictors():
            p.demos = []
        yield "zero-shot", zero
        if self.num_candidates > 1:
            labeled = LabeledFewShot(self.max_labeled_demos, seed=self.seed)
            yield "labeled", labeled._compile(student.deepcopy(), trainset, None, run)
        metric = self.metric
        assert metric is not None
        rng = random.Random(self.seed)
        for i in range(max(0, self.num_candidates - 2)):
            ordered = list(trainset)
            size = self.max_bootstrapped_demos
            if i > 0:
                rng.shuffle(ordered)
                size = rng.randint(1, max(1, self.max_bootstrapped_demos))
            boot = BootstrapFewShot(
                metric,
                max_bootstrapped_demos=size,
                max_labeled_demos=self.max_labeled_demos,
                metric_threshold=self.metric_threshold,
                teacher=self.teacher,
            )
            name = "bootstrapped" if i == 0 else f"bootstrapped-shuffle{i}-k{size}"
            yield name, boot._compile(student.deepcopy(), ordered, None, run)

    def _score_with_pruning(
        self, program: Module, valset: Sequence[Example], best_total: float | None, run: Run
    ) -> Scores | None:
        """The candidate's valset scores, or None once it cannot beat ``best_total``."""
        done: list[Scores] = []
        total = 0.0
        for start in range(0, len(valset), self.chunk_size):
            chunk = valset[start : start + self.chunk_size]
            scores = run.evaluate(program, chunk)
            done.append(scores)
            total += scores.total
            remaining = len(valset) - start - len(chunk)
            if best_total is not None and total + remaining * self.max_score <= best_total:
                return None
        return Scores(
            tuple(v for s in done for v in s.values),
            tuple(k for s in done for k in s.keys),
            sum(s.errors for s in done),
        )

    def _compile(
        self,
        student: Module,
        trainset: list[Example],
        valset: list[Example] | None,
        run: Run,
    ) -> Module:
        if not valset:
            raise UsageError(_needs_valset("BootstrapRandomSearch selects"))
        for name, candidate in self._candidates(student, trainset, run):
            best = run.best[0].total if run.best else None
            scores = self._score_with_pruning(candidate, valset, best, run)
            run.candidate(name, candidate, full=scores, pruned=scores is None)
        assert run.best is not None
        run.note(f"best candidate on the valset: {run.best[2]}")
        return run.best[1]
