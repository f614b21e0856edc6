"""Data: ``Example`` rows, ``Prediction`` outputs, loaders (JSONL, CSV, JSON, Hugging Face
``datasets``, BIG-bench task files) and a deterministic ``split``."""

from pliable.data.bigbench import BigBenchExamples, load_bigbench
from pliable.data.example import Example, Prediction
from pliable.data.loaders import Examples, load_examples, split

__all__ = [
    "BigBenchExamples",
    "Example",
    "Examples",
    "Prediction",
    "load_bigbench",
    "load_examples",
    "split",
]
