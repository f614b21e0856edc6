import pytest

import pliable as pl
from pliable.evaluation import evaluate, metrics
from pliable.evaluation.metrics import choice_index
from pliable.evaluation.text import normalize_answer, token_f1


def ex(**values):
    return pl.Example(**values)


def pred(**values):
    return pl.Prediction(**values)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("The  Eiffel Tower!", "eiffel tower"),
        ("an apple, a pear", "apple pear"),
        ("“Théâtre” — Paris…", "théâtre paris"),
        ("  THEORY of the a ", "theory of"),
        (4.0, "4"),
        (True, "true"),
    ],
)
def test_normalize_answer(text, expected):
    assert normalize_answer(text) == expected


def test_exact_match_normalises_and_takes_lists_of_answers():
    em = metrics.exact_match()
    assert em(ex(answer="The Eiffel Tower"), pred(answer="eiffel tower.")) == 1.0
    assert em(ex(answer="Paris"), pred(answer="Paris, France")) == 0.0
    assert em(ex(answer=["NYC", "New York City"]), pred(answer="new york city")) == 1.0
    assert em(ex(answer=[]), pred(answer="x")) == 0.0


def test_exact_match_on_non_text_values():
    em = metrics.exact_match("n")
    assert em(ex(n=4), pred(n=4.0)) == 1.0
    assert em(ex(n=4), pred(n="4")) == 1.0
    assert em(ex(n=3.5), pred(n=35)) == 0.0  # numbers compare by value, not as stripped text
    assert metrics.exact_match("ok")(ex(ok=True), pred(ok=True)) == 1.0
    assert metrics.exact_match("ok")(ex(ok=True), pred(ok=False)) == 0.0


def test_exact_match_without_normalisation_and_names():
    strict = metrics.exact_match(normalize=False)
    assert strict(ex(answer="Paris"), pred(answer="paris")) == 0.0
    assert strict(ex(answer="Paris"), pred(answer="Paris")) == 1.0
    assert repr(strict) == "exact_match(field='answer', normalize=False)"
    assert repr(metrics.exact_match("label")) == "exact_match(field='label')"
    assert metrics.exact_match().__name__ == "exact_match"


def test_missing_fields_say_which_metric_and_field():
    with pytest.raises(pl.UsageError, match=r"exact_match\(field='answr'\).*example has no field"):
        metrics.exact_match("answr")(ex(answer="x"), pred(answr="x"))
    with pytest.raises(pl.UsageError, match="prediction has no field 'answer'; its fields: out"):
        metrics.exact_match()(ex(answer="x"), pred(out="x"))


def test_a_bare_string_prediction_is_its_own_answer():
    assert metrics.exact_match()(ex(answer="Paris"), "paris") == 1.0


def test_f1_is_token_overlap_with_the_best_gold():
    f = metrics.f1()
    assert f(ex(answer="the cat sat"), pred(answer="cat sat")) == 1.0
    assert f(ex(answer="cat sat down"), pred(answer="a cat stood")) == pytest.approx(0.4)
    assert f(ex(answer=["dog", "cat sat down"]), pred(answer="cat sat")) == pytest.approx(0.8)
    assert f(ex(answer="cat"), pred(answer="dog")) == 0.0
    assert token_f1("the", "a") == 1.0  # both empty after normalisation
    assert token_f1("", "cat") == 0.0
    assert repr(f) == "f1(field='answer')"


def test_passage_match_needs_the_answer_as_whole_words():
    pm = metrics.passage_match()
    passages = ["Paris is the capital of France.", "It was founded in 1945."]
    assert pm(ex(answer="the capital"), pred(context=passages)) == 1.0
    assert pm(ex(answer="194"), pred(context=passages)) == 0.0
    assert pm(ex(answer=["Rome", "FRANCE"]), pred(context=passages)) == 1.0
    assert pm(ex(answer="paris"), pred(context="PARIS, at last")) == 1.0
    assert pm(ex(answer="paris"), pred(context=[{"text": "In Paris."}])) == 1.0
    assert pm(ex(answer="paris"), pred(context=[])) == 0.0
    assert pm(ex(answer=""), pred(context=passages)) == 0.0
    custom = metrics.passage_match("passages", answer_field="gold")
    assert custom(ex(gold="1945"), pred(passages=passages)) == 1.0
    assert repr(custom) == "passage_match(field='passages', answer_field='gold')"


CHOICES = ["Paris", "Rome", "New York", "Berlin"]


@pytest.mark.parametrize(
    ("value", "index"),
    [
        ("B", 1),
        ("b", 1),
        ("(c)", 2),
        ("C) New York", 2),
        ("D.", 3),
        ("rome!", 1),
        ("new  york", 2),
        (0, 0),
        ("3", 3),
        ("E", None),
        (7, None),
        ("Bonn", None),
        ("I think", None),
        (True, None),
    ],
)
def test_choice_index_reads_letters_indices_and_text(value, index):
    assert choice_index(value, CHOICES) == index


def test_multiple_choice_compares_the_named_choices():
    mc = metrics.multiple_choice()
    assert mc(ex(answer="B", choices=CHOICES), pred(answer="Rome")) == 1.0
    assert mc(ex(answer=1, choices=CHOICES), pred(answer="(b)")) == 1.0
    assert mc(ex(answer="Rome", choices=CHOICES), pred(answer="a")) == 0.0
    assert mc(ex(answer="Rome", choices=CHOICES), pred(answer="Milan")) == 0.0
    numbers = ["10", "20", "30"]
    assert mc(ex(answer="20", choices=numbers), pred(answer="B")) == 1.0
    assert repr(mc) == "multiple_choice(field='answer', choices_field='choices')"


def test_multiple_choice_refuses_a_bad_label():
    mc = metrics.multiple_choice()
    with pytest.raises(pl.UsageError, match="names none of the choices"):
        mc(ex(answer="Z", choices=CHOICES), pred(answer="A"))
    with pytest.raises(pl.UsageError, match="list of choices"):
        mc(ex(answer="A", choices="ABCD"), pred(answer="A"))


def test_builtin_metrics_work_in_evaluate():
    examples = [
        pl.Example(question=q, answer=a).with_inputs("question")
        for q, a in [("one", "1"), ("two", "2")]
    ]
    program = pl.Predict("question -> answer", lm=pl.FunctionLM(lambda m: "[[answer]]\n1"))
    result = evaluate(program, examples, metrics.f1(), progress=False)
    assert result.scores == [1.0, 0.0]
    assert result.metric == "f1(field='answer')"


def test_multiple_choice_reads_the_numbering_pliable_puts_in_prompts():
    import pliable as pl
    from pliable.evaluation.metrics import multiple_choice

    ex = pl.Example(question="q", choices=["No", "Yes"], answer="No").with_inputs(
        "question", "choices"
    )
    scores = [
        multiple_choice()(ex, pl.Prediction(answer=a))
        for a in ["No", "[1] No", "[1]", "[2] Yes", "[2]", "[[choices]][1]", "[[ choices ]] [2]"]
    ]
    assert scores == [1.0, 1.0, 1.0, 0.0, 0.0, 1.0, 0.0]
    # a marker with no number after it names nothing
    assert multiple_choice()(ex, pl.Prediction(answer="[[choices]]")) == 0.0
