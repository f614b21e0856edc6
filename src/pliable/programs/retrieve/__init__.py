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
