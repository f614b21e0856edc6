"""Data: ``Example`` rows and ``Prediction`` outputs (loaders arrive with the compile work)."""

from pliable.data.example import Example, Prediction

__all__ = ["Example", "Prediction"]
