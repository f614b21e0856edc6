"""Programs: the ``Module`` base, ``Predict``, ``ChainOfThought``, tracing, and ready-made
programs (``ReAct`` with ``Tool``s, ...)."""

from pliable.programs.module import Module
from pliable.programs.predict import ChainOfThought, Predict
from pliable.programs.react import ReAct
from pliable.programs.tools import Tool, ToolArgumentError
from pliable.programs.trace import ContextThreadPool, Trace, TraceEntry, trace

__all__ = [
    "ChainOfThought",
    "ContextThreadPool",
    "Module",
    "Predict",
    "ReAct",
    "Tool",
    "ToolArgumentError",
    "Trace",
    "TraceEntry",
    "trace",
]
