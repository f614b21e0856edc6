"""The majority-answer floor: which field, which answer, its score, and that it spends no LM
call; and how ``evaluate`` shows it."""

import enum
import json

import pytest

import pliable as pl
from pliable.evaluation import metrics


def rows(answers, prefix="q", **extra):
    return [
        pl.Example(q=f"{prefix}{i}", a=a, **extra).with_inputs("q", *extra)
        for i, a in enumerate(answers)
    ]


TRAIN = rows(["no"] * 7 + ["yes"] * 3, prefix="t")
DEV = rows(["no"] * 6 + ["yes"] * 4, prefix="d")
YES_NO = pl.Predict("q -> a: Literal['yes', 'no']")


def constant_lm(answer, field="a"):
    return pl.FunctionLM(lambda messages: f"[[{field}]]\n{answer}")


def test_literal_output_floors_at_the_trainsets_most_common_answer():
    floor = pl.majority_floor(YES_NO, DEV, metrics.exact_match("a"), trainset=TRAIN)
    assert floor is not None
    assert (floor.field, floor.answer, floor.strategy, floor.source) == (
        "a",
        "no",
        "answer",
        "trainset",
    )
    assert (floor.support, floor.total, floor.n) == (7, 10, 10)
    assert floor.score == pytest.approx(0.6)  # 6 of the 10 dev answers are "no"
    assert floor.values == (1.0,) * 6 + (0.0,) * 4
    assert "always 'no'" in str(floor)
    assert "7 of 10" in str(floor)
    assert "0 LM calls" in str(floor)
    assert floor.to_dict()["answer"] == "no"
    assert floor.to_dict()["lm_calls"] == 0


def test_the_floor_spends_no_lm_call():
    lm = constant_lm("yes")
    with pl.using(lm=lm), pl.track_usage() as usage:
        floor = pl.majority_floor(YES_NO, DEV, metrics.exact_match("a"), trainset=TRAIN)
    assert floor is not None
    assert usage.total.calls == 0
    assert lm.calls == []


class Mood(enum.Enum):
    HAPPY = "happy"
    SAD = "sad"


class MoodSig(pl.Signature):
    text: str = pl.InputField()
    mood: Mood = pl.OutputField()


class FlagSig(pl.Signature):
    text: str = pl.InputField()
    flag: bool | None = pl.OutputField()


def test_enum_and_optional_bool_outputs_have_a_floor():
    train = [pl.Example(text=str(i), mood="sad").with_inputs("text") for i in range(3)]
    dev = [
        pl.Example(text=str(i), mood=m).with_inputs("text") for i, m in enumerate(["sad", "happy"])
    ]
    floor = pl.majority_floor(pl.Predict(MoodSig), dev, metrics.exact_match("mood"), trainset=train)
    assert floor is not None
    assert floor.answer == "sad"
    assert floor.score == 0.5

    def same(example, pred):
        return example.flag == pred.flag

    train = [pl.Example(text=str(i), flag=i > 0).with_inputs("text") for i in range(3)]
    dev = [pl.Example(text=str(i), flag=True).with_inputs("text") for i in range(4)]
    floor = pl.majority_floor(pl.Predict(FlagSig), dev, same, trainset=train)
    assert floor is not None
    assert floor.answer is True
    assert floor.score == 1.0


def test_free_text_outputs_have_no_floor():
    program = pl.Predict("q -> a")
    assert pl.majority_floor(program, DEV, metrics.exact_match("a"), trainset=TRAIN) is None
    # ... unless you name the field
    floor = pl.majority_floor(program, DEV, metrics.exact_match("a"), trainset=TRAIN, field="a")
    assert floor is not None
    assert floor.score == pytest.approx(0.6)


def test_naming_a_field_the_examples_lack_is_a_usage_error():
    with pytest.raises(pl.UsageError, match=r"no_such.*labels they all have: a"):
        pl.majority_floor(YES_NO, DEV, metrics.exact_match("a"), field="no_such")


