"""pliable: programmatic prompting with typed signatures, compiled to readable JSON prompts.

import pliable as pl

qa = pl.Predict("question -> answer")
with pl.using(lm=pl.ScriptedLM(["Paris"])):
    qa(question="What is the capital of France?").answer   # 'Paris'

``import pliable`` loads only the errors and the version; every other name is imported from its
module the first time it is read (PEP 562, :mod:`pliable._lazy`), so ``pl.Predict`` never loads
the optimizers and a script pays only for what it uses.
"""

from typing import TYPE_CHECKING

from pliable._lazy import attach
from pliable._version import __version__ as __version__
from pliable.errors import (
    BatchError,
    BudgetExceededError,
    CompiledFileError,
    ConfigurationError,
    DataError,
    EvaluationError,
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
    ToolArgumentError,
    UsageError,
)

if TYPE_CHECKING:
    from pliable.adapters.base import Adapter
    from pliable.adapters.chat import ChatAdapter
    from pliable.adapters.json_adapter import JSONAdapter
    from pliable.adapters.template import TemplateAdapter
    from pliable.adapters.template_value import Template
    from pliable.compiled.io import load, save
    from pliable.compiled.kinds import register_program_kind
    from pliable.compiled.prompt_export import export
    from pliable.compiled.render import render_prompts
    from pliable.data.bigbench import load_bigbench
    from pliable.data.example import Example, Prediction
    from pliable.data.loaders import Examples, load_examples, split
    from pliable.data.score import Score
    from pliable.evaluation import metrics as metrics
    from pliable.evaluation.comparison import Comparison, compare
    from pliable.evaluation.floor import Floor, FloorComparison, majority_floor
    from pliable.evaluation.result import EvaluationResult
    from pliable.evaluation.runner import evaluate
    from pliable.lm.budget import Budget
    from pliable.lm.cache import Cache
    from pliable.lm.fake import FunctionLM, ScriptedLM
    from pliable.lm.history import HistoryEntry, inspect_history
    from pliable.lm.lm import LM
    from pliable.lm.providers import register_provider
    from pliable.lm.types import Completion, LanguageModel, Usage
    from pliable.lm.usage import ModelUsage, UsageTracker, track_usage
    from pliable.optimizers.bootstrap_few_shot import BootstrapFewShot
    from pliable.optimizers.bootstrap_random_search import BootstrapRandomSearch
    from pliable.optimizers.instruction_hill_climb import InstructionHillClimb
    from pliable.optimizers.instruction_proposer import InstructionProposer
    from pliable.optimizers.joint_search import JointSearch
    from pliable.optimizers.knn_few_shot import KNNFewShot
    from pliable.optimizers.labeled_few_shot import LabeledFewShot
    from pliable.optimizers.reflective import Reflective
    from pliable.optimizers.report import CompileReport
    from pliable.optimizers.soft.multitask_prompt_tuning import MultitaskPromptTuning
    from pliable.optimizers.soft.p_tuning import PTuning
    from pliable.optimizers.soft.prefix_tuning import PrefixTuning
    from pliable.optimizers.soft.prompt_tuning import PromptTuning
    from pliable.programs.dspy_import import from_dspy
    from pliable.programs.ensemble import MajorityVote, Parallel
    from pliable.programs.module import Module
    from pliable.programs.predict import ChainOfThought, Predict
    from pliable.programs.rag import RAG, MultiHopQA
    from pliable.programs.react import ReAct
    from pliable.programs.refine import BestOfN, Refine
    from pliable.programs.retrieve.base import Retriever, load_retriever
    from pliable.programs.retrieve.bm25 import BM25Retriever
    from pliable.programs.retrieve.embedding import EmbeddingRetriever
    from pliable.programs.retrieve.module import Retrieve
    from pliable.programs.retrieve.passage import Passage
    from pliable.programs.tools import Tool
    from pliable.programs.tracing import ContextThreadPool, Trace, TraceEntry, trace
    from pliable.settings import configure, using
    from pliable.signatures.fields import InputField, OutputField
    from pliable.signatures.signature import Signature
    from pliable.tasks.catalog import load_task

__all__ = [
    "Adapter",
    "BM25Retriever",
    "BatchError",
    "BestOfN",
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
    "EmbeddingRetriever",
    "EvaluationError",
    "EvaluationResult",
    "Example",
    "Examples",
    "Floor",
    "FloorComparison",
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
    "MajorityVote",
    "ModelUsage",
    "Module",
    "MultiHopQA",
    "MultitaskPromptTuning",
    "OutputField",
    "PTuning",
    "Parallel",
    "ParseError",
    "Passage",
    "PliableError",
    "Predict",
    "Prediction",
    "PrefixTuning",
    "PromptTuning",
    "ProviderError",
    "RAG",
    "ReAct",
    "Refine",
    "Reflective",
    "Retrieve",
    "Retriever",
    "Score",
    "ScriptExhaustedError",
    "ScriptedLM",
    "Signature",
    "SignatureError",
    "Template",
    "TemplateAdapter",
    "Tool",
    "ToolArgumentError",
    "Trace",
    "TraceEntry",
    "Usage",
    "UsageError",
    "UsageTracker",
    "compare",
    "configure",
    "evaluate",
    "export",
    "from_dspy",
    "inspect_history",
    "load",
    "load_bigbench",
    "load_examples",
    "load_retriever",
    "load_task",
    "majority_floor",
    "metrics",
    "register_program_kind",
    "register_provider",
    "render_prompts",
    "save",
    "split",
    "trace",
    "track_usage",
    "using",
]

