"""Data: ``Example`` rows, ``Prediction`` outputs, loaders (JSONL, CSV, JSON, Hugging Face
``datasets``, BIG-bench task files) and a deterministic ``split``."""

from typing import TYPE_CHECKING

from pliable._lazy import attach

if TYPE_CHECKING:
    from pliable.data.bigbench import BigBenchExamples, load_bigbench
    from pliable.data.example import Example, Prediction
    from pliable.data.loaders import Examples, load_examples, split
    from pliable.data.score import Score

__all__ = [
    "BigBenchExamples",
    "Example",
    "Examples",
    "Prediction",
    "Score",
    "load_bigbench",
    "load_examples",
    "split",
]

_LAZY = {
    "BigBenchExamples": "pliable.data.bigbench",
    "Example": "pliable.data.example",
    "Examples": "pliable.data.loaders",
    "Prediction": "pliable.data.example",
    "Score": "pliable.data.score",
    "load_bigbench": "pliable.data.bigbench",
    "load_examples": "pliable.data.loaders",
    "split": "pliable.data.loaders",
}

if not TYPE_CHECKING:
    __getattr__, __dir__ = attach(__name__, _LAZY)

del TYPE_CHECKING, attach
