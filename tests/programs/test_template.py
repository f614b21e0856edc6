"""Hard prompts: ``Template`` (placeholders, checks, file loading) and ``TemplateAdapter``."""

import json

import pytest

import pliable as pl
from pliable.adapters.template import TemplateAdapter
from pliable.adapters.template_value import Template
from pliable.optimizers.instruction_hill_climb import InstructionHillClimb

QA = "context, question -> answer"


def qa_template():
    return Template(
        "Context:\n{context}\n\nQuestion: {question}\nAnswer in one word.",
        system="You are a terse assistant. Use {{curly}} braces for sets.",
    )


def adder_lm():
    """Answers 'a+b' found after 'Sum: ' in the last message, unmarked; 'a+a' is wrong for a=3."""

    def answer(messages):
        line = next(s for s in messages[-1]["content"].splitlines() if s.startswith("Sum: "))
        a, b = line.removeprefix("Sum: ").split("+")
        return str(int(a) + int(b) + (1 if a == "3" else 0))

    return pl.FunctionLM(answer)


def sums(n, start=0):
    return [
        pl.Example(question=f"{i}+{i}", answer=str(2 * i)).with_inputs("question")
        for i in range(start, start + n)
    ]


def exact(example, pred):
    return example.answer == pred.answer


# --- placeholders and rendering ---------------------------------------------------------------


def test_render_fills_system_and_user_exactly():
    t = qa_template()
    assert t.fields == {"context", "question"}
    assert t.render(context=["a", "b"], question="Why?") == [
        {"role": "system", "content": "You are a terse assistant. Use {curly} braces for sets."},
        {
            "role": "user",
            "content": "Context:\n- a\n- b\n\nQuestion: Why?\nAnswer in one word.",
        },
    ]
    # placeholders in the system text are filled too; no system text means no system message
    assert Template("{q}", system="Topic: {topic}").render(q="x", topic="maths")[0] == {
        "role": "system",
        "content": "Topic: maths",
    }
    assert Template("Say {q}").render(q=3) == [{"role": "user", "content": "Say 3"}]


def test_escaped_braces_are_literal_and_not_placeholders():
    t = Template('Reply as {{"answer": ...}} to {question}, not {{question}}.')
    assert t.fields == {"question"}
    [message] = t.render(question="Q")
    assert message["content"] == 'Reply as {"answer": ...} to Q, not {question}.'


@pytest.mark.parametrize("text", ["a { b", "a } b", "{0}", "{}", "{x.y}", "{x!r}", '{"k": 1}'])
def test_a_malformed_brace_is_an_error_that_says_how_to_escape(text):
    with pytest.raises(pl.UsageError, match=r"line 1.*\{\{ or \}\}"):
        Template(text)


def test_render_errors_name_missing_and_unknown_inputs():
    t = Template("Q: {question} C: {context}")
    with pytest.raises(pl.InputError, match=r"needs \{context\}") as missing:
        t.render(question="q")
    assert missing.value.field == "context"
    with pytest.raises(pl.InputError, match="Did you mean `question`") as unknown:
        t.render(question="q", context="c", qestion="typo")
    assert unknown.value.field == "qestion"


def test_templates_are_values():
    t = qa_template()
    assert t == qa_template()
    assert hash(t) == hash(qa_template())
    assert t != Template(t.user)
    with pytest.raises(pl.UsageError, match="immutable"):
        t.user = "other {question}"


@pytest.mark.parametrize(
    ("user", "system"), [("", None), ("  \n", None), ("ok {q}", ""), (None, None)]
)
def test_empty_texts_are_refused(user, system):
    with pytest.raises(pl.UsageError, match="must be non-empty text"):
        Template(user, system=system)


# --- checking against a signature -------------------------------------------------------------


def test_unknown_placeholder_is_named_with_a_suggestion_and_its_line():
    t = Template("Context: {context}\nQuestion: {qestion}")
    with pytest.raises(pl.SignatureError) as err:
        t.check(QA)
    message = str(err.value)
    assert "unknown placeholder {qestion}" in message
    assert "Did you mean {question}?" in message
    assert "user text, line 2 ('Question: {qestion}')" in message
    assert "`question` never appear" in message  # and the input it should have been


