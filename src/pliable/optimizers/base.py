"""The optimizer interface: ``optimizer.compile(program, trainset=..., valset=...)``.

Every optimizer works on a copy (the program passed in is never changed), measures the
baseline and the result on the valset with confidence intervals when it has a valset and a
metric, counts LM calls, tokens and cost as it goes, and attaches a
:class:`~pliable.optimizers.report.CompileReport` to the compiled program (``.report``), which
``program.save(path)`` writes into the JSON.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from typing import Any

from pliable.data.example import Example
from pliable.errors import UsageError
from pliable.lm.usage import track_usage
from pliable.optimizers.report import CompileReport, ScoreSummary, fingerprint
from pliable.programs.module import Module

__all__ = ["Optimizer"]


class Optimizer(ABC):
    """Base class: subclasses implement :meth:`_compile` on a copy of the program."""

    metric: Callable[..., Any] | None = None
    num_threads: int = 4

    @property
    def name(self) -> str:
        return type(self).__name__

    def settings(self) -> dict[str, Any]:
        """The optimizer's settings, as saved in the report."""
        return {k: v for k, v in vars(self).items() if not k.startswith("_") and k != "metric"}

    def compile(
        self,
        program: Module,
        *,
        trainset: Sequence[Example],
        valset: Sequence[Example] | None = None,
        progress: bool | None = None,
    ) -> Module:
        """A compiled copy of ``program``, with its report in ``.report``."""
        train = self._check_set(trainset, "trainset")
        val = self._check_set(valset, "valset") if valset is not None else None
        report = CompileReport(
            optimizer=self.name,
            settings=self.settings(),
            dataset={
                "train_size": len(train),
                "val_size": len(val or []),
                "train_fingerprint": fingerprint(train),
                "val_fingerprint": fingerprint(val) if val else None,
            },
        )
        start = time.perf_counter()
        with track_usage() as usage:
            if val and self.metric is not None:
                report.baseline = ScoreSummary.of(self._evaluate(program, val, progress))
            compiled = self._compile(program.deepcopy(), train, val, report, progress)
            if val and self.metric is not None:
                final = report.final or ScoreSummary.of(self._evaluate(compiled, val, progress))
                report.final = final
        report.add_usage(usage)
        report.wall_time = time.perf_counter() - start
        compiled.report = report
        return compiled

    def _evaluate(self, program: Module, examples: Sequence[Example], progress: bool | None) -> Any:
        from pliable.evaluate import evaluate

        assert self.metric is not None
        return evaluate(
            program, examples, self.metric, num_threads=self.num_threads, progress=progress
        )

    @staticmethod
    def _check_set(examples: Sequence[Example] | None, what: str) -> list[Example]:
        if examples is None:
            return []
        items = list(examples)
        for i, ex in enumerate(items):
            if not isinstance(ex, Example) or ex.input_keys is None:
                raise UsageError(
                    f"{what}[{i}] must be a pl.Example with its inputs marked "
                    f"(.with_inputs(...)); got {ex!r}. pl.load_examples(..., inputs=[...]) "
                    "marks them for you."
                )
        return items

    @abstractmethod
    def _compile(
        self,
        student: Module,
        trainset: list[Example],
        valset: list[Example] | None,
        report: CompileReport,
        progress: bool | None,
    ) -> Module:
        """Write demos / instructions into ``student`` (a copy) and return it."""
