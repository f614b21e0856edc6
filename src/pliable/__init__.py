"""pliable: programmatic prompting with typed signatures, compiled to readable JSON prompts.

import pliable as pl

qa = pl.Predict("question -> answer")
with pl.using(lm=pl.ScriptedLM(["Paris"])):
    qa(question="What is the capital of France?").answer   # 'Paris'
"""

from pliable.adapters import Adapter, ChatAdapter, JSONAdapter
from pliable.data import Example, Prediction
from pliable.errors import (
    ConfigurationError,
    InputError,
    LMError,
    ParseError,
    PliableError,
    ScriptExhaustedError,
    SignatureError,
    UsageError,
)
from pliable.lm import Completion, FunctionLM, LanguageModel, ScriptedLM, Usage
from pliable.programs import ChainOfThought, ContextThreadPool, Module, Predict, Trace, trace
from pliable.settings import configure, using
from pliable.signatures import InputField, OutputField, Signature

__version__ = "0.1.0"

__all__ = [
    "Adapter",
    "ChainOfThought",
    "ChatAdapter",
    "Completion",
    "ConfigurationError",
    "ContextThreadPool",
    "Example",
    "FunctionLM",
    "InputError",
    "InputField",
    "JSONAdapter",
    "LMError",
    "LanguageModel",
    "Module",
    "OutputField",
    "ParseError",
    "PliableError",
    "Predict",
    "Prediction",
    "ScriptExhaustedError",
    "ScriptedLM",
    "Signature",
    "SignatureError",
    "Trace",
    "Usage",
    "UsageError",
    "configure",
    "trace",
    "using",
]
