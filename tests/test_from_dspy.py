"""``pl.from_dspy`` and ``pliable import-dspy``: a DSPy saved program read into pliable.

The DSPy files are written during the test by the real DSPy (3.4.1, the ``bench`` extra) with
``program.save(path)``, from programs whose instructions and demos are set by hand: no LM, no
network. Those tests carry the ``dspy`` marker and are skipped without DSPy; the others use
hand-written files.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

import pliable as pl
from pliable.cli import main
from pliable.programs.dspy_import import dspy_prefix

LM = "openai/gpt-4o-mini"  # only names the chat adapter for rendering: never called


@pytest.fixture
def dspy() -> Any:
    return pytest.importorskip("dspy")


def text_of(messages: list[dict[str, Any]]) -> str:
    return "\n".join(m["content"] for m in messages)


def dspy_predict(dspy: Any, path: Path, *, instructions: str | None = None) -> Path:
    qa = dspy.Predict("question, context -> answer")
    if instructions:
        qa.signature = qa.signature.with_instructions(instructions)
    qa.demos = [
        dspy.Example(question="What is 2+2?", context="arithmetic", answer="4", augmented=True),
        dspy.Example(question="Capital of France?", context="geography", answer="Paris"),
    ]
    qa.save(str(path))
    return path


def dspy_two_step(dspy: Any, path: Path) -> Path:
    class QuerySig(dspy.Signature):
        """Write one search query for the question."""

        question: str = dspy.InputField(desc="the user's question")
        query: str = dspy.OutputField(desc="a short web search query")

    class TwoStep(dspy.Module):
        def __init__(self) -> None:
            super().__init__()
            self.generate_query = dspy.ChainOfThought(QuerySig)
            self.answer = dspy.Predict("context, question -> answer")

    program = TwoStep()
    program.generate_query.predict.demos = [
        dspy.Example(
            question="Who wrote Hamlet?",
            reasoning="Hamlet is a play.",
            query="Hamlet author",
            augmented=True,
        )
    ]
    program.answer.signature = program.answer.signature.with_instructions(
        "Answer from the context in a few words."
    )
    program.answer.demos = [
        dspy.Example(context="Hamlet was written by Shakespeare.", question="Q1", answer="Will")
    ]
    program.save(str(path))
    return path


class TwoStep(pl.Module):
    def __init__(self, answer_sig: str = "context, question -> answer") -> None:
        self.generate_query = pl.ChainOfThought("question -> query")
        self.answer = pl.Predict(answer_sig)


# --- single predictors -----------------------------------------------------------------------


@pytest.mark.dspy
def test_predict_with_default_instructions_needs_no_program(dspy, tmp_path):
    qa = pl.from_dspy(dspy_predict(dspy, tmp_path / "qa.json"))

    assert type(qa) is pl.Predict
    assert qa.signature.signature_string() == "question: str, context: str -> answer: str"
    assert (
        qa.signature.instructions
        == dspy.Predict("question, context -> answer").signature.instructions
    )
    # both demos: the bootstrapped one without DSPy's `augmented` flag, and the labeled one
    assert [dict(d) for d in qa.demos] == [
        {"question": "What is 2+2?", "context": "arithmetic", "answer": "4"},
        {"question": "Capital of France?", "context": "geography", "answer": "Paris"},
    ]
    assert all(f.desc == "" for f in qa.signature.fields.values())  # "${name}": no description


@pytest.mark.dspy
def test_predict_with_changed_instructions_takes_its_fields_from_the_program(dspy, tmp_path):
    path = dspy_predict(dspy, tmp_path / "qa.json", instructions="Answer in one word.")
    with pytest.raises(pl.CompiledFileError) as info:
        pl.from_dspy(path)
    message = str(info.value)
    assert "does not record which fields are inputs" in message
    assert "pl.Predict('question, context -> answer')" in message  # what to pass next

    mine = pl.Predict("question, context -> answer")
    qa = pl.from_dspy(path, program=mine)

    assert qa is mine
    text = text_of(qa.prompt_messages(lm=LM))
    for value in ("Answer in one word.", "What is 2+2?", "arithmetic", "4", "Paris", "geography"):
        assert value in text
    assert qa.signature.instructions == "Answer in one word."


@pytest.mark.dspy
def test_chain_of_thought_becomes_a_pliable_chain_of_thought(dspy, tmp_path):
    class Classify(dspy.Signature):
        """Classify the ticket's urgency."""

        ticket: str = dspy.InputField(desc="the customer's message")
        urgency: str = dspy.OutputField(desc="low, medium or high")

    cot = dspy.ChainOfThought(Classify)
    cot.predict.demos = [
        dspy.Example(
            ticket="Site down!",
            reasoning="An outage hurts everyone.",
            urgency="high",
            augmented=True,
        ),
        dspy.Example(ticket="Typo on page", urgency="low"),
    ]
    cot.save(str(tmp_path / "cot.json"))

    program = pl.from_dspy(tmp_path / "cot.json")

    assert type(program) is pl.ChainOfThought
    sig = program.signature
    assert list(sig.input_fields) == ["ticket"]
    assert list(sig.output_fields) == ["reasoning", "urgency"]
    assert sig.instructions == "Classify the ticket's urgency."
    assert sig.fields["ticket"].desc == "the customer's message"
    assert sig.fields["urgency"].desc == "low, medium or high"
    assert sig.fields["reasoning"].desc == ""  # DSPy's reasoning field has none
    text = text_of(program.prompt_messages(lm=LM))
    for value in ("Classify the ticket's urgency.", "Site down!", "An outage hurts everyone."):
        assert value in text
    assert "Typo on page" in text  # the labeled demo, without reasoning


