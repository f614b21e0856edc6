import json
import random
from collections import Counter

import pytest

import pliable as pl
from pliable.optimizers.pareto import (
    merge_instructions,
    merge_pairs,
    pareto_front,
    select_from_front,
)
from pliable.optimizers.reflective import Reflective

GOOD = "REFLECTED: add the two numbers exactly."


def sums(n, start=0):
    return [
        pl.Example(question=f"{i}+{i}", answer=str(2 * i)).with_inputs("question")
        for i in range(start, start + n)
    ]


def adder(keyword="REFLECTED"):
    """A task LM that adds correctly only when its system prompt holds ``keyword``."""

    def answer(messages, options):
        q = messages[-1]["content"].split("\n")[1]
        a, b = q.split("+")
        value = int(a) + int(b) + (0 if keyword in messages[0]["content"] else 1)
        return f"[[answer]]\n{value}"

    return pl.FunctionLM(answer, model="fake/task")


def reflector(*texts):
    """A reflection LM giving ``texts`` in order, then the last one forever."""
    state = {"n": 0}

    def answer(messages, options):
        text = texts[min(state["n"], len(texts) - 1)]
        state["n"] += 1
        return f"[[new_instruction]]\n{text}"

    return pl.FunctionLM(answer, model="fake/reflector")


def exact(example, pred):
    return example.answer == pred.answer


def by_name(report, prefix):
    return [c for c in report.candidates if c["name"].startswith(prefix)]


# -- (a) Pareto selection ----------------------------------------------------------------


def test_pareto_front_keeps_specialists_and_drops_dominated():
    scores = [
        [1, 1, 1, 0],  # A: best mean, best on examples 0-2
        [0, 0, 0, 1],  # B: low mean, but the only one right on example 3
        [0, 0, 0, 0.5],  # C: dominated by B
        [1, 0, 1, 0],  # D: dominated by A (ties it on 0 and 2)
    ]
    assert pareto_front(scores) == {0: 3, 1: 1}
    rng = random.Random(0)
    drawn = Counter(select_from_front(scores, rng) for _ in range(4000))
    assert set(drawn) == {0, 1}  # dominated candidates are never selected
    assert 2.5 < drawn[0] / drawn[1] < 3.5  # in proportion to the examples they are best on


def test_pareto_front_ties_and_non_dominated_middles():
    # C is dominated by nobody but best on no example: not on the front.
    assert pareto_front([[1, 0], [0, 1], [0.5, 0.5]]) == {0: 1, 1: 1}
    # Identical candidates share the front.
    assert pareto_front([[1, 0], [1, 0]]) == {0: 2, 1: 2}
    with pytest.raises(ValueError, match="same examples"):
        pareto_front([[1, 0], [1]])


def test_merge_helpers():
    # seed(0) -> 1 -> 3; seed -> 2
    parents = [(), (0,), (0,), (1,)]
    assert merge_pairs(parents, [1, 2, 3]) == [(1, 2, 0), (2, 3, 0)]  # (1, 3) is one line
    base = {"a": "A0", "b": "B0", "c": "C0"}
    left = {"a": "A1", "b": "B0", "c": "C1"}
    right = {"a": "A0", "b": "B2", "c": "C2"}
    assert merge_instructions(base, left, right, prefer_a=True) == {
        "a": "A1",
        "b": "B2",
        "c": "C1",
    }
    assert merge_instructions(base, left, right, prefer_a=False)["c"] == "C2"
    # a branch that changed nothing the other left alone gives no merge
    assert merge_instructions(base, left, {**left, "b": "B2"}, prefer_a=True) is None


# -- (b) what the reflection LM sees -----------------------------------------------------


class TwoStage(pl.Module):
    def __init__(self, lm):
        self.rewrite = pl.Predict("question -> expression", lm=lm)
        self.solve = pl.Predict("expression -> answer", lm=lm)

    def forward(self, question):
        return self.solve(expression=self.rewrite(question=question).expression)


