import pytest

import pliable as pl
from pliable.optimizers.instruction_proposer import (
    DEFAULT_TIPS,
    InstructionProposer,
    clean_instruction,
    data_summary,
    program_summary,
)

CURRENT = "Given `question`, produce `answer`."


def tickets():
    labels = ["spam", "spam", "ham", "spam"]
    return [
        pl.Example(text=f"message number {i}", label=label, note=f"free text {i}").with_inputs(
            "text"
        )
        for i, label in enumerate(labels)
    ]


def examples(n):
    return [
        pl.Example(question=f"{i}+{i}", answer=str(2 * i)).with_inputs("question") for i in range(n)
    ]


def writer(texts):
    """A proposer LM answering with ``texts`` in order; an exception in the list is raised."""
    state = {"n": 0}

    def answer(messages):
        text = texts[min(state["n"], len(texts) - 1)]
        state["n"] += 1
        if isinstance(text, Exception):
            raise text
        return f"[[instruction]]\n{text}"

    return pl.FunctionLM(answer)


def section(prompt, name):
    return prompt.split(f"[[{name}]]\n")[1].split("\n\n")[0]


def test_data_summary_shows_fields_kinds_and_output_values():
    summary = data_summary(tickets(), rows=2)
    lines = summary.split("\n")
    assert lines[0] == "4 examples. Fields:"
    assert lines[1] == "- text (input, 4 rows, about 16 chars)"
    assert (
        lines[2]
        == "- label (output, 4 rows, about 3 chars); 2 distinct values: 'spam' 75%, 'ham' 25%"
    )
    assert lines[3].startswith("- note (output, 4 rows")
    assert "distinct values: 'free text 0'" in lines[3]  # 4 values: still listed
    assert lines[4] == "Some rows:"
    assert lines[5] == "  text=message number 0; label=spam; note=free text 0"
    assert len(lines) == 7  # two rows shown


def test_data_summary_skips_value_counts_of_many_valued_outputs_and_handles_empty():
    many = [pl.Example(question=f"q{i}", answer=f"a{i}").with_inputs("question") for i in range(13)]
    summary = data_summary(many)
    assert "- answer (output, 13 rows" in summary
    assert "distinct" not in summary
    assert "- question (input" in summary
    assert data_summary([]) == "No training examples."


class TwoStage(pl.Module):
    def __init__(self):
        self.rewrite = pl.Predict("question -> expression", "Rewrite the question as a sum.")
        self.solve = pl.Predict("expression -> answer")

    def forward(self, question):
        return self.solve(expression=self.rewrite(question=question).expression)


def test_program_summary_shows_each_step_and_how_outputs_feed_inputs():
    summary = program_summary(TwoStage())
    assert summary.split("\n") == [
        "The program TwoStage has 2 step(s):",
        "- rewrite: question: str -> expression: str",
        "  instruction: Rewrite the question as a sum.",
        "- solve: expression: str -> answer: str",
        "  instruction: Given `expression`, produce `answer`.",
        "- rewrite feeds expression into solve",
    ]


def test_proposals_are_cleaned_deduplicated_and_follow_the_current_instruction():
    lm = writer(
        [
            'Instruction: "Add the two numbers and give the sum."',
            "Add the two numbers and give the sum.",  # a duplicate once cleaned
            "",  # empty
            "Ok.",  # too short
            CURRENT,  # the current instruction again
            "Output: `Answer with digits only, no words.`",
        ]
    )
    out = InstructionProposer(prompt_lm=lm).propose(
        pl.Predict("question -> answer"), examples(3), n=7
    )
    assert out == {
        "self": [
            CURRENT,
            "Add the two numbers and give the sum.",
            "Answer with digits only, no words.",
        ]
    }
    assert len(lm.calls) == 6  # n - 1 proposals were asked for


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ('Instruction: "Be brief."', "Be brief."),
        ("New instruction - Say yes or no.", "Say yes or no."),
        ("  'Answer   in\n one word.'  ", "Answer in one word."),
        ("Output the label only.", "Output the label only."),  # no label prefix: kept
        ("[[instruction]] Reply in French.", "Reply in French."),
    ],
)
def test_clean_instruction(raw, clean):
    assert clean_instruction(raw) == clean


def test_the_current_instruction_is_first_even_when_nothing_new_is_written():
    lm = writer([CURRENT])
    out = InstructionProposer(prompt_lm=lm).propose(
        pl.Predict("question -> answer"), examples(2), n=3
    )
    assert out == {"self": [CURRENT]}
    assert InstructionProposer(prompt_lm=lm).propose(
        pl.Predict("question -> answer"), examples(2), n=1
    ) == {"self": [CURRENT]}
    assert len(lm.calls) == 2  # n=1 asks for nothing


def test_tips_vary_across_candidates_and_samples_across_rounds():
    lm = writer([f"Proposal number {i} for the task." for i in range(10)])
    proposer = InstructionProposer(prompt_lm=lm)
    program = pl.Predict("question -> answer")
    proposer.propose(program, examples(2), n=4)
    proposer.propose(program, examples(2), n=4, round=1)
    tips = [section(c.messages[-1]["content"], "tip") for c in lm.calls]
    assert tips[:3] == list(DEFAULT_TIPS[:3])
    assert len(set(tips[:3])) == 3
    samples = [c.options["sample"] for c in lm.calls]
    assert len(set(samples)) == 6
    assert all(c.options["temperature"] == 1.0 for c in lm.calls)


