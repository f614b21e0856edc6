"""What a run dir holds, read once for the report page (:func:`read_run`).

The run log (``run.jsonl``) gives the start event, the candidates, every example's row
(score, error and prediction) by program state, each example's inputs and labels, the floor,
the end event and the spend of every invocation (its journal of LM requests). For an
optimizer that records no candidates (``BootstrapFewShot``, ``LabeledFewShot``), the compile
logs the program passed in and the compiled one as candidates with a ``role`` (``"baseline"``,
``"compiled"``), so the page plots and compares them like any other. Such a run logged
before the compile did has no candidates: its page shows no chart, candidates or wins.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pliable.errors import UsageError
from pliable.optimizers.runlog import LOG_NAME, RunLog, logged_spend

__all__ = ["Row", "RunData", "measured", "read_run"]


@dataclass(frozen=True)
class Row:
    """One example's outcome for one program state, as the run log holds it."""

    score: float
    error: str | None = None
    prediction: Any = None
    logged: bool = False  # whether the log holds the prediction (older logs do not)


@dataclass
class RunData:
    """What a run dir holds."""

    dir: Path
    start: dict[str, Any]
    candidates: list[dict[str, Any]] = field(default_factory=list)
    rows: dict[str, dict[str, Row]] = field(default_factory=dict)  # state -> example key -> row
    end: dict[str, Any] | None = None
    spent: dict[str, Any] = field(default_factory=dict)
    logged_floor: dict[str, Any] | None = None
    examples: dict[str, dict[str, Any]] = field(default_factory=dict)  # key -> inputs, labels

    @property
    def compiled(self) -> dict[str, Any] | None:
        """The compiled program's candidate, logged by the compile for an optimizer that
        records none (see the module docstring); else None."""
        roles = [c for c in self.candidates if c.get("role") == "compiled"]
        return roles[-1] if roles else None

    @property
    def by_compile(self) -> bool:
        """Whether the candidates were logged by the compile (the optimizer recorded none)."""
        return any(c.get("role") for c in self.candidates)

    @property
    def report(self) -> dict[str, Any]:
        return dict(self.end.get("report") or {}) if self.end else {}

    @property
    def floor(self) -> dict[str, Any] | None:
        """The majority-answer floor: the report's, else the one logged at the start."""
        found = self.report.get("floor") or self.logged_floor
        return found if isinstance(found, dict) and found.get("score") is not None else None

    @property
    def best(self) -> dict[str, Any] | None:
        """The candidate with the best full-valset score (the earlier one on ties)."""
        scored = [c for c in self.candidates if c.get("score") is not None]
        return max(scored, key=lambda c: float(c["score"]), default=None)

    @property
    def final(self) -> dict[str, Any] | None:
        """The program compared with the baseline: the compiled one, else the best."""
        return self.compiled or self.best

    @property
    def initial(self) -> dict[str, Any] | None:
        """The candidate that is the program passed in, else the first one."""
        same = [c for c in self.candidates if c.get("state") == self.start.get("program")]
        return next(iter(same or self.candidates), None)

    @property
    def baseline_rows(self) -> dict[str, Row]:
        return self.rows.get(str(self.start.get("program")), {})

    @property
    def baseline(self) -> dict[str, Any] | None:
        """The report's baseline, else the one measured from the log's rows (a crash)."""
        found = self.report.get("baseline")
        return found or measured([r.score for r in self.baseline_rows.values()])

    @property
    def unscored(self) -> str | None:
        """Why no program was scored, when the optimizer has no metric; else None."""
        if "metric" not in self.start or self.start["metric"] is not None:
            return None
        name = self.start.get("optimizer", "the optimizer")
        return f"not measured: {name} was given no metric, so nothing was scored on the valset"

    @property
    def resumed(self) -> str | None:
        """The report's note that the run was resumed, or None."""
        notes = [str(n) for n in self.report.get("notes") or []]
        return next((n for n in notes if n.startswith("resumed from")), None)


def measured(values: list[float]) -> dict[str, Any] | None:
    """The mean of ``values`` with its bootstrap interval, as a report's score summary."""
    if not values:
        return None
    from pliable.evaluation.stats import bootstrap_mean_ci

    low, high = bootstrap_mean_ci(values)
    return {"score": sum(values) / len(values), "ci_low": low, "ci_high": high, "n": len(values)}


def read_run(run_dir: Path) -> RunData:
    """The run in ``run_dir``; a :class:`~pliable.errors.UsageError` if it is not a run dir."""
    path = run_dir / LOG_NAME
    if not path.is_file():
        raise UsageError(f"{str(run_dir)!r} is not a run dir: it has no {LOG_NAME}.")
    events = RunLog.read(path)
    if not events or events[0].get("event") != "start":
        raise UsageError(f"{path} is not a pliable run log (no start event).")
    run = RunData(run_dir, events[0])
    seen: set[tuple[Any, Any]] = set()
    unfinished = False
    for event in events[1:]:
        kind = event.get("event")
        if kind == "row":
            logged = "prediction" in event
            row = Row(event["score"], event.get("error"), event.get("prediction"), logged)
            run.rows.setdefault(event["state"], {})[event["example"]] = row
        elif kind == "example" and isinstance(event.get("example"), str):
            run.examples[event["example"]] = event
        elif kind == "candidate" and (event.get("name"), event.get("state")) not in seen:
            seen.add((event.get("name"), event.get("state")))  # a resumed run records again
            run.candidates.append(event)
        elif kind == "floor" and isinstance(event.get("floor"), dict):
            run.logged_floor = event["floor"]
        elif kind == "end":
            run.end, unfinished = event, False
        unfinished = unfinished or (kind in _WORK and run.end is not None)
    if unfinished:  # an invocation after the last end started and did not finish
        run.end = None
    run.spent = logged_spend(events)[1].to_dict()  # every request journaled, answered or not
    return run


_WORK = ("request", "row", "candidate")  # what only a running invocation writes
