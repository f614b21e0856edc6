from typing import Literal, Optional

import pytest
from pydantic import BaseModel

import pliable as pl

QA = pl.Signature("question -> answer")
Typed = pl.Signature("question -> reasoning, answer: int, ok: bool")
CHAT = pl.ChatAdapter()


def test_prompt_order_is_instructions_demos_then_inputs():
    demos = [pl.Example(question="1+1?", answer="2"), pl.Example(question="2+2?", answer="4")]
    msgs = pl.ChatAdapter().format(QA.with_instructions("Add."), {"question": "3+3?"}, demos=demos)
    assert [m["role"] for m in msgs] == ["system", "user", "assistant", "user", "assistant", "user"]
    assert msgs[0]["content"].startswith("Add.")
    assert msgs[1]["content"] == "[[question]]\n1+1?"
    assert msgs[2]["content"] == "2"  # a lone output is written bare
    assert msgs[-1]["content"].startswith("[[question]]\n3+3?")
    assert msgs[-1]["content"].endswith("\n\nReply with your answer only.")


def test_a_lone_output_that_would_read_as_a_header_keeps_its_marker():
    # "answer: 0" written bare would parse back as "0": that demo keeps the marker form
    demos = [pl.Example(question="q", answer="answer: 0"), pl.Example(question="r", answer="1")]
    msgs = pl.ChatAdapter().format(QA, {"question": "x"}, demos=demos)
    assert msgs[2]["content"] == "[[answer]]\nanswer: 0"
    assert msgs[4]["content"] == "1"
    assert pl.ChatAdapter().parse(QA, msgs[2]["content"]) == {"answer": "answer: 0"}


@pytest.mark.parametrize(
    ("spec", "value"),
    [
        ("q -> n: float", "7"),  # a label read from a CSV: reads back as 7.0, same as marked
        ("q -> n: float", "0.50"),
        ("q -> label: Literal['Yes', 'No']", "Yes"),
        ("q -> label: Literal['yes', 'no']", "no\n"),
    ],
)
def test_a_lone_value_that_reads_back_the_same_after_coercion_is_written_bare(spec, value):
    sig = pl.Signature(spec)
    name = next(iter(sig.output_fields))
    assert pl.ChatAdapter().format_outputs(sig, {name: value}) == value


def test_several_outputs_keep_their_markers_and_the_reminder_names_them():
    sig = pl.Signature("question -> reasoning, answer")
    demos = [pl.Example(question="1+1?", reasoning="one and one", answer="2")]
    msgs = pl.ChatAdapter().format(sig, {"question": "3+3?"}, demos=demos)
    assert msgs[2]["content"] == "[[reasoning]]\none and one\n\n[[answer]]\n2"
    assert msgs[-1]["content"].endswith(
        "Reply with [[reasoning]] followed by your reasoning on the next line, then "
        "[[answer]] followed by your answer on the next line."
    )


def test_prefix_is_byte_identical_across_inputs():
    demos = [pl.Example(question="1+1?", answer="2")]
    a = pl.ChatAdapter().format(QA, {"question": "x"}, demos=demos)
    b = pl.ChatAdapter().format(QA, {"question": "y"}, demos=demos)
    assert a[:-1] == b[:-1]
    assert a[-1] != b[-1]


def test_demos_without_outputs_are_skipped_and_partial_demos_keep_present_fields():
    sig = pl.Signature("question -> reasoning, answer")
    demos = [pl.Example(question="q1"), pl.Example(question="q2", answer="a2")]
    msgs = pl.ChatAdapter().format(sig, {"question": "q"}, demos=demos)
    assert len(msgs) == 4
    assert msgs[2]["content"] == "[[answer]]\na2"


def test_system_prompt_describes_types_and_descriptions():
    class Sig(pl.Signature):
        """Grade it."""

        essay: str = pl.InputField(desc="the essay")
        grade: Literal["A", "B"] = pl.OutputField(desc="letter grade")
        points: int = pl.OutputField()

    system = pl.ChatAdapter().system_prompt(Sig)
    assert "[[essay]] the essay" in system
    assert "[[grade]] (one of: A, B) letter grade" in system
    assert "[[points]] (an integer)" in system


