"""The optimizer interface: ``optimizer.compile(program, trainset=..., valset=...)``.

Every optimizer works on a copy (the program passed in is never changed) and:

* takes a ``budget`` (:class:`~pliable.Budget`): when it runs out the optimizer stops
  cleanly and returns the best program found so far, with a note in the report;
* plans before it spends: :meth:`Optimizer.estimate` gives the LM calls (and cost, where
  pricing is known) a compile would make;
* with ``run_dir``, logs every evaluated example, candidate and LM request to
  ``run_dir/run.jsonl`` and resumes from it after a crash, Ctrl-C or ``kill -9``: the
  requests of every earlier invocation count against the budget and in the report, and the
  answers they got are replayed (cache or no cache), so only the requests in flight at a
  kill are sent again. For an optimizer that records no candidates of its own
  (``BootstrapFewShot``, ``LabeledFewShot``, ``KNNFewShot``) the log gets the program passed
  in and the compiled one as ``candidate`` events (``report.candidates`` stays empty);
* selects honestly: the final choice is measured on the valset against the program passed
  in (the baseline) with a paired bootstrap, and a difference inside the noise keeps the
  baseline unless ``require_significance=False``;
* measures the majority-answer floor on the valset (always the trainset's most common
  answer, 0 LM calls; see :func:`~pliable.evaluation.floor.majority_floor`) where one applies,
  and says in the same note when a program that beats the baseline does not beat the floor;
* attaches a :class:`~pliable.optimizers.report.CompileReport` (``compiled.report``).
"""

from __future__ import annotations

import json
import logging
import os
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from typing import Any

from pliable.data.example import Example
from pliable.errors import BudgetExceededError, UsageError
from pliable.evaluation.floor import Floor
from pliable.lm.budget import Budget
from pliable.lm.usage import track_usage
from pliable.optimizers.estimate import Estimate, price_per_call
from pliable.optimizers.report import CompileReport, fingerprint
from pliable.optimizers.run import Run, Scores, candidate_entry
from pliable.optimizers.runlog import RunLog
from pliable.optimizers.selection import select
from pliable.optimizers.state import state_hash
from pliable.programs.module import Module

__all__ = ["BASELINE", "COMPILED", "Optimizer"]

logger = logging.getLogger(__name__)

#: The names of the candidates logged for an optimizer that records none of its own.
BASELINE = "baseline (the program passed in)"
COMPILED = "compiled program"


def _check_int(owner: str, name: str, value: Any, low: int | None = None, hint: str = "") -> int:
    """``value``, if it is an integer (not a bool) and at least ``low``; else a
    :class:`~pliable.errors.UsageError` naming ``owner(name=...)`` and the value, then ``hint``
    (what to do)."""
    if isinstance(value, bool) or not isinstance(value, int) or (low is not None and value < low):
        wanted = "an integer" + (f" >= {low}" if low is not None else "")
        raise UsageError(
            f"{owner}({name}=...) must be {wanted}; got {value!r}." + (f" {hint}" if hint else "")
        )
    return value


def _needs_valset(selects: str) -> str:
    """The message for a compile without the valset it selects on; ``selects`` says who
    selects what, e.g. ``"JointSearch selects"``."""
    return (
        f"{selects} on the valset: pass valset=... "
        "(pl.split(examples, train=..., dev=...) makes one)."
    )


def _jsonable_settings(settings: dict[str, Any]) -> dict[str, Any]:
    from pliable.adapters.values import to_jsonable

    out = {}
    for key, value in settings.items():
        try:
            out[key] = to_jsonable(value)
        except Exception:  # a setting that is an object: its repr identifies it
            out[key] = repr(value)
        if not isinstance(out[key], str | int | float | bool | list | dict | type(None)):
            out[key] = repr(value)
    return out


def _metric_identity(metric: Any) -> str | None:
    if metric is None:
        return None
    from pliable.data.score import metric_name

    fn = getattr(metric, "__qualname__", None) or type(metric).__qualname__
    return f"{getattr(metric, '__module__', '?')}:{fn}:{metric_name(metric)}"


