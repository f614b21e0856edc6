"""teacher= on BootstrapRandomSearch and JointSearch; JointSearch and Reflective filling an
lm_calls budget (fill_budget=); Reflective using a reflection reply without its marker."""

import re

import pytest

import pliable as pl
from pliable.errors import ParseError
from pliable.optimizers.joint_search import JointSearch
from pliable.optimizers.reflective import ReflectInstruction, Reflective
from pliable.optimizers.state import state_hash

optuna = pytest.importorskip("optuna")


def examples(n, start=0):
    return [
        pl.Example(question=f"{i}+{i}", answer=str(2 * i)).with_inputs("question")
        for i in range(start, start + n)
    ]


def exact(example, pred):
    return example.answer == pred.answer


def question_of(message):
    return message["content"].split("\n")[1]


def cot_lm(tag, right, log=None):
    """A ChainOfThought LM whose reasoning is ``tag`` and whose sum is off by one unless
    ``right(messages)``; ``log`` collects the messages of every call."""

    def answer(messages):
        if log is not None:
            log.append(messages)
        a, b = question_of(messages[-1]).split("+")
        value = int(a) + int(b) + (0 if right(messages) else 1)
        return f"[[reasoning]]\n{tag} worked it out\n\n[[answer]]\n{value}"

    return pl.FunctionLM(answer, model=f"fake/{tag.lower()}")


def shown_teacher_demo(messages):
    """Whether a demo bootstrapped from the teacher (its reasoning) is in the prompt."""
    return any("TEACHER" in m["content"] for m in messages[1:-1])


def student_and_teacher(teacher_log=None):
    """A program whose LM answers wrong unless shown the teacher's demos, and the same
    program on a teacher LM that always answers right."""
    student_lm = cot_lm("STUDENT", shown_teacher_demo)
    teacher_lm = cot_lm("TEACHER", lambda messages: True, teacher_log)
    program = pl.ChainOfThought("question -> answer", lm=student_lm)
    teacher = program.deepcopy()
    for predictor in teacher.predictors():
        predictor.lm = teacher_lm
    assert program.predictors()[0].lm is student_lm
    return program, teacher, student_lm, teacher_lm


def prompt_fake():
    return pl.FunctionLM(
        lambda messages, options: f"[[instruction]]\nAnswer it, attempt {options['sample']}.",
        model="fake/prompt",
    )


def joint(**kwargs):
    settings = dict(
        auto=None,
        num_instructions=2,
        num_demo_sets=3,
        num_trials=3,
        minibatch_size=2,
        full_eval_every=3,
        prompt_lm=prompt_fake(),
        num_threads=1,
    )
    return JointSearch(exact, **{**settings, **kwargs})


def trials(report):
    return [
        c["name"]
        for c in report.candidates
        if c["name"].startswith("trial ") and not c["name"].endswith("on the full valset")
    ]


class TwoStage(pl.Module):
    def __init__(self):
        self.rewrite = pl.Predict("question -> expression")
        self.solve = pl.Predict("expression -> answer")

    def forward(self, question):
        return self.solve(expression=self.rewrite(question=question).expression)


# -- teacher= ------------------------------------------------------------------------------


def test_random_search_bootstraps_its_demos_from_the_teacher():
    program, teacher, student_lm, teacher_lm = student_and_teacher()
    opt = pl.BootstrapRandomSearch(
        exact,
        num_candidates=3,
        max_bootstrapped_demos=2,
        max_labeled_demos=0,
        teacher=teacher,
        num_threads=1,
    )
    compiled = opt.compile(program, trainset=examples(4, 1), valset=examples(4, 20))
    demos = compiled.predictors()[0].demos
    assert len(demos) == 2
    for demo in demos:  # the teacher's outputs: its reasoning and its (right) answers
        assert demo.reasoning == "TEACHER worked it out"
        assert demo.answer == str(2 * int(demo.question.split("+")[0]))
    assert teacher_lm.calls
    # the student's LM only answered the valset: it ran no bootstrap
    asked = {question_of(c.messages[-1]) for c in student_lm.calls}
    assert asked <= {ex.question for ex in examples(4, 20)}
    assert compiled.report.final.score == 1.0
    assert compiled.report.selected == "compiled"
    assert "bootstrap: tried 2 of 4 train examples: 2 passed the metric" in compiled.report.notes[0]
    assert teacher.predictors()[0].demos == []  # the teacher passed in is untouched


