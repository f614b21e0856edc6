import enum
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from pydantic import BaseModel

import pliable as pl
from pliable.compiled.kinds import unregister_program_kind
from pliable.compiled.schema import json_schema

ROOT = Path(__file__).resolve().parents[2]


class Tone(enum.Enum):
    CALM = "calm"
    ANGRY = "angry"


class Person(BaseModel):
    name: str
    age: int


class Extract(pl.Signature):
    """Extract people and the tone."""

    text: str = pl.InputField(desc="a paragraph")
    people: list[Person] = pl.OutputField()
    tone: Tone = pl.OutputField()


def compiled_cot():
    cot = pl.ChainOfThought("question -> answer: int", temperature=0.2)
    cot.signature = cot.signature.with_instructions("Add the numbers.")
    cot.demos = [
        pl.Example(question="1+1", reasoning="one and one", answer=2),
        pl.Example(question="2+3", answer=5),  # labeled only: no reasoning
    ]
    return cot


def test_file_is_readable_versioned_and_secret_free(tmp_path):
    cot = compiled_cot()
    cot.lm = pl.LM("openai/gpt-4o-mini", api_key="sk-secret-123", temperature=0, max_tokens=99)
    cot.config["api_key"] = "sk-also-secret"
    path = cot.save(tmp_path / "qa.json")
    text = path.read_text()
    assert "sk-secret-123" not in text
    assert "sk-also-secret" not in text
    data = json.loads(text)
    assert text == json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    assert data["schema_version"] == 3
    assert data["program"] == "pliable.ChainOfThought"
    state = data["predictors"]["self"]
    assert state["signature"]["instructions"] == "Add the numbers."
    assert [f["name"] for f in state["signature"]["outputs"]] == ["reasoning", "answer"]
    assert state["demos"][0] == {"question": "1+1", "reasoning": "one and one", "answer": 2}
    assert state["lm"] == {
        "model": "openai/gpt-4o-mini",
        "options": {"temperature": 0, "max_tokens": 99},
        "restorable": True,
    }
    assert state["config"] == {"temperature": 0.2}


def test_builtin_program_restores_without_user_code_and_renders_identically(tmp_path):
    cot = compiled_cot()
    path = cot.save(tmp_path / "qa.json")
    again = pl.load(path)
    assert type(again) is pl.ChainOfThought
    assert again.signature == cot.signature
    assert again.demos == cot.demos
    assert again.config == {"temperature": 0.2}
    assert again.render(question="4+4") == cot.render(question="4+4")


def test_render_is_exactly_what_the_lm_receives(tmp_path):
    loaded = pl.load(compiled_cot().save(tmp_path / "qa.json"))
    lm = pl.ScriptedLM(["[[reasoning]]\nfour and four\n\n[[answer]]\n8"])
    assert loaded(question="4+4", lm=lm).answer == 8
    assert list(lm.calls[0].messages) == loaded.render(lm=lm, question="4+4")


def test_typed_demos_and_json_adapter_round_trip(tmp_path):
    p = pl.Predict(Extract, adapter=pl.JSONAdapter())
    p.demos = [
        pl.Example(text="Ann, 3, shouts", people=[Person(name="Ann", age=3)], tone=Tone.ANGRY)
    ]
    path = p.save(tmp_path / "x.json")
    again = pl.load(path)  # classes rebuilt from their structure: nothing is imported
    assert isinstance(again.adapter, pl.JSONAdapter)
    assert [x.model_dump() for x in again.demos[0].people] == [{"name": "Ann", "age": 3}]
    assert again.demos[0].tone.value == Tone.ANGRY.value
    assert again.render(text="Bob") == p.render(text="Bob")
    own = pl.Predict(Extract).load(path)  # into the program's own classes: kept
    assert own.demos[0].people == [Person(name="Ann", age=3)]
    assert own.demos[0].tone is Tone.ANGRY


class TwoStep(pl.Module):
    def __init__(self):
        self.draft = pl.Predict("question -> draft")
        self.final = pl.ChainOfThought("question, draft -> answer")

    def forward(self, question):
        draft = self.draft(question=question).draft
        return self.final(question=question, draft=draft)


def test_custom_program_loads_by_name_and_reports_mismatches(tmp_path):
    prog = TwoStep()
    prog.draft.demos = [pl.Example(question="q", draft="d")]
    path = prog.save(tmp_path / "two.json")
    fresh = TwoStep().load(path)
    assert fresh.draft.demos == prog.draft.demos
    assert isinstance(pl.load(path, program=TwoStep), TwoStep)  # built with no arguments
    with pytest.raises(pl.CompiledFileError, match="not a registered program kind"):
        pl.load(path)  # the file names a class, which is never imported from the file
    pl.register_program_kind("tests.TwoStep", TwoStep)
    try:
        path = prog.save(tmp_path / "registered.json")
        assert json.loads(path.read_text())["program"] == "tests.TwoStep"
        assert isinstance(pl.load(path), TwoStep)  # a registered kind loads by name
    finally:
        unregister_program_kind("tests.TwoStep")

    class Other(pl.Module):
        def __init__(self):
            self.draft = pl.Predict("question -> draft")
            self.check = pl.Predict("draft -> ok: bool")

    other = Other()
    with pytest.raises(
        pl.CompiledFileError, match=r"not the file: \['check'\].*not the program: \['final'\]"
    ):
        other.load(path)
    assert other.draft.demos == []