def _lm_identity() -> str | None:
    from pliable import settings

    lm = settings.current().lm
    if lm is None:
        return None
    defaults = getattr(lm, "defaults", {}) or {}
    from pliable.lm.options import is_secret_option

    shown = {k: v for k, v in sorted(defaults.items()) if not is_secret_option(k)}
    return f"{getattr(lm, 'model', type(lm).__name__)} {json.dumps(shown, default=str)}"


def _log_own_candidates(
    run: Run,
    program: Module,
    baseline: Scores,
    baseline_calls: int,
    compiled: Module,
    final: Scores | None,
) -> None:
    """Log the program passed in and the compiled one (when it differs) as ``candidate``
    events, for an optimizer that recorded no candidates (in this invocation or an earlier
    one of the same run), so the report page plots and compares them like any other.

    The events carry the fields of :meth:`Run.candidate`'s, plus ``role`` (``"baseline"`` or
    ``"compiled"``). They go to the run log only: ``report.candidates`` stays the
    optimizer's own (empty), so the selection and the summary count no candidates that were
    never searched over. A resumed run does not log an event the log already holds (the
    same name and state)."""
    log = run.log
    if log is None or run.report.candidates:
        return
    logged = [e for e in log.events if e.get("event") == "candidate"]
    if any(not e.get("role") for e in logged):  # the optimizer's own, from an earlier run
        return
    seen = {(e.get("name"), e.get("state")) for e in logged}
    events = [_candidate_event(run, 1, BASELINE, program, baseline, baseline_calls, None)]
    if state_hash(compiled) != events[0]["state"]:
        events.append(_candidate_event(run, 2, COMPILED, compiled, final, run.lm_calls()))
    for event in events:
        if (event["name"], event["state"]) not in seen:
            log.append(event)


def _candidate_event(
    run: Run,
    number: int,
    name: str,
    program: Module,
    scores: Scores | None,
    lm_calls: int,
    parent: str | None = BASELINE,
) -> dict[str, Any]:
    """The ``candidate`` event :meth:`Run.candidate` would log for ``program``, with its
    ``role`` in the compile (see :func:`_log_own_candidates`)."""
    role = "baseline" if name == BASELINE else "compiled"
    entry = candidate_entry(
        number, name, program, full=scores, parent=parent, lm_calls=lm_calls, role=role
    )
    return run.candidate_event(entry, program, scores)


def _with_adapters_pinned(program: Module) -> Module:
    """``program``, or a copy whose predictors without an adapter hold the one their calls
    use now (the default for the LM in use: JSON where it enforces a schema, else chat), so
    the compiled file names the format that was measured."""
    if all(p.adapter is not None for p in program.predictors()):
        return program
    pinned = program.deepcopy()
    for predictor in pinned.predictors():
        if predictor.adapter is None:
            predictor.adapter = predictor.resolved_adapter()
    return pinned


