"""Retrieval: ``Retrieve`` over a retriever (BM25 keywords or embedding similarity).

::

    retriever = BM25Retriever(["Paris is the capital of France.", "Berlin is in Germany."])
    search = Retrieve(k=2, retriever=retriever)
    search("capital of France").passages[0]        # Passage(id='0', text=..., score=...)

    retriever.save("index/")                        # passages.jsonl + index, no pickle
    same = load_retriever("index/")                 # either kind; nothing is re-indexed

Every hit is a :class:`Passage` with the passage's ``id``, ``text``, ``score`` and
``metadata``. ``bm25s`` and ``numpy`` are imported only when a retriever is built or loaded.
"""

from typing import TYPE_CHECKING

from pliable._lazy import attach

if TYPE_CHECKING:
    from pliable.programs.retrieve.base import Retriever, load_retriever
    from pliable.programs.retrieve.bm25 import BM25Retriever
    from pliable.programs.retrieve.embedding import EmbeddingRetriever
    from pliable.programs.retrieve.module import Retrieve
    from pliable.programs.retrieve.passage import Passage, normalize_corpus

__all__ = [
    "BM25Retriever",
    "EmbeddingRetriever",
    "Passage",
    "Retrieve",
    "Retriever",
    "load_retriever",
    "normalize_corpus",
]

_LAZY = {
    "BM25Retriever": "pliable.programs.retrieve.bm25",
    "EmbeddingRetriever": "pliable.programs.retrieve.embedding",
    "Passage": "pliable.programs.retrieve.passage",
    "Retrieve": "pliable.programs.retrieve.module",
    "Retriever": "pliable.programs.retrieve.base",
    "load_retriever": "pliable.programs.retrieve.base",
    "normalize_corpus": "pliable.programs.retrieve.passage",
}

if not TYPE_CHECKING:
    __getattr__, __dir__ = attach(__name__, _LAZY)

del TYPE_CHECKING, attach
