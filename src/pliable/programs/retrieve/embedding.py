"""``EmbeddingRetriever``: semantic search by cosine similarity of embedding vectors (numpy).

::

    retriever = EmbeddingRetriever(corpus, LiteLLMEmbedder("openai/text-embedding-3-small"))
    retriever.search("how tall is the tower?", k=3)
    retriever.save("index/")        # passages + vectors.npy; later: load_retriever("index/")

Any :class:`~pliable.lm.embeddings.Embedder` works: ``LocalEmbedder`` (the default, llama.cpp
on the packaged model, offline), ``LiteLLMEmbedder`` (any litellm embedding model) or a
``FunctionEmbedder`` around your own code. The corpus is embedded once, when the retriever is
built; a loaded retriever only embeds queries. The manifest records the embedder's kind, name
and vector dimension: a local or litellm embedder is rebuilt from it, your own must be passed.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pliable.errors import ConfigurationError, DataError, UsageError
from pliable.programs.retrieve.base import Retriever, check_query, top_k
from pliable.programs.retrieve.passage import Passage, normalize_corpus
from pliable.programs.retrieve.store import (
    prepare_dir,
    read_manifest,
    read_passages,
    write_manifest,
    write_passages,
)

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

    from pliable.lm.embeddings import Embedder

__all__ = ["EmbeddingRetriever"]

logger = logging.getLogger(__name__)

_VECTORS = "vectors.npy"
_EMBEDDER_KINDS = ("local", "litellm", "custom")


def _check_embedder(embedder: Any) -> Embedder:
    from pliable.lm.embeddings import Embedder

    if not isinstance(embedder, Embedder) or not isinstance(embedder.name, str):
        raise UsageError(
            f"embedder must have a `name` and an `embed(texts)` method; got {embedder!r}. Use "
            "pl.lm.embeddings.LocalEmbedder(), LiteLLMEmbedder(model) or FunctionEmbedder(fn)."
        )
    return embedder


def _matrix(embedder: Embedder, texts: list[str], what: str) -> NDArray[np.float32]:
    """``embedder``'s vectors for ``texts`` as checked, unit-length float32 rows."""
    import numpy as np

    from pliable.lm.embeddings import l2_normalize

    vectors = np.asarray(embedder.embed(texts), dtype=np.float32)
    if vectors.ndim != 2 or vectors.shape[0] != len(texts) or vectors.shape[1] == 0:
        raise UsageError(
            f"The embedder {embedder.name!r} returned shape {vectors.shape} for {len(texts)} "
            f"{what}; expected ({len(texts)}, d) with d > 0."
        )
    if not np.isfinite(vectors).all():
        raise UsageError(f"The embedder {embedder.name!r} returned NaN or infinite values.")
    return l2_normalize(vectors)


