"""``KNNFewShot``: for each input, the ``k`` most similar trainset examples become the demos.

    from pliable.lm.embeddings import LocalEmbedder

    knn = KNNFewShot(3, LocalEmbedder())
    compiled = knn.compile(program, trainset=train)   # a KNNProgram around a copy of program
    compiled(question="...")                          # demos chosen for this question

At compile time the inputs of every trainset example are embedded once, in one batch, as
``name: value`` lines (``input_fields`` chooses the names; by default the trainset's input
fields). At call time the call's inputs are embedded the same way, and every predictor gets as
demos the ``min(k, len(trainset))`` examples most similar to them (cosine similarity; ties go to
the earlier example), most similar first. A predictor only gets examples holding all its
inputs and one of its outputs, so a stage whose inputs the trainset lacks gets fewer (the
compile report says so).

Thread safety: the compiled program's predictors are never written per call. Each call runs
on a light copy of the program in which every module and predictor on the way to a predictor
is copied shallowly, the predictors with this call's demos; everything else (LMs, adapters,
signatures, other attributes) is shared. Concurrent calls therefore never see each other's
demos. Predictor calls made by the copy are recorded in active ``pl.trace()`` blocks as calls
of the compiled program's own predictors (when the call returns or raises), so traces,
``evaluate`` and bootstrapping see the usual identities.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from pliable.data.example import Example
from pliable.errors import UsageError
from pliable.lm.embeddings import Embedder
from pliable.optimizers.base import Optimizer, _check_int
from pliable.programs.knn import KNNProgram, KNNState
from pliable.programs.module import Module

if TYPE_CHECKING:
    from pliable.optimizers.run import Run

__all__ = ["KNNFewShot", "KNNProgram", "KNNState"]

logger = logging.getLogger(__name__)


class KNNFewShot(Optimizer):
    """Per-input demos: the ``k`` trainset examples nearest to the input, by embedding.

    Args:
        k: demos per predictor per call (exactly ``min(k, len(trainset))`` when every example
            fits the predictor).
        embedder: any :class:`~pliable.lm.embeddings.Embedder`, e.g. ``LocalEmbedder()``.
        input_fields: the fields embedded, in this order (default: the trainset's inputs).
        metric: optional; with a valset, the report then holds the scores before and after.
        num_threads: threads for that scoring.

    ``compile`` returns a :class:`KNNProgram` around a copy of the program (whose own demos
    are cleared); the trainset is embedded once, in one batch, while compiling.
    """

    def __init__(
        self,
        k: int,
        embedder: Embedder,
        *,
        input_fields: Sequence[str] | None = None,
        metric: Callable[..., Any] | None = None,
        num_threads: int = 4,
    ) -> None:
        _check_int("KNNFewShot", "k", k, 0)
        if not isinstance(embedder, Embedder):
            raise UsageError(
                f"KNNFewShot needs an embedder (an object with `name` and `embed(texts)`); got "
                f"{embedder!r}. Use pliable.lm.embeddings.LocalEmbedder(), LiteLLMEmbedder(model)"
                " or FunctionEmbedder(fn)."
            )
        if input_fields is not None:
            if isinstance(input_fields, str) or not all(isinstance(f, str) for f in input_fields):
                raise UsageError(
                    f"input_fields must be a list of field names; got {input_fields!r}."
                )
            if not input_fields:
                raise UsageError("input_fields must name at least one field (or be None).")
        if metric is not None:
            from pliable.evaluation.metric_base import metric_caller

            metric_caller(metric)  # refuses a metric that cannot be called
        self.k = k
        self._embedder = embedder
        self.input_fields = list(input_fields) if input_fields is not None else None
        self.metric = metric
        self.num_threads = num_threads

    @property
    def embedder(self) -> Embedder:
        return self._embedder

    def settings(self) -> dict[str, Any]:
        return {**super().settings(), "embedder": self._embedder.name}

    def _compile(
        self,
        student: Module,
        trainset: list[Example],
        valset: list[Example] | None,
        run: Run,
    ) -> Module:
        import time

        report = run.report
        for predictor in student.predictors():
            predictor.demos = []  # chosen per call from now on
        program = KNNProgram(
            student, trainset, self._embedder, k=self.k, input_fields=self.input_fields
        )
        start = time.perf_counter()
        vectors = program.pool_embeddings()
        if not trainset:
            report.notes.append("knn: the trainset is empty, so every call gets no demos")
            return program
        unused = [f for f in program.input_fields if not any(f in ex for ex in trainset)]
        if unused:
            report.notes.append(f"knn: no train example has the input field(s) {unused}")
        report.notes.append(
            f"knn: {len(trainset)} train examples embedded with {self._embedder.name} "
            f"({vectors.shape[1]} dimensions) in {time.perf_counter() - start:.2f}s, by "
            f"{', '.join(program.input_fields)}"
        )
        want = min(self.k, len(trainset))
        for name, count in program.fitting_counts().items():
            if count < want:
                report.notes.append(
                    f"{name}: only {count} of {len(trainset)} train examples fit its fields, "
                    f"so it gets {min(count, want)} demos per call (asked for {self.k})"
                )
        return program
