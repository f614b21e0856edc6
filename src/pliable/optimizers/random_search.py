"""``BootstrapRandomSearch``: try several demo sets, keep the one best on the valset.

Candidates, in order: zero-shot, labeled-only, bootstrapped (trainset order), then
bootstrapped from shuffled trainsets with a random number of demos. Each is scored on the
valset in chunks; a candidate is dropped as soon as it cannot beat the best so far even if it
scored perfectly on every example left. Ties keep the earlier (simpler) candidate.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from typing import Any

from pliable.data.example import Example
from pliable.errors import UsageError
from pliable.optimizers.base import Optimizer
from pliable.optimizers.fewshot import BootstrapFewShot, LabeledFewShot
from pliable.optimizers.report import CompileReport, ScoreSummary
from pliable.programs.module import Module

__all__ = ["BootstrapRandomSearch"]


class BootstrapRandomSearch(Optimizer):
    """Random search over demo sets, selected on the valset with early stopping."""

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
        self.seed = seed
        self.num_threads = num_threads

    def _candidates(
        self, student: Module, trainset: list[Example], report: CompileReport
    ) -> list[tuple[str, Module]]:
        out: list[tuple[str, Module]] = []
        zero = student.deepcopy()
        for p in zero.predictors():
            p.demos = []
        out.append(("zero-shot", zero))
        if len(out) < self.num_candidates:
            labeled = LabeledFewShot(self.max_labeled_demos, seed=self.seed)
            out.append(
                ("labeled", labeled._compile(student.deepcopy(), trainset, None, report, False))
            )
        metric = self.metric
        assert metric is not None
        rng = random.Random(self.seed)
        i = 0
        while len(out) < self.num_candidates:
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
            )
            name = "bootstrapped" if i == 0 else f"bootstrapped-shuffle{i}-k{size}"
            out.append((name, boot._compile(student.deepcopy(), ordered, None, report, False)))
            i += 1
        return out

    def _score_with_pruning(
        self,
        program: Module,
        valset: Sequence[Example],
        best_total: float | None,
        progress: bool | None,
    ) -> tuple[float | None, list[Any]]:
        """The total score over the valset, or None once it cannot beat ``best_total``."""
        total = 0.0
        results = []
        for start in range(0, len(valset), self.chunk_size):
            chunk = valset[start : start + self.chunk_size]
            result = self._evaluate(program, chunk, False)
            results.append(result)
            total += sum(r.score for r in result.rows)
            remaining = len(valset) - start - len(chunk)
            if best_total is not None and total + remaining * self.max_score <= best_total:
                return None, results
        return total, results

    def _compile(
        self,
        student: Module,
        trainset: list[Example],
        valset: list[Example] | None,
        report: CompileReport,
        progress: bool | None,
    ) -> Module:
        if not valset:
            raise UsageError(
                "BootstrapRandomSearch selects on the valset: pass valset=... "
                "(pl.split(examples, train=..., dev=...) makes one)."
            )
        best: tuple[float, str, Module] | None = None
        for name, candidate in self._candidates(student, trainset, report):
            total, _ = self._score_with_pruning(
                candidate, valset, best[0] if best else None, progress
            )
            n_demos = sum(len(p.demos) for p in candidate.predictors())
            report.candidates.append(
                {
                    "name": name,
                    "demos": n_demos,
                    "score": total / len(valset) if total is not None else None,
                }
            )
            if total is not None and (best is None or total > best[0]):
                best = (total, name, candidate)
        assert best is not None
        report.notes.append(f"selected candidate: {best[1]}")
        final = self._evaluate(best[2], valset, progress)
        report.final = ScoreSummary.of(final)
        return best[2]