def test_invalid_files_load_nothing(tmp_path):
    prog = TwoStep()
    path = prog.save(tmp_path / "two.json")
    data = json.loads(path.read_text())
    data["predictors"]["final"]["demos"] = [{"question": "q", "draft": "d", "answer": "a"}]
    data["predictors"]["draft"]["demos"] = [{"question": "q", "draft": "d"}]
    data["predictors"]["final"]["signature"]["outputs"][1]["type"] = {"type": "int"}
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(data))
    target = TwoStep()
    before = target.final.signature
    with pytest.raises(pl.CompiledFileError, match=r"predictor 'final'.*demo 0.*`answer` = 'a'"):
        target.load(bad)
    assert target.draft.demos == []  # the valid predictor was not touched either
    assert target.final.signature == before

    bad.write_text(path.read_text()[:-40])
    with pytest.raises(pl.CompiledFileError, match="not valid JSON"):
        pl.load(bad)
    data = json.loads(path.read_text())
    data["predictors"]["draft"]["colour"] = "blue"
    bad.write_text(json.dumps(data))
    with pytest.raises(pl.CompiledFileError, match=r"predictors.draft.colour"):
        pl.load(bad)


def test_newer_schema_version_says_so(tmp_path):
    data = json.loads(compiled_cot().save(tmp_path / "a.json").read_text())
    data["schema_version"] = 7
    with pytest.raises(pl.CompiledFileError, match=r"newer pliable \(schema version 7"):
        pl.load(data)


def test_fresh_process_gives_identical_predictions(tmp_path):
    path = compiled_cot().save(tmp_path / "qa.json")
    script = textwrap.dedent(
        f"""
        import json, pliable as pl
        lm = pl.FunctionLM(lambda m: "[[reasoning]]\\nr\\n\\n[[answer]]\\n" + str(len(m)))
        prog = pl.load({str(path)!r})
        print(json.dumps({{"messages": prog.render(question="9+9"),
                          "answer": prog(question="9+9", lm=lm).answer}}))
        """
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    fresh = json.loads(out.stdout)
    here = pl.load(path)
    assert fresh["messages"] == here.render(question="9+9")
    assert fresh["answer"] == len(here.render(question="9+9"))


def test_published_json_schema_is_current_and_validates_files(tmp_path):
    published = json.loads((ROOT / "schemas" / "compiled-program.schema.json").read_text())
    assert published == json_schema()
    import jsonschema

    data = json.loads(compiled_cot().save(tmp_path / "a.json").read_text())
    jsonschema.validate(data, published)
    data["predictors"]["self"]["kind"] = "Nope"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(data, published)


def test_a_version_1_file_without_an_adapter_loads_with_chat(tmp_path):
    path = pl.Predict("question -> answer").save(tmp_path / "v1.json")
    data = json.loads(path.read_text())
    assert data["predictors"]["self"]["adapter"] is None
    data["schema_version"] = 1  # written before the default followed the LM
    path.write_text(json.dumps(data))
    loaded = pl.load(path)
    assert isinstance(loaded.adapter, pl.ChatAdapter)
    assert "[[answer]]" in pl.render_prompts(path)["self"][0]["content"]
    data["schema_version"] = 2
    path.write_text(json.dumps(data))
    assert pl.load(path).adapter is None  # the default for the LM it runs on


def test_files_of_earlier_versions_are_migrated(tmp_path):
    cot = compiled_cot()
    data = json.loads(cot.save(tmp_path / "v3.json").read_text())
    v2 = {**data, "schema_version": 2}
    (tmp_path / "v2.json").write_text(json.dumps(v2))
    assert pl.load(tmp_path / "v2.json").dump_state() == cot.dump_state()
    v1 = {**data, "schema_version": 1}
    v1["predictors"] = {"self": {**data["predictors"]["self"], "adapter": None}}
    (tmp_path / "v1.json").write_text(json.dumps(v1))
    assert isinstance(pl.load(tmp_path / "v1.json").adapter, pl.ChatAdapter)  # v1 meant chat
    (tmp_path / "v9.json").write_text(json.dumps({**data, "schema_version": 9}))
    with pytest.raises(pl.CompiledFileError, match="newer pliable"):
        pl.load(tmp_path / "v9.json")