def two_stage_lm():
    def answer(messages):
        last = messages[-1]["content"]
        if last.startswith("[[question]]"):
            return "[[expression]]\nEXPR(" + last.split("\n")[1] + ")"
        inner = last.split("\n")[1][len("EXPR(") : -1]
        a, b = inner.split("+")
        return f"[[answer]]\n{int(a) + int(b) + 1}"  # always off by one

    return pl.FunctionLM(answer)


def test_reflection_sees_traces_and_metric_feedback():
    def judged(example, pred):
        return pl.Score(
            example.answer == pred.answer,
            feedback=f"FEEDBACK: {example.question} is {example.answer}, not {pred.answer}",
        )

    refl = reflector("Do something unhelpful here.")
    opt = Reflective(judged, reflection_lm=refl, max_iterations=2, minibatch_size=2)
    opt.compile(
        TwoStage(two_stage_lm()),
        trainset=sums(2, start=1),
        valset=sums(2, start=5),
        require_significance=False,
    )
    assert len(refl.calls) == 2
    first, second = (c.messages[-1]["content"] for c in refl.calls)
    # round robin: the first reflection is on `rewrite`, the second on `solve`
    assert "`rewrite`" in first
    assert "`solve`" in second
    for text in (first, second):
        assert "FEEDBACK: 1+1 is 2, not 3" in text
        assert "FEEDBACK: 2+2 is 4, not 5" in text
        assert "Given the fields `question`, produce the fields `expression`." not in text
    # the rewrite step's own inputs and outputs
    assert "question: 1+1" in first
    assert "expression: EXPR(1+1)" in first
    # the solve step's trace: its input is the intermediate expression, its output the answer
    assert "expression: EXPR(2+2)" in second
    assert "answer: 5" in second
    assert "Expected outputs of the program:\n  answer: 4" in second


def test_without_feedback_the_reflection_gets_expected_vs_got():
    refl = reflector("Do something unhelpful here.")
    program = pl.Predict("question -> answer", lm=adder())
    Reflective(exact, reflection_lm=refl, max_iterations=1, minibatch_size=2).compile(
        program, trainset=sums(2, start=1), valset=sums(2), require_significance=False
    )
    text = refl.calls[0].messages[-1]["content"]
    assert "expected answer='2', got '3'" in text
    assert "expected answer='4', got '5'" in text
    assert refl.calls[0].messages[-1]["content"].count("## Example") == 2


# -- (c) acceptance ----------------------------------------------------------------------


def test_only_children_that_improve_on_the_minibatch_are_kept():
    task = adder()
    refl = reflector("Try harder at arithmetic.", GOOD)
    program = pl.Predict("question -> answer", "Answer the question.", lm=task)
    opt = Reflective(exact, reflection_lm=refl, max_iterations=2, minibatch_size=3)
    compiled = opt.compile(
        program, trainset=sums(3, start=1), valset=sums(4, start=10), require_significance=False
    )
    report = compiled.report
    rejected, accepted = by_name(report, "reflect 1"), by_name(report, "reflect 2")
    assert rejected[0]["accepted"] is False
    assert rejected[0]["score"] is None
    assert rejected[0]["minibatch_score"] == 0.0
    assert rejected[0]["parent"] == "seed"
    # the rejected child never ran on the valset: only its 3 minibatch examples
    tried = [c for c in task.calls if "Try harder" in c.messages[0]["content"]]
    assert len(tried) == 3
    assert all(int(c.prompt.split("\n")[1].split("+")[0]) < 10 for c in tried)
    # the improving child is scored in full and wins
    assert accepted[0]["accepted"] is True
    assert accepted[0]["score"] == 1.0
    assert compiled.signature.instructions == GOOD
    assert report.final.score == 1.0
    assert report.baseline.score == 0.0
    assert program.signature.instructions == "Answer the question."  # original untouched


