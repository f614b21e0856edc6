"""``pl.from_dspy`` and ``pliable import-dspy``: a DSPy saved program read into pliable.

The DSPy files are written during the test by the real DSPy (3.4.1, the ``bench`` extra) with
``program.save(path)``, from programs whose instructions and demos are set by hand: no LM, no
network. Those tests carry the ``dspy`` marker and are skipped without DSPy. The others run
with DSPy unimportable (as in CI, which installs no DSPy): on hand-written files, and on the files
DSPy 3.4.1 saved for the same programs, committed in tests/fixtures/dspy/ by
scripts/make-dspy-fixtures.py (a ``dspy`` test checks they are what DSPy writes today).
"""

from __future__ import annotations

import importlib.abc
import importlib.util
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
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


# --- files DSPy 3.4.1 saved, committed: these run without DSPy (and in CI) --------------------
#
# tests/fixtures/dspy/ holds what DSPy wrote with program.save(path) for the programs of
# scripts/make-dspy-fixtures.py (the same as the DSPy tests above), and manifest.json, what each
# DSPy predictor held: signature, descriptions, instructions, demos. The last test regenerates
# them when DSPy is installed.

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "dspy"
MAKE_FIXTURES = Path(__file__).resolve().parent.parent / "scripts" / "make-dspy-fixtures.py"
REGENERATE = ".venv/bin/python scripts/make-dspy-fixtures.py"
DSPY_VERSION = "3.4.1"


def _loaded(name: str) -> pl.Module:
    """The committed DSPy file ``name`` read by pl.from_dspy, with program= where needed."""
    path = FIXTURES / name
    if name == "predict-instructions.json":  # changed instructions: DSPy's state lacks the split
        return pl.from_dspy(path, program=pl.Predict("question, context -> answer"))
    if name == "two-step.json":
        return pl.from_dspy(path, program=TwoStep())
    return pl.from_dspy(path)


KINDS = {
    "predict.json": pl.Predict,
    "predict-instructions.json": pl.Predict,
    "chain-of-thought.json": pl.ChainOfThought,
    "two-step.json": TwoStep,
}


def manifest() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / "manifest.json").read_text(encoding="utf-8"))
    return data


def pliable_name(dspy_name: str) -> str:
    """DSPy's predictor name as pliable's: a ChainOfThought's ``x.predict`` is ``x``, and a
    lone predictor (``self``, a lone ChainOfThought's ``predict``) is ``self``."""
    if dspy_name in ("self", "predict"):
        return "self"
    return dspy_name.removesuffix(".predict")


def without_flag(demo: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in demo.items() if k != "augmented"}


def check_prompt(
    messages: list[dict[str, Any]],
    pred: dict[str, Any],
    inputs: dict[str, str],
    *,
    json_replies: bool,
) -> None:
    """``messages`` show the DSPy predictor ``pred``'s instructions and field descriptions in
    the system message, then each of its demos as a user and an assistant message, every value
    under its field's marker (the reply as a JSON object for the JSON adapter), then ``inputs``."""
    ins, outs = (side.split(", ") for side in pred["signature"].split(" -> "))
    demos = [without_flag(d) for d in pred["demos"]]
    assert [m["role"] for m in messages] == ["system", *["user", "assistant"] * len(demos), "user"]
    system = messages[0]["content"]
    assert system.startswith(pred["instructions"] + "\n\n")
    for desc in pred["descriptions"].values():
        assert desc in system
    for i, demo in enumerate(demos):
        asked, replied = messages[1 + 2 * i]["content"], messages[2 + 2 * i]["content"]
        for field in ins:
            assert f"[[{field}]]\n{demo[field]}" in asked
        shown = {k: v for k, v in demo.items() if k in outs}
        if json_replies:
            assert json.loads(replied) == shown
        elif len(outs) == 1:  # the chat adapter shows a lone output's value alone
            assert replied == shown[outs[0]]
        else:
            for field, value in shown.items():
                assert f"[[{field}]]\n{value}" in replied
    for field, value in inputs.items():
        assert f"[[{field}]]\n{value}" in messages[-1]["content"]