def test_without_a_trainset_the_floor_counts_the_dev_examples_and_says_so():
    floor = pl.majority_floor(YES_NO, DEV, metrics.exact_match("a"))
    assert floor is not None
    assert floor.source == "devset"
    assert "these dev examples' own" in floor.describe()
    assert "no trainset given" in floor.describe()
    # a trainset without the field also falls back to the dev examples
    unlabelled = [pl.Example(q="x").with_inputs("q")]
    assert (
        pl.majority_floor(YES_NO, DEV, metrics.exact_match("a"), trainset=unlabelled).source
        == "devset"
    )


def test_ties_go_to_the_answer_seen_first():
    train = rows(["yes", "no", "no", "yes"])
    floor = pl.majority_floor(YES_NO, DEV, metrics.exact_match("a"), trainset=train)
    assert floor.answer == "yes"


def test_the_last_predictors_labelled_output_is_floored():
    class TwoSteps(pl.Module):
        def __init__(self):
            self.topic = pl.Predict("q -> topic: Literal['sport', 'news']")
            self.answer = pl.Predict("q, topic -> a: Literal['yes', 'no']")

        def forward(self, q):
            return self.answer(q=q, topic=self.topic(q=q).topic)

    floor = pl.majority_floor(TwoSteps(), DEV, metrics.exact_match("a"), trainset=TRAIN)
    assert floor is not None
    assert floor.field == "a"


def test_multiple_choice_floors_the_most_common_choice_text():
    choices = ["plausible", "implausible"]
    train = [
        pl.Example(
            question=f"t{i}", choices=choices if i % 2 else choices[::-1], answer=a
        ).with_inputs("question", "choices")
        for i, a in enumerate(["implausible"] * 4 + ["plausible"])
    ]
    dev = [
        pl.Example(question=f"d{i}", choices=choices, answer=a).with_inputs("question", "choices")
        for i, a in enumerate(["implausible", "plausible", "implausible"])
    ]
    program = pl.Predict("question, choices: list[str] -> answer")
    floor = pl.majority_floor(program, dev, metrics.multiple_choice(), trainset=train)
    assert (floor.strategy, floor.answer) == ("answer", "implausible")
    assert floor.score == pytest.approx(2 / 3)
    # exact_match over a `choices` input floors too (the choices make the answer closed)
    floor = pl.majority_floor(program, dev, metrics.exact_match(), trainset=train)
    assert floor is not None
    assert floor.answer == "implausible"


def test_choices_that_differ_per_question_floor_at_the_most_common_position():
    def ex(i, options, right):
        return pl.Example(question=f"q{i}", choices=options, answer=options[right]).with_inputs(
            "question", "choices"
        )

    train = [ex(i, [f"a{i}", f"b{i}", f"c{i}"], 1 if i < 4 else 0) for i in range(6)]
    dev = [ex(10 + i, [f"x{i}", f"y{i}", f"z{i}"], r) for i, r in enumerate([1, 1, 2, 0])]
    floor = pl.majority_floor(
        pl.Predict("question, choices: list[str] -> answer"),
        dev,
        metrics.multiple_choice(),
        trainset=train,
    )
    assert (floor.strategy, floor.answer, floor.support) == ("position", 2, 4)
    assert floor.score == pytest.approx(0.5)
    assert "always choice 2" in floor.describe()
    assert "2nd" in floor.describe()

    # a plain function program: the only label, scored against the choices
    def first_choice(question, choices):
        return pl.Prediction(answer=choices[0])

    floor = pl.majority_floor(first_choice, dev, metrics.multiple_choice(), trainset=train)
    assert floor is not None
    assert floor.answer == 2


