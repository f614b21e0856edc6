"""Run a program over many inputs: a bounded thread pool, errors kept per example.

Each worker runs in a copy of the caller's context, so ``pl.using``, ``pl.trace`` and
``pl.track_usage`` blocks around ``program.batch(...)`` see every call. A failing example
does not stop the batch: its exception takes its place in the results, unless more than
``max_errors`` examples fail, which raises :class:`BatchError` (carrying the results so far).
"""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from pliable.errors import RUN_STOPPING, BatchError, UsageError
from pliable.programs.tracing import ContextThreadPool

if TYPE_CHECKING:
    from pliable.data.example import Prediction
    from pliable.programs.module import Module

__all__ = ["BatchError", "run_batch"]

logger = logging.getLogger(__name__)
_PENDING = object()  # not run (yet); a program may legitimately return None


def _inputs_of(item: Mapping[str, Any]) -> dict[str, Any]:
    from pliable.data.example import Example

    if isinstance(item, Example) and item.input_keys is not None:
        return dict(item.inputs())
    if isinstance(item, Mapping):
        return dict(item)
    raise UsageError(
        f"batch() takes Examples or dicts of inputs; got {type(item).__name__}: {item!r}."
    )


def _progress(total: int, enabled: bool | None) -> Any:
    show = sys.stderr.isatty() if enabled is None else enabled
    if not show:
        return None
    from tqdm import tqdm

    return tqdm(total=total, unit="ex", leave=False)


def run_batch(
    program: Module,
    items: Iterable[Mapping[str, Any]],
    *,
    num_threads: int = 4,
    max_errors: int | None = None,
    progress: bool | None = None,
) -> list[Prediction | Exception]:
    """``program(**inputs)`` for each item, in parallel; results in input order."""
    inputs = [_inputs_of(item) for item in items]
    if num_threads < 1:
        raise UsageError(f"num_threads must be at least 1; got {num_threads}.")
    results: list[Any] = [_PENDING] * len(inputs)
    errors = 0
    lock = threading.Lock()
    stop = threading.Event()
    bar = _progress(len(inputs), progress)

    def run(index: int) -> None:
        nonlocal errors
        if stop.is_set():
            return
        try:
            results[index] = program(**inputs[index])
        except RUN_STOPPING:  # not about this example: every other one would hit it too
            stop.set()
            raise
        except Exception as exc:  # kept per example; the batch goes on
            logger.debug("batch example %d failed: %r", index, exc)
            results[index] = exc
            with lock:
                errors += 1
                if max_errors is not None and errors > max_errors:
                    stop.set()
        finally:
            if bar is not None:
                bar.update(1)

    try:
        with ContextThreadPool(max_workers=min(num_threads, max(1, len(inputs)))) as pool:
            list(pool.map(run, range(len(inputs))))
    finally:
        if bar is not None:
            bar.close()
    if stop.is_set():
        first = next(r for r in results if isinstance(r, Exception))
        done = [None if r is _PENDING else r for r in results]
        raise BatchError(
            f"{errors} examples failed, more than max_errors={max_errors}; stopped early. "
            f"First error: {first!r}",
            done,
        ) from first
    return [r for r in results if r is not _PENDING]