def test_ties_on_the_minibatch_are_rejected():
    # the new instruction changes nothing the task LM cares about: a tie is not kept
    refl = reflector("A different but useless instruction.")
    program = pl.Predict("question -> answer", lm=adder())
    compiled = Reflective(exact, reflection_lm=refl, max_iterations=3).compile(
        program, trainset=sums(3), valset=sums(3, start=5), require_significance=False
    )
    children = by_name(compiled.report, "reflect")
    assert children
    assert all(c["accepted"] is False for c in children)
    assert compiled.report.notes[-1].endswith("best candidate on the valset: seed (0.000)")


def test_same_seed_replays_the_same_search():
    def run(seed):
        refl = reflector("Try harder at arithmetic.", "Be careful.", GOOD)
        opt = Reflective(exact, reflection_lm=refl, max_iterations=4, minibatch_size=2, seed=seed)
        compiled = opt.compile(
            pl.Predict("question -> answer", lm=adder()),
            trainset=sums(5),
            valset=sums(3, start=10),
            require_significance=False,
        )
        return [(c["name"], c["state"], c["score"]) for c in compiled.report.candidates]

    assert run(3) == run(3)


# -- (d) budget --------------------------------------------------------------------------


def test_budget_stops_with_the_best_so_far():
    task, refl = adder(), reflector(GOOD)
    program = pl.Predict("question -> answer", lm=task)
    opt = Reflective(exact, reflection_lm=refl, max_iterations=10, minibatch_size=3)
    # baseline 4 + (minibatch 3 + reflection 1 + child minibatch 3 + child valset 4) = 15
    compiled = opt.compile(
        program,
        trainset=sums(3, start=1),
        valset=sums(4, start=10),
        budget=pl.Budget(lm_calls=17),
        require_significance=False,
    )
    report = compiled.report
    assert report.stopped
    assert "budget" in " ".join(report.notes)
    assert len(task.calls) + len(refl.calls) <= 17
    assert compiled.signature.instructions == GOOD  # the accepted child, best so far
    assert report.final.score == 1.0


# -- (e) merge ---------------------------------------------------------------------------


class Router(pl.Module):
    """`left` answers L (and T, trap) questions, `right` answers R questions."""

    def __init__(self, lm):
        self.left = pl.Predict("question -> answer", lm=lm)
        self.right = pl.Predict("question -> answer", lm=lm)

    def forward(self, question):
        return (self.right if question.startswith("R") else self.left)(question=question)


def router_lm():
    def answer(messages):
        system, q = messages[0]["content"], messages[-1]["content"].split("\n")[1]
        ok = {
            "L": "LEFT RULE" in system,
            "T": "LEFT RULE" not in system,  # the left rule breaks trap questions
            "R": "RIGHT RULE" in system,
        }[q[0]]
        return "[[answer]]\n" + ("ok" if ok else "no")

    return pl.FunctionLM(answer)


def rule_writer():
    def answer(messages):
        left = "The step is `left`" in messages[-1]["content"]
        return "[[new_instruction]]\n" + ("LEFT RULE: say ok." if left else "RIGHT RULE: say ok.")

    return pl.FunctionLM(answer)


def labelled(*names):
    return [pl.Example(question=n, answer="ok").with_inputs("question") for n in names]


def compile_router(seed, use_merge):
    opt = Reflective(
        exact,
        reflection_lm=rule_writer(),
        max_iterations=2,
        minibatch_size=5,
        use_merge=use_merge,
        seed=seed,
    )
    return opt.compile(
        Router(router_lm()),
        trainset=labelled("L7", "L8", "R7", "R8", "R9"),
        valset=labelled("L1", "L2", "T1", "R1", "R2"),
        require_significance=False,
    )


