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
   candidate ("baseline"); the best full-valset score wins and ties keep the earlier one.

Scores are memoised by program state, so a configuration TPE repeats costs nothing for the
examples already seen, and a run resumed from its ``run_dir`` replays the same trials (the
seeded sampler gets the same scores back). With ``storage=`` (``"sqlite:///study.db"`` or a
PostgreSQL URL) the study persists: completed trials count towards ``num_trials`` and are not
run again, so several worker processes can share one search. Workers must build the same
candidates (the same data, seed and LM cache); the study records a fingerprint of them and a
worker with different candidates is refused.
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
from pliable.optimizers.joint_space import Config, Space, demos_key
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
        "light": (3, 3, 10, 16, 5),
        "medium": (6, 6, 25, 25, 5),
        "heavy": (10, 10, 50, 35, 10),
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
        light          3            3        10        16            5
        medium         6            6        25        25            5
        heavy         10           10        50        35           10

    With ``auto=None`` all five settings must be given. TPE samples at random for its first
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
            or storage object; default: in memory.
        study_name: the study in ``storage`` (default: derived from the program, data and
            candidates, so a rerun or another worker finds it).
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
        for name in instructions:
            run.note(
                f"{name}: {len(instructions[name])} instruction candidates, "
                f"{len(demos[name])} demo-set candidates"
            )
        return Space(instructions, demos)

    # -- search ----------------------------------------------------------------------------

    def _study(self, space: Space, name: str) -> optuna.Study:
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)  # no log line per trial
        sampler = optuna.samplers.TPESampler(
            seed=self.seed, n_startup_trials=min(10, max(3, self.num_trials // 3))
        )
        try:
            study = optuna.create_study(
                storage=self.storage,
                study_name=name,
                sampler=sampler,
                direction="maximize",
                load_if_exists=True,
            )
        except Exception as exc:
            shown = self.settings()["storage"]
            raise UsageError(
                f"JointSearch could not open the Optuna study {name!r} in storage={shown!r}: "
                f"{exc}. Check the storage URL and that its database is reachable."
            ) from exc
        known = study.user_attrs.get("pliable_space")
        if known is None:
            study.set_user_attr("pliable_space", space.key)
            study.set_user_attr("pliable_instructions", space.instructions)
        elif known != space.key:
            raise UsageError(
                f"The Optuna study {name!r} was searched with other candidates (instructions "
                "or demo sets) than this run built, so its trials mean something else here. "
                "Use another study_name=..., or the same data, seed and LM cache as its runs."
            )
        return study

    def _minibatch(self, valset: list[Example], number: int) -> list[Example]:
        if len(valset) <= self.minibatch_size:
            return list(valset)
        picked = random.Random(self.seed + number).sample(range(len(valset)), self.minibatch_size)
        return [valset[i] for i in sorted(picked)]

    def _search(
        self, student: Module, space: Space, valset: list[Example], run: Run, name: str
    ) -> None:
        study = self._study(space, name)
        from optuna.trial import TrialState

        done: set[Config] = set()  # configurations scored on the full valset

        def full_evaluation() -> None:
            """Score the most promising configuration not yet scored on the full valset."""
            scores: dict[Config, list[float]] = {}
            trials: dict[Config, list[int]] = {}
            for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
                config = space.config_of(t.params)
                if config is not None and t.value is not None and config not in done:
                    scores.setdefault(config, []).append(t.value)
                    trials.setdefault(config, []).append(t.number)
            if not scores:
                return
            best = max(scores, key=lambda c: (sum(scores[c]) / len(scores[c]), -trials[c][0]))
            done.add(best)
            program, first = space.build(student, best), trials[best][0]
            run.candidate(
                f"trial {first} on the full valset",
                program,
                full=run.evaluate(program, valset, progress=run.progress),
                parent=f"trial {first}",
                trials=trials[best],
                minibatch_mean=sum(scores[best]) / len(scores[best]),
                choice=space.describe(best),
            )

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

        while more(len(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)))):
            before = run.lm_calls()
            trial = study.ask()
            config = space.suggest(trial)
            program = space.build(student, config)
            try:
                scores = run.evaluate(program, self._minibatch(valset, trial.number))
            except BaseException:
                study.tell(trial, state=TrialState.FAIL)
                raise
            study.tell(trial, scores.mean)
            run.candidate(
                f"trial {trial.number}",
                program,
                minibatch=scores,
                trial=trial.number,
                choice=space.describe(config),
            )
            ran += 1
            if ran % self.full_eval_every == 0:
                full_evaluation()
            idle = idle + 1 if run.lm_calls() == before else 0
        if ran > self.num_trials:
            run.note(f"the budget had room for {ran - self.num_trials} trials past num_trials")
        if ran < self.num_trials:
            run.note(f"study {name!r}: ran {ran} new trials ({self.num_trials} were asked for)")
        full_evaluation()

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
        space = self._space(student, trainset, run)
        if space is not None:
            name = self.study_name or _default_name(student, trainset, valset, space, self.seed)
            try:
                self._search(student, space, valset, run, name)
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
