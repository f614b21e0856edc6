"""The Optuna study of a :class:`~pliable.optimizers.joint_search.JointSearch`, shared by every
worker (process) that searches it.

What the study holds, besides Optuna's trials:

* ``pliable_candidates`` (study attribute): the search space (instructions and demo sets per
  predictor), its key, and the *recipe* it was built from (program, trainset and the settings
  that shape candidates). A worker with the same recipe loads it instead of bootstrapping and
  proposing again, so every worker searches the same candidates even with an LM that samples.
  Workers that start together all build; the study ``"<name>:candidates"``, created (an
  atomic insert) and deleted around the write, is the lock that lets one store its own and the
  others switch to it. A worker with another recipe whose candidates differ is refused.
* per trial, ``pliable`` (set when claimed: the space key and the heartbeat interval) and
  ``pliable_scores`` (set when told: the program's state hash and its per-example scores).
* ``pliable_full:<config>`` (study attributes): a configuration's full-valset scores (with the
  program's state hash and per-example scores), or a claim that a worker is scoring it, so
  workers do not score one configuration twice. Before scoring a program, a worker takes the
  per-example scores the study holds for it: an example is not run again for a program.
* ``pliable_final``: which configuration the end of the search scores on the full valset, for
  the number of completed trials it was chosen at: every worker finishing then scores (or
  loads) that one, so all of them see the same full-valset scores and pick the same program
  (:mod:`~pliable.optimizers.joint_final` scores them and picks).

Claims: a worker asks Optuna for a trial, then keeps it only if fewer than the limit of trials
that completed or are running in live workers come before it; otherwise it tells it failed
(``pliable_surplus``; nothing evaluated). With a URL storage every running trial records a
heartbeat; a trial silent for three heartbeats (its worker died) is failed and queued again
with the same parameters (:class:`optuna.storages.RetryHeartbeatStaleTrialCallback`); a worker
with nothing left to claim waits for the running trials of the others, then finishes, and
drops the queued trials the study no longer needs.

With ``storage=None`` the study is in memory and this process its only worker: nothing else
can have scored or claimed anything, so trials are not counted again when claimed and the
study's per-example scores are not read back (the run remembers them already).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import threading
import time
import warnings
from collections.abc import Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any

from pliable.errors import UsageError
from pliable.optimizers.joint_candidates import space_blob, space_from
from pliable.optimizers.joint_space import Config, Space
from pliable.optimizers.run import Run, Scores
from pliable.programs.module import Module

if TYPE_CHECKING:
    import optuna

__all__ = [
    "HEARTBEAT",
    "SharedStudy",
    "config_key",
    "most_promising",
    "open_storage",
    "parse_key",
]

logger = logging.getLogger(__name__)

HEARTBEAT = 10  # seconds between the heartbeats of a running trial, by default
MAX_RETRY = 2  # a trial whose worker died is run again at most this many times
_REFUSED = (
    "The Optuna study {name!r} was searched with other candidates (instructions or demo sets) "
    "than this run built, so its trials mean something else here. Use another study_name=..., "
    "or the same program, data, seed and settings as its runs."
)


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Optuna warns that heartbeats are meant for ``Study.optimize`` (we ask and tell) and that
    the retry callback and ``fail_stale_trials`` are experimental."""
    import optuna

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
        warnings.filterwarnings("ignore", message="Heartbeat of storage")
        yield


def open_storage(storage: Any, heartbeat: int, shown: Any) -> Any:
    """``storage`` as Optuna takes it: a URL becomes an RDBStorage whose running trials record
    a heartbeat every ``heartbeat`` seconds, failed after three silent ones and queued again.
    Workers that start together on an empty database race to create its tables: a failed
    attempt is retried (the tables are there the next time)."""
    if not isinstance(storage, str):
        return storage
    import optuna

    for attempt in range(4):
        try:
            with _quiet():
                retry = optuna.storages.RetryHeartbeatStaleTrialCallback(max_retry=MAX_RETRY)
                return optuna.storages.RDBStorage(
                    storage,
                    heartbeat_interval=heartbeat,
                    grace_period=3 * heartbeat,
                    heartbeat_stale_trial_callback=retry,
                )
        except Exception as exc:
            if attempt == 3:
                raise UsageError(
                    f"JointSearch could not open the Optuna storage {shown!r}: {exc}. Check "
                    "the storage URL, its driver (PostgreSQL: pip install 'psycopg[binary]') "
                    "and that its database is reachable."
                ) from exc
            time.sleep(0.2 + 0.3 * attempt)
    raise AssertionError("unreachable")


