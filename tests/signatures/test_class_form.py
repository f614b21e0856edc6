from __future__ import annotations

import enum
from typing import Literal, Optional

import pytest
from pydantic import BaseModel

import pliable as pl


class Color(enum.Enum):
    RED = "red"
    GREEN = "green"


class Address(BaseModel):
    city: str
    zip_code: Optional[str] = None  # noqa: UP045


class Person(BaseModel):
    name: str
    age: int
    address: Address | None = None


class Extract(pl.Signature):
    """Extract the people mentioned in the text."""

    text: str = pl.InputField(desc="a paragraph")
    max_people: Optional[int] = pl.InputField()  # noqa: UP045
    people: list[Person] = pl.OutputField(desc="everyone named")
    scores: dict[str, float] = pl.OutputField()
    mood: Literal["calm", "angry"] = pl.OutputField()
    color: Color = pl.OutputField()


def test_docstring_is_instructions_and_fields_keep_order_types_and_descs():
    assert Extract.instructions == "Extract the people mentioned in the text."
    assert list(Extract.input_fields) == ["text", "max_people"]
    assert list(Extract.output_fields) == ["people", "scores", "mood", "color"]
    assert Extract.fields["people"].annotation == list[Person]
    assert Extract.fields["text"].desc == "a paragraph"
    assert Extract.fields["mood"].annotation == Literal["calm", "angry"]
    assert Extract.fields["color"].annotation is Color
    assert Extract.fields["max_people"].annotation == Optional[int]  # noqa: UP045


def test_field_declarations_are_not_left_as_class_attributes():
    assert not hasattr(Extract, "text")


def test_local_types_resolve_under_future_annotations():
    class Local(BaseModel):
        x: int

    class Sig(pl.Signature):
        a: str = pl.InputField()
        b: Local = pl.OutputField()

    assert Sig.output_fields["b"].annotation is Local


def test_annotated_attribute_without_field_declaration_is_an_error():
    with pytest.raises(pl.SignatureError, match="`answer` has a type but is not declared"):

        class Bad(pl.Signature):
            question: str = pl.InputField()
            answer: str


def test_unsupported_type_names_the_field():
    with pytest.raises(pl.SignatureError, match=r"field `when`.*unsupported type"):

        class Bad(pl.Signature):
            when: complex = pl.InputField()
            answer: str = pl.OutputField()


def test_reserved_names_are_refused():
    with pytest.raises(pl.SignatureError, match="`instructions` cannot be a field name"):
        pl.Signature("instructions -> answer")


def test_subclass_inherits_fields_and_can_add():
    class Base(pl.Signature):
        """Answer."""

        question: str = pl.InputField()
        answer: str = pl.OutputField()

    class WithContext(Base):
        context: str = pl.InputField()

    assert list(WithContext.input_fields) == ["question", "context"]
    assert WithContext.instructions == "Answer."


def test_underscore_field_is_an_error_not_silently_dropped():
    with pytest.raises(pl.SignatureError, match="`_hidden` starts with '_'"):

        class Bad(pl.Signature):
            _hidden: int = pl.InputField()
            answer: str = pl.OutputField()
