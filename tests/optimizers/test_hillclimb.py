import json

import pytest

import pliable as pl
from pliable.optimizers.instruction_hill_climb import InstructionHillClimb
from pliable.optimizers.instruction_proposer import InstructionProposer


def examples(n, start=0):
    return [
        pl.Example(question=f"{i}+{i}", answer=str(2 * i)).with_inputs("question")
        for i in range(start, start + n)
    ]


TRAIN = examples(4)
VAL = examples(4, start=20)  # 20..23: i % 4 is 0, 1, 2, 3


def exact(example, pred):
    return example.answer == pred.answer


def task_lm(rules, *, model="fake/task"):
    """Answers ``a+a`` correctly when ``a % 4 < k`` for the first keyword of ``rules`` found
    in the system prompt (k = 0 without one): ``rules`` maps keywords to 0..4."""

    def answer(messages):
        system = messages[0]["content"]
        k = next((k for word, k in rules.items() if word in system), 0)
        a, b = messages[-1]["content"].split("\n")[1].split("+")
        value = int(a) + int(b) if int(a) % 4 < k else -1
        return f"[[answer]]\n{value}"

    return pl.FunctionLM(answer, model=model)


def writer_lm(texts, *, model="fake/proposer"):
    """A proposer LM answering with ``texts`` in order (then the last one again)."""
    state = {"n": 0}

    def answer(messages):
        text = texts[min(state["n"], len(texts) - 1)]
        state["n"] += 1
        return f"[[instruction]]\n{text}"

    return pl.FunctionLM(answer, model=model)


def section(prompt, name):
    """The text of one ``[[name]]`` section of a proposer prompt."""
    return prompt.split(f"[[{name}]]\n")[1].split("\n\n[[")[0]


def test_the_best_instruction_wins_and_ends_up_in_the_program():
    task = task_lm({"HALF": 2, "BEST": 4, "WORST": 0})
    writer = writer_lm(["Use the HALF method here.", "Use the BEST method here.", "The WORST."])
    program = pl.Predict("question -> answer", lm=task)
    opt = InstructionHillClimb(exact, breadth=4, depth=1, prompt_lm=writer, num_threads=1)
    compiled = opt.compile(program, trainset=TRAIN, valset=VAL)
    assert compiled.signature.instructions == "Use the BEST method here."
    assert program.signature.instructions == "Given `question`, produce `answer`."  # untouched
    report = compiled.report
    assert report.baseline.score == 0.0
    assert report.final.score == 1.0
    assert report.selected == "compiled"
    names = [c["name"] for c in report.candidates]
    assert names == ["round 0 self #0", "round 0 self #1", "round 0 self #2", "round 0 self #3"]
    assert [c["score"] for c in report.candidates] == [0.0, 0.5, 1.0, 0.0]
    assert report.candidates[2]["parent"] == "round 0 self #0"
    assert report.candidates[2]["predictor"] == "self"
    assert "best candidate on the valset: round 0 self #2" in report.notes


def test_a_tie_keeps_the_current_instruction():
    task = task_lm({"": 4})  # every prompt answers everything: all candidates score 1.0
    writer = writer_lm(["Answer in the first style.", "Answer in the second style."])
    program = pl.Predict("question -> answer", lm=task)
    opt = InstructionHillClimb(exact, breadth=3, depth=2, prompt_lm=writer, num_threads=1)
    compiled = opt.compile(program, trainset=TRAIN, valset=VAL)
    assert compiled.signature.instructions == "Given `question`, produce `answer`."
    assert [c["score"] for c in compiled.report.candidates] == [1.0, 1.0, 1.0]


def test_a_proposer_that_writes_nothing_new_is_noted():
    writer = writer_lm(["Given `question`, produce `answer`."])  # the current one again
    program = pl.Predict("question -> answer", lm=task_lm({}))
    opt = InstructionHillClimb(exact, breadth=2, depth=2, prompt_lm=writer, num_threads=1)
    compiled = opt.compile(program, trainset=TRAIN, valset=VAL)
    notes = compiled.report.notes
    assert "round 0: no new instruction was proposed for self" in notes
    assert "round 1: no new instruction was proposed for self" in notes
    assert compiled.report.stopped is None
    assert [c["name"] for c in compiled.report.candidates] == ["round 0 self #0"]


