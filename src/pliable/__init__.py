"""pliable: programmatic prompting with typed signatures, compiled to readable JSON prompts.

import pliable as pl

qa = pl.Predict("question -> answer")
with pl.using(lm=pl.ScriptedLM(["Paris"])):
    qa(question="What is the capital of France?").answer   # 'Paris'
"""

from pliable.adapters import Adapter, ChatAdapter, JSONAdapter
from pliable.compiled import CompiledFileError, load, save
from pliable.data import Example, Examples, Prediction, load_bigbench, load_examples, split
from pliable.errors import (
    BatchError,
    BudgetExceededError,
    ConfigurationError,
    DataError,
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
from pliable.evaluate import (
    Comparison,
    EvaluationError,
    EvaluationResult,
    Score,
    compare,
    evaluate,
)
from pliable.evaluate import metrics as metrics
from pliable.lm import (
    LM,
    Budget,
    Cache,
    Completion,
    FunctionLM,
    HistoryEntry,
    LanguageModel,
    ModelUsage,
    ScriptedLM,
    Usage,
    UsageTracker,
    inspect_history,
    register_provider,
    track_usage,
)
from pliable.optimizers import (
    BootstrapFewShot,
    BootstrapRandomSearch,
    CompileReport,
    InstructionHillClimb,
    InstructionProposer,
    JointSearch,
    KNNFewShot,
    LabeledFewShot,
    Reflective,
)
from pliable.programs import (
    ChainOfThought,
    ContextThreadPool,
    Module,
    Predict,
    Trace,
    TraceEntry,
    trace,
)
from pliable.settings import configure, using
from pliable.signatures import InputField, OutputField, Signature

__version__ = "0.1.0"

__all__ = [
    "Adapter",
    "BatchError",
    "BootstrapFewShot",
    "BootstrapRandomSearch",
    "Budget",
    "BudgetExceededError",
    "Cache",
    "ChainOfThought",
    "ChatAdapter",
    "Comparison",
    "CompileReport",
    "CompiledFileError",
    "Completion",
    "ConfigurationError",
    "ContextThreadPool",
    "DataError",
    "EvaluationError",
    "EvaluationResult",
    "Example",
    "Examples",
    "FunctionLM",
    "HistoryEntry",
    "InputError",
    "InputField",
    "InstructionHillClimb",
    "InstructionProposer",
    "JSONAdapter",
    "JointSearch",
    "KNNFewShot",
    "LM",
    "LMAuthError",
    "LMBadRequestError",
    "LMError",
    "LMRateLimitError",
    "LMServerError",
    "LMTimeoutError",
    "LabeledFewShot",
    "LanguageModel",
    "ModelUsage",
    "Module",
    "OutputField",
    "ParseError",
    "PliableError",
    "Predict",
    "Prediction",
    "ProviderError",
    "Reflective",
    "Score",
    "ScriptExhaustedError",
    "ScriptedLM",
    "Signature",
    "SignatureError",
    "Trace",
    "TraceEntry",
    "Usage",
    "UsageError",
    "UsageTracker",
    "compare",
    "configure",
    "evaluate",
    "inspect_history",
    "load",
    "load_bigbench",
    "load_examples",
    "register_provider",
    "save",
    "split",
    "trace",
    "track_usage",
    "using",
]
