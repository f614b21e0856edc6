"""The optimizers' shared argument checks: one message format, naming the optimizer, the
argument and the bad value, and saying what to do."""

from __future__ import annotations

import re

import pytest

import pliable as pl
from pliable.lm.embeddings import FunctionEmbedder
from pliable.optimizers.base import _check_int, _needs_valset
from pliable.optimizers.instruction_hill_climb import InstructionHillClimb
from pliable.optimizers.knn_few_shot import KNNFewShot
from pliable.optimizers.reflective import Reflective


def exact(example: pl.Example, prediction: pl.Prediction) -> bool:
    return bool(example.answer == prediction.answer)


def test_check_int_returns_a_good_value() -> None:
    assert _check_int("Opt", "n", 3, 1) == 3
    assert _check_int("Opt", "seed", -5) == -5  # no lower bound


@pytest.mark.parametrize(
    ("value", "low", "hint", "message"),
    [
        (0, 1, "", "Opt(n=...) must be an integer >= 1; got 0."),
        (True, 0, "", "Opt(n=...) must be an integer >= 0; got True."),
        ("3", None, "", "Opt(n=...) must be an integer; got '3'."),
        (1.0, 1, "Use 1 or more.", "Opt(n=...) must be an integer >= 1; got 1.0. Use 1 or more."),
    ],
)
def test_check_int_names_owner_argument_and_value(
    value: object, low: int | None, hint: str, message: str
) -> None:
    with pytest.raises(pl.UsageError, match=f"^{re.escape(message)}$"):
        _check_int("Opt", "n", value, low, hint)


def test_needs_valset_message() -> None:
    assert _needs_valset("JointSearch selects") == (
        "JointSearch selects on the valset: pass valset=... "
        "(pl.split(examples, train=..., dev=...) makes one)."
    )


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (
            lambda: InstructionHillClimb(exact, breadth=1),
            "InstructionHillClimb(breadth=...) must be an integer >= 2; got 1. "
            "It counts the current instruction: use 2 or more.",
        ),
        (
            lambda: InstructionHillClimb(exact, depth=0),
            "InstructionHillClimb(depth=...) must be an integer >= 1; got 0. "
            "It is the number of proposal rounds: use 1 or more.",
        ),
        (
            lambda: InstructionHillClimb(exact, num_threads=0),
            "InstructionHillClimb(num_threads=...) must be an integer >= 1; got 0. "
            "Use 1 for no parallelism.",
        ),
        (
            lambda: InstructionHillClimb(exact, seed="1"),
            "InstructionHillClimb(seed=...) must be an integer; got '1'.",
        ),
        (
            lambda: KNNFewShot(-1, FunctionEmbedder(lambda texts: [[1.0]] * len(texts))),
            "KNNFewShot(k=...) must be an integer >= 0; got -1.",
        ),
        (
            lambda: Reflective(exact, max_iterations=0),
            "Reflective(max_iterations=...) must be an integer >= 1; got 0.",
        ),
        (
            lambda: Reflective(exact, seed=None),
            "Reflective(seed=...) must be an integer; got None.",
        ),
    ],
)
def test_optimizer_integer_arguments(make: object, message: str) -> None:
    with pytest.raises(pl.UsageError, match=f"^{re.escape(message)}$"):
        make()  # type: ignore[operator]
