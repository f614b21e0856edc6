import json

import pytest

import pliable as pl
from pliable.evaluation import EvaluationError, Score, evaluate, metrics


def answering_lm(answers):
    """A fake LM answering each question from ``answers`` (question -> answer text)."""

    def reply(messages):
        question = messages[-1]["content"].split("\n")[1]
        return f"[[answer]]\n{answers[question]}"

    return pl.FunctionLM(reply)


def devset(n_right, n_wrong):
    rows = [(f"q{i}", "yes") for i in range(n_right)]
    rows += [(f"q{n_right + i}", "no") for i in range(n_wrong)]
    return [pl.Example(question=q, answer="yes", said=s).with_inputs("question") for q, s in rows]


def program_for(examples):
    return pl.Predict("question -> answer", lm=answering_lm({e.question: e.said for e in examples}))


def run(examples, metric=None, **options):
    options.setdefault("progress", False)
    return evaluate(program_for(examples), examples, metric or metrics.exact_match(), **options)


def test_mean_and_interval_on_seven_of_ten():
    result = run(devset(7, 3))
    assert result.score == pytest.approx(0.7)
    assert result.percent == pytest.approx(70.0)
    assert result.ci_low < 0.7 < result.ci_high
    assert result.ci_low >= 0.0
    assert result.ci_high <= 1.0
    assert (result.n, result.n_errors) == (10, 0)
    assert [r.index for r in result.rows] == list(range(10))
    assert [r.score for r in result.rows] == [1.0] * 7 + [0.0] * 3
    assert result.rows[0].prediction.answer == "yes"


def test_interval_narrows_with_more_examples_and_is_seeded():
    small, large = run(devset(7, 3)), run(devset(70, 30))
    assert large.score == pytest.approx(0.7)
    assert large.ci_high - large.ci_low < small.ci_high - small.ci_low
    again = run(devset(7, 3), num_threads=1)
    assert (again.ci_low, again.ci_high) == (small.ci_low, small.ci_high)
    wider = run(devset(7, 3), confidence=0.99)
    assert wider.ci_low <= small.ci_low
    assert wider.ci_high >= small.ci_high


def test_failing_examples_score_zero_and_keep_their_error():
    examples = devset(4, 0)

    def reply(messages):
        question = messages[-1]["content"].split("\n")[1]
        if question == "q1":
            raise RuntimeError("server on fire")
        return "garbled" if question == "q2" else "[[answer]]\nyes"

    program = pl.Predict("question -> answer, confidence: float", lm=pl.FunctionLM(reply))
    result = evaluate(program, examples, metrics.exact_match(), progress=False)
    assert result.scores == [0.0, 0.0, 0.0, 0.0]  # confidence missing everywhere
    assert result.n_errors == 4
    fire = result.rows[1]
    assert fire.error == "RuntimeError: server on fire"
    assert (fire.failed_in, fire.prediction, fire.ok) == ("program", None, False)
    assert isinstance(fire.exception, RuntimeError)
    assert result.rows[2].error.startswith("ParseError: ")
    assert "errors     4 of 4 (ParseError ×3, RuntimeError ×1)" in result.summary()


def test_metric_exceptions_are_kept_per_example():
    def metric(example, prediction):
        if example.question == "q3":
            raise KeyError("missing")
        return prediction.answer == "yes"

    result = run(devset(5, 0), metric)
    assert result.scores == [1.0, 1.0, 1.0, 0.0, 1.0]
    row = result.rows[3]
    assert (row.failed_in, row.error) == ("metric", "KeyError: 'missing'")
    assert row.prediction.answer == "yes"  # the program's output is kept


def test_bool_float_and_score_metrics():
    examples = devset(2, 2)
    as_bool = run(examples, lambda ex, pred: pred.answer == ex.answer)
    as_float = run(examples, lambda ex, pred: 0.25 if pred.answer == "no" else 1)
    as_score = run(examples, lambda ex, pred: Score(pred.answer == "yes", f"said {pred.answer}"))
    assert as_bool.scores == [1.0, 1.0, 0.0, 0.0]
    assert as_float.score == pytest.approx(0.625)
    assert as_score.score == pytest.approx(0.5)
    assert [r.feedback for r in as_score.rows] == ["said yes"] * 2 + ["said no"] * 2


@pytest.mark.parametrize("bad", ["yes", None, float("nan"), [1.0]])
def test_a_metric_returning_a_non_score_stops_the_run(bad):
    def odd_metric(example, prediction):
        return bad

    with pytest.raises(pl.UsageError, match=r"Metric .*odd_metric returned"):
        run(devset(3, 0), odd_metric)


def test_scores_outside_zero_one_are_kept_in_metric_units():
    result = run(devset(2, 2), lambda ex, pred: 5.0 if pred.answer == "yes" else 1.0)
    assert result.score == pytest.approx(3.0)
    assert not result.in_unit_range
    assert result.summary().splitlines()[0].startswith("<lambda>: 3.000 on 4 examples")


