"""Programs: the ``Module`` base, ``Predict``, ``ChainOfThought``, tracing, and ready-made
programs (``RAG``, ``MultiHopQA``, ``ReAct`` with ``Tool``s) and retrieval."""

from pliable.programs.module import Module
from pliable.programs.predict import ChainOfThought, Predict
from pliable.programs.rag import RAG, MultiHopQA
from pliable.programs.react import ReAct
from pliable.programs.retrieve import (
    BM25Retriever,
    EmbeddingRetriever,
    Passage,
    Retrieve,
    Retriever,
    load_retriever,
)
from pliable.programs.tools import Tool, ToolArgumentError
from pliable.programs.trace import ContextThreadPool, Trace, TraceEntry, trace

__all__ = [
    "BM25Retriever",
    "ChainOfThought",
    "ContextThreadPool",
    "EmbeddingRetriever",
    "Module",
    "MultiHopQA",
    "Passage",
    "Predict",
    "RAG",
    "ReAct",
    "Retrieve",
    "Retriever",
    "Tool",
    "ToolArgumentError",
    "Trace",
    "TraceEntry",
    "load_retriever",
    "trace",
]
