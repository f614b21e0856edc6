"""pl.render_prompts: a compiled file's prompts from the file alone, as the LM receives them."""

import json

import pytest

import pliable as pl
from pliable.cli import main
from pliable.programs.react import ReAct


def add(a: int, b: int = 0) -> int:
    """Add two integers."""
    return a + b


def compiled_cot(path, adapter=None):
    cot = pl.ChainOfThought("question, hint: str -> answer: int", adapter=adapter)
    cot.signature = cot.signature.with_instructions("Add the numbers.")
    cot.demos = [
        pl.Example(question="1+1", hint="small", reasoning="one and one", answer=2),
        pl.Example(question="2+3", hint="odd", answer=5),
    ]
    cot.save(path)
    return cot


@pytest.mark.parametrize("adapter", [None, pl.JSONAdapter()])
def test_rendered_messages_are_what_the_loaded_program_sends(tmp_path, adapter):
    path = tmp_path / "cot.json"
    compiled_cot(path, adapter)
    inputs = {"question": "40+2", "hint": "even"}
    reply = (
        '{"reasoning": "sum", "answer": 42}' if adapter else "[[reasoning]]\nsum\n\n[[answer]]\n42"
    )
    lm = pl.ScriptedLM([reply])
    # no adapter in the file: the default follows the LM it is rendered for (chat here)
    rendered = pl.render_prompts(path, inputs=inputs, lm=lm)
    with pl.using(lm=lm):
        assert pl.load(path)(**inputs).answer == 42
    assert list(rendered) == ["self"]
    assert rendered["self"] == list(lm.calls[0].messages)
    assert "Add the numbers." in rendered["self"][0]["content"]


def test_given_inputs_are_checked_and_converted_as_a_call_would(tmp_path):
    path = tmp_path / "typed.json"
    pl.Predict("x: float, flag: bool, counts: dict[str, int] -> answer").save(path)
    inputs = {"x": "1.50", "flag": "yes", "counts": {"a": "2"}}
    lm = pl.ScriptedLM(["[[answer]]\nok"])
    rendered = pl.render_prompts(path, inputs=inputs, lm=lm)["self"]
    with pl.using(lm=lm):
        pl.load(path)(**inputs)
    assert rendered == list(lm.calls[0].messages)
    assert "1.5\n" in rendered[-1]["content"]
    with pytest.raises(pl.InputError, match="x"):
        pl.render_prompts(path, inputs={"x": "abc"})


def test_with_no_adapter_the_default_follows_the_lm(tmp_path):
    path = tmp_path / "qa.json"
    pl.Predict("question -> answer").save(path)
    local = pl.render_prompts(path)["self"]  # the file names no LM: the embedded local model
    assert "JSON object" in local[0]["content"]
    assert pl.render_prompts(path, lm="local/qwen2.5-coder-0.5b") == {"self": local}
    chat = pl.render_prompts(path, lm=pl.ScriptedLM([]))["self"]
    assert "[[answer]]" in chat[0]["content"]
    assert "JSON" not in chat[0]["content"]
    pl.Predict("question -> answer", lm=pl.LM("demo-provider-without-schemas/x")).save(path)
    assert "[[answer]]" in pl.render_prompts(path)["self"][0]["content"]  # the file's LM


def test_placeholders_stand_for_inputs_not_given(tmp_path):
    path = tmp_path / "cot.json"
    compiled_cot(path)
    messages = pl.render_prompts(path, inputs={"hint": "even"})["self"]
    last = messages[-1]["content"]
    assert "{question}" in last
    assert "{hint}" not in last
    assert "even" in last
    assert len(messages) == 2 + 2 * 2  # system, two demo turns, the input


def test_an_input_no_predictor_reads_is_refused(tmp_path):
    path = tmp_path / "cot.json"
    compiled_cot(path)
    with pytest.raises(pl.UsageError, match=r"\['questoin'\].*\['hint', 'question'\]"):
        pl.render_prompts(path, inputs={"questoin": "1+1"})


def test_react_renders_without_its_tools(tmp_path):
    path = tmp_path / "agent.json"
    ReAct("question -> answer: int", tools=[add]).save(path)
    with pytest.raises(pl.UsageError, match="tools"):
        pl.load(path)  # rebuilding the program needs the tools: they are code
    prompts = pl.render_prompts(path)
    assert sorted(prompts) == ["extract", "react"]
    live = ReAct("question -> answer: int", tools=[add])
    for name, predictor in live.named_predictors():
        placeholders = {f: "{" + f + "}" for f in predictor.signature.input_fields}
        assert prompts[name] == predictor.messages(**placeholders)
    assert "Add two integers." in prompts["react"][0]["content"]


def test_inspect_prints_a_react_file_without_its_tools(tmp_path, capsys):
    path = tmp_path / "agent.json"
    ReAct("question -> answer: int", tools=[add]).save(path)
    assert main(["inspect", str(path)]) == 0
    shown = capsys.readouterr().out
    assert "=== predictor react:" in shown
    assert "=== predictor extract:" in shown
    assert "Add two integers." in shown


def test_a_knn_program_is_refused_and_inspect_says_what_is_missing(tmp_path, capsys):
    from pliable.lm.embeddings import FunctionEmbedder
    from pliable.optimizers.knn_few_shot import KNNFewShot

    def letters(texts):
        return [[t.count(c) for c in "abcd"] for t in texts]

    rows = [pl.Example(question=w, answer=w.upper()).with_inputs("question") for w in "abcd"]
    compiled = KNNFewShot(2, FunctionEmbedder(letters, name="letters")).compile(
        pl.Predict("question -> answer"), trainset=rows
    )
    path = compiled.save(tmp_path / "knn.json")
    with pytest.raises(pl.CompiledFileError, match=r"chosen per call \(the 2 nearest of 4"):
        pl.render_prompts(path)
    assert main(["inspect", str(path)]) == 0
    assert "note: not all of the prompt is shown above: its demos are chosen per call" in (
        capsys.readouterr().out
    )


class NeedsArguments(pl.Module):
    def __init__(self, size: int) -> None:
        super().__init__()
        self.size = size
        self.step = pl.Predict("text -> summary")

    def forward(self, text: str) -> pl.Prediction:
        return self.step(text=text)


def test_a_custom_program_renders_without_its_class(tmp_path):
    path = tmp_path / "custom.json"
    program = NeedsArguments(3)
    program.step.demos = [pl.Example(text="a long text", summary="short")]
    program.save(path)
    with pytest.raises(pl.CompiledFileError, match="not a registered program kind"):
        pl.load(path)
    assert pl.render_prompts(path) == {"step": program.step.messages(text="{text}")}


def test_an_invalid_file_is_refused_before_rendering(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"schema_version": 1, "program": "x", "predictors": {"p": {}}}))
    with pytest.raises(pl.CompiledFileError, match="not a valid compiled program"):
        pl.render_prompts(path)
