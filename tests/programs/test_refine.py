"""BestOfN and Refine: attempts with fresh samples, stopping at the threshold, feedback,
failures, and traces that name the wrapped program's own predictors."""

from typing import NamedTuple

import pytest

import pliable as pl
from pliable.programs.refine import ADVICE_HEADER, BestOfN, Refine


def sampled_lm(answers, field="answer"):
    """Answers ``answers[sample]``; attempt 0 sends no ``sample`` option (index 0)."""

    def answer(messages, options):
        return f"[[{field}]]\n{answers[int(options.get('sample') or 0)]}"

    return pl.FunctionLM(answer)


def is_right(inputs, pred):
    return pred.answer == "right"


def test_best_of_n_stops_at_the_threshold_with_fresh_samples():
    lm = sampled_lm(["w0", "w1", "right", "w3", "w4"])
    qa = pl.Predict("question -> answer", lm=lm)
    best = BestOfN(qa, n=5, reward_fn=is_right, threshold=1.0)
    outcome = best.run(question="q")
    assert outcome.prediction.answer == "right"
    assert (outcome.chosen, outcome.passed) == (2, True)
    assert [a.reward for a in outcome.attempts] == [0.0, 0.0, 1.0]
    assert len(lm.calls) == 3  # stopped at the threshold, not n=5
    assert [c.options.get("sample") for c in lm.calls] == [None, 1, 2]
    assert [c.options.get("temperature") for c in lm.calls] == [None, 1.0, 1.0]
    assert qa.config == {}  # the wrapped predictor is never changed
    assert best(question="q").answer == "right"


def test_first_attempt_keeps_the_programs_own_settings_and_later_ones_shift_its_sample():
    lm = sampled_lm({5: "a", 6: "b", 7: "c"})
    qa = pl.Predict("question -> answer", lm=lm, temperature=0.2, sample=5)
    BestOfN(qa, n=3, reward_fn=lambda i, p: 0.0, threshold=1.0)(question="q")
    seen = [(c.options["sample"], c.options["temperature"]) for c in lm.calls]
    assert seen == [(5, 0.2), (6, 1.0), (7, 1.0)]
    assert qa.config == {"temperature": 0.2, "sample": 5}


def test_best_of_n_returns_the_best_attempt_when_none_passes_and_ties_keep_the_earlier():
    scores = {"a": 0.2, "b": 0.9, "c": 0.5, "d": 0.9}
    lm = sampled_lm(["a", "b", "c", "d"])
    best = BestOfN(
        pl.Predict("question -> answer", lm=lm),
        n=4,
        reward_fn=lambda inputs, pred: scores[pred.answer],
        threshold=0.95,
    )
    outcome = best.run(question="q")
    assert outcome.prediction.answer == "b"
    assert (outcome.chosen, outcome.passed) == (1, False)
    assert len(lm.calls) == 4


def test_reward_fn_gets_the_inputs_and_may_return_a_score():
    seen = []

    def reward(inputs, pred):
        seen.append(dict(inputs))
        return pl.Score(1.0 if pred.answer == "right" else 0.0, "feedback")

    best = BestOfN(pl.Predict("question -> answer", lm=sampled_lm(["x", "right"])), 2, reward, 1)
    assert best(question="q").answer == "right"
    assert seen == [{"question": "q"}, {"question": "q"}]
    with pytest.raises(pl.UsageError, match="returned str"):
        BestOfN(best.module, 2, lambda i, p: "good", 1.0)(question="q")


def number_lm(bad_samples):
    def answer(messages, options):
        sample = int(options.get("sample") or 0)
        return "[[answer]]\n" + ("not a number" if sample in bad_samples else str(sample))

    return pl.FunctionLM(answer)


def test_failed_attempts_are_skipped_until_fail_count_then_the_last_error_is_raised():
    lm = number_lm({0, 1})
    qa = pl.Predict("question -> answer: int", lm=lm)
    outcome = BestOfN(qa, n=3, reward_fn=lambda i, p: 1.0, threshold=1.0).run(question="q")
    assert outcome.prediction.answer == 2
    assert [type(a.error) for a in outcome.attempts] == [pl.ParseError, pl.ParseError, type(None)]

    lm.calls.clear()
    with pytest.raises(pl.ParseError):
        BestOfN(qa, n=3, reward_fn=lambda i, p: 1.0, threshold=1.0, fail_count=2)(question="q")
    assert len(lm.calls) == 2

    with pytest.raises(pl.ParseError):  # every attempt failed: nothing to return
        BestOfN(pl.Predict("q -> answer: int", lm=number_lm({0, 1, 2})), 3, lambda i, p: 1.0, 1.0)(
            q="x"
        )


def test_usage_errors_and_budget_stops_are_not_retried():
    lm = sampled_lm(["a", "b", "c"])
    best = BestOfN(pl.Predict("question -> answer", lm=lm), 3, lambda i, p: 0.0, 1.0)
    with pytest.raises(pl.InputError, match="Unknown input `wrong`"):
        best(wrong="q")
    assert lm.calls == []
    with pl.track_usage(max_calls=1), pytest.raises(pl.BudgetExceededError):
        best(question="q")
    assert len(lm.calls) == 1