# Every exported name not imported above, and the module that defines it.
_LAZY = {
    "Adapter": "pliable.adapters.base",
    "BM25Retriever": "pliable.programs.retrieve.bm25",
    "BestOfN": "pliable.programs.refine",
    "BootstrapFewShot": "pliable.optimizers.bootstrap_few_shot",
    "BootstrapRandomSearch": "pliable.optimizers.bootstrap_random_search",
    "Budget": "pliable.lm.budget",
    "Cache": "pliable.lm.cache",
    "ChainOfThought": "pliable.programs.predict",
    "ChatAdapter": "pliable.adapters.chat",
    "Comparison": "pliable.evaluation.comparison",
    "CompileReport": "pliable.optimizers.report",
    "Completion": "pliable.lm.types",
    "ContextThreadPool": "pliable.programs.tracing",
    "EmbeddingRetriever": "pliable.programs.retrieve.embedding",
    "EvaluationResult": "pliable.evaluation.result",
    "Example": "pliable.data.example",
    "Examples": "pliable.data.loaders",
    "Floor": "pliable.evaluation.floor",
    "FloorComparison": "pliable.evaluation.floor",
    "FunctionLM": "pliable.lm.fake",
    "HistoryEntry": "pliable.lm.history",
    "InputField": "pliable.signatures.fields",
    "InstructionHillClimb": "pliable.optimizers.instruction_hill_climb",
    "InstructionProposer": "pliable.optimizers.instruction_proposer",
    "JSONAdapter": "pliable.adapters.json_adapter",
    "JointSearch": "pliable.optimizers.joint_search",
    "KNNFewShot": "pliable.optimizers.knn_few_shot",
    "LM": "pliable.lm.lm",
    "LabeledFewShot": "pliable.optimizers.labeled_few_shot",
    "LanguageModel": "pliable.lm.types",
    "MajorityVote": "pliable.programs.ensemble",
    "ModelUsage": "pliable.lm.usage",
    "Module": "pliable.programs.module",
    "MultiHopQA": "pliable.programs.rag",
    "MultitaskPromptTuning": "pliable.optimizers.soft.multitask_prompt_tuning",
    "OutputField": "pliable.signatures.fields",
    "PTuning": "pliable.optimizers.soft.p_tuning",
    "Parallel": "pliable.programs.ensemble",
    "Passage": "pliable.programs.retrieve.passage",
    "Predict": "pliable.programs.predict",
    "Prediction": "pliable.data.example",
    "PrefixTuning": "pliable.optimizers.soft.prefix_tuning",
    "PromptTuning": "pliable.optimizers.soft.prompt_tuning",
    "RAG": "pliable.programs.rag",
    "ReAct": "pliable.programs.react",
    "Refine": "pliable.programs.refine",
    "Reflective": "pliable.optimizers.reflective",
    "Retrieve": "pliable.programs.retrieve.module",
    "Retriever": "pliable.programs.retrieve.base",
    "Score": "pliable.data.score",
    "ScriptedLM": "pliable.lm.fake",
    "Signature": "pliable.signatures.signature",
    "Template": "pliable.adapters.template_value",
    "TemplateAdapter": "pliable.adapters.template",
    "Tool": "pliable.programs.tools",
    "Trace": "pliable.programs.tracing",
    "TraceEntry": "pliable.programs.tracing",
    "Usage": "pliable.lm.types",
    "UsageTracker": "pliable.lm.usage",
    "compare": "pliable.evaluation.comparison",
    "configure": "pliable.settings",
    "evaluate": "pliable.evaluation.runner",
    "export": "pliable.compiled.prompt_export",
    "load_task": "pliable.tasks.catalog",
    "from_dspy": "pliable.programs.dspy_import",
    "inspect_history": "pliable.lm.history",
    "load": "pliable.compiled.io",
    "load_bigbench": "pliable.data.bigbench",
    "load_examples": "pliable.data.loaders",
    "load_retriever": "pliable.programs.retrieve.base",
    "majority_floor": "pliable.evaluation.floor",
    "metrics": "pliable.evaluation.metrics",
    "register_program_kind": "pliable.compiled.kinds",
    "register_provider": "pliable.lm.providers",
    "render_prompts": "pliable.compiled.render",
    "save": "pliable.compiled.io",
    "split": "pliable.data.loaders",
    "trace": "pliable.programs.tracing",
    "track_usage": "pliable.lm.usage",
    "using": "pliable.settings",
}

if not TYPE_CHECKING:
    _lazy_getattr, __dir__ = attach(__name__, _LAZY)

    def __getattr__(name: str) -> object:
        """A lazy name of ``_LAZY``; for a DSPy name pliable spells differently (``pl.GEPA``),
        an AttributeError naming pliable's equivalent (:mod:`pliable._dspy_names`)."""
        if name in _LAZY or name.startswith("__"):
            return _lazy_getattr(name)
        from pliable._dspy_names import hint

        message = hint(name)
        if message is None:
            return _lazy_getattr(name)  # raises the usual "has no attribute" error
        raise AttributeError(message, name=name)


del TYPE_CHECKING, attach
