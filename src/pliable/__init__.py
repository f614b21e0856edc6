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
    from pliable.adapters import Adapter as Adapter
    from pliable.adapters import ChatAdapter as ChatAdapter
    from pliable.adapters import JSONAdapter as JSONAdapter
    from pliable.adapters import TemplateAdapter as TemplateAdapter
    from pliable.compiled.io import load, save
    from pliable.compiled.kinds import register_program_kind
    from pliable.compiled.render import render_prompts
    from pliable.data import Example as Example
    from pliable.data import Examples as Examples
    from pliable.data import Prediction as Prediction
    from pliable.data import load_bigbench as load_bigbench
    from pliable.data import load_examples as load_examples
    from pliable.data import split as split
    from pliable.evaluation import Comparison as Comparison
    from pliable.evaluation import EvaluationResult as EvaluationResult
    from pliable.evaluation import Floor as Floor
    from pliable.evaluation import FloorComparison as FloorComparison
    from pliable.evaluation import Score as Score
    from pliable.evaluation import compare as compare
    from pliable.evaluation import evaluate as evaluate
    from pliable.evaluation import majority_floor as majority_floor
    from pliable.evaluation import metrics as metrics
    from pliable.lm import LM as LM
    from pliable.lm import Budget as Budget
    from pliable.lm import Cache as Cache
    from pliable.lm import Completion as Completion
    from pliable.lm import FunctionLM as FunctionLM
    from pliable.lm import HistoryEntry as HistoryEntry
    from pliable.lm import LanguageModel as LanguageModel
    from pliable.lm import ModelUsage as ModelUsage
    from pliable.lm import ScriptedLM as ScriptedLM
    from pliable.lm import Usage as Usage
    from pliable.lm import UsageTracker as UsageTracker
    from pliable.lm import inspect_history as inspect_history
    from pliable.lm import register_provider as register_provider
    from pliable.lm import track_usage as track_usage
    from pliable.optimizers import BootstrapFewShot as BootstrapFewShot
    from pliable.optimizers import BootstrapRandomSearch as BootstrapRandomSearch
    from pliable.optimizers import CompileReport as CompileReport
    from pliable.optimizers import InstructionHillClimb as InstructionHillClimb
    from pliable.optimizers import InstructionProposer as InstructionProposer
    from pliable.optimizers import JointSearch as JointSearch
    from pliable.optimizers import KNNFewShot as KNNFewShot
    from pliable.optimizers import LabeledFewShot as LabeledFewShot
    from pliable.optimizers import MultitaskPromptTuning as MultitaskPromptTuning
    from pliable.optimizers import PrefixTuning as PrefixTuning
    from pliable.optimizers import PromptTuning as PromptTuning
    from pliable.optimizers import PTuning as PTuning
    from pliable.optimizers import Reflective as Reflective
    from pliable.programs import RAG as RAG
    from pliable.programs import BestOfN as BestOfN
    from pliable.programs import BM25Retriever as BM25Retriever
    from pliable.programs import ChainOfThought as ChainOfThought
    from pliable.programs import ContextThreadPool as ContextThreadPool
    from pliable.programs import EmbeddingRetriever as EmbeddingRetriever
    from pliable.programs import MajorityVote as MajorityVote
    from pliable.programs import Module as Module
    from pliable.programs import MultiHopQA as MultiHopQA
    from pliable.programs import Parallel as Parallel
    from pliable.programs import Passage as Passage
    from pliable.programs import Predict as Predict
    from pliable.programs import ReAct as ReAct
    from pliable.programs import Refine as Refine
    from pliable.programs import Retrieve as Retrieve
    from pliable.programs import Retriever as Retriever
    from pliable.programs import Template as Template
    from pliable.programs import Tool as Tool
    from pliable.programs import Trace as Trace
    from pliable.programs import TraceEntry as TraceEntry
    from pliable.programs import load_retriever as load_retriever
    from pliable.programs import trace as trace
    from pliable.settings import configure, using
    from pliable.signatures import InputField as InputField
    from pliable.signatures import OutputField as OutputField
    from pliable.signatures import Signature as Signature

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
    "inspect_history",
    "load",
    "load_bigbench",
    "load_examples",
    "load_retriever",
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
    "Adapter": "pliable.adapters.Adapter",
    "BM25Retriever": "pliable.programs.BM25Retriever",
    "BestOfN": "pliable.programs.BestOfN",
    "BootstrapFewShot": "pliable.optimizers.BootstrapFewShot",
    "BootstrapRandomSearch": "pliable.optimizers.BootstrapRandomSearch",
    "Budget": "pliable.lm.Budget",
    "Cache": "pliable.lm.Cache",
    "ChainOfThought": "pliable.programs.ChainOfThought",
    "ChatAdapter": "pliable.adapters.ChatAdapter",
    "Comparison": "pliable.evaluation.Comparison",
    "CompileReport": "pliable.optimizers.CompileReport",
    "Completion": "pliable.lm.Completion",
    "ContextThreadPool": "pliable.programs.ContextThreadPool",
    "EmbeddingRetriever": "pliable.programs.EmbeddingRetriever",
    "EvaluationResult": "pliable.evaluation.EvaluationResult",
    "Example": "pliable.data.Example",
    "Examples": "pliable.data.Examples",
    "Floor": "pliable.evaluation.Floor",
    "FloorComparison": "pliable.evaluation.FloorComparison",
    "FunctionLM": "pliable.lm.FunctionLM",
    "HistoryEntry": "pliable.lm.HistoryEntry",
    "InputField": "pliable.signatures.InputField",
    "InstructionHillClimb": "pliable.optimizers.InstructionHillClimb",
    "InstructionProposer": "pliable.optimizers.InstructionProposer",
    "JSONAdapter": "pliable.adapters.JSONAdapter",
    "JointSearch": "pliable.optimizers.JointSearch",
    "KNNFewShot": "pliable.optimizers.KNNFewShot",
    "LM": "pliable.lm.LM",
    "LabeledFewShot": "pliable.optimizers.LabeledFewShot",
    "LanguageModel": "pliable.lm.LanguageModel",
    "MajorityVote": "pliable.programs.MajorityVote",
    "ModelUsage": "pliable.lm.ModelUsage",
    "Module": "pliable.programs.Module",
    "MultiHopQA": "pliable.programs.MultiHopQA",
    "MultitaskPromptTuning": "pliable.optimizers.MultitaskPromptTuning",
    "OutputField": "pliable.signatures.OutputField",
    "PTuning": "pliable.optimizers.PTuning",
    "Parallel": "pliable.programs.Parallel",
    "Passage": "pliable.programs.Passage",
    "Predict": "pliable.programs.Predict",
    "Prediction": "pliable.data.Prediction",
    "PrefixTuning": "pliable.optimizers.PrefixTuning",
    "PromptTuning": "pliable.optimizers.PromptTuning",
    "RAG": "pliable.programs.RAG",
    "ReAct": "pliable.programs.ReAct",
    "Refine": "pliable.programs.Refine",
    "Reflective": "pliable.optimizers.Reflective",
    "Retrieve": "pliable.programs.Retrieve",
    "Retriever": "pliable.programs.Retriever",
    "Score": "pliable.evaluation.Score",
    "ScriptedLM": "pliable.lm.ScriptedLM",
    "Signature": "pliable.signatures.Signature",
    "Template": "pliable.programs.Template",
    "TemplateAdapter": "pliable.adapters.TemplateAdapter",
    "Tool": "pliable.programs.Tool",
    "Trace": "pliable.programs.Trace",
    "TraceEntry": "pliable.programs.TraceEntry",
    "Usage": "pliable.lm.Usage",
    "UsageTracker": "pliable.lm.UsageTracker",
    "compare": "pliable.evaluation.compare",
    "configure": "pliable.settings",
    "evaluate": "pliable.evaluation.evaluate",
    "inspect_history": "pliable.lm.inspect_history",
    "load": "pliable.compiled.io",
    "load_bigbench": "pliable.data.load_bigbench",
    "load_examples": "pliable.data.load_examples",
    "load_retriever": "pliable.programs.load_retriever",
    "majority_floor": "pliable.evaluation.majority_floor",
    "metrics": "pliable.evaluation.metrics",
    "register_program_kind": "pliable.compiled.kinds",
    "register_provider": "pliable.lm.register_provider",
    "render_prompts": "pliable.compiled.render",
    "save": "pliable.compiled.io",
    "split": "pliable.data.split",
    "trace": "pliable.programs.trace",
    "track_usage": "pliable.lm.track_usage",
    "using": "pliable.settings",
}

if not TYPE_CHECKING:
    __getattr__, __dir__ = attach(__name__, _LAZY)