def most_promising(
    trials: list[tuple[Config, float, int]], skip: set[Config]
) -> tuple[Config, list[int], float] | None:
    """The configuration with the best mean minibatch score over its ``(config, score,
    number)`` trials, not in ``skip`` (ties: the one tried first), its trial numbers and mean."""
    scores: dict[Config, list[float]] = {}
    numbers: dict[Config, list[int]] = {}
    for config, value, number in sorted(trials, key=lambda t: t[2]):
        if config not in skip:
            scores.setdefault(config, []).append(value)
            numbers.setdefault(config, []).append(number)
    if not scores:
        return None
    best = max(scores, key=lambda c: (sum(scores[c]) / len(scores[c]), -numbers[c][0]))
    return best, numbers[best], sum(scores[best]) / len(scores[best])


def config_key(config: Config) -> str:
    """A configuration as a study attribute names it: ``"1-2,0-3"``."""
    return ",".join(f"{i}-{d}" for i, d in config)


class SharedStudy:
    """One worker's view of the study (see the module docstring)."""

    def __init__(
        self, study: optuna.Study, storage: Any, name: str, seed: int, startup: int
    ) -> None:
        self.study = study
        self.storage = storage
        self.name = name
        self.seed = seed
        self.startup = startup
        self.key = ""  # the key of the space this worker searches
        interval = storage.get_heartbeat_interval() if hasattr(storage, "record_heartbeat") else 0
        self.heartbeat: int = int(interval or 0)
        self._study_id: int | None = None
        self._trial_ids: dict[int, int] = {}  # by trial number, for heartbeats

    @property
    def alone(self) -> bool:
        """In memory (``storage=None``): this process is the study's only worker."""
        return self.storage is None

    @classmethod
    def open(cls, storage: Any, name: str, *, seed: int, startup: int, shown: Any) -> SharedStudy:
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)  # no log line per trial
        try:
            study = optuna.create_study(
                storage=storage,
                study_name=name,
                sampler=cls._sampler(seed, startup),
                direction="maximize",
                load_if_exists=True,
            )
        except Exception as exc:
            raise UsageError(
                f"JointSearch could not open the Optuna study {name!r} in storage={shown!r}: "
                f"{exc}. Check the storage URL and that its database is reachable."
            ) from exc
        return cls(study, storage, name, seed, startup)

    @staticmethod
    def _sampler(seed: int, startup: int) -> Any:
        import optuna

        return optuna.samplers.TPESampler(seed=seed, n_startup_trials=startup)

    # -- candidates ------------------------------------------------------------------------

    def stored_space(self, recipe: str, student: Module) -> Space | None:
        """The study's candidates if they were built from the same recipe."""
        blob = self.study.user_attrs.get("pliable_candidates")
        if not isinstance(blob, dict) or blob.get("recipe") != recipe:
            return None
        space = space_from(blob, student)
        if space is not None:
            self.key = space.key
        return space

    def adopt(self, space: Space, recipe: str, student: Module) -> tuple[Space, bool]:
        """The space to search: ``space``, stored in the study if it has none yet, or the
        study's own when it was built from the same recipe (then True). Other candidates from
        another recipe are refused."""
        attrs = self.study.user_attrs
        blob = attrs.get("pliable_candidates")
        known = blob.get("key") if isinstance(blob, dict) else attrs.get("pliable_space")
        if known is None:
            blob = self._publish(space, recipe)
            known = blob.get("key")
        if known == space.key:
            self.key = space.key
            return space, False
        if isinstance(blob, dict) and blob.get("recipe") == recipe:
            stored = space_from(blob, student)
            if stored is not None:
                self.key = stored.key
                return stored, True
        raise UsageError(_REFUSED.format(name=self.name))

    def _publish(self, space: Space, recipe: str) -> dict[str, Any]:
        """Store ``space`` as the study's candidates unless another worker stored its own: the
        study ``"<name>:candidates"``, created (atomically, in the database) and deleted
        around the write, is the lock; a worker that cannot take it waits for the holder's
        candidates (a minute at most)."""
        import optuna

        lock = f"{self.name}:candidates"
        deadline = time.monotonic() + 60
        while not self.alone:
            blob = self.study.user_attrs.get("pliable_candidates")
            if isinstance(blob, dict):
                return blob
            try:
                optuna.create_study(storage=self.storage, study_name=lock)
                break
            except optuna.exceptions.DuplicatedStudyError:
                if time.monotonic() > deadline:
                    raise UsageError(
                        f"The Optuna study {lock!r} has been there for a minute: a worker died "
                        "while it stored the candidates of the study. Delete it (optuna "
                        "delete-study) and start again."
                    ) from None
                time.sleep(0.2)
        try:
            blob = self.study.user_attrs.get("pliable_candidates")
            if not isinstance(blob, dict):  # stored before this worker took the lock
                blob = space_blob(space, recipe)
                self.study.set_user_attr("pliable_candidates", blob)
                self.study.set_user_attr("pliable_space", space.key)
                self.study.set_user_attr("pliable_instructions", space.instructions)
        finally:
            if not self.alone:
                optuna.delete_study(storage=self.storage, study_name=lock)
        return blob

    # -- trials ----------------------------------------------------------------------------

    def _trials(self, *states: Any) -> list[optuna.trial.FrozenTrial]:
        return self.study.get_trials(deepcopy=False, states=states or None)

    def _live(self, trial: optuna.trial.FrozenTrial) -> bool:
        """A running trial of a live worker: it records heartbeats (one that died is failed),
        or it is a few seconds old (a worker marks its trial just after asking for it)."""
        mark = trial.user_attrs.get("pliable")
        if isinstance(mark, dict) and mark.get("heartbeat"):
            return True
        start = trial.datetime_start
        young = 3 * (self.heartbeat or HEARTBEAT)
        return start is not None and (datetime.now() - start).total_seconds() < young

    def counts(self) -> tuple[int, int]:
        """Completed trials, and those plus the running ones of live workers (claimed)."""
        from optuna.trial import TrialState

        trials = self._trials(TrialState.COMPLETE, TrialState.RUNNING)
        complete = sum(1 for t in trials if t.state == TrialState.COMPLETE)
        running = sum(1 for t in trials if t.state == TrialState.RUNNING and self._live(t))
        return complete, complete + running

    def completed(self, space: Space) -> list[tuple[Config, float, int]]:
        """Every completed trial of the study: its configuration, minibatch mean and number."""
        from optuna.trial import TrialState

        out = []
        for t in self._trials(TrialState.COMPLETE):
            config = space.config_of(t.params)
            if config is not None and t.value is not None:
                out.append((config, t.value, t.number))
        return out

    def _ahead(self, trial: optuna.Trial) -> int:
        """Trials before ``trial`` that completed or are running in live workers."""
        from optuna.trial import TrialState

        return sum(
            1
            for t in self._trials(TrialState.COMPLETE, TrialState.RUNNING)
            if t.number < trial.number and (t.state == TrialState.COMPLETE or self._live(t))
        )

    def _trial_id(self, trial: optuna.Trial) -> int:
        """The storage's id of ``trial``, which its heartbeats are recorded under. Optuna
        keeps it in the private ``Trial._trial_id``; the storage's public API looks it up
        (once per trial) by the study's name and the trial's number."""
        found = self._trial_ids.get(trial.number)
        if found is None:
            if self._study_id is None:
                self._study_id = int(self.storage.get_study_id_from_name(self.name))
            lookup = self.storage.get_trial_id_from_study_id_trial_number
            found = self._trial_ids[trial.number] = int(lookup(self._study_id, trial.number))
        return found

    def claim(self, limit: int) -> optuna.Trial | None:
        """A new trial for this worker, or None when ``limit`` trials are completed or running
        before it (it is then told failed, as surplus, before any parameter is chosen). In
        memory, :meth:`counts` just said there is room, and nothing else can have taken it."""
        from optuna.trial import TrialState

        with _quiet():
            trial = self.study.ask()
        if self.heartbeat:  # at once: a worker killed from now on leaves a trial gone stale
            self.storage.record_heartbeat(self._trial_id(trial))
        if not self.alone and self._ahead(trial) >= limit:
            trial.set_user_attr("pliable_surplus", True)
            self.study.tell(trial, state=TrialState.FAIL)
            return None
        trial.set_user_attr("pliable", {"space": self.key, "heartbeat": self.heartbeat})
        if not self.alone:  # shared: each trial samples with a seed of its own, so
            # workers started alike do not draw the same choices (in memory: one seeded stream)
            digest = hashlib.sha256(f"{self.seed}:{trial.number}".encode()).digest()
            self.study.sampler = self._sampler(int.from_bytes(digest[:4], "big"), self.startup)
        return trial

    @contextlib.contextmanager
    def running(self, trial: optuna.Trial) -> Iterator[None]:
        """Record the trial's heartbeat while it runs (URL and heartbeat storages)."""
        if not self.heartbeat:
            yield
            return
        stop = threading.Event()

        def beat() -> None:
            while not stop.wait(self.heartbeat):
                try:
                    self.storage.record_heartbeat(self._trial_id(trial))
                except Exception as exc:  # the database may be back for the next one
                    logger.warning("could not record the heartbeat of a trial: %r", exc)

        thread = threading.Thread(target=beat, name="pliable-heartbeat", daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join()

    def tell(self, trial: optuna.Trial, scores: Scores, state: str, run: Run) -> None:
        """Record the trial's minibatch mean and its per-example scores (unless the trial was
        failed meanwhile: its heartbeats stopped reaching the database)."""
        rows = run.known_rows(state, scores.keys)
        try:
            trial.set_user_attr("pliable_scores", {"state": state, "rows": rows})
        except Exception:  # finished already: failed as stale, and queued again
            logger.warning("trial %d was failed while it ran (missed heartbeats)", trial.number)
        self.study.tell(trial, scores.mean, skip_if_finished=True)

    def fail(self, trial: optuna.Trial) -> None:
        from optuna.trial import TrialState

        self.study.tell(trial, state=TrialState.FAIL, skip_if_finished=True)

    def rows(self, state: str) -> dict[str, float]:
        """Per-example scores the study holds for ``state`` (its trials and full evaluations)
        that another worker may have recorded: none in memory (all of them are this run's)."""
        from optuna.trial import TrialState

        out: dict[str, float] = {}
        if self.alone:
            return out
        found = [t.user_attrs.get("pliable_scores") for t in self._trials(TrialState.COMPLETE)]
        for got in [*found, *self.full_records().values()]:
            if isinstance(got, dict) and got.get("state") == state:
                out.update(got.get("rows") or {})
        return out

    def wait(self, *, retries: bool = True) -> bool:
        """Fail the trials of dead workers (no heartbeat), then wait a moment if live workers
        have trials running: True then, or (``retries``) when failed trials wait to be run
        again; False otherwise, and always when heartbeats cannot tell the dead from the live."""
        from optuna.trial import TrialState

        if not self.heartbeat:
            return False
        import optuna

        with _quiet():
            optuna.storages.fail_stale_trials(self.study)
        if any(self._live(t) for t in self._trials(TrialState.RUNNING)):
            time.sleep(min(1.0, self.heartbeat / 2))
            return True
        return retries and bool(self._trials(TrialState.WAITING))

    def drop_retries(self) -> None:
        """Tell failed (as surplus) the trials still queued to be run again once the study has
        all its trials, so none is left waiting."""
        from optuna.trial import TrialState

        for _ in self._trials(TrialState.WAITING):
            with _quiet():
                trial = self.study.ask()  # takes a waiting one, or makes a new one
            trial.set_user_attr("pliable_surplus", True)
            self.study.tell(trial, state=TrialState.FAIL)

    # -- full evaluations ------------------------------------------------------------------

    def full_records(self) -> dict[str, dict[str, Any]]:
        """Every full-valset record (claims included), by configuration key."""
        prefix = "pliable_full:"
        attrs = self.study.user_attrs
        return {k[len(prefix) :]: v for k, v in attrs.items() if k.startswith(prefix)}

    def claim_full(self, config: Config) -> None:
        self.study.set_user_attr(f"pliable_full:{config_key(config)}", {"claimed": time.time()})

    def store_full(
        self, config: Config, scores: Scores, numbers: list[int], mean: float, state: str, run: Run
    ) -> None:
        record = {
            "state": state,
            "values": list(scores.values),
            "keys": list(scores.keys),
            "errors": scores.errors,
            "rows": run.known_rows(state, scores.keys),  # without errors: to remember
            "trials": numbers,
            "minibatch_mean": mean,
        }
        self.study.set_user_attr(f"pliable_full:{config_key(config)}", record)

    @staticmethod
    def scores_of(record: dict[str, Any]) -> Scores | None:
        if "values" not in record:
            return None  # a claim only
        values = tuple(float(v) for v in record["values"])
        return Scores(values, tuple(record["keys"]), int(record.get("errors", 0)))

    def final_choice(self, complete: int, config: Config | None) -> Config | None:
        """The configuration the end of the search scores at ``complete`` completed trials:
        the one already chosen at that count, else ``config`` (recorded for the others)."""
        mark = self.study.user_attrs.get("pliable_final")
        if isinstance(mark, dict) and mark.get("complete") == complete:
            chosen = mark.get("config")
            return tuple((int(i), int(d)) for i, d in chosen) if chosen else None
        self.study.set_user_attr(
            "pliable_final", {"complete": complete, "config": list(config) if config else None}
        )
        return config


def parse_key(key: str) -> Config:
    """The configuration a study attribute names (see :func:`config_key`)."""
    return tuple((int(i), int(d)) for i, d in (part.split("-") for part in key.split(",")))
