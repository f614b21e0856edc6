"""The end of a :class:`~pliable.optimizers.joint_search.JointSearch`: scoring configurations
on the full valset (or taking the scores another worker of the study recorded), and picking
the program it returns, the same in every worker (:mod:`~pliable.optimizers.joint_study`
describes what the study records).
"""

from __future__ import annotations

from typing import Any

from pliable.data.example import Example
from pliable.optimizers.joint_space import Config, Space
from pliable.optimizers.joint_study import SharedStudy, config_key, most_promising, parse_key
from pliable.optimizers.run import Run, Scores
from pliable.programs.module import Module

__all__ = ["Recorded", "finish", "score_full"]

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
        run.remember_rows(state_hash(program), shared.rows(state_hash(program)))
        scores = run.evaluate(program, valset, progress=run.progress)
        shared.store_full(config, scores, numbers, mean, state_hash(program), run)
    else:
        run.remember_rows(state_hash(program), (record or {}).get("rows") or {})
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
    run.set_best(best)
