"""``LabeledFewShot``: demos straight from the trainset, chosen at random with a seed."""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from typing import Any

from pliable.data.example import Example
from pliable.errors import UsageError
from pliable.optimizers.base import Optimizer
from pliable.optimizers.run import Run
from pliable.programs.module import Module
from pliable.programs.predict import Predict

__all__ = ["LabeledFewShot", "labeled_demos"]


def labeled_demos(predictor: Predict, examples: Sequence[Example], k: int) -> list[Example]:
    """The first ``k`` examples that fit ``predictor``, as demos."""
    return [ex for ex in examples if predictor.accepts_demo(ex)][: max(0, k)]


class LabeledFewShot(Optimizer):
    """Put ``k`` trainset examples (chosen at random with ``seed``) into every predictor.

    With a ``metric`` and a valset, the program passed in and the compiled one are both
    scored there (the report's baseline and final, and honest selection between them, as
    for every optimizer); without one nothing is scored and no LM is called.
    """

    def __init__(
        self, k: int = 16, *, seed: int = 0, metric: Callable[..., Any] | None = None
    ) -> None:
        if k < 0:
            raise UsageError(f"LabeledFewShot(k=...) must be >= 0; got {k}.")
        self.k = k
        self.seed = seed
        self.metric = metric

    def _compile(
        self,
        student: Module,
        trainset: list[Example],
        valset: list[Example] | None,
        run: Run,
    ) -> Module:
        report = run.report
        shuffled = list(trainset)
        random.Random(self.seed).shuffle(shuffled)
        for name, predictor in student.named_predictors():
            predictor.demos = labeled_demos(predictor, shuffled, self.k)
            if len(predictor.demos) < self.k:
                report.notes.append(
                    f"{name}: {len(predictor.demos)} labeled demos (asked for {self.k}; "
                    "no more trainset examples fit its fields)"
                )
        return student
