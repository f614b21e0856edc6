"""The default adapter follows the LM: JSON where it enforces a schema, chat elsewhere."""

import json

import pliable as pl
from pliable.adapters.auto import default_adapter, default_adapter_for_model


def test_an_lm_that_enforces_schemas_gets_json_and_the_schema():
    lm = pl.ScriptedLM(['{"answer": "4"}'], supports_response_schema=True)
    assert pl.Predict("question -> answer", lm=lm)(question="2+2?").answer == "4"
    call = lm.calls[0]
    assert "JSON object" in call.messages[0]["content"]
    assert call.options["response_format"]["type"] == "json_schema"


def test_an_lm_without_schemas_gets_the_chat_format():
    lm = pl.ScriptedLM(["[[answer]]\n4"])
    assert pl.Predict("question -> answer", lm=lm)(question="2+2?").answer == "4"
    assert "[[answer]]" in lm.calls[0].messages[0]["content"]
    assert "response_format" not in lm.calls[0].options


def test_an_explicit_or_context_adapter_wins_over_the_default():
    lm = pl.ScriptedLM(["[[answer]]\n4", "[[answer]]\n5"], supports_response_schema=True)
    assert pl.Predict("question -> answer", lm=lm, adapter=pl.ChatAdapter())(question="q").answer
    with pl.using(adapter=pl.ChatAdapter()):
        assert pl.Predict("question -> answer", lm=lm)(question="q").answer == "5"
    assert all("[[answer]]" in c.messages[0]["content"] for c in lm.calls)


def test_messages_without_an_lm_are_those_for_the_embedded_local_model():
    assert isinstance(default_adapter(None), pl.JSONAdapter)
    assert isinstance(default_adapter_for_model("local/smollm2"), pl.JSONAdapter)
    predict = pl.Predict("question -> answer")
    assert "JSON object" in predict.messages(question="q")[0]["content"]
    chat = predict.messages(pl.ScriptedLM([]), question="q")
    assert "[[answer]]" in chat[0]["content"]


def test_a_compile_names_the_adapter_it_measured(tmp_path):
    train = [
        pl.Example(question=f"{i}+1", answer=str(i + 1)).with_inputs("question") for i in (1, 2)
    ]

    lm = pl.FunctionLM(lambda m: '{"answer": "x"}', supports_response_schema=True)
    with pl.using(lm=lm):
        compiled = pl.LabeledFewShot(k=2).compile(pl.Predict("question -> answer"), trainset=train)
    assert isinstance(compiled.adapter, pl.JSONAdapter)
    saved = json.loads(compiled.save(tmp_path / "c.json").read_text())
    assert saved["predictors"]["self"]["adapter"] == "json"
    with pl.using(lm=pl.ScriptedLM([])):
        chat = pl.LabeledFewShot(k=2).compile(pl.Predict("question -> answer"), trainset=train)
    assert isinstance(chat.adapter, pl.ChatAdapter)


def test_with_the_embedded_default_on_a_bare_predict_renders_json(monkeypatch):
    monkeypatch.setenv("PLIABLE_DEFAULT_LM", "on")
    predict = pl.Predict("question -> answer")
    assert isinstance(predict.resolved_adapter(), pl.JSONAdapter)  # SmolLM2, a local model
    assert "JSON object" in predict.messages(question="q")[0]["content"]