@pytest.mark.dspy
def test_chain_of_thought_with_program_keeps_the_programs_types(dspy, tmp_path):
    cot = dspy.ChainOfThought("question -> answer: int")
    cot.predict.demos = [dspy.Example(question="2+3?", reasoning="add", answer=5, augmented=True)]
    cot.save(str(tmp_path / "cot.json"))

    program = pl.from_dspy(
        tmp_path / "cot.json", program=pl.ChainOfThought("question -> answer: int")
    )

    assert program.signature.fields["answer"].annotation is int
    assert program.demos[0]["answer"] == 5
    # the same file into a Predict: DSPy's `reasoning` field has no place there
    with pytest.raises(pl.CompiledFileError, match="reasoning"):
        pl.from_dspy(tmp_path / "cot.json", program=pl.Predict("question -> answer: int"))


# --- a program of several predictors ---------------------------------------------------------


@pytest.mark.dspy
def test_two_predictor_module_maps_by_name(dspy, tmp_path):
    path = dspy_two_step(dspy, tmp_path / "two.json")
    assert set(json.loads(path.read_text())) == {"generate_query.predict", "answer", "metadata"}

    program = TwoStep()
    assert pl.from_dspy(path, program=program) is program

    query = program.generate_query
    assert query.signature.instructions == "Write one search query for the question."
    assert query.signature.fields["question"].desc == "the user's question"
    assert query.signature.fields["query"].desc == "a short web search query"
    assert dict(query.demos[0]) == {
        "question": "Who wrote Hamlet?",
        "reasoning": "Hamlet is a play.",
        "query": "Hamlet author",
    }
    text = text_of(program.render("generate_query", lm=LM, question="Who painted it?"))
    assert "Write one search query for the question." in text
    assert "Hamlet is a play." in text
    text = text_of(program.render("answer", lm=LM, context="c", question="q"))
    assert "Answer from the context in a few words." in text
    assert "Hamlet was written by Shakespeare." in text


