"""``Retrieve``: a program step that searches a retriever and returns the passages found.

::

    search = pl.Retrieve(k=3, retriever=BM25Retriever(corpus))
    search("Who wrote Hamlet?").passages          # [Passage(id=..., text=..., score=...), ...]
    search(["Hamlet author", "Shakespeare"], k=5)  # several queries: merged, best score per id

It has no predictors (nothing to optimize); inside a program it is called like any other
step. Copies of a program share its retriever.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from pliable.data.example import Prediction
from pliable.errors import InputError, UsageError
from pliable.programs.module import Module
from pliable.programs.retrieve.base import Retriever, load_retriever
from pliable.programs.retrieve.passage import Passage

if TYPE_CHECKING:
    from pliable.lm.embeddings import Embedder

__all__ = ["Retrieve"]


def _check_k(k: Any) -> int:
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise InputError(
            f"k must be a positive whole number of passages; got {k!r}.", field="k", value=k
        )
    return k


def _queries(query: Any) -> list[str]:
    queries = [query] if isinstance(query, str) else query
    if not isinstance(queries, Sequence) or isinstance(queries, bytes) or not queries:
        raise InputError(
            f"Retrieve takes a query string or a non-empty list of them; got {query!r}.",
            field="query",
            value=query,
        )
    for q in queries:
        if not isinstance(q, str):
            raise InputError(
                f"Every query must be a string; got {q!r} ({type(q).__name__}) in {query!r}.",
                field="query",
                value=query,
            )
    return list(queries)


def _merge(hits: list[list[Passage]], k: int) -> list[Passage]:
    """The best ``k`` of several result lists, one per id (its best score), best first; ties
    keep the order in which ids were first found."""
    best: dict[str, Passage] = {}
    for result in hits:
        for p in result:
            if p.id not in best or p.score > best[p.id].score:
                best[p.id] = p  # a known id keeps its first-seen place in the dict
    first_seen = {pid: i for i, pid in enumerate(best)}
    ranked = sorted(best.values(), key=lambda p: (-p.score, first_seen[p.id]))
    return ranked[:k]


class Retrieve(Module):
    """Search ``retriever`` for the ``k`` best passages: ``Prediction(passages=[Passage, ...])``.

    Args:
        k: passages per call (a call may pass its own ``k=``).
        retriever: a :class:`Retriever` such as ``BM25Retriever(corpus)``,
            ``EmbeddingRetriever(corpus, embedder)`` or ``pl.load_retriever("index/")``.
    """

    def __init__(self, k: int = 3, retriever: Retriever | None = None) -> None:
        self.k = _check_k(k)
        if retriever is not None and not callable(getattr(retriever, "search", None)):
            raise UsageError(
                f"retriever must have a search(query, k) method; got {retriever!r}. Use "
                "BM25Retriever(corpus), EmbeddingRetriever(corpus, embedder) or a subclass "
                "of pl.Retriever."
            )
        self.retriever = retriever

    def forward(self, query: str | Sequence[str], k: int | None = None) -> Prediction:
        """The ``k`` best passages for ``query``; for several queries, the best ``k`` of all
        their hits, each passage once with its best score."""
        retriever = self.retriever
        if retriever is None:
            raise UsageError(
                "This Retrieve has no retriever. Give it one: pl.Retrieve(k=3, "
                "retriever=pl.BM25Retriever(corpus)), or load a saved one with "
                "retriever=pl.load_retriever('index/')."
            )
        count = self.k if k is None else _check_k(k)
        hits = [self._search(retriever, q, count) for q in _queries(query)]
        passages = hits[0] if len(hits) == 1 else _merge(hits, count)
        return Prediction(passages=passages)

    @staticmethod
    def _search(retriever: Retriever, query: str, k: int) -> list[Passage]:
        result = retriever.search(query, k)
        if not isinstance(result, list) or not all(isinstance(p, Passage) for p in result):
            raise UsageError(
                f"{type(retriever).__name__}.search returned {result!r}; it must return a list "
                "of pl.Passage (id, text, score)."
            )
        return result

    # --- JSON state -----------------------------------------------------------------------------

    def settings(self) -> dict[str, Any]:
        """``{"k", "retriever"}``, JSON-able: the retriever is its :meth:`Retriever.reference`
        (``None`` if it was never saved)."""
        reference = self.retriever.reference() if self.retriever is not None else None
        return {"k": self.k, "retriever": reference}

    @classmethod
    def from_settings(
        cls, state: Mapping[str, Any], *, embedder: Embedder | None = None
    ) -> Retrieve:
        """Rebuild a ``Retrieve`` from :meth:`settings`, loading its retriever from disk."""
        reference = state.get("retriever")
        retriever = None if reference is None else load_retriever(reference, embedder=embedder)
        return cls(k=state.get("k", 3), retriever=retriever)

    def __repr__(self) -> str:
        return f"Retrieve(k={self.k}, retriever={self.retriever!r})"