class _NoDSPy(importlib.abc.MetaPathFinder):
    """Refuses every import of ``dspy`` and records it: the test runs as if DSPy were absent."""

    def __init__(self) -> None:
        self.tried: list[str] = []

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> None:
        if fullname == "dspy" or fullname.startswith("dspy."):
            self.tried.append(fullname)
            raise ModuleNotFoundError(f"No module named {fullname!r} (blocked by the test)")
        return None


@pytest.fixture(autouse=True)
def no_dspy_unless_marked(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    """Every test not marked ``dspy`` runs with DSPy unimportable, as in CI."""
    if request.node.get_closest_marker("dspy") is not None:
        yield
        return
    for name in [n for n in sys.modules if n == "dspy" or n.startswith("dspy.")]:
        monkeypatch.delitem(sys.modules, name)  # put back after the test
    blocker = _NoDSPy()
    monkeypatch.setattr(sys, "meta_path", [blocker, *sys.meta_path])
    yield
    assert blocker.tried == []
    assert "dspy" not in sys.modules


def test_committed_files_are_dspy_3_4_1_states_of_what_the_programs_held():
    held = manifest()
    assert held["dspy"] == DSPY_VERSION
    assert sorted(p.name for p in FIXTURES.glob("*.json")) == sorted([*KINDS, "manifest.json"])
    assert list(held["files"]) == list(KINDS)
    for name, entry in held["files"].items():
        raw = json.loads((FIXTURES / name).read_text(encoding="utf-8"))
        assert raw.pop("metadata")["dependency_versions"]["dspy"] == DSPY_VERSION
        states = {"self": raw} if list(entry["predictors"]) == ["self"] else raw
        assert list(states) == list(entry["predictors"])  # DSPy's predictor names, in order
        for dspy_name, pred in entry["predictors"].items():
            state = states[dspy_name]
            assert state["signature"]["instructions"] == pred["instructions"]
            assert state["demos"] == pred["demos"]
            ins, outs = (side.split(", ") for side in pred["signature"].split(" -> "))
            assert [f["description"] for f in state["signature"]["fields"]] == [
                pred["descriptions"].get(n, f"${{{n}}}") for n in [*ins, *outs]
            ]
            assert pred["demos"]  # every predictor has demos to check


@pytest.mark.parametrize("name", list(KINDS))
def test_committed_dspy_file_renders_dspys_instructions_and_demos(name, tmp_path):
    """pl.from_dspy reads each file DSPy saved, and every predictor's rendered prompt has the
    DSPy predictor's instructions, field descriptions and demos, with both text adapters."""
    program = _loaded(name)
    assert type(program) is KINDS[name]
    mine = dict(program.named_predictors())
    held = manifest()["files"][name]["predictors"]
    assert sorted(mine) == sorted(pliable_name(n) for n in held)

    for dspy_name, pred in held.items():
        step = pliable_name(dspy_name)
        sig = mine[step].signature
        ins, outs = (side.split(", ") for side in pred["signature"].split(" -> "))
        assert (list(sig.input_fields), list(sig.output_fields)) == (ins, outs)
        assert sig.instructions == pred["instructions"]
        assert {n: f.desc for n, f in sig.fields.items() if f.desc} == pred["descriptions"]
        demos = [without_flag(d) for d in pred["demos"]]
        assert [dict(d) for d in mine[step].demos] == demos

        inputs = {n: f"<the {n} asked>" for n in ins}
        for adapter in (pl.ChatAdapter(), pl.JSONAdapter()):
            with pl.using(adapter=adapter):
                messages = program.render(step, lm=LM, **inputs)
            check_prompt(messages, pred, inputs, json_replies=isinstance(adapter, pl.JSONAdapter))

    # saved as a pliable file, it renders the same prompts
    saved = program.save(tmp_path / "pliable.json")
    rendered = pl.render_prompts(saved, lm=LM)
    assert rendered == {n: p.prompt_messages(lm=LM) for n, p in program.named_predictors()}
    for dspy_name, pred in held.items():
        system = rendered[pliable_name(dspy_name)][0]["content"]
        assert system.startswith(pred["instructions"])


def test_committed_predict_files_hold_the_exact_instructions_and_demos():
    demos = [
        {"question": "What is 2+2?", "context": "arithmetic", "answer": "4"},
        {"question": "Capital of France?", "context": "geography", "answer": "Paris"},
    ]
    qa = pl.from_dspy(FIXTURES / "predict.json")
    assert type(qa) is pl.Predict
    assert qa.signature.signature_string() == "question: str, context: str -> answer: str"
    default = "Given the fields `question`, `context`, produce the fields `answer`."
    assert qa.signature.instructions == default
    assert [dict(d) for d in qa.demos] == demos
    assert all(f.desc == "" for f in qa.signature.fields.values())

    path = FIXTURES / "predict-instructions.json"
    with pytest.raises(pl.CompiledFileError, match="does not record which fields are inputs"):
        pl.from_dspy(path)
    changed = pl.from_dspy(path, program=pl.Predict("question, context -> answer"))
    assert changed.signature.instructions == "Answer in one word."
    assert [dict(d) for d in changed.demos] == demos
    text = text_of(changed.prompt_messages(lm=LM))
    assert "Answer in one word." in text
    assert default not in text


def test_committed_chain_of_thought_file_keeps_reasoning_and_the_labeled_demo(tmp_path, capsys):
    program = pl.from_dspy(FIXTURES / "chain-of-thought.json")
    assert type(program) is pl.ChainOfThought
    sig = program.signature
    assert sig.signature_string() == "ticket: str -> reasoning: str, urgency: str"
    assert sig.instructions == "Classify the ticket's urgency."
    assert sig.fields["ticket"].desc == "the customer's message"
    assert sig.fields["urgency"].desc == "low, medium or high"
    assert [dict(d) for d in program.demos] == [
        {"ticket": "Site down!", "reasoning": "An outage hurts everyone.", "urgency": "high"},
        {"ticket": "Typo on page", "urgency": "low"},
    ]

    out = tmp_path / "cot.pliable.json"
    assert main(["import-dspy", str(FIXTURES / "chain-of-thought.json"), "--out", str(out)]) == 0
    assert "ChainOfThought" in capsys.readouterr().out
    assert pl.load(out).dump_state() == program.dump_state()


def test_committed_two_predictor_file_maps_by_name():
    path = FIXTURES / "two-step.json"
    with pytest.raises(pl.CompiledFileError, match="holds 2 DSPy predictors"):
        pl.from_dspy(path)
    program = TwoStep()
    assert pl.from_dspy(path, program=program) is program
    query, answer = program.generate_query, program.answer
    assert query.signature.instructions == "Write one search query for the question."
    assert query.signature.fields["question"].desc == "the user's question"
    assert [dict(d) for d in query.demos] == [
        {
            "question": "Who wrote Hamlet?",
            "reasoning": "Hamlet is a play.",
            "query": "Hamlet author",
        }
    ]
    assert answer.signature.instructions == "Answer from the context in a few words."
    assert [dict(d) for d in answer.demos] == [
        {"context": "Hamlet was written by Shakespeare.", "question": "Q1", "answer": "Will"}
    ]

    wrong = TwoStep(answer_sig="passage, question -> answer")
    before = wrong.dump_state()
    with pytest.raises(pl.CompiledFileError, match="'answer'"):
        pl.from_dspy(path, program=wrong)
    assert wrong.dump_state() == before


def _fixture_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("make_dspy_fixtures", MAKE_FIXTURES)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.dspy
def test_committed_dspy_files_are_what_dspy_writes_today(dspy, tmp_path):
    script = _fixture_script()
    assert dspy.__version__ == script.DSPY_VERSION == DSPY_VERSION, (
        f"DSPy {dspy.__version__} is installed, the fixtures are DSPy {DSPY_VERSION}'s"
    )
    written = script.write(tmp_path)
    assert sorted(written) == sorted(p.name for p in FIXTURES.glob("*.json"))
    stale = [
        name
        for name in written
        if script.comparable((tmp_path / name).read_text(encoding="utf-8"))
        != script.comparable((FIXTURES / name).read_text(encoding="utf-8"))
    ]
    assert not stale, f"{stale} differ from what DSPy writes now; run {REGENERATE}"
    assert script.stale(FIXTURES) == []
    # the programs are the ones the DSPy tests above build
    assert (tmp_path / "predict.json").read_text() == dspy_predict(
        dspy, tmp_path / "qa.json"
    ).read_text()
    assert (tmp_path / "two-step.json").read_text() == dspy_two_step(
        dspy, tmp_path / "two.json"
    ).read_text()


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