@pytest.mark.dspy
def test_imported_programs_round_trip_through_pliable_files(dspy, tmp_path):
    single = pl.from_dspy(dspy_predict(dspy, tmp_path / "qa.json"))
    single.save(tmp_path / "qa.pliable.json")
    again = pl.load(tmp_path / "qa.pliable.json")
    assert type(again) is pl.Predict
    assert again.dump_state() == single.dump_state()

    two = pl.from_dspy(dspy_two_step(dspy, tmp_path / "two.json"), program=TwoStep())
    two.save(tmp_path / "two.pliable.json")
    loaded = TwoStep().load(tmp_path / "two.pliable.json")
    assert loaded.dump_state() == two.dump_state()
    assert pl.render_prompts(tmp_path / "two.pliable.json", lm=LM) == {
        name: p.prompt_messages(lm=LM) for name, p in two.named_predictors()
    }


@pytest.mark.dspy
def test_mismatched_program_is_refused_naming_both_sides_and_changes_nothing(dspy, tmp_path):
    path = dspy_two_step(dspy, tmp_path / "two.json")

    class Renamed(pl.Module):
        def __init__(self) -> None:
            self.make_query = pl.ChainOfThought("question -> query")
            self.answer = pl.Predict("context, question -> answer")

    renamed = Renamed()
    before = renamed.dump_state()
    with pytest.raises(pl.CompiledFileError) as info:
        pl.from_dspy(path, program=renamed)
    message = str(info.value)
    assert "generate_query.predict" in message
    assert "make_query" in message
    assert renamed.dump_state() == before

    # right names, but the second predictor's fields differ: the first is not changed either
    wrong_fields = TwoStep(answer_sig="passage, question -> answer")
    before = wrong_fields.dump_state()
    with pytest.raises(pl.CompiledFileError) as info:
        pl.from_dspy(path, program=wrong_fields)
    message = str(info.value)
    assert "'answer'" in message
    assert "passage" in message
    assert "context" in message
    assert wrong_fields.dump_state() == before

    with pytest.raises(pl.CompiledFileError, match="holds 2 DSPy predictors"):
        pl.from_dspy(path)


# --- files that are not DSPy states ----------------------------------------------------------


def test_pliable_and_other_json_files_are_refused(tmp_path):
    compiled = pl.Predict("question -> answer").save(tmp_path / "pliable.json")
    with pytest.raises(pl.CompiledFileError, match=r"pliable compiled file.*pl\.load"):
        pl.from_dspy(compiled)

    cases = {
        "list.json": "[1, 2]",
        "other.json": '{"name": "x", "version": 2}',
        "not-json.json": "question -> answer",
        "bad-demos.json": json.dumps(
            {"signature": {"instructions": "x", "fields": [{"prefix": "A:"}]}, "demos": "none"}
        ),
    }
    for name, text in cases.items():
        (tmp_path / name).write_text(text)
        with pytest.raises(pl.CompiledFileError) as info:
            pl.from_dspy(tmp_path / name)
        assert str(info.value).startswith(f"{tmp_path / name} is not a DSPy program's saved state")
        assert "program.save('program.json')" in str(info.value)
    with pytest.raises(pl.CompiledFileError, match="Cannot read"):
        pl.from_dspy(tmp_path / "missing.json")


def test_loading_runs_no_code_and_imports_nothing_named_in_the_file(tmp_path):
    state = {
        "traces": [],
        "train": [],
        "demos": [{"question": "q", "answer": "a", "augmented": True}],
        "signature": {
            "instructions": "Given the fields `question`, produce the fields `answer`.",
            "fields": [
                {"prefix": "Question:", "description": "${question}"},
                {"prefix": "Answer:", "description": "${answer}"},
            ],
        },
        "lm": {"model": "x", "provider": "not_a_module_pliable_imports.Provider"},
    }
    path = tmp_path / "qa.json"
    path.write_text(json.dumps(state))
    qa = pl.from_dspy(path)
    assert "not_a_module_pliable_imports" not in sys.modules
    assert qa.lm is None  # DSPy's LM is not imported: configure pliable's own
    flex = {"flex": {"module_src": "import os", "lm": None}, "metadata": {}}
    path.write_text(json.dumps(flex))
    with pytest.raises(pl.CompiledFileError, match="never runs code"):
        pl.from_dspy(path)


