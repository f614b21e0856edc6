"""``evaluate(program, devset, metric)``: score a program on a dev set, in parallel.

Each example runs in a worker of a bounded :class:`~pliable.programs.tracing.ContextThreadPool`
(so ``pl.using`` settings and usage tracking reach it), inside its own ``pl.trace()`` block,
whose entries a three-argument metric receives. A program or metric that raises on one
example does not stop the run: the example scores 0.0 and its error is kept in its row,
unless more than ``max_errors`` examples fail, which raises :class:`EvaluationError`. A metric
returning something that is not a score is a bug in the metric and stops the run at once.
"""

from __future__ import annotations

import logging
import math
import sys
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any, Literal

from pliable.data.example import Example
from pliable.data.score import metric_name, to_score
from pliable.errors import RUN_STOPPING, EvaluationError, UsageError
from pliable.evaluation.floor import majority_floor
from pliable.evaluation.metric_base import MetricFn, metric_caller
from pliable.evaluation.result import EvaluationResult, EvaluationRow
from pliable.evaluation.stats import bootstrap_mean_ci, check_bootstrap_args
from pliable.lm.usage import track_usage
from pliable.programs.tracing import ContextThreadPool, TraceEntry, trace

__all__ = ["EvaluationError", "evaluate"]

logger = logging.getLogger(__name__)


def _program_name(program: Any) -> str:
    from pliable.programs.module import Module
    from pliable.programs.predict import Predict

    if isinstance(program, Predict):
        return repr(program)
    if isinstance(program, Module):
        return type(program).__name__
    return str(getattr(program, "__name__", None) or type(program).__name__)


def _check_devset(devset: Iterable[Example]) -> list[Example]:
    examples = list(devset)
    if not examples:
        raise UsageError("evaluate() needs at least one example; the devset is empty.")
    for i, ex in enumerate(examples):
        if not isinstance(ex, Example):
            raise UsageError(
                f"evaluate() takes pl.Example rows; devset[{i}] is {type(ex).__name__} {ex!r}. "
                "Build rows with pl.Example(...).with_inputs('field', ...)."
            )
        if ex.input_keys is None:
            raise UsageError(
                f"devset[{i}] has no inputs marked: {ex!r}. Call .with_inputs('field', ...) on "
                "each example so evaluate() knows what to pass the program."
            )
    return examples


