"""Programs: the ``Module`` base, ``Predict``, ``ChainOfThought`` and tracing."""

from pliable.programs.module import Module
from pliable.programs.predict import ChainOfThought, Predict
from pliable.programs.trace import ContextThreadPool, Trace, TraceEntry, trace

__all__ = [
    "ChainOfThought",
    "ContextThreadPool",
    "Module",
    "Predict",
    "Trace",
    "TraceEntry",
    "trace",
]
