"""MajorityVote (normalised votes, ties to the first seen, traces of the winner only) and
Parallel (input order, context propagation, error handling)."""

import time

import pytest

import pliable as pl
from pliable.programs.ensemble import MajorityVote, Parallel, normalize_answer


def sampled_lm(answers, reasoning=False):
    def answer(messages, options):
        sample = int(options.get("sample") or 0)
        text = f"[[answer]]\n{answers[sample]}"
        return f"[[reasoning]]\nthought {sample}\n\n{text}" if reasoning else text

    return pl.FunctionLM(answer)


def test_majority_vote_picks_the_most_common_normalised_answer():
    lm = sampled_lm(["London", " paris ", "Paris", "PARIS\n", "london"])
    qa = pl.Predict("question -> answer", lm=lm)
    vote = MajorityVote(qa, n=5)
    result = vote.run(question="capital?")
    assert result.winner == "paris"
    assert result.counts == {"london": 2, "paris": 3}
    assert result.prediction.answer == "paris"  # the first sample with the winning value
    assert result.prediction is result.samples[1]
    assert [c.options.get("sample") for c in lm.calls] == [None, 1, 2, 3, 4]
    assert [c.options.get("temperature") for c in lm.calls] == [None, 1.0, 1.0, 1.0, 1.0]
    assert qa.config == {}
    assert [n for n, _ in vote.named_predictors()] == ["module"]


@pytest.mark.parametrize(
    ("answers", "winner", "chosen"),
    [(["b", "a", "a", "b"], "b", 0), (["x", "a", "b", "b", "a"], "a", 1), (["c"], "c", 0)],
)
@pytest.mark.parametrize("threads", [1, 3])
def test_ties_go_to_the_value_seen_first(answers, winner, chosen, threads):
    qa = pl.Predict("question -> answer", lm=sampled_lm(answers))
    result = MajorityVote(qa, n=len(answers), num_threads=threads).run(question="q")
    assert result.winner == winner
    assert result.prediction is result.samples[chosen]


def test_votes_on_the_last_output_by_default_or_on_the_named_field():
    lm = sampled_lm(["4", "four", "4"], reasoning=True)  # every reasoning differs
    cot = pl.ChainOfThought("question -> answer", lm=lm)
    assert MajorityVote(cot, n=3).run(question="2+2").winner == "4"
    by_reasoning = MajorityVote(cot, n=3, field="reasoning").run(question="2+2")
    assert by_reasoning.counts == {"thought 0": 1, "thought 1": 1, "thought 2": 1}
    with pytest.raises(pl.UsageError, match="no field 'confidence'"):
        MajorityVote(cot, n=2, field="confidence")(question="2+2")


def test_custom_normalize_and_unhashable_values():
    qa = pl.Predict("question -> answer: int", lm=sampled_lm(["7", "17", "27"]))
    last_digit = MajorityVote(qa, n=3, normalize=lambda v: v % 10).run(question="q")
    assert (last_digit.winner, last_digit.counts) == (7, {7: 3})
    assert normalize_answer({"b": [1], "a": 2}) == normalize_answer({"a": 2, "b": [1]})
    assert normalize_answer("  Hello   World ") == "hello world"


def test_only_the_winning_samples_calls_are_traced_as_the_original_predictors():
    qa = pl.Predict("question -> answer", lm=sampled_lm(["a", "b", "b"]))
    with pl.trace() as t:
        MajorityVote(qa, n=3)(question="q")
    assert len(t) == 1
    assert t[0].predictor is qa
    assert t[0].outputs.answer == "b"


def test_failed_samples_do_not_vote_and_all_failing_raises():
    qa = pl.Predict("question -> answer: int", lm=sampled_lm(["x", "5", "y", "6", "6"]))
    result = MajorityVote(qa, n=5).run(question="q")
    assert (result.winner, result.counts) == (6, {5: 1, 6: 2})
    assert isinstance(result.samples[0], pl.ParseError)
    bad = pl.Predict("question -> answer: int", lm=sampled_lm(["x", "y"]))
    with pytest.raises(pl.ParseError):
        MajorityVote(bad, n=2)(question="q")
    with pl.track_usage(max_calls=1), pytest.raises(pl.BudgetExceededError):
        MajorityVote(qa, n=3)(question="q")


def length_lm():
    def answer(messages):
        question = messages[-1]["content"].split("\n")[1]
        if question == "boom":
            return "[[answer]]\nnot a number"
        time.sleep(0.01 * (len(question) % 3))  # finish out of order
        return f"[[answer]]\n{len(question)}"

    return pl.FunctionLM(answer)


def test_parallel_keeps_input_order_and_propagates_context():
    qa = pl.Predict("question -> answer: int")
    parallel = Parallel(qa, num_threads=4)
    items = [{"question": "x" * i} for i in range(1, 9)]
    with pl.using(lm=length_lm()), pl.trace() as t:
        results = parallel(items)
    assert [r.answer for r in results] == list(range(1, 9))
    assert sorted(e.outputs.answer for e in t) == list(range(1, 9))
    assert all(e.predictor is qa for e in t)
    assert [n for n, _ in parallel.named_predictors()] == ["module"]
    examples = [pl.Example(question="ab", answer=2).with_inputs("question")]
    with pl.using(lm=length_lm()):
        assert parallel.forward(examples)[0].answer == 2  # Examples give only their inputs
    assert Parallel(qa)([]) == []


def test_parallel_raises_naming_the_failing_input_unless_failures_are_returned():
    qa = pl.Predict("question -> answer: int", lm=length_lm())
    items = [{"question": "a"}, {"question": "bb"}, {"question": "boom"}]
    with pytest.raises(pl.BatchError, match=r"input #2 \(0-based\) of 3") as info:
        Parallel(qa, num_threads=1)(items)
    assert isinstance(info.value.__cause__, pl.ParseError)
    assert [r.answer for r in info.value.results[:2]] == [1, 2]
    with pytest.raises(pl.BatchError, match="input #0") as info:
        Parallel(qa, num_threads=1)(items[::-1])
    assert info.value.results[1:] == [None, None]  # the rest were not started
    results = Parallel(qa, return_failed=True)(items)
    assert [r.answer for r in results[:2]] == [1, 2]
    assert isinstance(results[2], pl.ParseError)


def test_constructor_and_call_checks():
    qa = pl.Predict("question -> answer")
    with pytest.raises(pl.UsageError, match=r"n=\.\.\."):
        MajorityVote(qa, n=0)
    with pytest.raises(pl.UsageError, match="num_threads"):
        Parallel(qa, num_threads=0)
    with pytest.raises(pl.UsageError, match=r"pl\.Module"):
        Parallel("qa")  # type: ignore[arg-type]
    with pytest.raises(pl.UsageError, match="list of input dicts"):
        Parallel(qa)({"question": "q"})
