"""``JointSearch``: search instructions and demo sets together (MIPRO-style), with Optuna.

1. **Demo-set candidates** per predictor: index 0 is no demos, 1 is labeled demos
   (:class:`~pliable.optimizers.LabeledFewShot`), then bootstrapped sets
   (:class:`~pliable.optimizers.BootstrapFewShot`): the first from the trainset in order,
   the others from shuffled trainsets with a random number of demos (seeded). Duplicate sets
   are dropped.
2. **Instruction candidates** per predictor from an
   :class:`~pliable.optimizers.instruction_proposer.InstructionProposer` shown the first
   bootstrapped demo
   set; index 0 is the current instruction. The proposer's LM can differ (``prompt_lm=``).
3. **Trials**: Optuna's TPE sampler picks an instruction and a demo set for every predictor;
   the candidate is scored on a random minibatch of the valset and TPE is told its mean.
4. **Full evaluations**: every ``full_eval_every`` trials, and once at the end, the most
   promising configuration not yet scored on the full valset (the best mean minibatch score
   over all its trials) is scored there. The program passed in is the first full-valset
   candidate ("baseline"); the best full-valset score wins; ties keep the baseline, then the
   configuration tried first.

Scores are memoised by program state, so a configuration TPE repeats costs nothing for the
examples already seen, and a run resumed from its ``run_dir`` replays the same trials (the
seeded sampler gets the same scores back).

**Several workers.** With ``storage=`` (``"sqlite:///study.db"``, or a PostgreSQL URL for
workers on several machines) the study persists and worker processes given the same storage
and ``study_name`` share one search (:mod:`~pliable.optimizers.joint_study` and
:mod:`~pliable.optimizers.joint_final` say how):

* ``num_trials`` counts the study's completed trials, whichever worker ran them; each trial is
  run by one worker (its sampler seeded by ``seed`` and its number), and a worker that finds
  the rest claimed waits for the others' trials;
* the first worker builds the candidates and stores them; a worker with the same program,
  trainset and settings loads them (one whose own candidates differ is refused);
* an example one worker scored for a program is not run again by another, and a configuration
  is scored on the full valset once;
* a worker killed mid-trial (``kill -9``, a lost machine) misses its heartbeats: its trial is
  failed and run again by another worker;
* every worker returns the same program: the best full-valset score the study holds once all
  its trials are done (when the LM answers deterministically, e.g. through a shared cache);
* ``budget=`` is each worker's own; with ``fill_budget`` a worker with calls left runs trials
  past ``num_trials`` (up to four times it in all).
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import math
import random
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal

from pliable.data.example import Example
from pliable.errors import BudgetExceededError, ConfigurationError, UsageError
from pliable.lm.types import LanguageModel
from pliable.optimizers.base import Optimizer, _check_int, _needs_valset
from pliable.optimizers.bootstrap_few_shot import BootstrapFewShot
from pliable.optimizers.instruction_proposer import (
    InstructionProposer,
    check_proposer_args,
    proposer_for,
)
from pliable.optimizers.joint_final import Recorded, finish, score_full
from pliable.optimizers.joint_space import Config, Space, demos_key
from pliable.optimizers.joint_study import (
    HEARTBEAT,
    SharedStudy,
    most_promising,
    open_storage,
    parse_key,
)
from pliable.optimizers.labeled_few_shot import LabeledFewShot
from pliable.optimizers.report import fingerprint
from pliable.optimizers.run import Run
from pliable.optimizers.state import state_hash
from pliable.programs.module import Module

if TYPE_CHECKING:
    import optuna

__all__ = ["PRESETS", "JointSearch"]

_KEYS = ("num_instructions", "num_demo_sets", "num_trials", "minibatch_size", "full_eval_every")
#: The ``auto=`` presets (values in the order of ``_KEYS``); explicit settings override them.
PRESETS: dict[str, dict[str, int]] = {
    name: dict(zip(_KEYS, values, strict=True))
    for name, values in {
        "light": (3, 6, 10, 35, 5),
        "medium": (6, 12, 25, 35, 5),
        "heavy": (10, 18, 50, 35, 10),
    }.items()
}


def _redact(url: str) -> str:
    """A storage URL without its password or query (settings are saved in reports and logs)."""
    try:
        from sqlalchemy.engine import make_url

        if url.split("://", 1)[-1].split("/", 1)[0].count("@") > 1:
            raise ValueError("an unescaped @ in the credentials")
        parsed = make_url(url).set(query={})
        return str(parsed.render_as_string(hide_password=True))
    except Exception:  # not a URL sqlalchemy reads: keep only the scheme
        return url.split("://", 1)[0] + "://***"


class JointSearch(Optimizer):
    """Search instructions × demo sets per predictor with Optuna's TPE sampler.

    Presets (``auto=``; explicit settings override them)::

        auto      instructions  demo sets  trials  minibatch  full eval every
        light          3            6        10        35            5
        medium         6           12        25        35            5
        heavy         10           18        50        35           10

    The demo sets and the minibatch are MIPROv2's for the same ``auto`` (6, 12 and 18 demo
    sets; a valset of 35 examples or fewer is scored whole in every trial, so trials on a
    small valset are compared on the same examples). With ``auto=None`` all five
    settings must be given. TPE samples at random for its first
    ``min(10, max(3, num_trials // 3))`` trials, then models the scores.

    Args:
        metric: ``metric(example, prediction[, trace])``; also judges bootstrapped demos.
        num_instructions: instruction candidates per predictor, the current one included.
        num_demo_sets: demo-set candidates per predictor: none, labeled, then bootstrapped.
        num_trials: trials in the study (a persistent study's completed trials count).
        minibatch_size: valset examples scored per trial (all of them for a smaller valset).
        full_eval_every: score the most promising configuration on the full valset after
            this many trials (and once at the end).
        max_bootstrapped_demos / max_labeled_demos: demo counts of the candidate sets.
        prompt_lm: the LM that writes instructions (default: the first LM set on one of the
            program's predictors, else the ``pl.using`` one).
        proposer: an :class:`InstructionProposer` (instead of ``prompt_lm``).
        teacher: the program that bootstraps the demo sets (default: the program being
            compiled), e.g. the same program on a stronger LM; see :class:`BootstrapFewShot`.
        storage: an Optuna storage URL (``"sqlite:///study.db"``, ``"postgresql://..."``)
            or storage object; default: in memory. Several workers (processes, machines) may
            search one study: see "Several workers" in this module's docstring.
        study_name: the study in ``storage`` (default: derived from the program, data and
            candidates, so a rerun or another worker finds it; give one to several workers
            whose LM samples, as their candidates would differ).
        heartbeat: with a URL ``storage``, a running trial records a heartbeat every this
            many seconds; a trial silent for three is taken as its worker's death: it is
            failed and queued again (twice at most) for another worker.
        fill_budget: with a budget that limits ``lm_calls``, keep running trials after
            ``num_trials`` while it has room for one more and two full evaluations (up to four
            times ``num_trials``, and until trials stop costing calls), so a compile given
            more calls than its preset plans uses them. Without a call limit, or with
            ``False``, exactly ``num_trials`` run.
        seed: seeds demo sets, proposals, minibatches and the sampler.
    """

    def __init__(
        self,
        metric: Callable[..., Any],
        *,
        auto: Literal["light", "medium", "heavy"] | None = "light",
        num_instructions: int | None = None,
        num_demo_sets: int | None = None,
        num_trials: int | None = None,
        minibatch_size: int | None = None,
        full_eval_every: int | None = None,
        max_bootstrapped_demos: int = 4,
        max_labeled_demos: int = 4,
        prompt_lm: LanguageModel | None = None,
        proposer: InstructionProposer | None = None,
        teacher: Module | None = None,
        storage: str | optuna.storages.BaseStorage | None = None,
        study_name: str | None = None,
        fill_budget: bool = True,
        heartbeat: int = HEARTBEAT,
        seed: int = 0,
        num_threads: int = 4,
    ) -> None:
        from pliable.evaluation.metric_base import metric_caller

        metric_caller(metric)  # refuses a metric that cannot be called
        if importlib.util.find_spec("optuna") is None:  # checked without importing it
            raise ConfigurationError(
                "JointSearch searches with Optuna, which is not installed: pip install optuna."
            )
        if auto is not None and auto not in PRESETS:
            raise UsageError(
                f"JointSearch(auto=...) takes 'light', 'medium', 'heavy' or None; got {auto!r}. "
                "Use None to give num_instructions, num_demo_sets, num_trials, minibatch_size "
                "and full_eval_every yourself."
            )
        settings = (num_instructions, num_demo_sets, num_trials, minibatch_size, full_eval_every)
        given = dict(zip(_KEYS, settings, strict=True))
        missing = [k for k, v in given.items() if v is None]
        if auto is None and missing:
            raise UsageError(
                f"JointSearch(auto=None) needs every search setting; missing: "
                f"{', '.join(missing)}. Give them, or pick auto='light', 'medium' or 'heavy'."
            )
        preset = PRESETS[auto] if auto is not None else {}
        values = {k: preset[k] if v is None else v for k, v in given.items()}
        numbers = {**values, "max_bootstrapped_demos": max_bootstrapped_demos}
        numbers.update(max_labeled_demos=max_labeled_demos, num_threads=num_threads, seed=seed)
        numbers["heartbeat"] = heartbeat
        for name, value in numbers.items():
            low = 0 if name in ("max_bootstrapped_demos", "max_labeled_demos", "seed") else 1
            hint = "Leave it out to use the auto preset." if name in given else ""
            _check_int("JointSearch", name, value, low, hint)
        check_proposer_args("JointSearch", prompt_lm, proposer)
        if isinstance(storage, str) and "://" not in storage:
            raise UsageError(
                f"JointSearch(storage=...) takes an Optuna storage URL; got {storage!r}. "
                "Use e.g. 'sqlite:///study.db' or 'postgresql://user:password@host/db'."
            )
        if not isinstance(fill_budget, bool):
            raise UsageError(
                f"JointSearch(fill_budget=...) must be True or False; got {fill_budget!r}."
            )
        if study_name is not None and (not isinstance(study_name, str) or not study_name):
            raise UsageError(
                f"JointSearch(study_name=...) takes a non-empty str; got {study_name!r}."
            )
        self.metric = metric
        self.auto = auto
        self.num_instructions: int = values["num_instructions"]
        self.num_demo_sets: int = values["num_demo_sets"]
        self.num_trials: int = values["num_trials"]
        self.minibatch_size: int = values["minibatch_size"]
        self.full_eval_every: int = values["full_eval_every"]
        self.max_bootstrapped_demos = max_bootstrapped_demos
        self.max_labeled_demos = max_labeled_demos
        self.prompt_lm = prompt_lm
        self.proposer = proposer
        self.teacher = teacher
        self.storage = storage
        self.study_name = study_name
        self.fill_budget = fill_budget
        self.heartbeat = heartbeat
        self.seed = seed
        self.num_threads = num_threads

    def settings(self) -> dict[str, Any]:
        out = super().settings()
        s = self.storage
        out["storage"] = s if s is None else _redact(s) if isinstance(s, str) else type(s).__name__
        return out

    def _plan(self, n_predictors: int, n_train: int, n_val: int) -> dict[str, int]:
        boots, props = max(0, self.num_demo_sets - 2), self.num_instructions - 1
        batch, trials = min(self.minibatch_size, n_val), self.num_trials
        fulls = trials // self.full_eval_every + 1
        return {
            f"bootstrap {boots} demo sets (teacher runs)": boots * n_train * n_predictors,
            f"propose {props} instructions per predictor": props * n_predictors,
            f"{trials} trials on minibatches of {batch}": trials * batch * n_predictors,
            f"{fulls} full evaluations on the valset": fulls * n_val * n_predictors,
        }

    # -- candidates ------------------------------------------------------------------------

    def _demo_sets(
        self, student: Module, trainset: list[Example], run: Run
    ) -> tuple[dict[str, list[list[Example]]], dict[str, list[Example]]]:
        """Demo-set candidates per predictor, and the first bootstrapped set of each."""
        names = [n for n, _ in student.named_predictors()]
        sets: dict[str, list[list[Example]]] = {n: [[]] for n in names}
        seen: dict[str, set[str]] = {n: {demos_key([])} for n in names}
        first: dict[str, list[Example]] = {}

        def add(program: Module) -> None:
            for name, p in program.named_predictors():
                key = demos_key(p.demos)
                if key not in seen[name]:
                    seen[name].add(key)
                    sets[name].append(list(p.demos))

        if self.num_demo_sets > 1:
            labeled = LabeledFewShot(self.max_labeled_demos, seed=self.seed)
            add(labeled._compile(student.deepcopy(), trainset, None, run))
        assert self.metric is not None
        rng = random.Random(self.seed)
        for i in range(max(0, self.num_demo_sets - 2)):
            ordered, size = list(trainset), self.max_bootstrapped_demos
            if i > 0:
                rng.shuffle(ordered)
                size = rng.randint(min(1, size), size)
            boot = BootstrapFewShot(
                self.metric,
                max_bootstrapped_demos=size,
                max_labeled_demos=self.max_labeled_demos,
                teacher=self.teacher,
            )
            program = boot._compile(student.deepcopy(), ordered, None, run)
            if i == 0:
                first = {n: list(p.demos) for n, p in program.named_predictors()}
            add(program)
            if run.report.stopped:
                break
        return sets, first

    def _space(self, student: Module, trainset: list[Example], run: Run) -> Space | None:
        """Every predictor's candidates, or None when the budget ran out building them."""
        demos, first = self._demo_sets(student, trainset, run)
        proposed: dict[str, list[str]] = {}
        proposer = proposer_for(student, self.prompt_lm, self.proposer, self.seed)
        if not run.report.stopped:
            proposed = proposer.propose(
                student, trainset, n=self.num_instructions, demos=first or None
            )
        budget = run.usage.budget
        reached = budget.exhausted(run.usage.spent()) if budget is not None else None
        if run.report.stopped or reached is not None:
            run.report.stopped = run.report.stopped or f"Budget reached: {reached} allowed"
            run.note("budget reached while building candidates; the search was skipped")
            return None
        instructions = {
            n: proposed.get(n) or [p.signature.instructions] for n, p in student.named_predictors()
        }
        return Space(instructions, demos)

    # -- search ----------------------------------------------------------------------------

    def _recipe(self, student: Module, trainset: list[Example]) -> str:
        """What the candidates are built from: the program, the trainset and the settings
        that shape them (a worker with the same recipe loads a study's candidates)."""
        shown = self.settings()
        keys: tuple[str, ...] = ("num_instructions", "num_demo_sets", "max_bootstrapped_demos")
        keys += ("max_labeled_demos", "seed", "prompt_lm", "proposer", "teacher")
        parts = [state_hash(student), fingerprint(trainset), {k: shown.get(k) for k in keys}]
        return hashlib.sha256(json.dumps(parts, default=str).encode()).hexdigest()[:16]

    def _minibatch(self, valset: list[Example], number: int) -> list[Example]:
        if len(valset) <= self.minibatch_size:
            return list(valset)
        picked = random.Random(self.seed + number).sample(range(len(valset)), self.minibatch_size)
        return [valset[i] for i in sorted(picked)]

    def _search(
        self,
        student: Module,
        space: Space,
        valset: list[Example],
        run: Run,
        shared: SharedStudy,
        recorded: Recorded,
    ) -> None:
        def full_evaluation(pending: tuple[Config, float, int]) -> None:
            """Score the most promising configuration no worker has scored or claimed."""
            skip = {parse_key(k) for k in shared.full_records()} | set(recorded)
            found = most_promising([*shared.completed(space), pending], skip)
            if found is not None:
                shared.claim_full(found[0])
                score_full(run, shared, space, student, valset, found, recorded)

        # LM calls per example as measured so far (a predictor may be called several times
        # per example); before any, one per predictor
        rate = math.ceil(run.calls_per_example(len(space.names)))
        step = min(self.minibatch_size, len(valset)) * rate  # a trial's calls, at most
        # a periodic full evaluation after the trial, and the one at the end
        reserve = 2 * len(valset) * rate
        ran = idle = 0

        def more(completed: int) -> bool:
            """The trials asked for, then (``fill_budget``) more while the budget has room
            for one and two full evaluations (:meth:`Run.room_to_fill`)."""
            return completed < self.num_trials or (
                self.fill_budget
                and run.room_to_fill(
                    completed, self.num_trials, step=step + reserve, idle=idle, factor=4
                )
            )

        while True:
            complete, claimed = shared.counts()  # over every worker of the study
            if not more(complete):
                break
            limit = self.num_trials if complete < self.num_trials else 4 * self.num_trials
            if claimed >= limit:  # the rest is running in other workers
                if shared.wait():
                    continue
                break
            trial = shared.claim(limit)
            if trial is None:  # another worker claimed the last one first
                continue
            before = run.lm_calls()
            with shared.running(trial):
                try:
                    config = space.suggest(trial)
                    program = space.build(student, config)
                    state = state_hash(program)
                    run.remember_rows(state, shared.rows(state))  # in memory: none
                    scores = run.evaluate(program, self._minibatch(valset, trial.number))
                except BaseException:
                    shared.fail(trial)
                    raise
                run.candidate(
                    f"trial {trial.number}",
                    program,
                    minibatch=scores,
                    trial=trial.number,
                    choice=space.describe(config),
                )
                ran += 1
                try:  # inside the trial, so a worker finishing waits for it
                    if ran % self.full_eval_every == 0:
                        full_evaluation((config, scores.mean, trial.number))
                finally:
                    shared.tell(trial, scores, state, run)
            idle = idle + 1 if run.lm_calls() == before else 0
        if ran > self.num_trials:
            run.note(f"the budget had room for {ran - self.num_trials} trials past num_trials")
        if ran < self.num_trials:
            run.note(
                f"study {shared.name!r}: ran {ran} new trials ({self.num_trials} were asked for, "
                f"{shared.counts()[0]} are complete)"
            )

    def _compile(
        self,
        student: Module,
        trainset: list[Example],
        valset: list[Example] | None,
        run: Run,
    ) -> Module:
        if not valset:
            raise UsageError(_needs_valset("JointSearch selects"))
        if not student.named_predictors():
            raise UsageError(f"JointSearch: the program {student!r} has no predictors to tune.")
        run.candidate("baseline", student, full=run.evaluate(student, valset))
        baseline = run.best
        assert baseline is not None
        shown = self.settings()["storage"]
        storage = open_storage(self.storage, self.heartbeat, shown)
        startup = min(10, max(3, self.num_trials // 3))
        recipe = self._recipe(student, trainset)
        shared, space = None, None
        if self.storage is not None and self.study_name is not None:
            shared = SharedStudy.open(
                storage, self.study_name, seed=self.seed, startup=startup, shown=shown
            )
            space = shared.stored_space(recipe, student)
            if space is not None:
                run.note(f"study {shared.name!r}: searching the candidates it holds")
        if space is None:
            space = self._space(student, trainset, run)
        if space is not None:
            if shared is None:
                name = self.study_name or _default_name(student, trainset, valset, space, self.seed)
                shared = SharedStudy.open(
                    storage, name, seed=self.seed, startup=startup, shown=shown
                )
            space, loaded = shared.adopt(space, recipe, student)
            if loaded:
                run.note(f"study {shared.name!r}: searching the candidates it holds")
            for name, texts in space.instructions.items():
                run.note(
                    f"{name}: {len(texts)} instruction candidates, "
                    f"{len(space.demos[name])} demo-set candidates"
                )
            recorded: Recorded = {}
            try:
                self._search(student, space, valset, run, shared, recorded)
                finish(run, shared, space, student, valset, recorded, baseline, self.num_trials)
            except BudgetExceededError as exc:
                run.report.stopped = str(exc)
                run.note("budget reached during the search")
        assert run.best is not None
        run.note(f"best candidate on the valset: {run.best[2]}")
        return run.best[1]


def _default_name(
    student: Module, trainset: list[Example], valset: list[Example], space: Space, seed: int
) -> str:
    parts = [state_hash(student), fingerprint(trainset), fingerprint(valset), space.key, seed]
    digest = hashlib.sha256(json.dumps(parts).encode()).hexdigest()[:16]
    return f"pliable-joint-{digest}"
