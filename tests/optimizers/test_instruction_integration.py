"""The instruction optimizers end to end on the embedded model, on a BIG-bench task, within
an LM-call budget, with the run log, resume and the report page."""

from __future__ import annotations

import pytest

import pliable as pl
from pliable.report.page import write_report

pytestmark = pytest.mark.integration

BUDGET = 60


@pytest.fixture(scope="module")
def task():
    examples = pl.load_bigbench("sports_understanding", seed=0, limit=12)
    train, dev = pl.split(examples, train=0.5, seed=0)
    return train, dev


def program(lm):
    sig = pl.Signature(
        "question, choices: list[str] -> answer",
        "Answer the question with exactly one of the choices, copied word for word.",
    )
    return pl.Predict(sig, lm=lm)


@pytest.mark.parametrize(
    "make",
    [
        lambda m: pl.JointSearch(
            m,
            num_instructions=2,
            num_demo_sets=2,
            num_trials=3,
            minibatch_size=3,
            full_eval_every=3,
            num_threads=1,
        ),
        lambda m: pl.Reflective(m, max_iterations=2, minibatch_size=2, num_threads=1),
        lambda m: pl.InstructionHillClimb(m, breadth=2, depth=1, num_threads=1),
    ],
    ids=["joint", "reflective", "hill-climb"],
)
def test_optimizer_runs_within_budget_and_resumes_for_free(task, tmp_path, make):
    train, dev = task
    lm = pl.LM(cache=tmp_path / "cache", max_tokens=16, temperature=0)
    metric = pl.metrics.multiple_choice()
    run_dir = tmp_path / "run"
    first = make(metric).compile(
        program(lm),
        trainset=train,
        valset=dev,
        budget=pl.Budget(lm_calls=BUDGET),
        run_dir=run_dir,
    )
    report = first.report
    assert 0 < report.lm_calls <= BUDGET
    assert report.stopped is None  # these small settings fit the budget
    assert report.baseline is not None
    assert report.final is not None
    assert len(report.candidates) > 1
    # the same compile again, with no budget: the run log and the cache replay it all
    with pl.track_usage() as usage:
        again = make(metric).compile(program(lm), trainset=train, valset=dev, run_dir=run_dir)
    assert usage.total.calls == 0  # no request reached the model
    assert again.report.lm_calls == report.lm_calls  # the report adds up every invocation
    assert again.report.cache_hits > 0
    assert again.render(question="q", choices=["a", "b"]) == first.render(
        question="q", choices=["a", "b"]
    )
    page = write_report(run_dir).read_text()
    assert "<svg" in page
