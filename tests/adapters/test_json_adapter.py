import enum

import pytest
from pydantic import BaseModel

import pliable as pl


class Kind(enum.Enum):
    CAT = "cat"
    DOG = "dog"


class Pet(BaseModel):
    name: str
    kind: Kind


class Sig(pl.Signature):
    """Find pets."""

    text: str = pl.InputField()
    pets: list[Pet] = pl.OutputField()
    count: int = pl.OutputField(desc="how many")


def test_prompt_asks_for_json_object_with_keys():
    msgs = pl.JSONAdapter().format(Sig, {"text": "Rex the dog"})
    assert '"count": an integer; how many' in msgs[0]["content"]
    assert 'keys "pets", "count"' in msgs[-1]["content"]


def test_response_format_only_when_lm_supports_it():
    adapter = pl.JSONAdapter()
    assert adapter.request_options(Sig, pl.ScriptedLM([])) == {}
    opts = adapter.request_options(Sig, pl.ScriptedLM([], supports_response_schema=True))
    schema = opts["response_format"]["json_schema"]["schema"]
    assert schema["required"] == ["pets", "count"]
    assert schema["additionalProperties"] is False
    assert "Pet" in schema["$defs"]


def test_response_format_reaches_the_lm_through_predict():
    lm = pl.ScriptedLM(['{"pets": [], "count": 0}'], supports_response_schema=True)
    pl.Predict(Sig, lm=lm, adapter=pl.JSONAdapter())(text="none")
    assert lm.calls[0].options["response_format"]["type"] == "json_schema"


@pytest.mark.parametrize(
    "text",
    [
        '{"pets": [{"name": "Rex", "kind": "dog"}], "count": 1}',
        'Here you go:\n```json\n{"pets": [{"name": "Rex", "kind": "DOG"}], "count": "1"}\n```',
        "{pets: [{'name': 'Rex', 'kind': 'dog',}], count: 1, // one\n}",
        '{"Pets": [{"name": "Rex", "kind": "dog"}], "COUNT": 1.0}',
        '{"pets": [{"name": "Rex", "kind": "dog"}], "count": 1',  # cut off
    ],
)
def test_repairs_and_coerces(text):
    out = pl.JSONAdapter().parse(Sig, text)
    assert out == {"pets": [Pet(name="Rex", kind=Kind.DOG)], "count": 1}


def test_lone_field_accepts_bare_value_or_bare_object():
    sig = pl.Signature("q -> pet: Pet", types={"Pet": Pet})
    assert pl.JSONAdapter().parse(sig, '{"name": "Tom", "kind": "cat"}') == {
        "pet": Pet(name="Tom", kind=Kind.CAT)
    }
    assert pl.JSONAdapter().parse(pl.Signature("q -> answer"), "just text") == {
        "answer": "just text"
    }


def test_failure_carries_raw_text_and_fields():
    with pytest.raises(pl.ParseError) as info:
        pl.JSONAdapter().parse(Sig, "I don't know")
    assert info.value.raw_text == "I don't know"
    assert info.value.found_fields == ()
    with pytest.raises(pl.ParseError) as info:
        pl.JSONAdapter().parse(Sig, '{"pets": [{"name": "Rex", "kind": "bird"}], "count": 1}')
    assert info.value.field == "pets"
    assert "kind" in str(info.value)