def test_list_inputs_of_text_are_bullet_lines():
    sig = pl.Signature("context: list[str], question -> answer")
    msgs = pl.ChatAdapter().format(sig, {"context": ["a", "b"], "question": "q"})
    assert "[[context]]\n- a\n- b\n\n" in msgs[-1]["content"]


@pytest.mark.parametrize(
    "text",
    [
        "[[reasoning]]\nbecause\n\n[[answer]]\n42\n\n[[ok]]\ntrue",
        "[[ ## reasoning ## ]]\nbecause\n[[ ## answer ## ]]\n42\n"
        "[[ ## ok ## ]]\nyes\n[[ ## completed ## ]]",
        "Sure!\n[[reasoning]] because\n[[answer]] 42.\n[[ok]] True",
        "reasoning: because\nanswer: 42\nok: true",
        "**Reasoning**: because\n**Answer**: The answer is 42\n**OK**: yes",
        '```json\n{"reasoning": "because", "answer": "42", "ok": true,}\n```',
    ],
)
def test_tolerant_parsing_of_common_shapes(text):
    assert pl.ChatAdapter().parse(Typed, text) == {"reasoning": "because", "answer": 42, "ok": True}


def test_lone_output_field_without_markers():
    assert pl.ChatAdapter().parse(QA, "  Paris \n") == {"answer": "Paris"}


def test_first_occurrence_of_a_marker_wins():
    text = "[[answer]]\nfirst\n\n[[answer]]\nsecond"
    assert pl.ChatAdapter().parse(QA, text) == {"answer": "first"}


def test_missing_field_raises_parse_error_with_raw_text_and_found_fields():
    text = "[[reasoning]]\nhmm\n\n[[answer]]\n3"
    with pytest.raises(pl.ParseError) as info:
        pl.ChatAdapter().parse(Typed, text)
    err = info.value
    assert err.raw_text == text
    assert err.expected_fields == ("reasoning", "answer", "ok")
    assert set(err.found_fields) == {"reasoning", "answer"}
    assert "missing fields:  ok" in str(err)
    assert "hmm" in str(err)


def test_wrong_type_names_the_field_and_value():
    text = "[[reasoning]]\nx\n\n[[answer]]\nmany\n\n[[ok]]\ntrue"
    with pytest.raises(pl.ParseError) as info:
        pl.ChatAdapter().parse(Typed, text)
    assert info.value.field == "answer"
    assert "field `answer` (int)" in str(info.value)
    assert "'many'" in str(info.value)


def test_empty_reply_is_a_parse_error():
    with pytest.raises(pl.ParseError, match="empty text"):
        pl.ChatAdapter().parse(QA, "   ")


class Point(BaseModel):
    x: int
    y: Optional[int] = None  # noqa: UP045


def test_structured_values_round_trip_through_format_outputs():
    sig = pl.Signature(
        "q -> points: list[Point], names: list[str], m: dict[str, int]", types={"Point": Point}
    )
    values = {"points": [Point(x=1), Point(x=2, y=3)], "names": ["a", "b c"], "m": {"k": 1}}
    text = pl.ChatAdapter().format_outputs(sig, values)
    assert pl.ChatAdapter().parse(sig, text) == values


def test_bullet_lists_and_damaged_json_are_read_as_lists():
    sig = pl.Signature("q -> names: list[str]")
    assert pl.ChatAdapter().parse(sig, "[[names]]\n- a\n- b") == {"names": ["a", "b"]}
    assert pl.ChatAdapter().parse(sig, "[[names]]\n['a', 'b',]") == {"names": ["a", "b"]}
    assert pl.ChatAdapter().parse(sig, "[[names]]\n1. a\n2. b") == {"names": ["a", "b"]}


def test_completed_trailer_is_dropped_only_on_its_own_line():
    assert pl.ChatAdapter().parse(QA, "[[answer]]\nsee [[completed]]") == {
        "answer": "see [[completed]]"
    }
    assert pl.ChatAdapter().parse(QA, "[[answer]]\nsee\n[[completed]]") == {"answer": "see"}


