"""Programs: the ``Module`` base, ``Predict``, ``ChainOfThought``, tracing, and ready-made
programs (``RAG``, ``MultiHopQA``, ``ReAct`` with ``Tool``s, ``BestOfN``, ``Refine``,
``MajorityVote``, ``Parallel``), hand-written ``Template`` prompts and retrieval."""

from typing import TYPE_CHECKING

from pliable._lazy import attach

if TYPE_CHECKING:
    from pliable.adapters.template_value import Template
    from pliable.errors import ToolArgumentError
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

__all__ = [
    "BM25Retriever",
    "BestOfN",
    "ChainOfThought",
    "ContextThreadPool",
    "EmbeddingRetriever",
    "MajorityVote",
    "Module",
    "MultiHopQA",
    "Parallel",
    "Passage",
    "Predict",
    "RAG",
    "ReAct",
    "Refine",
    "Retrieve",
    "Retriever",
    "Template",
    "Tool",
    "ToolArgumentError",
    "Trace",
    "TraceEntry",
    "load_retriever",
    "trace",
]

_LAZY = {
    "BM25Retriever": "pliable.programs.retrieve.bm25",
    "BestOfN": "pliable.programs.refine",
    "ChainOfThought": "pliable.programs.predict",
    "ContextThreadPool": "pliable.programs.tracing",
    "EmbeddingRetriever": "pliable.programs.retrieve.embedding",
    "MajorityVote": "pliable.programs.ensemble",
    "Module": "pliable.programs.module",
    "MultiHopQA": "pliable.programs.rag",
    "Parallel": "pliable.programs.ensemble",
    "Passage": "pliable.programs.retrieve.passage",
    "Predict": "pliable.programs.predict",
    "RAG": "pliable.programs.rag",
    "ReAct": "pliable.programs.react",
    "Refine": "pliable.programs.refine",
    "Retrieve": "pliable.programs.retrieve.module",
    "Retriever": "pliable.programs.retrieve.base",
    "Template": "pliable.adapters.template_value",
    "Tool": "pliable.programs.tools",
    "ToolArgumentError": "pliable.errors",
    "Trace": "pliable.programs.tracing",
    "TraceEntry": "pliable.programs.tracing",
    "load_retriever": "pliable.programs.retrieve.base",
    "trace": "pliable.programs.tracing",
}

if not TYPE_CHECKING:
    __getattr__, __dir__ = attach(__name__, _LAZY)

del TYPE_CHECKING, attach