def test_a_metric_that_needs_an_lm_makes_the_floor_unavailable_without_calling_it():
    judge_lm = pl.ScriptedLM(["[[verdict]]\ntrue\n[[feedback]]\nok"] * 20)
    judge = metrics.llm_judge("is right", lm=judge_lm)
    assert pl.majority_floor(YES_NO, DEV, judge, trainset=TRAIN) is None
    assert judge_lm.calls == []

    own_lm = constant_lm("yes", field="verdict")

    def my_judge(example, pred):  # a user metric that asks an LM
        return pl.Predict("a -> verdict: bool", lm=own_lm)(a=pred.a).verdict

    with pl.track_usage() as usage:
        assert pl.majority_floor(YES_NO, DEV, my_judge, trainset=TRAIN) is None
    assert own_lm.calls == []
    assert usage.total.calls == 0


def test_a_metric_that_cannot_score_the_constant_answer_gives_no_floor():
    def needs_reasoning(example, pred):
        return example.a == pred.a and len(pred.reasoning) > 0

    assert pl.majority_floor(YES_NO, DEV, needs_reasoning, trainset=TRAIN) is None


def test_compare_says_above_not_clearly_above_or_at_or_below():
    floor = pl.majority_floor(YES_NO, DEV, metrics.exact_match("a"), trainset=TRAIN)
    assert floor.compare([1.0] * 10).verdict == "above"
    assert floor.compare([1.0] * 10).beaten
    assert floor.compare([1.0] * 7 + [0.0] * 3).verdict == "not clearly above"
    assert floor.compare([0.0] * 6 + [1.0] * 4).verdict == "at or below"
    assert "always 'no'" in floor.compare([0.0] * 10).describe()
    with pytest.raises(pl.UsageError, match="same examples"):
        floor.compare([1.0])


# --- evaluate ---------------------------------------------------------------------------------


def test_evaluate_carries_the_floor_and_says_when_the_program_does_not_beat_it():
    program = pl.Predict("q -> a: Literal['yes', 'no']", lm=constant_lm("no"))
    result = pl.evaluate(program, DEV, metrics.exact_match("a"), trainset=TRAIN, progress=False)
    assert result.floor is not None
    assert result.floor.score == pytest.approx(0.6)
    assert result.usage.calls == 10  # the program's calls only
    assert result.vs_floor.verdict == "at or below"
    floor_line = next(line for line in result.summary().splitlines() if "floor" in line)
    assert "60.0%" in floor_line
    assert "always 'no'" in floor_line
    assert "0 LM calls" in floor_line
    assert "does not beat it" in floor_line
    assert "floor=60.0%" in repr(result)
    data = json.loads(json.dumps(result.to_dict()))
    assert data["floor"]["answer"] == "no"
    assert data["vs_floor"]["verdict"] == "at or below"


def test_evaluate_says_when_the_program_is_above_the_floor():
    answers = {e.q: e.a for e in DEV}

    def right(messages):
        return f"[[a]]\n{answers[messages[-1]['content'].split(chr(10))[1]]}"

    program = pl.Predict("q -> a: Literal['yes', 'no']", lm=pl.FunctionLM(right))
    dev = DEV * 3  # enough examples for the gain over the floor to clear the noise
    result = pl.evaluate(program, dev, metrics.exact_match("a"), trainset=TRAIN, progress=False)
    assert result.score == 1.0
    assert result.vs_floor.verdict == "above"
    assert "the program is above it" in result.summary()


def test_evaluate_without_a_trainset_floors_on_the_devset_and_floor_false_turns_it_off():
    program = pl.Predict("q -> a: Literal['yes', 'no']", lm=constant_lm("no"))
    result = pl.evaluate(program, DEV, metrics.exact_match("a"), progress=False)
    assert result.floor.source == "devset"
    assert "no trainset given" in result.summary()
    off = pl.evaluate(program, DEV, metrics.exact_match("a"), floor=False, progress=False)
    assert off.floor is None
    assert off.vs_floor is None
    assert "floor" not in off.summary()
    assert "floor" not in repr(off)
    assert off.to_dict()["floor"] is None


def test_evaluate_of_free_text_shows_no_floor():
    program = pl.Predict("q -> a", lm=constant_lm("no"))
    result = pl.evaluate(program, DEV, metrics.exact_match("a"), trainset=TRAIN, progress=False)
    assert result.floor is None
    assert "floor" not in result.summary()