class Pipeline(pl.Module):
    def __init__(self):
        self.draft = pl.Predict("question -> draft")
        self.answer = pl.Predict("question, draft -> answer")

    def forward(self, question):
        draft = self.draft(question=question).draft
        return self.answer(question=question, draft=draft)


def pipeline_lm():
    def answer(messages, options):
        sample = int(options.get("sample") or 0)
        if "[[draft]]\n" in messages[-1]["content"]:  # the second step has a draft input
            return f"[[answer]]\nanswer{sample}"
        return f"[[draft]]\ndraft{sample}"

    return pl.FunctionLM(answer)


def test_only_the_chosen_attempts_calls_are_traced_as_calls_of_the_original_predictors():
    prog = Pipeline()
    judge = pl.Predict("answer -> ok: bool", lm=pl.ScriptedLM({"": "[[ok]]\ntrue"}))

    def reward(inputs, pred):
        judge(answer=pred.answer)  # an LM-backed reward is never traced
        return pred.answer == "answer1"

    best = BestOfN(prog, n=3, reward_fn=reward, threshold=1.0)
    assert [n for n, _ in best.named_predictors()] == ["module.draft", "module.answer"]
    with pl.using(lm=pipeline_lm()), pl.trace() as t:
        assert best(question="q").answer == "answer1"
    assert [e.predictor for e in t] == [prog.draft, prog.answer]
    assert [e.inputs for e in t] == [
        {"question": "q"},
        {"question": "q", "draft": "draft1"},
    ]
    assert t[1].outputs.answer == "answer1"


def test_nested_wrappers_map_trace_entries_back_through_every_copy():
    class Outer(pl.Module):
        def __init__(self):
            self.inner = BestOfN(pl.Predict("question -> draft"), 2, lambda i, p: 0.0, 1.0)
            self.answer = pl.Predict("question, draft -> answer")

        def forward(self, question):
            draft = self.inner(question=question).draft
            return self.answer(question=question, draft=draft)

    prog = Outer()
    best = BestOfN(prog, n=2, reward_fn=lambda i, p: p.answer == "answer1", threshold=1.0)
    assert [n for n, _ in best.named_predictors()] == ["module.inner.module", "module.answer"]
    with pl.using(lm=pipeline_lm()), pl.trace() as t:
        best(question="q")
    assert [e.predictor for e in t] == [prog.inner.module, prog.answer]
    assert t[1].inputs["draft"] == "draft1"  # inner attempt 0 of outer attempt 1: sample 1


class Pair(NamedTuple):
    left: pl.Predict
    right: pl.Predict


class Containers(pl.Module):
    def __init__(self):
        self.steps = [pl.Predict("question -> answer")]
        self.by_name = {"x": pl.Predict("question -> answer")}
        self.pair = Pair(pl.Predict("question -> answer"), pl.Predict("question -> answer"))
        self.memory = []  # not a predictor: shared with the copies, never copied

    def forward(self, question):
        assert isinstance(self.pair, Pair)  # a copy keeps the named tuple's type
        steps = [self.steps[0], self.by_name["x"], *self.pair]
        answers = [p(question=question).answer for p in steps]
        self.memory.append(answers)
        return pl.Prediction(answer=" ".join(answers))


def test_predictors_in_lists_dicts_and_named_tuples_are_copied_and_other_state_shared():
    lm = sampled_lm(["a", "b"])
    prog = Containers()
    predictors = prog.predictors()
    best = BestOfN(prog, n=2, reward_fn=lambda i, p: p.answer == "b b b b", threshold=1.0)
    with pl.using(lm=lm), pl.trace() as t:
        assert best(question="q").answer == "b b b b"
    assert [c.options.get("sample") for c in lm.calls] == [None] * 4 + [1] * 4
    assert prog.memory == [["a"] * 4, ["b"] * 4]
    assert [e.predictor for e in t] == predictors
    assert prog.predictors() == predictors
    assert all(p.config == {} for p in predictors)


def test_bootstrapping_a_wrapped_program_gives_demos_to_the_inner_predictor():
    def answer(messages, options):
        question = messages[-1]["content"].split("[[question]]\n")[-1].split("\n")[0]
        sample = int(options.get("sample") or 0)
        return f"[[answer]]\n{question.upper() if sample else 'wrong'}"

    qa = pl.Predict("question -> answer", lm=pl.FunctionLM(answer))
    best = BestOfN(qa, n=3, reward_fn=lambda i, p: p.answer != "wrong", threshold=1.0)
    trainset = [pl.Example(question=q, answer=q.upper()).with_inputs("question") for q in "ab"]
    optimizer = pl.BootstrapFewShot(
        lambda ex, pred: ex.answer == pred.answer, max_bootstrapped_demos=2, max_labeled_demos=0
    )
    compiled = optimizer.compile(best, trainset=trainset)
    demos = dict(compiled.named_predictors())["module"].demos
    assert [(d.question, d.answer) for d in demos] == [("a", "A"), ("b", "B")]
    assert qa.demos == []