def test_history_is_shown_worst_first_and_demos_are_shown():
    lm = writer(["A brand new instruction."])
    history = {"self": [("Best one so far.", 0.9), ("Worst one.", 0.1), ("Middle one.", 0.5)]}
    demos = {"self": [pl.Example(question="7+7", answer="14").with_inputs("question")]}
    InstructionProposer(prompt_lm=lm).propose(
        pl.Predict("question -> answer"), examples(2), n=2, history=history, demos=demos
    )
    prompt = lm.calls[0].messages[-1]["content"]
    assert section(prompt, "earlier_attempts") == (
        "score 0.100: Worst one.\nscore 0.500: Middle one.\nscore 0.900: Best one so far."
    )
    assert section(prompt, "examples") == "1. question=7+7; answer=14"
    # without demos, labeled trainset rows are shown
    InstructionProposer(prompt_lm=lm).propose(pl.Predict("question -> answer"), examples(2), n=2)
    prompt = lm.calls[1].messages[-1]["content"]
    assert section(prompt, "examples") == "1. question=0+0; answer=0\n2. question=1+1; answer=2"
    assert section(prompt, "earlier_attempts") == "none yet"


def test_no_lm_configured_fails_loudly(monkeypatch):
    monkeypatch.setenv("PLIABLE_DEFAULT_LM", "off")
    with pytest.raises(pl.ConfigurationError):
        InstructionProposer().propose(pl.Predict("question -> answer"), examples(2), n=3)


def test_a_failing_proposal_is_skipped():
    lm = writer(["First proposal here.", RuntimeError("provider broke"), "Third proposal here."])
    out = InstructionProposer(prompt_lm=lm).propose(
        pl.Predict("question -> answer"), examples(2), n=4
    )
    assert out == {"self": [CURRENT, "First proposal here.", "Third proposal here."]}
    assert len(lm.calls) == 3


def test_predictors_limits_which_steps_get_proposals():
    lm = writer(["Copy the question exactly as written."])
    out = InstructionProposer(prompt_lm=lm).propose(
        TwoStage(), examples(2), n=2, predictors=["rewrite"]
    )
    assert out == {
        "rewrite": ["Rewrite the question as a sum.", "Copy the question exactly as written."]
    }
    assert section(lm.calls[0].messages[-1]["content"], "step").startswith("rewrite\n")


def test_a_budget_stop_returns_what_was_written():
    lm = writer([f"Proposal number {i} for the task." for i in range(10)])
    with pl.track_usage(max_calls=2):
        out = InstructionProposer(prompt_lm=lm).propose(TwoStage(), examples(2), n=4)
    assert len(lm.calls) == 2
    assert out == {
        "rewrite": [
            "Rewrite the question as a sum.",
            "Proposal number 0 for the task.",
            "Proposal number 1 for the task.",
        ],
        "solve": ["Given `expression`, produce `answer`."],
    }


@pytest.mark.parametrize(
    "text",
    [
        # written by Qwen2.5-Coder-1.5B as proposals in the compile_vs_dspy runs
        "Create an instruction for the Predict program that takes a question and choices as "
        "inputs, then returns an answer from the given choices.",
        "The provided instruction appears to focus on evaluating the presence of "
        "non-contemporaneous elements in a given sentence. Can you come up with an instruction "
        "that would do this?",
        "Can you provide me with a task involving dates and times that requires me to select "
        "the correct answer from multiple choices?",
        "How about we keep it short?",
        "Improve the current_instruction so it scores higher.",
        "Rewrite the following instruction to be clearer: answer with yes or no.",
    ],
)
def test_replies_about_the_instruction_are_not_instructions(text):
    from pliable.optimizers.instruction_proposer import not_an_instruction

    assert not_an_instruction(text, pl.Predict("question -> answer")) is not None


@pytest.mark.parametrize(
    "text",
    [
        "Answer the question with exactly one of the choices, copied word for word.",
        "You are a historian. Say whether the sentence has an anachronism; reply Yes or No.",
        "Predict whether the review is positive. Follow the instructions in the question.",
        "Count the objects listed and reply with the number only.",
    ],
)
def test_instructions_addressed_to_the_model_are_kept(text):
    from pliable.optimizers.instruction_proposer import not_an_instruction

    assert not_an_instruction(text, pl.Predict("question -> answer")) is None


def test_a_step_about_instructions_may_mention_them():
    from pliable.optimizers.instruction_proposer import not_an_instruction

    step = pl.Predict("dish -> cooking_instructions")
    assert not_an_instruction("Write clear cooking instructions for the dish.", step) is None
    assert not_an_instruction("Can you write them?", step) == "asks a question back"


def test_a_reply_that_is_not_an_instruction_is_asked_again_once_per_proposal():
    meta = "Create an instruction for the program that answers questions."
    lm = writer([meta, "Answer with the number only.", meta, meta, meta, meta])
    program = pl.Predict("question -> answer")
    out = InstructionProposer(prompt_lm=lm).propose(program, examples(3), n=3)
    # two proposals wanted: the first meta reply is asked again, the second proposal and its
    # retry are meta too; no more than 2 + 2 calls
    assert out["self"][1:] == ["Answer with the number only."]
    assert len(lm.calls) == 4