def test_random_search_without_a_teacher_bootstraps_nothing_from_a_wrong_student():
    program, _, _, teacher_lm = student_and_teacher()
    opt = pl.BootstrapRandomSearch(
        exact, num_candidates=3, max_bootstrapped_demos=2, max_labeled_demos=0, num_threads=1
    )
    compiled = opt.compile(program, trainset=examples(4, 1), valset=examples(4, 20))
    assert compiled.predictors()[0].demos == []
    assert not teacher_lm.calls
    assert any("4 train examples: 0 passed the metric" in n for n in compiled.report.notes)
    assert compiled.report.final.score == 0.0
    assert compiled.report.settings["teacher"] is None


@pytest.mark.parametrize("with_teacher", [True, False])
def test_joint_search_bootstraps_its_demo_sets_from_the_teacher(with_teacher):
    program, teacher, _, teacher_lm = student_and_teacher()
    opt = joint(num_instructions=1, num_trials=6, teacher=teacher if with_teacher else None)
    compiled = opt.compile(
        program, trainset=examples(4, 1), valset=examples(4, 20), require_significance=False
    )
    report = compiled.report
    reasoning = [d.get("reasoning") for d in compiled.predictors()[0].demos]
    if with_teacher:
        assert teacher_lm.calls
        assert any("4 passed the metric" in n for n in report.notes)
        assert reasoning
        assert set(reasoning) == {"TEACHER worked it out"}
        assert report.final.score == 1.0
        assert report.settings["teacher"] == {
            "program": "ChainOfThought",
            "state": state_hash(teacher),
        }
    else:
        assert not teacher_lm.calls
        assert any("0 passed the metric" in n for n in report.notes)
        assert "TEACHER worked it out" not in reasoning
        assert report.final.score == 0.0
        assert report.settings["teacher"] is None


def test_a_teacher_without_demos_is_shown_labeled_demos():
    log = []
    program, teacher, student_lm, _ = student_and_teacher(log)
    opt = pl.BootstrapFewShot(exact, max_bootstrapped_demos=2, max_labeled_demos=2, teacher=teacher)
    compiled = opt.compile(program, trainset=examples(6, 1))
    assert log
    train = {ex.question for ex in examples(6, 1)}
    for messages in log:
        assert len(messages) > 2  # more than system + user: demos
        asked = question_of(messages[-1])
        shown = {question_of(m) for m in messages[1:-1] if m["role"] == "user"}
        assert shown
        assert shown <= train
        assert asked not in shown  # never the example it answers
    assert not student_lm.calls  # no valset: the student's LM was never called
    assert [d.reasoning for d in compiled.predictors()[0].demos[:2]] == [
        "TEACHER worked it out"
    ] * 2
    assert teacher.predictors()[0].demos == []


def test_a_teacher_with_demos_of_its_own_sees_exactly_those():
    log = []
    program, teacher, _, _ = student_and_teacher(log)
    own = pl.Example(question="7+7", reasoning="given", answer="14").with_inputs("question")
    teacher.predictors()[0].demos = [own]
    opt = pl.BootstrapFewShot(exact, max_bootstrapped_demos=2, max_labeled_demos=2, teacher=teacher)
    opt.compile(program, trainset=examples(6, 1))
    assert log
    for messages in log:
        assert len(messages) == 4  # system, the one demo (user + assistant), user
        assert question_of(messages[1]) == "7+7"
        assert "given" in messages[2]["content"]
    assert teacher.predictors()[0].demos == [own]