def test_unused_inputs_are_an_error_unless_allowed():
    t = Template("Question: {question}")
    with pytest.raises(pl.SignatureError, match=r"`context` never appear.*allow_unused=True"):
        t.check(QA)
    t.check(QA, allow_unused=True)  # no error
    program = pl.Predict.from_template(t, QA, allow_unused=True, lm=pl.ScriptedLM(["Paris"]))
    assert program(context="ignored", question="Capital?").answer == "Paris"
    assert "ignored" not in program.lm.calls[0].prompt


def test_an_escaped_placeholder_gets_a_hint():
    with pytest.raises(pl.SignatureError, match=r"\{\{question\}\} is an escaped literal brace"):
        Template("Question: {{question}}").check("question -> answer")


def test_output_placeholders_are_refused_with_the_reason():
    t = Template("Q: {question}\nA: {answer}")
    with pytest.raises(pl.SignatureError, match=r"\{answer\} is an output field.*only use inputs"):
        t.check("question -> answer")
    with pytest.raises(pl.SignatureError, match="output field"):
        pl.Predict.from_template(t, "question -> answer")


def test_program_checks_and_refuses_its_own_instructions_or_adapter():
    with pytest.raises(pl.SignatureError, match="unknown placeholder"):
        pl.Predict.from_template(Template("{nope}"), "question -> answer")
    with pytest.raises(pl.UsageError, match="sets the instructions and the adapter"):
        pl.Predict.from_template(Template("{question}"), "question -> answer", instructions="x")


# --- files ------------------------------------------------------------------------------------


def test_file_with_sections(tmp_path):
    path = tmp_path / "qa.prompt"
    path.write_text(
        "### System\nYou answer from the context.\n\n"
        "### user:\n\nContext: {context}\nQuestion: {question}\n\n\n",
        "utf-8",
    )
    t = Template.from_file(path)
    assert t.name == "qa"
    assert t.system == "You answer from the context."
    assert t.user == "Context: {context}\nQuestion: {question}"
    bracket = Template.from_text("[system]\nBe brief.\n[USER]\nQ: {question}\n")
    assert (bracket.system, bracket.user) == ("Be brief.", "Q: {question}")


def test_file_without_sections_is_the_user_text(tmp_path):
    path = tmp_path / "plain.txt"
    path.write_text("\n\n# Task\nTranslate to French:\n{text}\n", "utf-8")
    t = Template.from_file(path, name="fr")
    assert (t.name, t.system, t.user) == ("fr", None, "# Task\nTranslate to French:\n{text}")


def test_file_errors_name_the_path_and_line(tmp_path):
    with pytest.raises(pl.DataError, match=r"Cannot read the template file .*missing\.txt") as err:
        Template.from_file(tmp_path / "missing.txt")
    assert err.value.source.endswith("missing.txt")
    empty = tmp_path / "empty.txt"
    empty.write_text("  \n", "utf-8")
    with pytest.raises(pl.DataError, match=r"empty\.txt is empty"):
        Template.from_file(empty)
    bad = tmp_path / "bad.txt"
    bad.write_text("### system\nBe brief.\n\n### user\nQ: {question}\nReply {as json}\n", "utf-8")
    with pytest.raises(pl.DataError, match=r"bad\.txt \(user text, line 6\)") as err:
        Template.from_file(bad)
    assert err.value.line == 6
    typo = tmp_path / "typo.txt"
    typo.write_text("### system\nBe brief.\n### user\n\nQ: {qestion}\n", "utf-8")
    with pytest.raises(pl.SignatureError, match=r"(?s)typo\.txt.*line 5 \('Q: \{qestion\}'\)"):
        Template.from_file(typo).check("question -> answer")


@pytest.mark.parametrize(
    ("text", "line", "reason"),
    [
        ("### user\n{q}\n### user\n{q}\n", 3, "second user section"),
        ("Title\n### user\n{q}\n", 1, "text before the first section header"),
        ("### system\n\n### user\n{q}\n", 1, "system section is empty"),
        ("### user\n{q}\n### assistant\nhi\n", 3, "system and a user section only"),
    ],
)
def test_malformed_sections_name_the_line(text, line, reason):
    with pytest.raises(pl.DataError, match=reason) as err:
        Template.from_text(text)
    assert err.value.line == line


def test_a_system_section_alone_is_refused():
    with pytest.raises(pl.DataError, match="no user section"):
        Template.from_text("### system\nBe brief.\n")


