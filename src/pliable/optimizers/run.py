"""``Run``: what an optimizer's ``_compile`` works with while it searches.

It scores candidates (``run.evaluate``), remembering every example's score by the
candidate's state hash, so a candidate seen twice (or in an earlier, interrupted run with the
same ``run_dir``) is never run again. It records candidates in the report and the run log,
keeps the best one scored on the full valset, and saves it to ``run_dir/best.json`` whenever
it changes, so a crash leaves the best program found so far on disk.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pliable.data.example import Example
from pliable.optimizers.report import CompileReport, ScoreSummary
from pliable.optimizers.runlog import RunLog, row_event
from pliable.optimizers.state import example_key, instructions_of, program_state, state_hash
from pliable.programs.module import Module

if TYPE_CHECKING:
    from pliable.evaluation.floor import Floor
    from pliable.lm.usage import UsageTracker

__all__ = ["IDLE_STEPS", "Run", "Scores"]

IDLE_STEPS = 5  # a search filling its budget stops after this many steps in a row made no call

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Scores:
    """Per-example scores of one candidate on some examples (in the order given)."""

    values: tuple[float, ...]
    keys: tuple[str, ...]
    errors: int = 0
    first_error: str | None = None  # the message of the first example that raised

    @property
    def n(self) -> int:
        return len(self.values)

    @property
    def mean(self) -> float:
        return sum(self.values) / len(self.values) if self.values else 0.0

    @property
    def total(self) -> float:
        return float(sum(self.values))

    def summary(self) -> ScoreSummary:
        from pliable.evaluation.stats import bootstrap_mean_ci

        low, high = bootstrap_mean_ci(self.values) if self.values else (0.0, 0.0)
        return ScoreSummary(self.mean, low, high, self.n, self.errors, self.first_error)


def candidate_entry(
    number: int,
    name: str,
    program: Module,
    *,
    full: Scores | None = None,
    minibatch: Scores | None = None,
    parent: str | None = None,
    lm_calls: int = 0,
    **extra: Any,
) -> dict[str, Any]:
    """A candidate as the report lists it: its number, name, state, parent, demos,
    instructions, scores and the LM calls spent when it was recorded."""
    return {
        "id": number,
        "name": name,
        "state": state_hash(program),
        "parent": parent,
        "demos": sum(len(p.demos) for p in program.predictors()),
        "instructions": instructions_of(program),
        "score": full.mean if full is not None else None,
        "minibatch_score": minibatch.mean if minibatch is not None else None,
        "minibatch_size": minibatch.n if minibatch is not None else None,
        "lm_calls": lm_calls,
        **extra,
    }


class Run:
    """The state of one ``compile`` call, handed to ``Optimizer._compile``."""

    def __init__(
        self,
        *,
        report: CompileReport,
        metric: Callable[..., Any] | None,
        num_threads: int,
        progress: bool | None,
        usage: UsageTracker,
        log: RunLog | None = None,
        chunk_size: int = 16,
        require_significance: bool = True,
        floor: Floor | None = None,
    ) -> None:
        self.require_significance = require_significance
        #: The majority-answer floor on the valset (None when none applies).
        self.floor = floor
        self.report = report
        self.metric = metric
        self.num_threads = num_threads
        self.progress = progress
        self.usage = usage
        self.log = log
        self.chunk_size = max(1, chunk_size)
        self.best: tuple[Scores, Module, str] | None = None
        self._memo: dict[tuple[str, str], tuple[float, str | None]] = {}
        self._full: dict[str, Scores] = {}  # each candidate's full-valset scores, by state
        self._evaluated = [0, 0]  # examples run (not remembered) and the LM calls they made
        self._counter = 0
        if log is not None:
            self._memo.update(log.rows)

    # -- scoring ---------------------------------------------------------------------------

    def evaluate(
        self, program: Module, examples: Sequence[Example], *, progress: bool | None = False
    ) -> Scores:
        """Score ``program`` on ``examples``; examples already scored for the same state are
        not run again. A :class:`~pliable.errors.BudgetExceededError` propagates (the rows
        finished before it are kept)."""
        assert self.metric is not None, "Run.evaluate needs a metric"
        state = state_hash(program)
        keys = [example_key(ex) for ex in examples]
        todo = [i for i, k in enumerate(keys) if (state, k) not in self._memo]
        fresh: dict[str, tuple[float, str | None]] = {}
        calls_before = self.usage.spent().lm_calls
        try:
            self._evaluate_chunks(program, examples, state, keys, todo, fresh, progress)
        finally:
            self._evaluated[0] += len(fresh)
            self._evaluated[1] += self.usage.spent().lm_calls - calls_before
        got = [fresh.get(k) or self._memo[(state, k)] for k in keys]
        errors = [g[1] for g in got if g[1]]
        return Scores(
            tuple(g[0] for g in got),
            tuple(keys),
            len(errors),
            (errors[0].splitlines() or [""])[0][:300] if errors else None,  # saved in the report
        )

    def _evaluate_chunks(
        self,
        program: Module,
        examples: Sequence[Example],
        state: str,
        keys: list[str],
        todo: list[int],
        fresh: dict[str, tuple[float, str | None]],
        progress: bool | None,
    ) -> None:
        from pliable.evaluation import evaluate

        assert self.metric is not None
        for start in range(0, len(todo), self.chunk_size):
            chunk = todo[start : start + self.chunk_size]
            result = evaluate(
                program,
                [examples[i] for i in chunk],
                self.metric,
                num_threads=self.num_threads,
                max_errors=len(chunk),
                progress=progress,
                floor=False,  # the compile measures the floor once, on the whole valset
            )
            rows = []
            for i, row in zip(chunk, result.rows, strict=True):
                fresh[keys[i]] = (row.score, row.error)
                if row.error is None:  # a failure may be passing (a timeout): retried next time
                    self._memo[(state, keys[i])] = (row.score, None)
                if self.log is not None:
                    rows.append(row_event(state, keys[i], row))
            if self.log is not None:
                shown = {keys[i]: examples[i] for i in chunk}  # for the report page
                self.log.append_rows(rows, spent=self.spent(), examples=shown)

    def calls_per_example(self, default: float) -> float:
        """LM calls one run of a program has made per example so far (cache hits are free),
        or ``default`` before any example ran."""
        examples, calls = self._evaluated
        return calls / examples if examples else default

    def scores_of(self, state: str, keys: Sequence[str]) -> tuple[float, ...] | None:
        """The remembered scores of the program with ``state`` on the examples with ``keys``
        (in that order), or None unless every one of them was scored."""
        full = self._full.get(state)
        if full is not None and list(full.keys) == list(keys):  # errors included, as 0
            return full.values
        got = [self._memo.get((state, k)) for k in keys]
        if any(g is None for g in got):
            return None
        return tuple(g[0] for g in got if g is not None)

    def known_rows(self, state: str, keys: Iterable[str]) -> dict[str, float]:
        """The remembered scores of the program with ``state`` on those of the examples with
        ``keys`` it was scored on without an error, by key (:meth:`scores_of` wants them all)."""
        return {k: self._memo[(state, k)][0] for k in keys if (state, k) in self._memo}

    def remember_rows(self, state: str, rows: Mapping[str, float]) -> None:
        """Take scores of the program with ``state`` recorded elsewhere (by another worker of
        a shared search), by example key, so those examples are not run again; a score this
        run remembers already is kept."""
        for key, score in rows.items():
            self._memo.setdefault((state, key), (float(score), None))

    # -- spending --------------------------------------------------------------------------

    def spent(self) -> dict[str, Any]:
        return self.usage.spent().to_dict()

    def calls_left(self) -> int | None:
        """LM calls the budget still allows, or None when it sets no ``lm_calls`` limit."""
        budget = self.usage.budget
        if budget is None or budget.lm_calls is None:
            return None
        return max(0, budget.lm_calls - self.usage.spent().lm_calls)

    def room_to_fill(self, done: int, planned: int, *, step: int, idle: int, factor: int) -> bool:
        """Whether a search past its ``planned`` steps (``done`` so far) may run another to
        use its budget: the ``lm_calls`` budget has room for ``step`` calls, fewer than
        ``factor`` x ``planned`` steps ran, and fewer than ``IDLE_STEPS`` steps in a row
        (``idle``) made no LM call (all cached: more would find nothing new)."""
        left = self.calls_left()
        return left is not None and left >= step and done < factor * planned and idle < IDLE_STEPS

    def lm_calls(self) -> int:
        """LM calls made so far (cache hits are free)."""
        return self.usage.spent().lm_calls

    # -- candidates ------------------------------------------------------------------------

    def candidate(
        self,
        name: str,
        program: Module,
        *,
        full: Scores | None = None,
        minibatch: Scores | None = None,
        parent: str | None = None,
        **extra: Any,
    ) -> dict[str, Any]:
        """Record a candidate (in the report and the run log); a full-valset score makes it
        eligible as the best so far. Returns the recorded entry."""
        self._counter += 1
        entry = candidate_entry(
            self._counter,
            name,
            program,
            full=full,
            minibatch=minibatch,
            parent=parent,
            lm_calls=self.usage.spent().lm_calls,
            **extra,
        )
        self.report.candidates.append(entry)
        if full is not None:
            self._full[entry["state"]] = full
        if self.log is not None:
            self.log.append(self.candidate_event(entry, program, full))
        if full is not None and (self.best is None or full.mean > self.best[0].mean):
            self.best = (full, program, name)
            self._save_best(program)
        return entry

    def candidate_event(
        self, entry: dict[str, Any], program: Module, full: Scores | None
    ) -> dict[str, Any]:
        """The run log's ``candidate`` event for ``entry`` (see :func:`candidate_entry`):
        the entry, the program's state, its full-valset scores and the spend so far."""
        return {
            "event": "candidate",
            **entry,
            "program": program_state(program),
            "full": list(full.values) if full is not None else None,
            "full_keys": list(full.keys) if full is not None else None,
            "spent": self.spent(),
        }

    def set_best(self, best: tuple[Scores, Module, str]) -> None:
        """Make ``best`` (full-valset scores, program, name) the best candidate whatever its
        score, for an optimizer that picks by a rule of its own, and save it, unless its
        program is the best one already."""
        if self.best is not None and best[1] is self.best[1]:
            return
        self.best = best
        self._save_best(best[1])

    def _save_best(self, program: Module) -> None:
        if self.log is None:
            return
        from pliable.compiled.io import save

        try:
            save(program, self.log.dir / "best.json")
        except Exception as exc:  # a program that cannot be saved still compiles
            logger.warning("could not save the best program to %s: %r", self.log.dir, exc)

    def note(self, text: str) -> None:
        self.report.notes.append(text)
        logger.info("%s", text)