def test_settings_show_the_teacher_as_its_type_and_state_hash():
    program, teacher, _, _ = student_and_teacher()
    with_demos = teacher.deepcopy()
    with_demos.predictors()[0].demos = examples(1, 7)
    for make in (
        lambda t: pl.BootstrapFewShot(exact, teacher=t),
        lambda t: pl.BootstrapRandomSearch(exact, teacher=t),
        lambda t: joint(teacher=t),
    ):
        shown = make(teacher).settings()["teacher"]
        assert shown == {"program": "ChainOfThought", "state": state_hash(teacher)}
        other = make(with_demos).settings()["teacher"]
        assert other["program"] == "ChainOfThought"
        assert other["state"] == state_hash(with_demos) != shown["state"]
        assert make(None).settings()["teacher"] is None
    compiled = pl.BootstrapRandomSearch(
        exact, num_candidates=3, max_labeled_demos=0, teacher=teacher, num_threads=1
    ).compile(program, trainset=examples(3, 1), valset=examples(2, 20))
    assert compiled.report.settings["teacher"] == {
        "program": "ChainOfThought",
        "state": state_hash(teacher),
    }


@pytest.mark.parametrize(
    "make",
    [
        lambda t: pl.BootstrapFewShot(exact, teacher=t),
        lambda t: pl.BootstrapRandomSearch(exact, num_candidates=3, teacher=t, num_threads=1),
        lambda t: joint(num_instructions=1, teacher=t),
    ],
    ids=["BootstrapFewShot", "BootstrapRandomSearch", "JointSearch"],
)
def test_a_teacher_of_another_shape_is_refused_before_any_lm_call(make):
    program, _, student_lm, _ = student_and_teacher()
    with pytest.raises(pl.UsageError, match=r"teacher's predictors \['rewrite', 'solve'\]"):
        make(TwoStage()).compile(program, trainset=examples(4, 1), valset=examples(2, 20))
    assert student_lm.calls == []


# -- fill_budget= --------------------------------------------------------------------------


def joint_task(messages):
    """Right only with a proposed instruction and demos: every configuration differs."""
    a, b = question_of(messages[-1]).split("+")
    good = "attempt" in messages[0]["content"] and len(messages) > 2
    return f"[[answer]]\n{int(a) + int(b) if good else 0}"


def run_joint(budget=None, **kwargs):
    lm = pl.FunctionLM(joint_task, model="fake/task")
    return (
        joint(**kwargs)
        .compile(
            pl.Predict("question -> answer", lm=lm),
            trainset=examples(6),
            valset=examples(8, 100),
            budget=budget,
            require_significance=False,
        )
        .report
    )


def test_joint_search_fills_a_large_budget_up_to_four_times_num_trials():
    report = run_joint(pl.Budget(lm_calls=1000))
    assert len(trials(report)) == 4 * 3
    assert trials(report) == [f"trial {i}" for i in range(12)]
    assert "the budget had room for 9 trials past num_trials" in report.notes
    assert report.lm_calls <= 1000
    assert report.stopped is None


@pytest.mark.parametrize(
    ("budget", "fill"), [(None, True), (pl.Budget(lm_calls=1000), False), (None, False)]
)
def test_joint_search_runs_exactly_num_trials_without_a_budget_or_fill(budget, fill):
    report = run_joint(budget, fill_budget=fill)
    assert trials(report) == ["trial 0", "trial 1", "trial 2"]
    assert not any("past num_trials" in n for n in report.notes)


def test_joint_search_fill_never_runs_into_the_budget():
    # 31 calls without filling; a trial costs at most 2 calls, a full evaluation 8. A filled
    # trial may be followed by a periodic full evaluation and then the one at the end, so
    # the fill keeps room for both (with room for one, a budget of 48 ended stopped by it).
    assert run_joint(pl.Budget(lm_calls=48), fill_budget=False).lm_calls == 31
    counts = []
    for calls in range(32, 68, 2):
        report = run_joint(pl.Budget(lm_calls=calls))
        assert report.stopped is None, calls
        assert "budget reached during the search" not in report.notes
        assert report.lm_calls <= calls
        n = len(trials(report))
        assert 3 <= n <= 12
        if n > 3:
            assert f"the budget had room for {n - 3} trials past num_trials" in report.notes
        counts.append(n)
    assert counts == sorted(counts)  # more room, more trials
    assert counts[0] == 3
    assert counts[-1] == 12
    assert any(3 < n < 12 for n in counts)