def test_to_dict_round_trips_through_json(tmp_path):
    t = qa_template()
    again = Template.from_dict(json.loads(json.dumps(t.to_dict())))
    assert again == t
    assert again.render(context="c", question="q") == t.render(context="c", question="q")
    adapter = TemplateAdapter(t, output_format="json", allow_unused=True)
    copy = TemplateAdapter.from_dict(json.loads(json.dumps(adapter.to_dict())))
    assert (copy.template, copy.output_format, copy.allow_unused) == (t, "json", True)
    with pytest.raises(pl.UsageError, match="'user'"):
        Template.from_dict({"user": "{q}", "sytem": "typo"})


# --- programs ---------------------------------------------------------------------------------


def test_program_sends_the_template_and_parses_an_unmarked_reply():
    lm = pl.ScriptedLM(["Paris."])
    program = pl.Predict.from_template(qa_template(), QA, lm=lm, temperature=0)
    assert isinstance(program, pl.Predict)
    assert program(context="France...", question="Capital?").answer == "Paris."
    call = lm.calls[0]
    assert list(call.messages) == qa_template().render(context="France...", question="Capital?")
    assert call.options["temperature"] == 0


def test_several_outputs_get_the_reply_format_unless_the_template_names_them():
    sig = "question -> answer, confidence: float"
    lm = pl.ScriptedLM(["[[answer]]\nParis\n\n[[confidence]]\n0.9"])
    pred = pl.Predict.from_template(Template("Q: {question}"), sig, lm=lm)(question="Capital?")
    assert (pred.answer, pred.confidence) == ("Paris", 0.9)
    assert lm.calls[0].prompt == (
        "Q: Capital?\n\nReply with each output on the lines after its marker, in this order:\n"
        "[[answer]]\n[[confidence]] (a number)"
    )
    own = pl.Predict.from_template(
        Template("Q: {question}\nWrite [[answer]] then [[confidence]]."), sig
    )
    assert (
        own.messages(question="x")[-1]["content"] == "Q: x\nWrite [[answer]] then [[confidence]]."
    )
    forced = pl.Predict.from_template(
        Template("Q: {question}"), "question -> answer", reply_instruction=True
    )
    assert forced.messages(question="x")[-1]["content"].endswith("in this order:\n[[answer]]")


def test_json_output_format():
    lm = pl.ScriptedLM(['{"answer": "Paris", "confidence": 0.5}'], supports_response_schema=True)
    program = pl.Predict.from_template(
        Template("Q: {question}"),
        "question -> answer, confidence: float",
        output_format="json",
        lm=lm,
    )
    pred = program(question="Capital?")
    assert (pred.answer, pred.confidence) == ("Paris", 0.5)
    assert lm.calls[0].prompt.startswith("Q: Capital?\n\nReply with one JSON object")
    assert lm.calls[0].options["response_format"]["type"] == "json_schema"
    with pytest.raises(pl.UsageError, match="'chat' or 'json'"):
        TemplateAdapter(Template("{q}"), output_format="xml")


def test_a_template_program_is_evaluated_like_any_program():
    program = pl.Predict.from_template(
        Template("Add these numbers.\nSum: {question}"), "question -> answer: int", lm=adder_lm()
    )
    result = pl.evaluate(program, sums(4), lambda ex, pred: int(ex.answer) == pred.answer)
    assert result.score == 0.75  # 3+3 is answered 7
    assert [r.score for r in result.rows] == [1.0, 1.0, 1.0, 0.0]


def test_demos_are_rendered_through_the_template():
    program = pl.Predict.from_template(
        Template("Sum: {question}", system="Add."), "question -> answer", lm=adder_lm()
    )
    compiled = pl.BootstrapFewShot(exact, max_bootstrapped_demos=2, max_labeled_demos=0).compile(
        program, trainset=sums(4)
    )
    assert [d.question for d in compiled.demos] == ["0+0", "1+1"]
    assert compiled.signature.instructions == program.signature.instructions
    assert compiled.messages(question="5+5") == [
        {"role": "system", "content": "Add."},
        {"role": "user", "content": "Sum: 0+0"},
        {"role": "assistant", "content": "0"},
        {"role": "user", "content": "Sum: 1+1"},
        {"role": "assistant", "content": "2"},
        {"role": "user", "content": "Sum: 5+5"},
    ]
    # several outputs: demo replies carry the markers the reply format asks for
    two = pl.Predict.from_template(Template("Sum: {question}"), "question -> answer, note")
    two.demos = [pl.Example(question="1+1", answer="2", note="easy"), pl.Example(answer="x")]
    assert [m["content"] for m in two.messages(question="2+2")[:2]] == [
        "Sum: 1+1",
        "[[answer]]\n2\n\n[[note]]\neasy",
    ]  # the demo without a question is left out


