from enum import Enum
from typing import Any, Literal, Optional

import pytest

import pliable as pl


def test_untyped_fields_are_text_and_default_instructions_name_them():
    sig = pl.Signature("context, question -> answer")
    assert list(sig.input_fields) == ["context", "question"]
    assert list(sig.output_fields) == ["answer"]
    assert all(f.annotation is str for f in sig.fields.values())
    assert sig.instructions == "Given `context`, `question`, produce `answer`."


def test_typed_fields_parse_to_python_types():
    sig = pl.Signature("question: str, k: int -> answers: list[str], confidence: float")
    types = {n: f.annotation for n, f in sig.fields.items()}
    assert types == {"question": str, "k": int, "answers": list[str], "confidence": float}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Literal['yes', 'no']", Literal["yes", "no"]),
        ('Literal["a", 1, True]', Literal["a", 1, True]),
        ("bool", bool),
        ("Optional[int]", Optional[int]),  # noqa: UP045
        ("int | None", Optional[int]),  # noqa: UP045
        ("dict[str, list[int]]", dict[str, list[int]]),
        ("list", list[Any]),
        ("Any", Any),
    ],
)
def test_type_vocabulary(text, expected):
    sig = pl.Signature(f"x -> y: {text}")
    assert sig.output_fields["y"].annotation == expected


def test_custom_types_are_looked_up_by_name():
    class Mood(Enum):
        HAPPY = "happy"
        SAD = "sad"

    sig = pl.Signature("text -> mood: Mood", types={"Mood": Mood})
    assert sig.output_fields["mood"].annotation is Mood


def test_instructions_argument():
    assert pl.Signature("a -> b", "Do it.").instructions == "Do it."


@pytest.mark.parametrize(
    ("text", "reason", "caret_under"),
    [
        ("question answer", 'no "->"', "question answer"),
        ("a -> b -> c", 'more than one "->"', "->"),
        ("question, 3k -> answer", "'3k' is not a valid field name", "3k"),
        ("a: strng -> b", "unknown type 'strng'", "strng"),
        ("a -> ", "no output fields", None),
        ("a, a -> b", "appears twice", "a"),
        ("a -> a", "both an input and an output", "a"),
        ("a: list[str -> b", "'[' is never closed", "["),
        ("a: -> b", "has ':' but no type", None),
        ("a: int | str -> b", "only `T | None` unions", "int | str"),
        ("a: Literal[x] -> b", "Literal values must be", "x"),
        ("a, , b -> c", "empty field", None),
        ("class -> b", "not a valid field name", "class"),
    ],
)
def test_malformed_strings_point_at_the_bad_part(text, reason, caret_under):
    with pytest.raises(pl.SignatureError) as info:
        pl.Signature(text)
    message = str(info.value)
    assert reason in message
    lines = message.splitlines()
    shown = next(i for i, line in enumerate(lines) if line == f"  {text}")
    caret_line = lines[shown + 1]
    assert set(caret_line.strip()) == {"^"}
    if caret_under is not None:
        start = caret_line.index("^") - 2
        width = caret_line.count("^")
        assert text[start : start + width] == caret_under
    assert "->" in message  # always says what a valid signature looks like or shows it
    # the same, as fields: the text, the caret's 1-based column in it, the advice line
    error = info.value
    assert error.text == text
    assert error.column == caret_line.index("^") - 1
    assert error.advice == lines[-1]


def test_non_string_is_rejected_with_its_type():
    with pytest.raises(pl.SignatureError, match="got int: 42") as info:
        pl.Signature(42)  # type: ignore[arg-type]
    assert (info.value.text, info.value.column, info.value.advice) == (None, None, None)