def test_later_rounds_see_earlier_instructions_and_their_scores():
    task = task_lm({"alpha": 1, "beta": 2, "gamma": 3, "delta": 4})
    writer = writer_lm(
        ["Try the alpha way.", "Try the beta way.", "Try the gamma way.", "Try the delta way."]
    )
    program = pl.Predict("question -> answer", lm=task)
    opt = InstructionHillClimb(exact, breadth=3, depth=2, prompt_lm=writer, num_threads=1)
    compiled = opt.compile(program, trainset=TRAIN, valset=VAL)
    assert len(writer.calls) == 4  # depth x (breadth - 1)
    first = [c.messages[-1]["content"] for c in writer.calls[:2]]
    second = [c.messages[-1]["content"] for c in writer.calls[2:]]
    for prompt in first:  # round 0 knows only the current instruction and its score
        assert section(prompt, "earlier_attempts") == (
            "score 0.000: Given `question`, produce `answer`."
        )
    for prompt in second:  # round 1 sees round 0's proposals, best last
        assert section(prompt, "earlier_attempts") == (
            "score 0.000: Given `question`, produce `answer`.\n"
            "score 0.250: Try the alpha way.\n"
            "score 0.500: Try the beta way."
        )
        assert section(prompt, "current_instruction") == "Try the beta way."
    samples = [c.options["sample"] for c in writer.calls]
    assert len(set(samples)) == 4  # each round samples afresh
    names = [c["name"] for c in compiled.report.candidates]
    assert names[-2:] == ["round 1 self #1", "round 1 self #2"]
    assert compiled.report.candidates[-1]["parent"] == "round 0 self #2"
    assert compiled.signature.instructions == "Try the delta way."
    assert compiled.report.final.score == 1.0


def test_proposals_use_prompt_lm_and_the_task_lm_only_answers():
    task = task_lm({"BEST": 4})
    writer = writer_lm(["Use the BEST method.", "Another way to do it."])
    program = pl.Predict("question -> answer", lm=task)
    opt = InstructionHillClimb(exact, breadth=3, depth=1, prompt_lm=writer, num_threads=1)
    compiled = opt.compile(program, trainset=TRAIN, valset=VAL)
    assert compiled.signature.instructions == "Use the BEST method."
    assert len(writer.calls) == 2
    assert all("[[tip]]" in c.messages[-1]["content"] for c in writer.calls)
    assert task.calls
    assert all(c.messages[-1]["content"].startswith("[[question]]") for c in task.calls)
    assert all("[[tip]]" not in m["content"] for c in task.calls for m in c.messages)
    # baseline + two new candidates on 4 examples; the final score is memoised
    assert len(task.calls) == 3 * len(VAL)
    assert compiled.report.lm_calls == len(task.calls) + len(writer.calls)


def test_without_prompt_lm_the_programs_own_lm_writes_the_proposals():
    task = task_lm({"BEST": 4})

    def both(messages):
        if "[[tip]]" in messages[-1]["content"]:
            return "[[instruction]]\nUse the BEST method."
        return task.complete(messages).texts[0]

    lm = pl.FunctionLM(both)
    program = pl.Predict("question -> answer", lm=lm)  # no pl.using LM is configured
    compiled = InstructionHillClimb(exact, breadth=2, depth=1, num_threads=1).compile(
        program, trainset=TRAIN, valset=VAL
    )
    assert compiled.signature.instructions == "Use the BEST method."
    assert sum("[[tip]]" in c.messages[-1]["content"] for c in lm.calls) == 1


class TwoStage(pl.Module):
    def __init__(self, lm):
        self.rewrite = pl.Predict("question -> expression", lm=lm)
        self.solve = pl.Predict("expression -> answer", lm=lm)

    def forward(self, question):
        return self.solve(expression=self.rewrite(question=question).expression)


def two_stage_lm():
    """rewrite copies the question only with REWRITE-OK (else writes 0+0); solve adds
    correctly with SOLVE-OK, else only when a is even."""

    def answer(messages):
        system, last = messages[0]["content"], messages[-1]["content"]
        if last.startswith("[[question]]"):
            q = last.split("\n")[1]
            return "[[expression]]\n" + (q if "REWRITE-OK" in system else "0+1")
        a, b = last.split("\n")[1].split("+")
        good = "SOLVE-OK" in system or int(a) % 2 == 0
        return f"[[answer]]\n{int(a) + int(b) if good else -1}"

    return pl.FunctionLM(answer)


def test_two_predictors_are_improved_one_at_a_time_from_the_best_so_far():
    def propose(messages):
        prompt = messages[-1]["content"]
        step = section(prompt, "step").split("\n")[0]
        if step == "rewrite":
            return "[[instruction]]\nREWRITE-OK: copy the question as it is."
        return "[[instruction]]\nSOLVE-OK: add the two numbers."

    writer = pl.FunctionLM(propose)
    program = TwoStage(two_stage_lm())
    opt = InstructionHillClimb(exact, breadth=2, depth=1, prompt_lm=writer, num_threads=1)
    compiled = opt.compile(program, trainset=TRAIN, valset=VAL, require_significance=False)
    candidates = compiled.report.candidates
    assert [c["name"] for c in candidates] == [
        "round 0 rewrite #0",
        "round 0 rewrite #1",
        "round 0 solve #1",
    ]
    assert [c["score"] for c in candidates] == [0.0, 0.5, 1.0]
    # solve's candidate was scored with rewrite at its best instruction
    assert candidates[2]["instructions"]["rewrite"].startswith("REWRITE-OK")
    assert candidates[2]["parent"] == "round 0 rewrite #1"
    assert compiled.rewrite.signature.instructions.startswith("REWRITE-OK")
    assert compiled.solve.signature.instructions.startswith("SOLVE-OK")
    # the solve proposal saw the program with rewrite's new instruction
    solve_prompt = writer.calls[1].messages[-1]["content"]
    assert "instruction: REWRITE-OK" in section(solve_prompt, "program")