def test_joint_search_fill_stops_when_trials_stop_costing_calls():
    # one instruction, one demo set (none): every trial is the baseline, scored already
    lm = pl.FunctionLM(joint_task, model="fake/task")
    report = (
        joint(num_instructions=1, num_demo_sets=1, num_trials=3)
        .compile(
            pl.Predict("question -> answer", lm=lm),
            trainset=examples(4),
            valset=examples(2, 100),
            budget=pl.Budget(lm_calls=10_000),
        )
        .report
    )
    # LM calls made by the baseline, then by the end of each trial
    calls = [c["lm_calls"] for c in report.candidates if c["name"] in ["baseline", *trials(report)]]
    # it stops after five trials in a row made no call, well before 4 x 3 trials: every
    # trial is the baseline's own state (the current instruction is left as it is), so its
    # scores are remembered and the baseline's 2 examples are the only calls
    assert len(calls) - 1 == 5
    assert len(set(calls)) == 1
    assert report.lm_calls == len(lm.calls) == 2
    assert report.stopped is None


def test_fill_budget_must_be_a_bool():
    with pytest.raises(pl.UsageError, match=r"JointSearch\(fill_budget=...\) must be True or"):
        joint(fill_budget="yes")
    with pytest.raises(pl.UsageError, match=r"Reflective\(fill_budget=...\) must be True or"):
        Reflective(exact, fill_budget="yes")
    with pytest.raises(pl.UsageError):
        Reflective(exact, fill_budget=1)
    assert joint().fill_budget is True
    assert Reflective(exact).fill_budget is True


def adder(keyword="REFLECTED"):
    """A task LM that adds correctly only when its system prompt holds ``keyword``."""

    def answer(messages):
        a, b = question_of(messages[-1]).split("+")
        value = int(a) + int(b) + (0 if keyword in messages[0]["content"] else 1)
        return f"[[answer]]\n{value}"

    return pl.FunctionLM(answer, model="fake/task")


def reflector(reply=lambda n: f"[[new_instruction]]\nTry harder, version {n}."):
    """A reflection LM giving ``reply(n)`` on its n-th call (from 1)."""
    count = {"n": 0}

    def answer(messages):
        count["n"] += 1
        return reply(count["n"])

    return pl.FunctionLM(answer, model="fake/reflector")


def iterations(report):
    (note,) = [n for n in report.notes if re.match(r"\d+ iterations, ", n)]
    return int(note.split()[0])


def run_reflective(budget=None, **kwargs):
    refl = reflector()
    opt = Reflective(
        exact, reflection_lm=refl, max_iterations=2, minibatch_size=2, num_threads=1, **kwargs
    )
    compiled = opt.compile(
        pl.Predict("question -> answer", lm=adder()),
        trainset=examples(4),
        valset=examples(3, 50),
        budget=budget,
        require_significance=False,
    )
    return compiled.report, refl


def test_reflective_fills_a_large_budget_up_to_ten_times_max_iterations():
    report, refl = run_reflective(pl.Budget(lm_calls=1000))
    assert iterations(report) == 20
    assert len(refl.calls) == 20  # every iteration reflected
    assert "the budget had room for 18 more iterations" in report.notes
    assert report.lm_calls <= 1000
    assert report.stopped is None


@pytest.mark.parametrize(
    ("budget", "fill"), [(None, True), (pl.Budget(lm_calls=1000), False), (None, False)]
)
def test_reflective_runs_exactly_max_iterations_without_a_budget_or_fill(budget, fill):
    report, refl = run_reflective(budget, fill_budget=fill)
    assert iterations(report) == 2
    assert len(refl.calls) == 2
    assert not any("more iterations" in n for n in report.notes)


def test_reflective_fill_keeps_room_for_an_iteration():
    # an iteration costs at most 2 x 2 minibatch calls + 3 valset calls + 1 reflection
    report, _ = run_reflective(pl.Budget(lm_calls=40))
    done = iterations(report)
    assert 2 < done < 20
    assert report.lm_calls <= 40
    assert report.lm_calls + 8 > 40  # stopped only for lack of room
    assert report.stopped is None
    assert f"the budget had room for {done - 2} more iterations" in report.notes


