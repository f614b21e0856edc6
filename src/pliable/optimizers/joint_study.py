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
  loads) that one, so all of them see the same full-valset scores and pick the same program.

Claims: a worker asks Optuna for a trial, then keeps it only if fewer than the limit of trials
that completed or are running in live workers come before it; otherwise it tells it failed
(``pliable_surplus``; nothing evaluated). With a URL storage every running trial records a
heartbeat; a trial silent for three heartbeats (its worker died) is failed and queued again
with the same parameters (:class:`optuna.storages.RetryHeartbeatStaleTrialCallback`); a worker
with nothing left to claim waits for the running trials of the others, then finishes, and
drops the queued trials the study no longer needs.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import threading
import time
import warnings
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any

from pliable.adapters.values import coerce, to_jsonable
from pliable.data.example import Example
from pliable.errors import UsageError
from pliable.optimizers.joint_space import Config, Space
from pliable.optimizers.run import Run, Scores
from pliable.programs.module import Module

if TYPE_CHECKING:
    import optuna

__all__ = [
    "HEARTBEAT",
    "SharedStudy",
    "Recorded",
    "config_key",
    "finish",
    "known",
    "most_promising",
    "open_storage",
    "parse_key",
    "remember",
    "score_full",
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


def remember(run: Run, state: str, rows: dict[str, float]) -> None:
    """Give ``run`` the scores another worker recorded for the program with ``state``, so it
    does not run those examples again."""
    for key, score in rows.items():
        run._memo.setdefault((state, key), (float(score), None))


def known(run: Run, state: str, keys: Iterable[str]) -> dict[str, float]:
    """The scores ``run`` remembers for the program with ``state`` (rows without errors)."""
    return {k: run._memo[(state, k)][0] for k in keys if (state, k) in run._memo}


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


def _space_blob(space: Space, recipe: str) -> dict[str, Any]:
    demos = {
        name: [[[to_jsonable(dict(d)), sorted(d.input_keys or ())] for d in s] for s in sets]
        for name, sets in space.demos.items()
    }
    return {"key": space.key, "recipe": recipe, "instructions": space.instructions, "demos": demos}


def _space_from(blob: Any, student: Module) -> Space | None:
    """The space stored in ``blob`` for ``student``'s predictors, or None if it does not fit
    them or does not rebuild to the same key."""
    try:
        predictors = dict(student.named_predictors())
        demos: dict[str, list[list[Example]]] = {}
        for name, sets in blob["demos"].items():
            fields = predictors[name].signature.fields
            demos[name] = []
            for rows in sets:
                built = []
                for values, inputs in rows:
                    typed = {
                        k: v if k not in fields else coerce(fields[k].annotation, v)
                        for k, v in values.items()
                    }
                    example = Example(typed)
                    built.append(example.with_inputs(*inputs) if inputs else example)
                demos[name].append(built)
        instructions = {n: list(map(str, texts)) for n, texts in blob["instructions"].items()}
        space = Space(instructions, demos)
    except Exception:  # written by another version, or for another program
        return None
    same = space.key == blob.get("key") and sorted(space.names) == sorted(predictors)
    return space if same else None


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
        space = _space_from(blob, student)
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
            stored = _space_from(blob, student)
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
        while self.storage is not None:  # in memory: this process is the only worker
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
                blob = _space_blob(space, recipe)
                self.study.set_user_attr("pliable_candidates", blob)
                self.study.set_user_attr("pliable_space", space.key)
                self.study.set_user_attr("pliable_instructions", space.instructions)
        finally:
            if self.storage is not None:
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

    def claim(self, limit: int) -> optuna.Trial | None:
        """A new trial for this worker, or None when ``limit`` trials are completed or running
        before it (it is then told failed, as surplus, before any parameter is chosen)."""
        from optuna.trial import TrialState

        with _quiet():
            trial = self.study.ask()
        if self.heartbeat:  # at once: a worker killed from now on leaves a trial gone stale
            self.storage.record_heartbeat(trial._trial_id)
        ahead = sum(
            1
            for t in self._trials(TrialState.COMPLETE, TrialState.RUNNING)
            if t.number < trial.number and (t.state == TrialState.COMPLETE or self._live(t))
        )
        if ahead >= limit:
            trial.set_user_attr("pliable_surplus", True)
            self.study.tell(trial, state=TrialState.FAIL)
            return None
        trial.set_user_attr("pliable", {"space": self.key, "heartbeat": self.heartbeat})
        if self.storage is not None:  # shared: each trial samples with a seed of its own, so
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
                    self.storage.record_heartbeat(trial._trial_id)
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
        rows = known(run, state, scores.keys)
        try:
            trial.set_user_attr("pliable_scores", {"state": state, "rows": rows})
        except Exception:  # finished already: failed as stale, and queued again
            logger.warning("trial %d was failed while it ran (missed heartbeats)", trial.number)
        self.study.tell(trial, scores.mean, skip_if_finished=True)

    def fail(self, trial: optuna.Trial) -> None:
        from optuna.trial import TrialState

        self.study.tell(trial, state=TrialState.FAIL, skip_if_finished=True)

    def rows(self, state: str) -> dict[str, float]:
        """Per-example scores the study holds for ``state`` (its trials and full evaluations)."""
        from optuna.trial import TrialState

        out: dict[str, float] = {}
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
            "rows": known(run, state, scores.keys),  # without errors: to remember
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


Recorded = dict[Config, tuple[Scores, Module, int]]  # full-valset scores, program, first trial


def _valid(space: Space, config: Config) -> bool:
    return len(config) == len(space.names) and all(
        i < len(space.instructions[n]) and d < len(space.demos[n])
        for n, (i, d) in zip(space.names, config, strict=True)
    )


def score_full(
    run: Run,
    shared: SharedStudy,
    space: Space,
    student: Module,
    valset: list[Example],
    found: tuple[Config, list[int], float],
    recorded: Recorded,
    record: dict[str, Any] | None = None,
) -> None:
    """Score a configuration (``found``: it, its trial numbers and minibatch mean) on the full
    valset, or take the scores another worker recorded (``record``); list it in the report."""
    from pliable.optimizers.state import state_hash

    config, numbers, mean = found
    program, extra = space.build(student, config), dict[str, Any]()
    scores = SharedStudy.scores_of(record) if record is not None else None
    if scores is None:
        remember(run, state_hash(program), shared.rows(state_hash(program)))
        scores = run.evaluate(program, valset, progress=run.progress)
        shared.store_full(config, scores, numbers, mean, state_hash(program), run)
    else:
        remember(run, state_hash(program), (record or {}).get("rows") or {})
        extra["shared"] = True  # scored by another worker (or an earlier run) of the study
    run.candidate(
        f"trial {numbers[0]} on the full valset",
        program,
        full=scores,
        parent=f"trial {numbers[0]}",
        trials=numbers,
        minibatch_mean=mean,
        choice=space.describe(config),
        **extra,
    )
    recorded[config] = (scores, program, numbers[0])


def finish(
    run: Run,
    shared: SharedStudy,
    space: Space,
    student: Module,
    valset: list[Example],
    recorded: Recorded,
    baseline: tuple[Scores, Module, str],
    num_trials: int,
) -> None:
    """The end of a worker's search, once the other workers' trials are done: score the
    configuration the study chose for its end on the full valset (the most promising one not
    yet scored, chosen once per number of completed trials), take every full-valset score the
    study holds, and make the best of them ``run.best`` (ties keep the baseline, then the
    configuration tried first), so every worker picks the same program."""
    while shared.wait(retries=False):  # their periodic full evaluations run in their trials
        pass
    trials = shared.completed(space)
    if len(trials) >= num_trials:
        shared.drop_retries()
    records = shared.full_records()
    done = {parse_key(k) for k, r in records.items() if "values" in r}
    found = most_promising(trials, done | set(recorded))
    target = shared.final_choice(len(trials), found[0] if found else None)
    if target is not None and target not in recorded:
        stats = most_promising([t for t in trials if t[0] == target], set())
        if stats is not None:
            record = records.get(config_key(target))
            score_full(run, shared, space, student, valset, stats, recorded, record)
    records = shared.full_records()
    for key, record in sorted(records.items(), key=lambda kv: kv[1].get("trials", [-1])[0]):
        config = parse_key(key)
        if "values" in record and config not in recorded and _valid(space, config):
            found = (config, [int(n) for n in record["trials"]], float(record["minibatch_mean"]))
            score_full(run, shared, space, student, valset, found, recorded, record)
    best, order = baseline, -1
    for scores, program, first in recorded.values():
        if (scores.mean, -first) > (best[0].mean, -order):
            best, order = (scores, program, f"trial {first} on the full valset"), first
    if run.best is None or best[1] is not run.best[1]:
        run.best = best
        run._save_best(best[1])


def parse_key(key: str) -> Config:
    """The configuration a study attribute names (see :func:`config_key`)."""
    return tuple((int(i), int(d)) for i, d in (part.split("-") for part in key.split(",")))