def test_budget_stops_with_the_best_so_far():
    task = task_lm({"GOOD": 4, "OTHER": 2})
    writer = writer_lm(["Use the GOOD way.", "Use the OTHER way.", "A third way to go."])
    program = pl.Predict("question -> answer", lm=task)
    opt = InstructionHillClimb(exact, breadth=4, depth=2, prompt_lm=writer, num_threads=1)
    limit = len(VAL) + 3 + len(VAL) + 2  # baseline, proposals, first candidate, part of 2nd
    compiled = opt.compile(program, trainset=TRAIN, valset=VAL, budget=pl.Budget(lm_calls=limit))
    report = compiled.report
    assert report.stopped is not None
    assert "LM calls" in report.stopped
    assert report.lm_calls <= limit
    assert len(task.calls) + len(writer.calls) <= limit
    assert compiled.signature.instructions == "Use the GOOD way."
    assert any("budget reached in round 0" in n for n in report.notes)
    assert [c["name"] for c in report.candidates] == ["round 0 self #0", "round 0 self #1"]


def test_budget_spent_before_any_proposal_keeps_the_program():
    task = task_lm({"GOOD": 4})
    writer = writer_lm(["Use the GOOD way."])
    program = pl.Predict("question -> answer", lm=task)
    opt = InstructionHillClimb(exact, breadth=3, depth=2, prompt_lm=writer, num_threads=1)
    compiled = opt.compile(program, trainset=TRAIN, valset=VAL, budget=pl.Budget(lm_calls=len(VAL)))
    assert compiled.report.stopped is not None
    assert "LM calls" in compiled.report.stopped
    assert writer.calls == []
    assert compiled.signature.instructions == program.signature.instructions


def test_plan_and_settings():
    writer = pl.FunctionLM(lambda m: "[[instruction]]\nx", model="fake/proposer")
    opt = InstructionHillClimb(exact, breadth=4, depth=3, prompt_lm=writer)
    estimate = opt.estimate(TwoStage(task_lm({})), trainset=TRAIN, valset=VAL)
    phases = list(estimate.phases.items())
    assert phases[1] == ("propose 18 instructions (3 rounds x 3 x 2 predictors)", 18)
    assert phases[2] == ("score up to 18 candidates on the valset", 18 * 4 * 2)
    settings = opt.settings()
    assert settings["prompt_lm"] == "fake/proposer"
    assert settings == InstructionHillClimb(exact, breadth=4, depth=3, prompt_lm=writer).settings()
    json.dumps(settings)
    custom = InstructionHillClimb(
        exact, proposer=InstructionProposer(prompt_lm=writer, temperature=0.5)
    ).settings()
    assert custom["proposer"]["type"] == "InstructionProposer"
    assert custom["proposer"]["temperature"] == 0.5
    assert custom["proposer"]["prompt_lm"] == "fake/proposer"
    json.dumps(custom)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"breadth": 1}, r"breadth=.*>= 2; got 1"),
        ({"breadth": "4"}, r"breadth=.*got '4'"),
        ({"depth": 0}, r"depth=.*>= 1; got 0"),
        ({"depth": True}, r"depth=.*got True"),
        ({"num_threads": 0}, r"num_threads=.*got 0"),
        ({"seed": 1.5}, r"seed=.*got 1.5"),
        ({"prompt_lm": "openai/gpt-4o"}, r"prompt_lm=.*pl.LM.*got str 'openai/gpt-4o'"),
        ({"proposer": "mine"}, r"proposer=.*InstructionProposer; got str 'mine'"),
        (
            {"prompt_lm": pl.ScriptedLM(["x"]), "proposer": InstructionProposer()},
            r"not both; got prompt_lm=.*InstructionProposer\(prompt_lm=...\)",
        ),
    ],
)
def test_bad_arguments_are_refused(kwargs, match):
    with pytest.raises(pl.UsageError, match=match):
        InstructionHillClimb(exact, **kwargs)


def test_a_metric_and_a_valset_are_required():
    with pytest.raises(pl.UsageError, match="metric"):
        InstructionHillClimb(lambda: 1)
    program = pl.Predict("question -> answer", lm=task_lm({}))
    opt = InstructionHillClimb(exact, prompt_lm=writer_lm(["Some instruction."]))
    with pytest.raises(pl.UsageError, match=r"valset=\.\.\."):
        opt.compile(program, trainset=TRAIN)
    with pytest.raises(pl.UsageError, match=r"valset=\.\.\."):
        opt.compile(program, trainset=TRAIN, valset=[])