def test_null_words_mean_none_in_free_text_only():
    sig = pl.Signature("q -> note: Optional[str]")
    assert pl.ChatAdapter().parse(sig, "[[note]]\nN/A") == {"note": None}
    assert pl.JSONAdapter().parse(sig, '{"note": "N/A"}') == {"note": "N/A"}
    assert pl.JSONAdapter().parse(sig, '{"note": ""}') == {"note": ""}
    assert pl.JSONAdapter().parse(sig, '{"note": null}') == {"note": None}


def test_a_marker_with_no_value_is_a_missing_field_not_empty_text():
    # Qwen2.5 told "Reply with [[answer]]." writes exactly that and stops
    sig = pl.Signature("question -> answer")
    with pytest.raises(pl.ParseError, match="missing output field") as info:
        CHAT.parse(sig, "[[answer]]")
    assert info.value.raw_text == "[[answer]]"
    two = pl.Signature("question -> reasoning, answer")
    with pytest.raises(pl.ParseError) as info:
        CHAT.parse(two, "[[reasoning]]\nbecause\n\n[[answer]]\n")
    assert list(info.value.found_fields) == ["reasoning"]


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("[[garden hose]]", "garden hose"),
        ("[[ ## Paris ## ]]", "Paris"),
        ("[[desk lamp]] (one of: desk lamp, kettle)", "desk lamp"),
        ("[[a]] and [[b]] are both fine", "[[a]] and [[b]] are both fine"),
        ("## Windows 11", "## Windows 11"),
        ("[[phone case]] 100", "[[phone case]] 100"),
    ],
)
def test_a_lone_value_written_as_a_marker_is_unwrapped(text, value):
    sig = pl.Signature("question -> answer")
    assert CHAT.parse(sig, text) == {"answer": value}


def test_a_reply_that_only_echoes_an_input_marker_is_not_an_answer():
    sig = pl.Signature("ticket, choices: list[str] -> product")
    with pytest.raises(pl.ParseError):
        CHAT.parse(sig, "[[ticket]]")


def test_long_or_unclosed_replies_are_taken_as_they_are():
    # shapes that made an earlier pattern backtrack for seconds; a long reply is never
    # read as one wrapped value
    sig = pl.Signature("question -> answer")
    long_wrapped = "[[" + "word " * 60 + "]]"
    for text in ("[[" + "\t" * 5000 + "x", "[[" + "a " * 3000 + "#" * 500, long_wrapped):
        assert CHAT.parse(sig, text) == {"answer": text.strip()}


def test_an_empty_marker_section_leaves_room_for_a_later_one():
    sig = pl.Signature("question -> answer")
    assert CHAT.parse(sig, "[[answer]]\n\n[[answer]]\nParis") == {"answer": "Paris"}


def test_loose_choice_forms_name_text_choices_only():
    sig = pl.Signature("question -> pick: Literal[1, 2, 3]")
    with pytest.raises(pl.ParseError):
        CHAT.parse(sig, "[[pick]]\nOption 3 is wrong; the right one is\n2")


@pytest.mark.parametrize(
    "text", ["(kettle)", "[[kettle]]", "**Kettle**", "<kettle>", "kettle.", "kettle\nIt boils."]
)
def test_literal_choices_written_with_emphasis_or_a_trailing_line_are_read(text):
    sig = pl.Signature("ticket -> product: Literal['kettle', 'toaster']")
    assert CHAT.parse(sig, f"[[product]]\n{text}") == {"product": "kettle"}


def test_a_literal_is_not_read_from_text_that_only_mentions_it():
    sig = pl.Signature("ticket -> product: Literal['kettle', 'toaster']")
    with pytest.raises(pl.ParseError, match="product"):
        CHAT.parse(sig, "[[product]]\nnot the kettle")


def test_a_choice_on_the_first_line_is_read_and_free_text_keeps_later_markers():
    sig = pl.Signature("ticket -> product: Literal['air fryer', 'toaster']")
    assert CHAT.parse(sig, "[[product]] (air fryer)\n[[value]] (14th)") == {"product": "air fryer"}
    text = pl.Signature("question -> config")
    toml = "[package]\nname = 'x'\n[[bin]]\nname = 'y'"
    assert CHAT.parse(text, f"[[config]]\n{toml}") == {"config": toml}
