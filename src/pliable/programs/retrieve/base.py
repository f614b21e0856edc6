"""``Retriever``: what :class:`~pliable.programs.retrieve.Retrieve` searches, and
:func:`load_retriever`, which loads a saved retriever of either built-in kind.

Subclass :class:`Retriever` to plug in your own search (a vector database, a web API): define
``search(query, k)`` and ``__len__``. Built-in retrievers are read-only once built: copies of
a program share them, and any thread may search them.
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from pliable.errors import InputError, UsageError

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

    from pliable.lm.embeddings import Embedder
    from pliable.programs.retrieve.passage import Passage

__all__ = ["Retriever", "check_query", "load_retriever", "top_k"]


class Retriever(ABC):
    """A searchable corpus: ``search(query, k)`` returns the ``k`` best passages.

    Hits are sorted by score, best first (ties in corpus order); each carries its passage
    ``id`` and ``score``. A ``k`` larger than the corpus returns every passage.
    """

    #: The ``kind`` recorded in the manifest and in :meth:`reference`.
    kind: ClassVar[str] = "custom"
    #: The directory this retriever was saved to or loaded from, if any.
    path: Path | None = None

    @abstractmethod
    def search(self, query: str, k: int = 3) -> list[Passage]:
        """The ``k`` passages that best match ``query``, best first."""

    @abstractmethod
    def __len__(self) -> int:
        """The number of passages in the corpus."""

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the retriever to the directory ``path``; returns the absolute directory."""
        raise UsageError(
            f"{type(self).__name__} cannot be saved; only BM25Retriever and "
            "EmbeddingRetriever can. Rebuild your retriever in code instead."
        )

    def reference(self) -> dict[str, str] | None:
        """A JSON-able pointer to this retriever on disk (``{"kind", "path"}``), once it has
        been saved or loaded; ``None`` before. :func:`load_retriever` accepts it."""
        if self.path is None:
            return None
        return {"kind": self.kind, "path": str(self.path)}

    def __deepcopy__(self, memo: dict[int, Any]) -> Retriever:
        return self  # a read-only resource, shared by copies of a program (like an LM)

    def __repr__(self) -> str:
        where = f", path={str(self.path)!r}" if self.path is not None else ""
        return f"{type(self).__name__}({len(self)} passages{where})"


def check_query(query: Any, k: Any) -> None:
    """Raise ``InputError`` unless ``query`` is a string and ``k`` a positive int."""
    if not isinstance(query, str):
        raise InputError(
            f"The query must be a string; got {query!r} ({type(query).__name__}).",
            field="query",
            value=query,
        )
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise InputError(
            f"k must be a positive whole number of passages; got {k!r}.", field="k", value=k
        )


def top_k(scores: NDArray[np.float32], k: int) -> list[tuple[int, float]]:
    """``(index, score)`` of the ``k`` highest scores, best first; ties to the lower index."""
    import numpy as np

    n = int(scores.shape[0])
    indices = np.arange(n)
    if k < n:  # keep everything tied with the k-th best, then order exactly
        kth = np.partition(scores, n - k)[n - k]
        keep = scores >= kth
        indices, scores = indices[keep], scores[keep]
    order = np.lexsort((indices, -scores))[:k]
    return [(int(indices[i]), float(scores[i])) for i in order]


def load_retriever(
    source: str | os.PathLike[str] | Mapping[str, Any],
    *,
    embedder: Embedder | None = None,
    named_by_file: bool = False,
) -> Retriever:
    """Load a saved retriever of either kind, from its directory or its :meth:`reference`.

    ``embedder`` is for an embedding retriever built with your own embedder (one pliable
    cannot rebuild from its name); a BM25 retriever ignores it. Nothing is re-indexed.
    """
    from pliable.programs.retrieve.store import read_manifest

    if isinstance(source, Mapping):
        path = source.get("path")
        if not isinstance(path, str) or not path:
            raise UsageError(
                f"A retriever reference is {{'kind': ..., 'path': ...}}; got {dict(source)!r}. "
                "Use retriever.reference() of a saved retriever."
            )
        expected_kind = source.get("kind")
    else:
        path, expected_kind = os.fspath(source), None
    directory, manifest = read_manifest(path)
    kind = manifest["kind"]
    if expected_kind is not None and expected_kind != kind:
        raise UsageError(
            f"The reference says kind {expected_kind!r} but {directory} holds a {kind!r} "
            "retriever. Save the retriever again and use its new reference()."
        )
    if kind == "bm25":
        from pliable.programs.retrieve.bm25 import BM25Retriever

        return BM25Retriever._from_manifest(directory, manifest)
    from pliable.programs.retrieve.embedding import EmbeddingRetriever

    return EmbeddingRetriever._from_manifest(
        directory, manifest, embedder, named_by_file=named_by_file
    )