class TwoSteps(pl.Module):
    def __init__(self, lm):
        self.first = pl.Predict("question -> answer", lm=lm)
        self.second = pl.Predict("question, answer -> final", lm=lm)

    def forward(self, question):
        answer = self.first(question=question).answer
        return self.second(question=question, answer=answer)


def test_three_argument_metrics_get_that_examples_trace():
    def reply(messages):
        question = messages[-1]["content"].split("\n")[1]
        return f"[[answer]]\n{question}-a\n\n[[final]]\n{question}-f"

    program = TwoSteps(pl.FunctionLM(reply))
    seen = {}

    def metric(example, prediction, trace):
        seen[example.question] = trace
        return 1.0

    examples = [pl.Example(question=f"q{i}").with_inputs("question") for i in range(8)]
    result = evaluate(program, examples, metric, num_threads=4, progress=False)
    assert result.score == 1.0
    for question, trace in seen.items():
        assert [e.predictor for e in trace] == [program.first, program.second]
        assert trace[0].inputs == {"question": question}
        assert trace[1].outputs.final == f"{question}-f"
    assert len(result.rows[0].trace) == 2


def test_keyword_trace_metric_gets_the_trace_too():
    got = []

    def metric(example, prediction, *, trace=None):
        got.append(len(trace))
        return 1.0

    run(devset(2, 0), metric)
    assert got == [1, 1]


def test_max_errors_stops_the_run_with_partial_rows():
    def broken(**inputs):
        raise ValueError("nope")

    with pytest.raises(EvaluationError, match=r"more than max_errors=2") as info:
        evaluate(broken, devset(6, 0), metrics.exact_match(), num_threads=1, max_errors=2)
    assert len(info.value.rows) == 3
    assert isinstance(info.value.__cause__, ValueError)
    result = evaluate(broken, devset(3, 0), metrics.exact_match(), max_errors=3)
    assert result.n_errors == 3  # not more than max_errors: the run finishes


def test_usage_and_time_are_recorded():
    examples = devset(3, 1)
    answers = {e.question: e.said for e in examples}
    pl.register_provider("evaltest", lambda model, settings: answering_lm(answers))
    lm = pl.LM("evaltest/m", cache=False)
    result = evaluate(pl.Predict("question -> answer", lm=lm), examples, metrics.exact_match())
    assert result.usage.calls == 4
    assert result.usage.prompt_tokens > 0
    assert result.usage_by_model["evaltest/m"].calls == 4
    assert result.wall_time > 0
    assert "LM calls   4 (0 cache hits)" in result.summary()


def test_workers_see_the_callers_lm_settings():
    examples = devset(2, 1)
    program = pl.Predict("question -> answer")
    with pl.using(lm=answering_lm({e.question: e.said for e in examples})):
        result = evaluate(program, examples, metrics.exact_match(), progress=False)
    assert result.score == pytest.approx(2 / 3)


def test_to_dict_is_json_and_summary_is_readable():
    result = run(devset(7, 3))
    data = json.loads(json.dumps(result.to_dict()))
    assert data["score"] == pytest.approx(0.7)
    assert data["n"] == 10
    assert len(data["rows"]) == 10
    assert data["rows"][9] == {
        "index": 9,
        "example": {"question": "q9", "answer": "yes", "said": "no"},
        "prediction": {"answer": "no"},
        "score": 0.0,
        "feedback": "",
        "error": None,
        "failed_in": None,
    }
    head = result.summary().splitlines()[0]
    assert head == "exact_match(field='answer'): 70.0% on 10 examples (95% CI 39.7% to 89.2%)"
    assert "70.0%" in repr(result)


def test_bad_arguments_are_refused_before_running():
    program = program_for(devset(1, 0))
    ok = devset(1, 0)
    with pytest.raises(pl.UsageError, match="empty"):
        evaluate(program, [], metrics.exact_match())
    with pytest.raises(pl.UsageError, match="no inputs marked"):
        evaluate(program, [pl.Example(question="q0")], metrics.exact_match())
    with pytest.raises(pl.UsageError, match=r"pl\.Example rows"):
        evaluate(program, [{"question": "q0"}], metrics.exact_match())
    with pytest.raises(pl.UsageError, match="metric"):
        evaluate(program, ok, lambda pred: 1.0)
    with pytest.raises(pl.UsageError, match="num_threads"):
        evaluate(program, ok, metrics.exact_match(), num_threads=0)
    with pytest.raises(pl.UsageError, match="confidence"):
        evaluate(program, ok, metrics.exact_match(), confidence=95)


def test_progress_bar_only_when_asked(capsys):
    run(devset(3, 0), progress=True)
    assert "evaluate" in capsys.readouterr().err
    run(devset(3, 0), progress=False)
    assert capsys.readouterr().err == ""