class EmbeddingRetriever(Retriever):
    """Semantic search over ``corpus`` (texts, a dict id -> text, or rows with ``"id"`` and
    ``"text"``), ranking passages by cosine similarity to the query.

    Args:
        embedder: turns texts into vectors; default ``LocalEmbedder()`` (offline, but a small
            chat model: use a real embedding model through ``LiteLLMEmbedder`` for quality).
        batch_size: passages embedded per call while indexing.
    """

    kind = "embedding"

    def __init__(self, corpus: Any, embedder: Embedder | None = None, *, batch_size: int = 64):
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise UsageError(f"batch_size must be a positive whole number; got {batch_size!r}.")
        self.passages: tuple[Passage, ...] = tuple(normalize_corpus(corpus))
        if embedder is None:
            from pliable.lm.embeddings import LocalEmbedder

            embedder = LocalEmbedder()
        self.embedder: Embedder = _check_embedder(embedder)
        import numpy as np

        texts = [p.text for p in self.passages]
        chunks = [
            _matrix(self.embedder, texts[i : i + batch_size], "passages")
            for i in range(0, len(texts), batch_size)
        ]
        if len({c.shape[1] for c in chunks}) > 1:
            raise UsageError(
                f"The embedder {self.embedder.name!r} returned vectors of different lengths "
                f"({sorted({c.shape[1] for c in chunks})}) for batches of the corpus."
            )
        self._vectors: NDArray[np.float32] = np.concatenate(chunks)
        self._vectors.flags.writeable = False
        logger.debug(
            "Embedded %d passages with %s (dimension %d)",
            len(self),
            self.embedder.name,
            self.dimension,
        )

    @property
    def dimension(self) -> int:
        """The length of the passage vectors."""
        return int(self._vectors.shape[1])

    @property
    def vectors(self) -> NDArray[np.float32]:
        """The passages' unit-length vectors, one row per passage (read-only)."""
        return self._vectors

    def __len__(self) -> int:
        return len(self.passages)

    def search(self, query: str, k: int = 3) -> list[Passage]:
        """The ``k`` passages whose vectors are closest to the query's (cosine), best first."""
        check_query(query, k)
        vector = _matrix(self.embedder, [query], "query")
        if vector.shape[1] != self.dimension:
            built = f" (saved at {self.path})" if self.path is not None else ""
            raise UsageError(
                f"The embedder {self.embedder.name!r} makes vectors of {vector.shape[1]} numbers "
                f"but this index{built} holds vectors of {self.dimension}. Search it with the "
                "embedder it was built with (the manifest names it), or rebuild the retriever."
            )
        import numpy as np

        scores = np.clip(self._vectors @ vector[0], -1.0, 1.0)  # float32 rounding
        return [self.passages[i].with_score(s) for i, s in top_k(scores, k)]

    # --- saving ---------------------------------------------------------------------------------

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the passages, ``vectors.npy`` and ``retriever.json`` to the directory ``path``."""
        import numpy as np

        from pliable.lm.embeddings import embedder_kind

        directory = prepare_dir(path)
        write_passages(directory, self.passages)
        np.save(directory / _VECTORS, self._vectors, allow_pickle=False)
        settings = {
            "embedder": {"kind": embedder_kind(self.embedder), "name": self.embedder.name},
            "dimension": self.dimension,
        }
        write_manifest(directory, self.kind, len(self), settings)
        self.path = directory
        return directory

    @classmethod
    def load(
        cls, path: str | os.PathLike[str], *, embedder: Embedder | None = None
    ) -> EmbeddingRetriever:
        """Load a retriever written by :meth:`save`; the passages are not embedded again.

        ``embedder`` is needed when the retriever was built with your own embedder; it may also
        replace a local or litellm one (it must make vectors of the recorded dimension).
        """
        directory, manifest = read_manifest(path)
        if manifest["kind"] != cls.kind:
            raise UsageError(
                f"{directory} holds a {manifest['kind']!r} retriever, not an embedding one. "
                "Load it with pl.load_retriever(path)."
            )
        return cls._from_manifest(directory, manifest, embedder)

    @classmethod
    def _from_manifest(
        cls,
        directory: Path,
        manifest: dict[str, Any],
        embedder: Embedder | None,
        *,
        named_by_file: bool = False,
    ) -> EmbeddingRetriever:
        kind, name, dimension = _settings(directory, manifest["embedding"])
        count = manifest["count"]
        passages = read_passages(directory, count)
        vectors = _load_vectors(directory / _VECTORS, count, dimension)
        chosen = _choose_embedder(embedder, kind, name, directory, named_by_file)
        retriever = cls.__new__(cls)
        retriever.passages, retriever.embedder, retriever.path = passages, chosen, directory
        retriever._vectors = vectors
        logger.debug("Embedding retriever loaded from %s: %d passages", directory, count)
        return retriever


def _settings(directory: Path, settings: dict[str, Any]) -> tuple[str, str, int]:
    """The embedder kind, name and vector dimension recorded in the manifest."""
    ref, dimension = settings.get("embedder"), settings.get("dimension")
    if isinstance(ref, dict):
        kind, name = ref.get("kind"), ref.get("name")
        if (
            kind in _EMBEDDER_KINDS
            and isinstance(name, str)
            and isinstance(dimension, int)
            and not isinstance(dimension, bool)
            and dimension > 0
        ):
            return str(kind), name, dimension
    manifest_path = directory / "retriever.json"
    raise DataError(
        f"{manifest_path}: invalid embedding settings {settings!r} (expected 'embedder': "
        "{'kind', 'name'} and a positive 'dimension'). Build and save the retriever again.",
        source=str(manifest_path),
        field="embedding",
        value=settings,
    )


def _load_vectors(path: Path, count: int, dimension: int) -> NDArray[np.float32]:
    import numpy as np

    def damaged(problem: str) -> DataError:
        return DataError(
            f"{path}: {problem}. The saved vectors are damaged: build the retriever again and "
            "save it.",
            source=str(path),
        )

    try:
        vectors: NDArray[np.float32] = np.load(path, allow_pickle=False)
    except FileNotFoundError as exc:
        raise damaged("is missing") from exc
    except (OSError, ValueError) as exc:
        raise damaged(f"is not a valid .npy array ({exc})") from exc
    if not isinstance(vectors, np.ndarray):
        raise damaged("is an archive of arrays, not one .npy array")
    if vectors.dtype != np.float32 or vectors.shape != (count, dimension):
        raise damaged(
            f"holds {vectors.dtype} of shape {vectors.shape}; the manifest says float32 of "
            f"shape ({count}, {dimension})"
        )
    if not np.isfinite(vectors).all():
        raise damaged("holds NaN or infinite values")
    vectors.flags.writeable = False
    return vectors


def _choose_embedder(
    given: Embedder | None, kind: str, name: str, directory: Path, named_by_file: bool = False
) -> Embedder:
    if given is not None:
        chosen = _check_embedder(given)
        if chosen.name != name:
            logger.warning(
                "The retriever at %s was built with the embedder %r; searching it with %r. "
                "Scores are only meaningful if both make comparable vectors.",
                directory,
                name,
                chosen.name,
            )
        return chosen
    from pliable.lm.embeddings import make_embedder

    if named_by_file:  # a compiled file chose this folder: its embedder is a model name only
        from pliable.programs.predictor_state import check_model_name

        check_model_name(name, f"the embedder of the retriever at {directory}")
    try:
        return make_embedder(kind, name)
    except ConfigurationError as exc:
        raise ConfigurationError(
            f"Cannot rebuild the embedder of the retriever at {directory}: {exc}"
        ) from exc
