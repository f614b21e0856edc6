"""Programs: the ``Module`` base, ``Predict``, ``ChainOfThought``, tracing, and ready-made
programs (``RAG``, ``MultiHopQA``, ``ReAct`` with ``Tool``s, ``BestOfN``, ``Refine``,
``MajorityVote``, ``Parallel``), hand-written ``Template`` prompts and retrieval."""

from pliable.adapters.template_value import Template
from pliable.programs.ensemble import MajorityVote, Parallel
from pliable.programs.module import Module
from pliable.programs.predict import ChainOfThought, Predict
from pliable.programs.rag import RAG, MultiHopQA
from pliable.programs.react import ReAct
from pliable.programs.refine import BestOfN, Refine
from pliable.programs.retrieve import (
    BM25Retriever,
    EmbeddingRetriever,
    Passage,
    Retrieve,
    Retriever,
    load_retriever,
)
from pliable.programs.tools import Tool, ToolArgumentError
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
