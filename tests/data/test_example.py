import copy

import pytest

import pliable as pl


def test_inputs_and_labels_split_by_with_inputs():
    ex = pl.Example(question="q", answer="a", source="s").with_inputs("question")
    assert dict(ex.inputs()) == {"question": "q"}
    assert dict(ex.labels()) == {"answer": "a", "source": "s"}
    assert ex.question == "q"
    assert ex["answer"] == "a"


def test_inputs_without_marking_is_an_error_that_says_what_to_do():
    with pytest.raises(pl.UsageError, match=r"with_inputs"):
        pl.Example(question="q").inputs()
    with pytest.raises(pl.UsageError, match="'nope' not in this example"):
        pl.Example(question="q").with_inputs("nope")


def test_examples_are_read_only_and_copies_are_independent():
    ex = pl.Example(a=1).with_inputs("a")
    with pytest.raises(pl.UsageError, match="read-only"):
        ex.a = 2
    changed = ex.copy(a=2)
    assert (ex.a, changed.a) == (1, 2)
    assert changed.input_keys == frozenset({"a"})
    assert dict(ex.without("a")) == {}


def test_missing_attribute_suggests_close_name():
    with pytest.raises(AttributeError, match="Did you mean `answer`"):
        _ = pl.Example(answer="a").anwser


def test_equality_and_deepcopy():
    ex = pl.Example(a=[1], b="x").with_inputs("a")
    clone = copy.deepcopy(ex)
    assert clone == ex
    assert clone["a"] is not ex["a"]
    assert ex != pl.Example(a=[1], b="x")


def test_prediction_completions_and_deepcopy():
    pred = pl.Prediction.from_completions([{"a": 1}, {"a": 2}])
    assert pred.a == 1
    assert [c.a for c in pred.completions] == [1, 2]
    assert [c.a for c in copy.deepcopy(pred).completions] == [1, 2]
    assert pl.Prediction(a=3).completions[0].a == 3
