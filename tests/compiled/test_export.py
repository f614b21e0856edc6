"""pl.export: every format renders, in its own runtime, byte for byte the messages pliable sends
(the main job's file, whose demos hold JSON braces; a multi-step program; typed inputs)."""

import json
from typing import Literal

import jinja2
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import pliable as pl
from pliable.cli import main
from pliable.compiled.prompt_export import export, render_input_text

CHAT, LOCAL = "openai/gpt-4o-mini", "local/smollm2"


@pytest.fixture(scope="module")
def tickets(tmp_path_factory):
    """The main job's program (the tickets task) with labeled demos: JSON in its demos."""
    from pliable.tasks import load_task

    task = load_task("tickets")
    with pl.using(lm=pl.ScriptedLM([])):
        compiled = pl.LabeledFewShot(4).compile(task.program_factory(), trainset=task.trainset)
    path = tmp_path_factory.mktemp("export") / "tickets.json"
    compiled.save(path)
    example = task.devset[0]
    return path, {k: example[k] for k in example.input_keys}


class TwoSteps(pl.Module):
    def __init__(self) -> None:
        super().__init__()
        self.query = pl.Predict("question, notes: list[str] -> query")
        self.answer = pl.ChainOfThought("question, query -> answer: int")

    def forward(self, question: str, notes: list[str]) -> pl.Prediction:
        query = self.query(question=question, notes=notes).query
        return self.answer(question=question, query=query)


def two_steps(tmp_path):
    program = TwoSteps()
    program.query.signature = program.query.signature.with_instructions("Write a {query}.")
    program.query.demos = [pl.Example(question="a {b}", notes=["x", "}"], query="q")]
    program.answer.demos = [pl.Example(question="1+1", query="sum", reasoning="r", answer=2)]
    path = tmp_path / "two.json"
    program.save(path)
    return program, path


def jinja_env():
    env = jinja2.Environment()
    env.filters["pliable_json"] = lambda v: json.dumps(v, ensure_ascii=False)
    return env


def via_messages(files, step, inputs):
    (text,) = files.values()
    doc = json.loads(text)
    assert doc["format"] == "pliable.messages"
    assert doc["version"] == 2
    (found,) = [s for s in doc["steps"] if s["name"] == step]
    rendered = {k: render_input_text(v) for k, v in inputs.items()}
    by_format = [
        {"role": m["role"], "content": m["content"].format(**rendered)} for m in found["messages"]
    ]
    by_parts = [
        {
            "role": m["role"],
            "content": "".join(
                p["text"] if "text" in p else rendered[p["input"]] for p in m["parts"]
            ),
        }
        for m in found["messages"]
    ]
    assert by_format == by_parts
    return by_format


def via_jinja(files, step, inputs):
    (text,) = [t for name, t in files.items() if name.endswith(f".{step}.jinja")]
    return json.loads(jinja_env().from_string(text).render(**inputs))


def via_langchain(files, step, inputs):
    from langchain_core.load import load

    (text,) = files.values()
    template = load(json.loads(text)[step], allowed_objects="core")
    rendered = {k: render_input_text(v) for k, v in inputs.items()}
    roles = {"system": "system", "human": "user", "ai": "assistant"}
    return [
        {"role": roles[m.type], "content": m.content} for m in template.format_messages(**rendered)
    ]


def via_promptfoo(files, step, inputs):
    """The prompt file rendered as promptfoo renders it (Nunjucks; this subset of it is
    Jinja's too), with the vars the config gives: inputs rendered by pliable's rules."""
    (text,) = [t for name, t in files.items() if name.endswith(f".{step}.prompt.njk")]
    env = jinja2.Environment()
    env.filters["dump"] = json.dumps  # Nunjucks' dump is JSON.stringify
    rendered = {k: render_input_text(v) for k, v in inputs.items()}
    return json.loads(env.from_string(text).render(**rendered))


RENDERERS = {
    "messages": via_messages,
    "jinja2": via_jinja,
    "langchain": via_langchain,
    "promptfoo": via_promptfoo,
}


@pytest.mark.parametrize("lm", [CHAT, LOCAL])
@pytest.mark.parametrize("fmt", list(RENDERERS))
def test_the_main_job_file_exports_byte_for_byte(tickets, fmt, lm):
    path, inputs = tickets
    files = export(path, fmt, lm=lm)
    assert RENDERERS[fmt](files, "self", inputs) == pl.load(path).render(lm=lm, **inputs)


def test_braces_in_demos_are_escaped_where_str_format_would_choke(tickets):
    path, inputs = tickets
    (text,) = export(path, "messages").values()
    contents = [m["content"] for m in json.loads(text)["steps"][0]["messages"]]
    assert any("{{" in c for c in contents)  # the demos' JSON, doubled
    for content in contents:
        content.format(**inputs)  # no KeyError('"product"')


@pytest.mark.parametrize("fmt", ["messages", "jinja2", "langchain"])
def test_a_multi_step_program_exports_every_step(tmp_path, fmt):
    program, path = two_steps(tmp_path)
    files = export(path, fmt, lm=CHAT)
    inputs = {
        "query": {"question": "what {is} it?", "notes": ["n1", "n {2}"]},
        "answer": {"question": "what?", "query": 'find "it"'},
    }
    for step, values in inputs.items():
        assert RENDERERS[fmt](files, step, values) == program.render(step, lm=CHAT, **values)