def test_field_names_come_from_prefixes_and_demos_when_descriptions_are_custom(tmp_path):
    assert dspy_prefix("search_query") == "Search Query:"
    assert dspy_prefix("HTMLParser") == "HTML Parser:"
    state = {
        "demos": [{"HTMLParser": "p", "answer": "a", "augmented": True}],
        "signature": {
            "instructions": "Given the fields `HTMLParser`, produce the fields `answer`.",
            "fields": [
                {"prefix": "HTML Parser:", "description": "which parser"},
                {"prefix": "Answer:", "description": "the answer"},
            ],
        },
        "lm": None,
    }
    qa = pl.from_dspy(state)
    assert list(qa.signature.fields) == ["HTMLParser", "answer"]
    assert qa.signature.fields["HTMLParser"].desc == "which parser"


# --- the command line ------------------------------------------------------------------------


@pytest.mark.dspy
def test_cli_import_dspy_writes_a_pliable_file(dspy, tmp_path, capsys):
    cot = dspy.ChainOfThought("question -> answer")
    cot.predict.demos = [dspy.Example(question="2+2?", reasoning="sum", answer="4", augmented=True)]
    cot.save(str(tmp_path / "cot.json"))
    out = tmp_path / "qa.json"

    assert main(["import-dspy", str(tmp_path / "cot.json"), "--out", str(out)]) == 0
    assert "ChainOfThought" in capsys.readouterr().out
    program = pl.load(out)
    assert type(program) is pl.ChainOfThought
    assert program.demos[0]["reasoning"] == "sum"

    path = dspy_predict(dspy, tmp_path / "custom.json", instructions="Be brief.")
    argv = [
        "import-dspy",
        str(path),
        "--out",
        str(out),
        "--signature",
        "question, context -> answer",
    ]
    assert main(argv) == 0
    assert pl.load(out).signature.instructions == "Be brief."


def test_cli_import_dspy_bad_file_is_one_line_and_exit_2(tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text('{"hello": "world"}')
    out = tmp_path / "out.json"

    assert main(["import-dspy", str(bad), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith(f"error: {bad} is not a DSPy program's")
    assert not out.exists()

    two = tmp_path / "two.json"
    predictor = {
        "demos": [],
        "signature": {"instructions": "x", "fields": [{"prefix": "A:", "description": "${a}"}]},
    }
    two.write_text(json.dumps({"a": predictor, "b": predictor}))
    assert main(["import-dspy", str(two), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "holds 2 DSPy predictors (a, b)" in err
    assert not out.exists()


def test_a_custom_prefix_hides_the_name_so_the_program_gives_it():
    state = {  # DSPy: query: str = dspy.OutputField(desc="...", prefix="Search Query:")
        "demos": [{"question": "q", "query": "a query", "augmented": True}],
        "signature": {
            "instructions": "Write a search query.",
            "fields": [
                {"prefix": "Question:", "description": "${question}"},
                {"prefix": "Search Query:", "description": "a web search query"},
            ],
        },
    }
    with pytest.raises(pl.CompiledFileError) as info:
        pl.from_dspy(state, cot=False)
    assert "does not record which fields are inputs" in str(info.value)

    program = pl.from_dspy(state, program=pl.Predict("question -> query"))
    assert program.signature.fields["query"].desc == "a web search query"
    assert dict(program.demos[0]) == {"question": "q", "query": "a query"}

    with pytest.raises(
        pl.CompiledFileError, match=r"the DSPy demos have the field\(s\) \['query'\]"
    ):
        pl.from_dspy(state, program=pl.Predict("question -> search"))