def test_as_instructions_is_the_starting_point_of_an_optimizer():
    t = Template("Sum: {question}", system="Add the two numbers.")
    assert t.as_instructions() == "Add the two numbers.\n\nSum: `question`"
    program = pl.Predict("question -> answer", instructions=t.as_instructions(), lm=adder_lm())
    assert program.messages(question="1+1")[0]["content"].startswith(t.as_instructions())


def test_an_instruction_optimizer_rewrites_the_system_text_of_a_template_program():
    def task(messages):
        system = messages[0]["content"] if messages[0]["role"] == "system" else ""
        a, b = messages[-1]["content"].removeprefix("Sum: ").split("+")
        return str(int(a) + int(b) if "BEST" in system else -1)

    def writer(messages):
        return "[[instruction]]\nUse the BEST method."

    program = pl.Predict.from_template(
        Template("Sum: {question}"), "question -> answer", lm=pl.FunctionLM(task)
    )
    assert program.messages(question="1+1") == [{"role": "user", "content": "Sum: 1+1"}]
    opt = InstructionHillClimb(
        exact, breadth=2, depth=1, prompt_lm=pl.FunctionLM(writer), num_threads=1
    )
    compiled = opt.compile(program, trainset=sums(2), valset=sums(2, start=5))
    assert compiled.report.final.score == 1.0
    assert compiled.messages(question="1+1") == [
        {"role": "system", "content": "Use the BEST method."},
        {"role": "user", "content": "Sum: 1+1"},
    ]


def test_chain_of_thought_over_a_template():
    lm = pl.ScriptedLM(["[[reasoning]]\nEasy.\n\n[[answer]]\n4"])
    program = pl.ChainOfThought.from_template(
        Template("Sum: {question}"), "question -> answer: int", lm=lm
    )
    assert isinstance(program, pl.ChainOfThought)
    assert program(question="2+2").answer == 4
    assert "[[reasoning]] think step by step\n[[answer]] (an integer)" in lm.calls[0].prompt


def test_inspect_style_placeholders_show_the_template_as_written():
    program = pl.Predict.from_template(qa_template(), QA)
    adapter = program.resolved_adapter()
    shown = adapter.format(program.signature, {"context": "{context}", "question": "{question}"})
    assert (
        shown[-1]["content"] == "Context:\n{context}\n\nQuestion: {question}\nAnswer in one word."
    )


def test_an_omitted_or_none_optional_input_is_empty_text():
    program = pl.Predict.from_template(
        Template("Q: {question}\nHint: {hint}"), "question, hint: list[str] | None -> answer"
    )
    assert program.messages(question="x")[-1]["content"] == "Q: x\nHint: "
    assert program.messages(question="x", hint=None)[-1]["content"] == "Q: x\nHint: "
    assert program.messages(question="x", hint=["a"])[-1]["content"] == "Q: x\nHint: - a"
    program.demos = [pl.Example(question="q", answer="a"), pl.Example(hint=["h"], answer="b")]
    assert [m["content"] for m in program.messages(question="x")] == [
        "Q: q\nHint: ",
        "a",
        "Q: x\nHint: ",
    ]


def test_demo_replies_keep_markers_when_the_template_names_them():
    program = pl.Predict.from_template(
        Template("Q: {question}\nWrite [[answer]] and [[note]]."), "question -> answer, note"
    )
    program.demos = [pl.Example(question="q", answer="a")]  # a partial demo: one output
    assert program.messages(question="x")[1] == {"role": "assistant", "content": "[[answer]]\na"}


def test_the_adapter_checks_a_signature_it_is_used_with():
    program = pl.Predict("question -> answer", adapter=TemplateAdapter(Template("{questoin}")))
    with pytest.raises(pl.SignatureError, match=r"Did you mean \{question\}"):
        program.messages(question="x")


def test_a_template_program_round_trips_through_a_compiled_file(tmp_path):
    program = pl.Predict.from_template(qa_template(), QA)
    program.demos = [pl.Example(context="c", question="q", answer="a")]
    pl.save(program, tmp_path / "qa.json")
    loaded = pl.load(tmp_path / "qa.json")
    assert loaded.messages(context="C", question="Q") == program.messages(context="C", question="Q")
