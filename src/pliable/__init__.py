"""pliable: programmatic prompting with typed signatures, compiled to readable JSON prompts.

import pliable as pl

qa = pl.Predict("question -> answer")
with pl.using(lm=pl.ScriptedLM(["Paris"])):
    qa(question="What is the capital of France?").answer   # 'Paris'
"""

from pliable.adapters import Adapter, ChatAdapter, JSONAdapter
from pliable.compiled import CompiledFileError, load, save
from pliable.data import Example, Prediction
from pliable.errors import (
    ConfigurationError,
    InputError,
    LMAuthError,
    LMBadRequestError,
    LMError,
    LMRateLimitError,
    LMServerError,
    LMTimeoutError,
    ParseError,
    PliableError,
    ProviderError,
    ScriptExhaustedError,
    SignatureError,
    UsageError,
)
from pliable.lm import (
    LM,
    Cache,
    Completion,
    FunctionLM,
    LanguageModel,
    ScriptedLM,
    Usage,
    inspect_history,
    register_provider,
    track_usage,
)
from pliable.programs import ChainOfThought, ContextThreadPool, Module, Predict, Trace, trace
from pliable.programs.batch import BatchError
from pliable.settings import configure, using
from pliable.signatures import InputField, OutputField, Signature

__version__ = "0.1.0"

__all__ = [
    "Adapter",
    "BatchError",
    "Cache",
    "ChainOfThought",
    "ChatAdapter",
    "CompiledFileError",
    "Completion",
    "ConfigurationError",
    "ContextThreadPool",
    "Example",
    "FunctionLM",
    "InputError",
    "InputField",
    "JSONAdapter",
    "LM",
    "LMAuthError",
    "LMBadRequestError",
    "LMError",
    "LMRateLimitError",
    "LMServerError",
    "LMTimeoutError",
    "LanguageModel",
    "Module",
    "OutputField",
    "ParseError",
    "PliableError",
    "Predict",
    "Prediction",
    "ProviderError",
    "ScriptExhaustedError",
    "ScriptedLM",
    "Signature",
    "SignatureError",
    "Trace",
    "Usage",
    "UsageError",
    "configure",
    "inspect_history",
    "load",
    "register_provider",
    "save",
    "trace",
    "track_usage",
    "using",
]