def test_a_program_object_exports_like_its_file(tmp_path):
    program, path = two_steps(tmp_path)
    assert export(program, "messages", name="two") == export(path, "messages")


class Kind(pl.Signature):
    """Classify {things}."""

    text: str = pl.InputField()
    tags: list[str] = pl.InputField()
    counts: dict[str, int] = pl.InputField()
    n: int = pl.InputField()
    x: float = pl.InputField()
    flag: bool = pl.InputField()
    maybe: str | None = pl.InputField()
    mode: Literal["a", "b"] = pl.InputField()
    label: str = pl.OutputField()


TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=30)
VALUES = st.fixed_dictionaries(
    {
        "text": TEXT,
        "tags": st.lists(TEXT, max_size=3),
        "counts": st.dictionaries(TEXT, st.integers(-5, 5), max_size=2),
        "n": st.integers(-(10**6), 10**6),
        "x": st.floats(allow_nan=False, allow_infinity=False, width=32),
        "flag": st.booleans(),
        "maybe": st.none() | TEXT,
        "mode": st.sampled_from(["a", "b"]),
    }
)


@pytest.fixture(scope="module")
def typed(tmp_path_factory):
    program = pl.Predict(Kind)
    program.demos = [
        pl.Example(
            text="t {x}",
            tags=["a"],
            counts={"k": 1},
            n=1,
            x=0.5,
            flag=True,
            maybe=None,
            mode="a",
            label="{lbl}",
        )
    ]
    path = tmp_path_factory.mktemp("typed") / "typed.json"
    program.save(path)
    exported = {fmt: {lm: export(path, fmt, lm=lm) for lm in (CHAT, LOCAL)} for fmt in RENDERERS}
    return program, exported


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(values=VALUES)
def test_typed_inputs_render_the_same_in_every_format(typed, values):
    program, exported = typed
    for fmt, by_lm in exported.items():
        for lm, files in by_lm.items():
            assert RENDERERS[fmt](files, "self", values) == program.render(lm=lm, **values), (
                fmt,
                lm,
            )


def test_programs_whose_prompt_is_not_fixed_text_are_refused(tmp_path):
    from pliable.lm.embeddings import FunctionEmbedder

    embedder = FunctionEmbedder(lambda texts: [[float(len(t)), 1.0] for t in texts])
    knn = pl.KNNFewShot(1, embedder).compile(
        pl.Predict("question -> answer"),
        trainset=[pl.Example(question="q", answer="a").with_inputs("question")],
    )
    path = tmp_path / "knn.json"
    knn.save(path)
    with pytest.raises(pl.CompiledFileError, match="not fixed text"):
        export(path, "messages")


def test_an_unknown_format_is_refused(tickets):
    with pytest.raises(pl.UsageError, match="Unknown export format 'yaml'"):
        export(tickets[0], "yaml")


def test_promptfoo_gets_a_test_per_dev_example(tickets):
    from pliable.tasks import load_task

    dev = list(load_task("tickets").devset)[:3]
    files = export(tickets[0], "promptfoo", devset=dev)
    config = files["promptfooconfig.yaml"]
    assert 'prompts: ["file://tickets.self.prompt.njk"]' in config
    assert config.count("  - vars: ") == 3
    assert config.count("type: icontains") == 3


def test_cli_export_writes_the_files_and_prints_one(tickets, tmp_path, capsys):
    path, _ = tickets
    assert main(["export", str(path), "--format", "messages"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["steps"][0]["name"] == "self"
    out = tmp_path / "prompts"
    assert main(["export", str(path), "--format", "jinja2", "--out", str(out)]) == 0
    assert (out / "tickets.self.jinja").is_file()
    assert capsys.readouterr().err.strip() == str(out / "tickets.self.jinja")
    with pytest.raises(SystemExit) as exited:
        main(["export", str(path), "--format", "yaml"])
    assert exited.value.code == 2
    assert capsys.readouterr().err.startswith("error: argument --format: invalid choice")


class Nested(pl.Module):
    def __init__(self) -> None:
        super().__init__()
        self.steps = {"../../evil": pl.Predict("question -> answer"), "a/b": pl.Predict("q -> a")}

    def forward(self, question: str) -> pl.Prediction:
        return self.steps["../../evil"](question=question)


def test_file_names_stay_safe_whatever_the_predictors_are_called(tmp_path):
    program = Nested()
    names = [name for name, _ in program.named_predictors()]
    assert any("/" in name for name in names)
    path = tmp_path / "nested.json"
    program.save(path)
    files = export(path, "jinja2")
    assert len(files) == 2
    for name in files:
        assert "/" not in name
        assert name.startswith("nested.")
    out = tmp_path / "out"
    assert main(["export", str(path), "--format", "jinja2", "--out", str(out)]) == 0
    written = sorted(p.name for p in out.iterdir())
    assert written == sorted(files)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["nested.json", "out"]


def test_a_list_of_str_enum_members_renders_the_same_before_and_after_saving(tmp_path):
    import enum

    class Tag(str, enum.Enum):
        A = "a"
        B = "b"

    class Tagged(pl.Signature):
        tags: list[Tag] = pl.InputField()
        label: str = pl.OutputField()

    program = pl.Predict(Tagged)
    path = tmp_path / "tagged.json"
    program.save(path)
    before = program.render(lm=CHAT, tags=[Tag.A, Tag.B])
    assert before == pl.load(path).render(lm=CHAT, tags=[Tag.A, Tag.B])
    assert '["a", "b"]' in before[-1]["content"]