def refine_lm():
    def answer(messages, options):
        system, last = messages[0]["content"], messages[-1]["content"]
        if "[[program_outputs]]" in last:
            return "[[advice]]\nSay it louder."
        return "[[answer]]\n" + ("LOUD" if "Say it louder." in system else "quiet")

    return pl.FunctionLM(answer)


def test_refine_passes_advice_to_the_next_attempt_and_stops_at_the_threshold():
    lm = refine_lm()
    qa = pl.Predict("question -> answer", lm=lm)
    refine = Refine(qa, n=5, reward_fn=lambda i, p: p.answer == "LOUD", threshold=1.0)
    refine.feedback.lm = lm
    assert [n for n, _ in refine.named_predictors()] == ["module", "feedback"]
    with pl.trace() as t:
        outcome = refine.run(question="hi")
    assert outcome.prediction.answer == "LOUD"
    assert [a.advice for a in outcome.attempts] == [None, "Say it louder."]
    assert len(lm.calls) == 3  # attempt, advice, attempt: stopped at the threshold
    feedback_prompt = lm.calls[1].messages[-1]["content"]
    for text in ("question: hi", "answer: quiet", "[[reward]]\n0.0", "[[threshold]]\n1.0"):
        assert text in feedback_prompt
    system = lm.calls[2].messages[0]["content"]
    assert f"{ADVICE_HEADER}\nSay it louder." in system
    assert ADVICE_HEADER not in lm.calls[0].messages[0]["content"]
    assert lm.calls[2].options["sample"] == 1
    assert [e.predictor for e in t] == [refine.feedback, qa]  # the advice that worked
    assert ADVICE_HEADER not in qa.signature.instructions


def test_refine_gives_the_scorers_critique_to_the_feedback_step():
    lm = refine_lm()
    refine = Refine(
        pl.Predict("question -> answer", lm=lm),
        n=2,
        reward_fn=lambda i, p: pl.Score(0.0, "far too quiet"),
        threshold=1.0,
        feedback_lm=lm,
    )
    outcome = refine.run(question="hi")
    assert "[[critique]]\nfar too quiet" in lm.calls[1].messages[-1]["content"]
    assert (outcome.chosen, outcome.passed) == (0, False)  # a tie keeps the earlier attempt
    assert len(lm.calls) == 3  # no advice is asked for after the last attempt


def test_refine_goes_on_without_advice_when_the_feedback_step_fails():
    def broken(messages):
        raise RuntimeError("feedback model down")

    lm = sampled_lm(["quiet", "LOUD"])
    refine = Refine(
        pl.Predict("question -> answer", lm=lm),
        n=2,
        reward_fn=lambda i, p: p.answer == "LOUD",
        threshold=1.0,
        feedback_lm=pl.FunctionLM(broken),
    )
    outcome = refine.run(question="hi")
    assert outcome.prediction.answer == "LOUD"
    assert outcome.attempts[1].advice is None


def test_wrapped_programs_save_and_load_by_predictor_name(tmp_path):
    qa = pl.Predict("question -> answer")
    qa.demos = [pl.Example(question="1+1", answer="2").with_inputs("question")]
    path = Refine(qa, 2, is_right, 1.0).save(tmp_path / "refine.json")
    fresh = Refine(pl.Predict("question -> answer"), 2, is_right, 1.0).load(path)
    assert dict(fresh.named_predictors())["module"].demos[0].answer == "2"


def test_constructor_checks():
    qa = pl.Predict("question -> answer")
    with pytest.raises(pl.UsageError, match=r"n=\.\.\."):
        BestOfN(qa, 0, is_right, 1.0)
    with pytest.raises(pl.UsageError, match=r"pl\.Module"):
        BestOfN(lambda **kw: None, 2, is_right, 1.0)  # type: ignore[arg-type]
    with pytest.raises(pl.UsageError, match="reward_fn"):
        BestOfN(qa, 2, "reward", 1.0)  # type: ignore[arg-type]
    with pytest.raises(pl.UsageError, match="fail_count"):
        Refine(qa, 2, is_right, 1.0, fail_count=0)


def test_concurrent_calls_keep_their_attempts_and_traces_apart():
    def answer(messages, options):
        question = messages[-1]["content"].split("[[question]]\n")[1].split("\n")[0]
        return f"[[answer]]\n{question}-{int(options.get('sample') or 0)}"

    qa = pl.Predict("question -> answer", lm=pl.FunctionLM(answer))
    # question k passes at attempt k % 3
    best = BestOfN(
        qa, n=3, reward_fn=lambda i, p: p.answer.endswith(f"-{int(i['question']) % 3}"), threshold=1
    )
    with pl.trace() as t:
        results = best.batch(
            [{"question": str(k)} for k in range(12)], num_threads=4, progress=False
        )
    assert [r.answer for r in results] == [f"{k}-{k % 3}" for k in range(12)]
    assert sorted((e.inputs["question"], e.outputs.answer) for e in t) == sorted(
        (str(k), f"{k}-{k % 3}") for k in range(12)
    )
    assert all(e.predictor is qa for e in t)
    assert len(qa.lm.calls) == sum(k % 3 + 1 for k in range(12))