def test_merge_combines_instructions_from_two_branches():
    # Iteration 1 always rewrites `left` (seed 0.2 -> 0.4; the trap keeps the seed on the
    # front). Iteration 2 picks the seed or that child at random: from the seed, it grows a
    # second branch (right rule, 0.6), and the two branches merge.
    branched = 0
    for seed in range(8):
        report = compile_router(seed, use_merge=True).report
        names = [c["name"] for c in report.candidates]
        if report.candidates[2]["parent"] != "seed":  # one line of descent: nothing to merge
            assert not by_name(report, "merge")
            continue
        branched += 1
        assert names == [
            "seed",
            "reflect 1: left",
            "reflect 2: right",
            "merge reflect 1: left + reflect 2: right",
        ]
        merge = report.candidates[-1]
        assert merge["accepted"] is True
        assert merge["ancestor"] == "seed"
        assert merge["instructions"] == {
            "left": "LEFT RULE: say ok.",
            "right": "RIGHT RULE: say ok.",
        }
        assert merge["score"] == 0.8  # beats both branches (0.4 and 0.6)
        assert report.final.score == 0.8
    assert branched >= 2


def test_no_merge_unless_asked():
    compiled = compile_router(2, use_merge=False)  # seed 2 branches (see above)
    assert [c["parent"] for c in compiled.report.candidates[1:]] == ["seed", "seed"]
    assert not by_name(compiled.report, "merge")
    assert compiled.report.final.score == 0.6
    assert compiled.right.signature.instructions.startswith("RIGHT RULE")
    assert not compiled.left.signature.instructions.startswith("LEFT RULE")


# -- settings, planning, usage errors ----------------------------------------------------


def test_settings_plan_and_usage_errors():
    refl = reflector(GOOD)
    opt = Reflective(exact, reflection_lm=refl, max_iterations=5, minibatch_size=3, use_merge=True)
    settings = opt.settings()
    assert settings["reflection_lm"] == "fake/reflector"
    assert json.loads(json.dumps(settings)) == settings
    est = opt.estimate(pl.Predict("question -> answer"), trainset=sums(10), valset=sums(4))
    assert est.phases["5 reflections"] == 5
    assert est.phases["run parents on 5 minibatches (with traces)"] == 15
    assert est.phases["score up to 5 merges"] == 20
    for bad in ({"max_iterations": 0}, {"minibatch_size": -1}, {"max_merges": 1.5}):
        with pytest.raises(pl.UsageError, match=next(iter(bad))):
            Reflective(exact, **bad)
    with pytest.raises(pl.UsageError, match="reflection_lm"):
        Reflective(exact, reflection_lm="gpt-4o")
    with pytest.raises(pl.UsageError, match="valset"):
        Reflective(exact).compile(pl.Predict("question -> answer"), trainset=sums(2))


def test_perfect_score_skips_reflection_on_perfect_minibatches():
    def compile_with(perfect_score):
        refl = reflector(GOOD)
        program = pl.Predict("question -> answer", GOOD, lm=adder())
        opt = Reflective(exact, reflection_lm=refl, max_iterations=2, perfect_score=perfect_score)
        opt.compile(program, trainset=sums(3), valset=sums(2, start=5))
        return len(refl.calls)

    assert compile_with(1.0) == 0
    assert compile_with(None) == 2


def test_run_dir_logs_and_resumes(tmp_path):
    def compile_once():
        refl = reflector("Try harder at arithmetic.", GOOD)
        opt = Reflective(exact, reflection_lm=refl, max_iterations=3, use_merge=True)
        return opt.compile(
            pl.Predict("question -> answer", lm=adder()),
            trainset=sums(3, start=1),
            valset=sums(3, start=10),
            run_dir=tmp_path,
            require_significance=False,
        )

    first, second = compile_once(), compile_once()
    assert first.signature.instructions == second.signature.instructions == GOOD
    assert [c["state"] for c in first.report.candidates] == [
        c["state"] for c in second.report.candidates
    ]
    assert "resumed" in second.report.notes[0]