def _error_text(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def _failed_row(
    index: int,
    example: Example,
    prediction: Any,
    exc: Exception,
    failed_in: Literal["program", "metric"],
    entries: tuple[TraceEntry, ...],
) -> EvaluationRow:
    """The 0.0 row of an example whose program or metric raised ``exc``."""
    logger.debug("evaluate: example %d: the %s raised %r", index, failed_in, exc)
    return EvaluationRow(
        index,
        example,
        prediction,
        0.0,
        error=_error_text(exc),
        failed_in=failed_in,
        exception=exc,
        trace=entries,
    )


def _run_one(
    index: int, example: Example, program: Callable[..., Any], call_metric: MetricFn, metric: Any
) -> EvaluationRow:
    """Run the program and the metric on one example; failures become a 0.0 row."""
    with trace() as recorded:
        try:
            prediction = program(**example.inputs())
        except RUN_STOPPING:
            raise  # a spent budget, a bad key or a missing model stops the run, not one example
        except Exception as exc:  # kept in the row; the run goes on
            return _failed_row(index, example, None, exc, "program", tuple(recorded.entries))
    entries = tuple(recorded.entries)
    try:
        returned = call_metric(example, prediction, list(entries))
    except RUN_STOPPING:
        raise
    except Exception as exc:  # kept in the row; the run goes on
        return _failed_row(index, example, prediction, exc, "metric", entries)
    score = to_score(returned, metric)  # a UsageError here is a bug: it stops the run
    return EvaluationRow(index, example, prediction, score.value, score.feedback, trace=entries)


def _progress_bar(total: int, enabled: bool | None) -> Any:
    if not (sys.stderr.isatty() if enabled is None else enabled):
        return None
    from tqdm import tqdm

    return tqdm(total=total, unit="ex", desc="evaluate", leave=False)


def evaluate(
    program: Callable[..., Any],
    devset: Iterable[Example],
    metric: Callable[..., Any],
    *,
    trainset: Iterable[Example] | None = None,
    floor: bool = True,
    num_threads: int = 4,
    max_errors: int | None = None,
    progress: bool | None = None,
    confidence: float = 0.95,
    n_resamples: int = 2000,
    seed: int = 0,
) -> EvaluationResult:
    """Score ``program`` on ``devset`` with ``metric``; see :class:`EvaluationResult`.

    Args:
        program: called as ``program(**example.inputs())`` for each example.
        devset: examples with their inputs marked (``.with_inputs(...)``).
        metric: ``metric(example, prediction)`` or ``metric(example, prediction, trace)``,
            returning a float, a bool or a ``pl.Score``.
        trainset: where the majority-answer floor counts the most common answer (see
            :func:`~pliable.evaluation.floor.majority_floor`); without one, the floor counts it
            on ``devset`` itself and says so.
        floor: measure the floor (0 LM calls; the metric runs once more per example). It
            applies to ``Literal``/``Enum``/``bool`` outputs and answers scored against
            ``choices``; ``result.floor`` is ``None`` for the others.
        num_threads: how many examples run at once.
        max_errors: stop with ``EvaluationError`` once more examples than this have failed
            (``None``: never stop).
        progress: show a progress bar (default: only when stderr is a terminal).
        confidence, n_resamples, seed: the bootstrap interval of the mean score.
    """
    examples = _check_devset(devset)
    call_metric, _ = metric_caller(metric)
    check_bootstrap_args(confidence, n_resamples)
    if num_threads < 1:
        raise UsageError(f"num_threads must be at least 1; got {num_threads!r}.")
    if max_errors is not None and max_errors < 0:
        raise UsageError(f"max_errors must be None or at least 0; got {max_errors!r}.")

    rows: list[EvaluationRow | None] = [None] * len(examples)
    lock = threading.Lock()
    stop = threading.Event()
    fatal: list[BaseException] = []
    tally = {"done": 0, "errors": 0, "total": 0.0}
    bar = _progress_bar(len(examples), progress)

    def work(index: int) -> None:
        if stop.is_set():
            return
        try:
            row = _run_one(index, examples[index], program, call_metric, metric)
        except Exception as exc:  # a metric returning a non-score: stop everything
            with lock:
                fatal.append(exc)
            stop.set()
            return
        with lock:
            rows[index] = row
            tally["done"] += 1
            tally["total"] += row.score
            if row.error is not None:
                tally["errors"] += 1
                if max_errors is not None and tally["errors"] > max_errors:
                    stop.set()
            if bar is not None:
                bar.set_postfix(score=f"{tally['total'] / tally['done']:.3f}", refresh=False)
                bar.update(1)

    started = time.perf_counter()
    try:
        with (
            track_usage() as usage,
            ContextThreadPool(max_workers=min(num_threads, len(examples))) as pool,
        ):
            for future in [pool.submit(work, i) for i in range(len(examples))]:
                future.result()
    finally:
        if bar is not None:
            bar.close()
    wall_time = time.perf_counter() - started

    if fatal:
        raise fatal[0]
    finished = [r for r in rows if r is not None]
    if stop.is_set():
        first = next(r for r in finished if r.error is not None)
        raise EvaluationError(
            f"evaluate() stopped: {tally['errors']} examples failed, more than "
            f"max_errors={max_errors} ({len(finished)} of {len(examples)} examples ran). "
            f"First failure, example {first.index} ({first.failed_in}): {first.error}",
            finished,
        ) from first.exception

    floor_found = majority_floor(program, examples, metric, trainset=trainset) if floor else None
    scores = [r.score for r in finished]
    ci_low, ci_high = bootstrap_mean_ci(
        scores, confidence=confidence, n_resamples=n_resamples, seed=seed
    )
    result = EvaluationResult(
        score=math.fsum(scores) / len(scores),
        ci_low=ci_low,
        ci_high=ci_high,
        confidence=confidence,
        rows=tuple(finished),
        usage=usage.total,
        usage_by_model=usage.by_model(),
        wall_time=wall_time,
        metric=metric_name(metric),
        program=_program_name(program),
        floor=floor_found,
    )
    logger.info(
        "evaluate: %s = %.4f on %d examples (%d errors)",
        result.metric,
        result.score,
        result.n,
        result.n_errors,
    )
    return result