class Optimizer(ABC):
    """Base class: subclasses implement :meth:`_compile` (and :meth:`_plan` for estimates)."""

    #: Fix each predictor's default adapter at the start of a compile (see
    #: :func:`_with_adapters_pinned`); soft-prompt optimizers set their own LM and do not.
    pins_adapters = True

    metric: Callable[..., Any] | None = None
    num_threads: int = 4

    @property
    def name(self) -> str:
        return type(self).__name__

    def settings(self) -> dict[str, Any]:
        """The optimizer's settings, as saved in the report: an LM becomes its model name, a
        program (a teacher) its type and state hash, and a helper object with ``settings()``
        (a proposer) its type and settings."""
        out: dict[str, Any] = {}
        for key, value in vars(self).items():
            if key.startswith("_") or key == "metric":
                continue
            if callable(getattr(value, "complete", None)):  # a language model
                value = getattr(value, "model", type(value).__name__)
            elif isinstance(value, Module):  # a teacher program: its kind and its state
                value = {"program": type(value).__name__, "state": state_hash(value)}
            elif callable(getattr(value, "settings", None)):
                value = {"type": type(value).__name__, **value.settings()}
            out[key] = value
        return out

    # -- planning --------------------------------------------------------------------------

    def _plan(self, n_predictors: int, n_train: int, n_val: int) -> dict[str, int]:
        """Planned LM calls per phase of :meth:`_compile` (upper bounds). Default: none."""
        return {}

    def estimate(
        self,
        program: Module,
        *,
        trainset: Sequence[Example],
        valset: Sequence[Example] | None = None,
        budget: Budget | None = None,
    ) -> Estimate:
        """What :meth:`compile` would spend, before spending anything (``print()`` it)."""
        train = self._check_set(trainset, "trainset")
        val = self._check_set(valset, "valset") if valset is not None else []
        n_pred = len(program.named_predictors())
        phases: dict[str, int] = {}
        measured = bool(val) and self.metric is not None
        if measured:
            phases["baseline on the valset"] = len(val) * n_pred
        phases.update(self._plan(n_pred, len(train), len(val)))
        if measured:
            phases["final score on the valset"] = len(val) * n_pred
        model, tokens, usd = price_per_call(program, train or val)
        return Estimate(
            self.name,
            phases,
            model=model,
            prompt_tokens_per_call=tokens,
            usd_per_call=usd,
            budget=budget,
            notes=["assumes each predictor is called once per example; cache hits are free"],
        )

    # -- compiling -------------------------------------------------------------------------

    def compile(
        self,
        program: Module,
        *,
        trainset: Sequence[Example],
        valset: Sequence[Example] | None = None,
        budget: Budget | None = None,
        run_dir: str | os.PathLike[str] | None = None,
        require_significance: bool = True,
        progress: bool | None = None,
    ) -> Module:
        """A compiled copy of ``program``, with its report in ``.report``.

        Args:
            trainset: examples to learn from (demos, bootstrapping, proposals).
            valset: examples to select on; with a metric, the baseline and the final program
                are scored on it, and the final choice is made on it.
            budget: limits on LM calls, tokens, cost and time (cache hits are free).
            run_dir: a folder for the run log and the best program so far; a compile with
                the same program, data and settings resumes from it.
            require_significance: keep the program passed in unless the compiled one beats
                it on the valset beyond the noise (a paired bootstrap's 95% interval).
            progress: show progress bars (default: when stderr is a terminal).
        """
        if budget is not None and not isinstance(budget, Budget):
            raise UsageError(
                f"compile(budget=...) takes a pl.Budget(lm_calls=..., tokens=..., usd=..., "
                f"seconds=...); got {type(budget).__name__} {budget!r}."
            )
        train = self._check_set(trainset, "trainset")
        val = self._check_set(valset, "valset") if valset is not None else None
        self._check_teacher(program)
        dataset = {
            "train_size": len(train),
            "val_size": len(val or []),
            "train_fingerprint": fingerprint(train),
            "val_fingerprint": fingerprint(val) if val else None,
        }
        floor = self._floor(program, train, val)
        if self.pins_adapters:
            program = _with_adapters_pinned(program)
        settings = _jsonable_settings(self.settings())
        log = None
        if run_dir is not None:
            header = {
                "optimizer": self.name,
                "settings": settings,
                "dataset": dataset,
                "program": state_hash(program),
                # scores are reused on resume only for the same metric and default LM
                "metric": _metric_identity(self.metric),
                "lm": _lm_identity(),
            }
            log = RunLog(run_dir, header)
            if floor is not None:  # so the report page of a crashed run shows it too
                log.append({"event": "floor", "floor": floor.to_dict()})
        report = CompileReport(optimizer=self.name, settings=settings, dataset=dataset)
        report.floor = floor.to_dict() if floor is not None else None
        if budget is not None:
            report.budget = budget.to_dict()
        start = time.perf_counter()
        prior = log.prior if log is not None else None
        with track_usage(budget=budget, prior=prior, journal=log) as usage:
            run = Run(
                report=report,
                metric=self.metric,
                num_threads=self.num_threads,
                progress=progress,
                usage=usage,
                log=log,
                require_significance=require_significance,
                floor=floor,
            )
            if log is not None and log.resumed:
                run.note(f"resumed from {log.path}: {log.prior.lm_calls} LM calls were made before")
            compiled = self._run(program, train, val, run)
        report.add_usage(usage, before=log.before if log is not None else None)
        report.wall_time = time.perf_counter() - start + (prior.seconds if prior else 0.0)
        if log is not None:
            report.run_dir = str(log.dir)
            log.append({"event": "end", "report": report.to_dict(), "spent": run.spent()})
            from pliable.compiled.io import save

            try:
                save(compiled, log.dir / "final.json", report=report.to_dict())
            except Exception as exc:  # the compile succeeded; only the copy on disk failed
                logger.warning("could not save the final program to %s: %r", log.dir, exc)
        compiled.report = report
        return compiled

    def _check_teacher(self, program: Module) -> None:
        """Refuse a ``teacher`` of another shape than ``program`` before any LM call."""
        teacher = getattr(self, "teacher", None)
        if not isinstance(teacher, Module):
            return
        mine = sorted(n for n, _ in program.named_predictors())
        theirs = sorted(n for n, _ in teacher.named_predictors())
        if mine != theirs:
            raise UsageError(
                f"{self.name}: the teacher's predictors {theirs} differ from the program's "
                f"{mine}; use a teacher of the same shape (e.g. a copy of the program whose "
                "predictors use a stronger LM)."
            )

    def _floor(
        self, program: Module, train: list[Example], val: list[Example] | None
    ) -> Floor | None:
        """The majority-answer floor on the valset (0 LM calls), where one applies."""
        if not val or self.metric is None:
            return None
        from pliable.evaluation.floor import majority_floor

        return majority_floor(program, val, self.metric, trainset=train)

    def _run(
        self, program: Module, train: list[Example], val: list[Example] | None, run: Run
    ) -> Module:
        report = run.report
        measured = bool(val) and self.metric is not None
        baseline: Scores | None = None
        baseline_calls = 0  # LM calls spent when the baseline had been scored
        try:
            if measured:
                assert val is not None
                baseline = run.evaluate(program, val, progress=run.progress)
                baseline_calls = run.lm_calls()
                report.baseline = baseline.summary()
            compiled = self._compile(program.deepcopy(), train, val, run)
        except BudgetExceededError as exc:
            report.stopped = str(exc)
            if run.best is not None:
                compiled = run.best[1]
                run.note(f"budget reached; returning the best candidate so far: {run.best[2]}")
            else:
                compiled = program.deepcopy()
                run.note("budget reached before any candidate was scored; returning the program")
        final: Scores | None = None
        if measured and baseline is not None:
            assert val is not None
            try:
                final = run.evaluate(compiled, val, progress=run.progress)
            except BudgetExceededError as exc:
                report.stopped = report.stopped or str(exc)
                run.note("budget reached before the final score; the final program is unmeasured")
        if baseline is not None:
            _log_own_candidates(run, program, baseline, baseline_calls, compiled, final)
        return self._select(program, compiled, baseline, final, run)

    def _select(
        self,
        program: Module,
        compiled: Module,
        baseline: Scores | None,
        final: Scores | None,
        run: Run,
    ) -> Module:
        """Honest selection (:func:`pliable.optimizers.selection.select`)."""
        return select(program, compiled, baseline, final, run)

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
        run: Run,
    ) -> Module:
        """Write demos / instructions into ``student`` (a copy) and return it.

        Score candidates with ``run.evaluate`` and record them with ``run.candidate``; a
        :class:`~pliable.errors.BudgetExceededError` may be left to propagate (the base
        then returns ``run.best``) or caught to finish with what was found."""
