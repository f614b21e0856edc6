"""``MajorityVote`` (the most common answer of ``n`` samples) and ``Parallel`` (one program
over a list of inputs, in parallel).

::

    vote = pl.MajorityVote(pl.ChainOfThought("question -> answer"), n=5)
    vote(question="...").answer       # the answer most samples agree on

    many = pl.Parallel(qa, num_threads=8)
    many([{"question": "a"}, {"question": "b"}])   # predictions, in input order

``MajorityVote`` samples like :class:`~pliable.programs.refine.BestOfN`: sample 0 is the
program as configured, sample ``i > 0`` a copy asking for ``temperature=1.0`` and a shifted
``sample`` index. Only the winning sample's predictor calls reach an enclosing
``pl.trace()``, as calls of the program's own predictors.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from pliable.data.example import Prediction
from pliable.errors import BatchError, UsageError
from pliable.programs.module import Module
from pliable.programs.refine import FATAL, check_wrapped, run_copy
from pliable.programs.tracing import ContextThreadPool, TraceEntry, record

__all__ = ["MajorityVote", "Parallel", "Vote", "normalize_answer"]

logger = logging.getLogger(__name__)


def normalize_answer(value: Any) -> Hashable:
    """The default vote key: text lower-cased with whitespace collapsed; other values as
    they are when hashable, else their JSON (or repr)."""
    if isinstance(value, str):
        return " ".join(value.split()).lower()
    try:
        hash(value)
    except TypeError:
        from pliable.adapters.values import to_jsonable

        return json.dumps(to_jsonable(value), sort_keys=True, default=repr)
    return value  # type: ignore[no-any-return]


@dataclass(frozen=True)
class Vote:
    """What :meth:`MajorityVote.run` did: the returned prediction, the winning (normalised)
    value, the count of each value in first-seen order, and every sample (a prediction, or
    the exception it raised) in sample order."""

    prediction: Prediction
    winner: Hashable
    counts: dict[Hashable, int]
    samples: tuple[Prediction | Exception, ...]


class MajorityVote(Module):
    """Run ``module`` ``n`` times with fresh samples and return the prediction whose ``field``
    is the most common after ``normalize``; a tie goes to the value seen first.

    Args:
        module: the program (or predictor) to run; its predictors are this program's,
            named ``module.<name>``.
        n: the number of samples.
        field: the output voted on (default: each prediction's last field, e.g. ``answer``
            after ``reasoning`` in a ChainOfThought).
        normalize: turns a value into its vote key (default :func:`normalize_answer`).
        num_threads: samples run at once.

    Samples that raise do not vote; if all raise, the last error is re-raised. Usage errors
    and budget stops are re-raised at once. :meth:`run` returns the :class:`Vote` counts.
    """

    def __init__(
        self,
        module: Module,
        n: int,
        *,
        field: str | None = None,
        normalize: Callable[[Any], Hashable] = normalize_answer,
        num_threads: int = 1,
    ) -> None:
        check_wrapped(type(self).__name__, module, n)
        if not callable(normalize):
            raise UsageError(f"MajorityVote: normalize must be callable; got {normalize!r}.")
        if num_threads < 1:
            raise UsageError(f"MajorityVote: num_threads must be >= 1; got {num_threads}.")
        self.module = module
        self.n = n
        self.field = field
        self.normalize = normalize
        self.num_threads = num_threads

    def forward(self, /, **inputs: Any) -> Prediction:
        return self.run(**inputs).prediction

    def _key(self, prediction: Prediction) -> Hashable:
        keys = list(prediction)
        name = self.field if self.field is not None else (keys[-1] if keys else None)
        if name is None or name not in prediction:
            raise UsageError(
                f"MajorityVote: the prediction has no field {name!r} to vote on; it has "
                f"{keys or 'no fields'}. Pass field=... naming one of the program's outputs."
            )
        return self.normalize(prediction[name])

    def run(self, /, **inputs: Any) -> Vote:
        """Draw the samples and count; record the winner's calls in the enclosing traces."""

        def sample(index: int) -> tuple[Prediction, list[TraceEntry]] | Exception:
            try:
                return run_copy(self.module, index, inputs)
            except FATAL:
                raise
            except Exception as exc:  # this sample does not vote
                logger.debug("MajorityVote sample %d failed: %r", index, exc)
                return exc

        if self.num_threads == 1 or self.n == 1:
            results = [sample(i) for i in range(self.n)]
        else:
            with ContextThreadPool(max_workers=min(self.num_threads, self.n)) as pool:
                results = list(pool.map(sample, range(self.n)))
        counts: dict[Hashable, int] = {}
        first: dict[Hashable, int] = {}
        for index, result in enumerate(results):
            if not isinstance(result, Exception):
                key = self._key(result[0])
                counts[key] = counts.get(key, 0) + 1
                first.setdefault(key, index)
        if not counts:
            error = results[-1]
            assert isinstance(error, Exception)
            raise error
        winner = max(counts, key=lambda k: (counts[k], -first[k]))
        chosen = results[first[winner]]
        assert not isinstance(chosen, Exception)
        for entry in chosen[1]:
            record(entry)
        samples = tuple(r if isinstance(r, Exception) else r[0] for r in results)
        return Vote(chosen[0], winner, counts, samples)


class Parallel(Module):
    """Run ``module`` on each of a list of inputs with a bounded thread pool.

    ``parallel([{...}, {...}])`` returns the predictions in input order (inputs are dicts or
    Examples with their inputs marked). The workers see the caller's ``pl.using`` settings
    and record into its traces. A failure raises :class:`~pliable.errors.BatchError` naming
    the first failing input (remaining inputs are not started), unless
    ``return_failed=True``: then each failure's exception takes its place in the list.
    This is :meth:`Module.batch` as a program; its predictors are ``module.<name>``.
    """

    def __init__(
        self,
        module: Module,
        *,
        num_threads: int = 4,
        return_failed: bool = False,
        progress: bool | None = False,
    ) -> None:
        check_wrapped(type(self).__name__, module)
        if num_threads < 1:
            raise UsageError(f"Parallel: num_threads must be >= 1; got {num_threads}.")
        self.module = module
        self.num_threads = num_threads
        self.return_failed = return_failed
        self.progress = progress

    def __call__(  # type: ignore[override]
        self, inputs: Iterable[Mapping[str, Any]], /
    ) -> list[Prediction | Exception]:
        return self.forward(inputs)

    def forward(  # type: ignore[override]
        self, inputs: Iterable[Mapping[str, Any]], /
    ) -> list[Prediction | Exception]:
        """The module's prediction for each input, in order (see the class docstring)."""
        from pliable.programs.batch import run_batch

        if isinstance(inputs, Mapping):
            raise UsageError(
                "Parallel takes a list of input dicts; got one mapping. Wrap it in a list, "
                "or call the wrapped module directly."
            )
        items = list(inputs)
        try:
            return run_batch(
                self.module,
                items,
                num_threads=self.num_threads,
                max_errors=None if self.return_failed else 0,
                progress=self.progress,
            )
        except BatchError as exc:
            index, error = next(
                (i, r) for i, r in enumerate(exc.results) if isinstance(r, Exception)
            )
            raise BatchError(
                f"Parallel: input #{index} (0-based) of {len(items)} failed: {error!r}. "
                "Pass return_failed=True to get the exceptions in the results instead.",
                exc.results,
            ) from error
