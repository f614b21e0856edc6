"""Signatures behave as immutable values: edits return new signatures, equality, JSON form."""

import enum
import json
from typing import Literal

import pytest
from pydantic import BaseModel

import pliable as pl


class Level(enum.Enum):
    LOW = "low"
    HIGH = "high"


class Item(BaseModel):
    name: str
    tags: list[str] = []
    level: Literal["a", "b"] = "a"


def test_edits_return_new_signatures_and_leave_the_original():
    sig = pl.Signature("question -> answer")
    edited = sig.with_instructions("Be terse.")
    assert edited.instructions == "Be terse."
    assert sig.instructions != "Be terse."
    with_context = sig.prepend("context", pl.InputField(desc="facts"), list[str])
    assert list(with_context.input_fields) == ["context", "question"]
    with_reason = sig.prepend("reasoning", pl.OutputField())
    assert list(with_reason.output_fields) == ["reasoning", "answer"]
    appended = sig.append("confidence", pl.OutputField(), float)
    assert list(appended.output_fields) == ["answer", "confidence"]
    assert appended.delete("confidence") == sig
    assert list(sig.fields) == ["question", "answer"]


def test_with_field_changes_desc_and_type():
    sig = pl.Signature("question -> answer").with_field("answer", desc="a number", type_=int)
    assert sig.output_fields["answer"].annotation is int
    assert sig.output_fields["answer"].desc == "a number"


def test_bad_edits_say_what_exists():
    sig = pl.Signature("question -> answer")
    with pytest.raises(pl.SignatureError, match=r"no such field.*Fields: question, answer"):
        sig.delete("nope")
    with pytest.raises(pl.SignatureError, match="already exists"):
        sig.append("answer", pl.OutputField())
    with pytest.raises(pl.SignatureError, match="at least one output"):
        sig.delete("answer")
    with pytest.raises(pl.SignatureError, match=r"expected pl.InputField"):
        sig.append("x", "not a field")


def test_signatures_cannot_be_mutated():
    sig = pl.Signature("question -> answer")
    with pytest.raises(pl.SignatureError, match="immutable"):
        sig.instructions = "x"  # type: ignore[misc]


def test_equality_and_hash_follow_content():
    a = pl.Signature("question -> answer: int", "Count.")

    class B(pl.Signature):
        """Count."""

        question: str = pl.InputField()
        answer: int = pl.OutputField()

    assert a.to_dict()["name"] != B.to_dict()["name"]
    assert a == B  # the class name is cosmetic; content decides
    assert a == pl.Signature("question -> answer: int", "Count.")
    assert hash(a) == hash(pl.Signature("question -> answer: int", "Count."))
    assert a != a.with_instructions("Other.")
    assert a != pl.Signature("question -> answer: float", "Count.")
    assert len({a, pl.Signature("question -> answer: int", "Count.")}) == 1


class Everything(pl.Signature):
    """All the types."""

    a: str = pl.InputField(desc="text")
    b: int = pl.InputField()
    c: float | None = pl.InputField()
    d: list[dict[str, bool]] = pl.InputField()
    e: Literal["x", 2, True] = pl.OutputField()
    f: Level = pl.OutputField()
    g: list[Item] = pl.OutputField()


def test_json_form_round_trips_every_type_and_is_json():
    data = Everything.to_dict()
    text = json.dumps(data)  # a compiled file keeps the key order: member order is a prompt's
    again = pl.Signature.from_dict(json.loads(text))
    assert again == Everything
    rebuilt = again.output_fields["f"].annotation  # rebuilt from its members, never imported
    assert rebuilt is not Level
    assert [(m.name, m.value) for m in rebuilt] == [(m.name, m.value) for m in Level]
    assert again.to_dict() == data
    own = pl.Signature.from_dict(data, types={"f": Level, "g": list[Item]})
    assert own.output_fields["f"].annotation is Level  # the caller's classes, same structure
    assert own.output_fields["g"].annotation == list[Item]


def test_unimportable_types_are_rebuilt_from_their_structure():
    data = json.loads(json.dumps(Everything.to_dict()))
    data["outputs"][1]["type"]["ref"] = "gone.module:Level"
    data["outputs"][2]["type"]["items"]["ref"] = "gone.module:Item"
    again = pl.Signature.from_dict(data)
    assert again.to_dict() == data
    rebuilt_level = again.output_fields["f"].annotation
    assert rebuilt_level is not Level
    assert [m.value for m in rebuilt_level] == ["low", "high"]
    rebuilt_item = again.output_fields["g"].annotation.__args__[0]
    obj = rebuilt_item.model_validate({"name": "n", "tags": ["t"], "level": "b"})
    assert obj.model_dump() == {"name": "n", "tags": ["t"], "level": "b"}
    with pytest.raises(ValueError, match="level"):
        rebuilt_item.model_validate({"name": "n", "level": "zzz"})


def test_from_dict_validates_and_names_the_problem():
    with pytest.raises(pl.SignatureError, match="version 99"):
        pl.Signature.from_dict({"version": 99})
    with pytest.raises(pl.SignatureError, match="unknown type kind 'complex'"):
        pl.Signature.from_dict(
            {"version": 1, "inputs": [], "outputs": [{"name": "x", "type": {"type": "complex"}}]}
        )
    with pytest.raises(pl.SignatureError, match="needs a 'name'"):
        pl.Signature.from_dict({"version": 1, "outputs": [{"type": {"type": "str"}}]})


def test_signature_string_shows_types():
    assert pl.Signature("q, k: int -> a: list[str]").signature_string() == (
        "q: str, k: int -> a: list[str]"
    )
