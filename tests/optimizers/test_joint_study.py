"""JointSearch's shared study in one process, on SQLite (the PostgreSQL tests with several
processes are in tests/optimizers/postgres/)."""

import optuna
import pytest

import pliable as pl
from pliable.optimizers.joint_study import config_key, most_promising, parse_key


def examples(n, start=0):
    return [
        pl.Example(question=f"{i}+{i}", answer=str(2 * i)).with_inputs("question")
        for i in range(start, start + n)
    ]


def exact(example, pred):
    return example.answer == pred.answer


def task(messages):
    a, b = messages[-1]["content"].split("\n")[1].split("+")
    right = "sum" in messages[0]["content"] or int(a) % 2 == 0
    return f"[[answer]]\n{int(a) + int(b) if right else 0}"


def proposer(worker):
    """A proposer LM that writes other instructions in each worker, as one that samples."""

    def propose(messages, options):
        text = "Reply with the sum." if "Be detailed" in messages[-1]["content"] else "Answer."
        return f"[[instruction]]\n{text} ({worker}, sample {options['sample']})"

    return pl.FunctionLM(propose)


def compile_worker(url, worker, num_trials=4):
    search = pl.JointSearch(
        exact,
        num_trials=num_trials,
        prompt_lm=proposer(worker),
        storage=url,
        study_name="shared",
        num_threads=1,
    )
    program = pl.Predict("question -> answer", lm=pl.FunctionLM(task))
    return search.compile(
        program, trainset=examples(8), valset=examples(12, 100), require_significance=False
    )


def test_a_second_worker_searches_the_candidates_the_study_holds(tmp_path):
    url = f"sqlite:///{tmp_path}/s.db"
    first = compile_worker(url, "first")
    second = compile_worker(url, "second", num_trials=6)
    assert "study 'shared': searching the candidates it holds" in second.report.notes
    assert "(first," in second.signature.instructions  # the first worker's proposal
    assert "(second," not in " ".join(c["instructions"]["self"] for c in second.report.candidates)
    study = optuna.load_study(study_name="shared", storage=url)
    assert len(study.get_trials(states=(optuna.trial.TrialState.COMPLETE,))) == 6
    # the full-valset scores the first worker recorded are taken, not measured again
    shared = [c for c in second.report.candidates if c.get("shared")]
    assert shared
    assert {c["state"] for c in shared} <= {c["state"] for c in first.report.candidates}
    assert optuna.get_all_study_names(storage=url) == ["shared"]  # no lock left behind


def test_a_worker_whose_candidates_differ_is_still_refused(tmp_path):
    url = f"sqlite:///{tmp_path}/s.db"
    compile_worker(url, "first")
    other = pl.JointSearch(
        exact, num_instructions=2, storage=url, study_name="shared", prompt_lm=proposer("x")
    )
    with pytest.raises(pl.UsageError, match="searched with other candidates"):
        other.compile(
            pl.Predict("question -> answer", lm=pl.FunctionLM(task)),
            trainset=examples(8),
            valset=examples(12, 100),
        )


def test_an_unreachable_database_is_a_usage_error():
    search = pl.JointSearch(exact, storage="postgresql://nobody@127.0.0.1:1/none", num_trials=3)
    with pytest.raises(pl.UsageError, match="could not open the Optuna storage"):
        search.compile(
            pl.Predict("question -> answer", lm=pl.FunctionLM(task)),
            trainset=examples(4),
            valset=examples(4, 100),
        )


def test_most_promising_takes_the_best_mean_then_the_configuration_tried_first():
    a, b, c = ((1, 0),), ((2, 1),), ((0, 2),)
    trials = [(a, 0.5, 0), (b, 1.0, 1), (c, 1.0, 2), (b, 0.5, 3), (c, 1.0, 4)]
    assert most_promising(trials, set()) == (c, [2, 4], 1.0)
    assert most_promising(trials, {c}) == (b, [1, 3], 0.75)
    assert most_promising(trials, {a, b, c}) is None
    assert parse_key(config_key(((1, 2), (0, 3)))) == ((1, 2), (0, 3))
