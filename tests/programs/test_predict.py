import pytest
from pydantic import BaseModel

import pliable as pl


class Answer(BaseModel):
    text: str
    sources: list[int]


class Research(pl.Signature):
    """Answer with sources."""

    question: str = pl.InputField()
    answer: Answer = pl.OutputField()
    keywords: list[str] = pl.OutputField()


def test_string_signature_end_to_end():
    lm = pl.ScriptedLM(["[[answer]]\nParis"])
    pred = pl.Predict("question -> answer", lm=lm)(question="Capital of France?")
    assert pred.answer == "Paris"
    assert "Capital of France?" in lm.calls[0].prompt


@pytest.mark.parametrize(
    ("adapter", "reply"),
    [
        (
            pl.ChatAdapter(),
            '[[answer]]\n{"text": "Paris", "sources": [1, 2]}\n\n[[keywords]]\n["france"]',
        ),
        (
            pl.JSONAdapter(),
            '{"answer": {"text": "Paris", "sources": [1, 2]}, "keywords": ["france"]}',
        ),
    ],
)
def test_class_signature_with_model_and_list_outputs_through_both_adapters(adapter, reply):
    lm = pl.ScriptedLM([reply])
    pred = pl.Predict(Research, lm=lm, adapter=adapter)(question="Capital of France?")
    assert pred.answer == Answer(text="Paris", sources=[1, 2])
    assert pred.keywords == ["france"]
    assert lm.calls[0].messages[0]["content"].startswith("Answer with sources.")


def test_unknown_input_suggests_the_close_name():
    qa = pl.Predict("question -> answer", lm=pl.ScriptedLM([]))
    with pytest.raises(
        pl.InputError, match=r"Unknown input `questin` = 'x'.*Did you mean `question`"
    ) as info:
        qa(questin="x")
    assert info.value.field == "questin"


def test_missing_input_is_named():
    qa = pl.Predict("context, question -> answer", lm=pl.ScriptedLM([]))
    with pytest.raises(pl.InputError, match=r"Missing input\(s\) `context`") as info:
        qa(question="x")
    assert info.value.field == "context"


def test_wrong_input_type_shows_value_and_expected_type():
    p = pl.Predict("question, k: int -> answer", lm=pl.ScriptedLM([]))
    with pytest.raises(pl.InputError, match=r"Input `k` should be int, but got str 'many'") as info:
        p(question="q", k="many")
    assert info.value.value == "many"


def test_typed_inputs_are_validated_and_lax():
    lm = pl.ScriptedLM(["ok"])
    pl.Predict("question, k: int -> answer", lm=lm)(question="q", k="3")
    assert "[[k]]\n3" in lm.calls[0].prompt


def test_optional_inputs_may_be_omitted():
    lm = pl.ScriptedLM(["ok"])
    pred = pl.Predict("question, hint: Optional[str] -> answer", lm=lm)(question="q")
    assert pred.answer == "ok"
    assert "[[hint]]" not in lm.calls[0].prompt


def test_positional_inputs_are_refused_with_the_right_call_shape():
    with pytest.raises(pl.InputError, match=r"call it as \(question=...\)"):
        pl.Predict("question -> answer", lm=pl.ScriptedLM([]))("x")


def test_unparseable_lm_text_raises_parse_error_and_does_not_call_again():
    lm = pl.ScriptedLM(["[[reasoning]]\nhmm", "[[reasoning]]\nx\n[[answer]]\n4"])
    with pytest.raises(pl.ParseError) as info:
        pl.Predict("question -> reasoning, answer: int", lm=lm)(question="2+2")
    assert info.value.raw_text == "[[reasoning]]\nhmm"
    assert len(lm.calls) == 1


def test_no_lm_configured_says_how_to_configure():
    with pytest.raises(pl.ConfigurationError, match=r"PLIABLE_DEFAULT_LM=off.*pl.using\(lm=...\)"):
        pl.Predict("question -> answer")(question="q")


def test_lm_precedence_call_then_module_then_context():
    ctx, mod, call = (
        pl.ScriptedLM({"": "ctx"}),
        pl.ScriptedLM({"": "mod"}),
        pl.ScriptedLM({"": "call"}),
    )
    bare = pl.Predict("q -> a")
    owned = pl.Predict("q -> a", lm=mod)
    with pl.using(lm=ctx):
        assert bare(q="x").a == "ctx"
        assert owned(q="x").a == "mod"
        assert owned(q="x", lm=call).a == "call"
    with pytest.raises(pl.ConfigurationError):
        bare(q="x")


def test_using_is_scoped_and_nested():
    outer, inner = pl.ScriptedLM({"": "outer"}), pl.ScriptedLM({"": "inner"})
    p = pl.Predict("q -> a")
    with pl.using(lm=outer):
        with pl.using(lm=inner):
            assert p(q="x").a == "inner"
        assert p(q="x").a == "outer"


def test_config_options_reach_the_lm_and_call_config_overrides():
    lm = pl.ScriptedLM({"": "x"})
    p = pl.Predict("q -> a", lm=lm, temperature=0.2, max_tokens=50)
    p(q="1")
    p(q="2", config={"temperature": 0.9})
    assert lm.calls[0].options == {"temperature": 0.2, "max_tokens": 50}
    assert lm.calls[1].options == {"temperature": 0.9, "max_tokens": 50}


def test_n_choices_are_all_parsed():
    lm = pl.ScriptedLM(["1", "2", "3"])
    pred = pl.Predict("q -> a: int", lm=lm, n=3)(q="x")
    assert pred.a == 1
    assert [c.a for c in pred.completions] == [1, 2, 3]


def test_demos_are_rendered_into_the_prompt():
    lm = pl.ScriptedLM(["4"])
    p = pl.Predict("question -> answer", lm=lm)
    p.demos = [pl.Example(question="1+1", answer="2")]
    p(question="2+2")
    roles = [m["role"] for m in lm.calls[0].messages]
    assert roles == ["system", "user", "assistant", "user"]
    assert lm.calls[0].messages[2]["content"] == "2"


def test_chain_of_thought_adds_reasoning_before_outputs():
    lm = pl.ScriptedLM(["[[reasoning]]\n2 and 2 make 4\n\n[[answer]]\n4"])
    cot = pl.ChainOfThought("question -> answer: int", lm=lm)
    assert list(cot.signature.output_fields) == ["reasoning", "answer"]
    pred = cot(question="2+2")
    assert pred.reasoning == "2 and 2 make 4"
    assert pred.answer == 4
    system = lm.calls[0].messages[0]["content"]
    assert system.index("[[reasoning]]") < system.index("[[answer]]")


def test_reserved_field_names_are_refused():
    with pytest.raises(pl.UsageError, match="cannot be named 'lm'"):
        pl.Predict("lm -> answer")


def test_with_several_choices_the_unparseable_ones_are_dropped():
    lm = pl.ScriptedLM(["1", "not a number", "3"])
    pred = pl.Predict("q -> a: int", lm=lm, n=3)(q="x")
    assert [c.a for c in pred.completions] == [1, 3]
    with pytest.raises(pl.ParseError):
        pl.Predict("q -> a: int", lm=pl.ScriptedLM(["x", "y"]), n=2)(q="x")


def test_a_missing_optional_output_is_none():
    lm = pl.ScriptedLM(["[[answer]]\nParis"])
    pred = pl.Predict("q -> answer, note: Optional[str]", lm=lm)(q="x")
    assert (pred.answer, pred.note) == ("Paris", None)
