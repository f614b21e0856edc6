import pytest

import pliable as pl
from pliable.evaluation import Score, evaluate, metrics


def test_judge_returns_a_score_with_feedback():
    lm = pl.ScriptedLM(
        [
            "[[verdict]]\nyes\n\n[[feedback]]\nCorrect and brief.",
            "[[verdict]]\nno\n\n[[feedback]]\nWrong city.",
        ]
    )
    judge = metrics.llm_judge("The answer names the right capital.", lm=lm)
    example = pl.Example(question="Capital of France?", answer="Paris")
    assert judge(example, pl.Prediction(answer="Paris")) == Score(1.0, "Correct and brief.")
    assert judge(example, pl.Prediction(answer="Lyon")) == Score(0.0, "Wrong city.")
    prompt = lm.calls[1].prompt
    assert "The answer names the right capital." in prompt
    assert "question: Capital of France?\nanswer: Paris" in prompt
    assert "answer: Lyon" in prompt
    assert repr(judge) == "llm_judge(criteria='The answer names the right capital.')"


def test_judge_shows_only_the_chosen_example_fields_and_uses_the_context_lm():
    lm = pl.ScriptedLM(["[[verdict]]\nno\n\n[[feedback]]\nToo long."])
    judge = metrics.llm_judge("Be brief." * 10, fields=["question"])
    with pl.using(lm=lm):
        score = judge(pl.Example(question="Why?", answer="secret"), pl.Prediction(answer="..."))
    assert score == Score(0.0, "Too long.")
    assert "secret" not in lm.calls[0].prompt
    assert repr(judge).endswith("...', fields=['question'])")


def test_judge_inside_evaluate_keeps_feedback_and_parse_failures():
    lm = pl.ScriptedLM(
        {
            "q0": "[[verdict]]\nyes\n\n[[feedback]]\nfine",
            "q1": "[[verdict]]\nmaybe\n\n[[feedback]]\nunsure",
            "q2": "[[verdict]]\nno\n\n[[feedback]]\nwrong",
        }
    )
    program = pl.Predict("question -> answer", lm=pl.FunctionLM(lambda m: "[[answer]]\nhi"))
    devset = [pl.Example(question=f"q{i}").with_inputs("question") for i in range(3)]
    result = evaluate(program, devset, metrics.llm_judge("Polite.", lm=lm), progress=False)
    assert result.scores == [1.0, 0.0, 0.0]
    assert [r.feedback for r in result.rows] == ["fine", "", "wrong"]
    assert result.rows[1].failed_in == "metric"
    assert result.rows[1].error.startswith("ParseError")


def test_judge_without_any_lm_fails_clearly():
    judge = metrics.llm_judge("Polite.")
    with pytest.raises(pl.ConfigurationError, match="No LM"):
        judge(pl.Example(question="q"), pl.Prediction(answer="a"))