def test_reflective_fill_stops_when_iterations_stop_costing_calls(tmp_path):
    # a cached task LM, always right: a perfect parent is not reflected on, and its
    # minibatch replays from the cache once run
    def right(messages):
        a, b = question_of(messages[-1]).split("+")
        return f"[[answer]]\n{int(a) + int(b)}"

    pl.register_provider("teacher-budget-cached", lambda model, settings: pl.FunctionLM(right))
    lm = pl.LM("teacher-budget-cached/m", cache=tmp_path / "cache")
    refl = reflector()
    opt = Reflective(
        exact,
        reflection_lm=refl,
        max_iterations=2,
        minibatch_size=2,
        perfect_score=1.0,
        num_threads=1,
    )
    report = opt.compile(
        pl.Predict("question -> answer", lm=lm),
        trainset=examples(2),
        valset=examples(3, 50),
        budget=pl.Budget(lm_calls=10_000),
    ).report
    assert iterations(report) == 6  # one that ran the minibatch, then five idle ones
    assert report.lm_calls == 3 + 2
    assert not refl.calls
    assert report.stopped is None


# -- a reflection reply without its marker -------------------------------------------------


@pytest.mark.parametrize(
    "reply",
    [
        "REFLECTED: add the numbers exactly.",
        # an echoed input marker: the chat adapter finds no new_instruction (a ParseError)
        "[[current_instruction]]\n  REFLECTED: add the numbers exactly.  ",
        # the feedback echoed back after it is cut off
        "REFLECTED: add the numbers exactly.\n\n[[examples_with_feedback]]\nExample 1: wrong",
    ],
    ids=["plain", "echoed-marker", "echoed-inputs"],
)
def test_a_reflection_reply_without_its_marker_is_the_new_instruction(reply):
    if reply.startswith("[["):  # the case the fallback is for really fails to parse
        writer = pl.Predict(ReflectInstruction, lm=pl.FunctionLM(lambda messages: reply))
        with pytest.raises(ParseError):
            writer(current_instruction="x", examples_with_feedback="y")
    refl = reflector(lambda n: reply)
    compiled = Reflective(
        exact, reflection_lm=refl, max_iterations=1, minibatch_size=2, num_threads=1
    ).compile(
        pl.Predict("question -> answer", lm=adder()),
        trainset=examples(3, 1),
        valset=examples(3, 50),
        require_significance=False,
    )
    report = compiled.report
    assert len(refl.calls) == 1
    (child,) = [c for c in report.candidates if c["name"].startswith("reflect 1")]
    assert child["accepted"] is True
    assert compiled.signature.instructions == "REFLECTED: add the numbers exactly."
    assert report.final.score == 1.0
    assert report.selected == "compiled"


def test_a_too_short_unmarked_reflection_reply_is_skipped():
    refl = reflector(lambda n: "[[current_instruction]]\nok")
    compiled = Reflective(
        exact, reflection_lm=refl, max_iterations=1, minibatch_size=2, num_threads=1
    ).compile(
        pl.Predict("question -> answer", lm=adder()),
        trainset=examples(3, 1),
        valset=examples(3, 50),
        require_significance=False,
    )
    assert len(refl.calls) == 1
    assert not [c for c in compiled.report.candidates if c["name"].startswith("reflect")]
    assert compiled.signature.instructions == "Given `question`, produce `answer`."
    assert compiled.report.selected == "unchanged"


class ThreeCalls(pl.Module):
    """One predictor called three times per example (the last call answers)."""

    def __init__(self, lm):
        self.step = pl.Predict("question -> answer", lm=lm)

    def forward(self, question):
        self.step(question=question)
        self.step(question=question + " ")
        return self.step(question=question)


def test_joint_search_fill_counts_the_calls_an_example_really_makes():
    # three calls per example: a fill that assumed one per predictor ran into the budget
    for calls in (100, 160, 230):
        lm = pl.FunctionLM(joint_task, model="fake/task")
        report = (
            joint()
            .compile(
                ThreeCalls(lm),
                trainset=examples(6),
                valset=examples(8, 100),
                budget=pl.Budget(lm_calls=calls),
                require_significance=False,
            )
            .report
        )
        assert report.stopped is None, calls
        assert report.lm_calls <= calls
    assert len(trials(report)) > 3  # the largest budget had room for more trials
