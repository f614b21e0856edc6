"""``BM25Retriever``: keyword search over your corpus with BM25 (the ``bm25s`` library).

::

    retriever = BM25Retriever(["Paris is the capital of France.", "Berlin is in Germany."])
    retriever.search("capital of France", k=1)[0].id      # '0'
    retriever.save("index/")                              # later: load_retriever("index/")

Texts are lower-cased and split into words of two or more letters; ``stopwords`` (a language
code such as ``"en"``, your own list, or ``None``) are dropped. The saved index is bm25s's own
pickle-free layout (``.npy`` arrays and JSON) in the ``bm25/`` folder, so loading never
re-indexes.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TypeAlias

from pliable.errors import DataError, UsageError
from pliable.programs.retrieve.base import Retriever, check_query, top_k
from pliable.programs.retrieve.passage import Passage, normalize_corpus
from pliable.programs.retrieve.store import (
    prepare_dir,
    read_manifest,
    read_passages,
    write_manifest,
    write_passages,
)

__all__ = ["BM25Retriever"]

logger = logging.getLogger(__name__)

_INDEX_DIR = "bm25"
_ARRAYS = ("data.csc.index.npy", "indices.csc.index.npy", "indptr.csc.index.npy")
Stopwords: TypeAlias = "str | list[str] | None"


def _bm25s() -> Any:
    try:
        import bm25s
    except ImportError as exc:  # pragma: no cover - bm25s is a dependency
        raise UsageError("BM25Retriever needs the bm25s package: pip install bm25s") from exc
    return bm25s


def _check_stopwords(stopwords: Any) -> Stopwords:
    if stopwords is None or isinstance(stopwords, str):
        if isinstance(stopwords, str):
            try:  # bm25s raises ValueError for a language it does not know
                _bm25s().tokenize(["x"], stopwords=stopwords, show_progress=False)
            except ValueError as exc:
                raise UsageError(
                    f"stopwords={stopwords!r} is not a language bm25s knows. Use a code such as "
                    "'en', 'de', 'fr', 'es', your own list of words, or None."
                ) from exc
        return stopwords
    if isinstance(stopwords, Sequence) and all(isinstance(w, str) for w in stopwords):
        return list(stopwords)
    raise UsageError(
        f"stopwords must be a language code ('en'), a list of words, or None; got {stopwords!r}."
    )


def _check_param(name: str, value: Any, low: float, high: float) -> float:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    if not ok or not math.isfinite(value) or not low <= value <= high:
        raise UsageError(f"{name} must be a number from {low} to {high}; got {value!r}.")
    return float(value)


class BM25Retriever(Retriever):
    """BM25 keyword search over ``corpus`` (a list of texts, a dict id -> text, or rows with
    ``"id"``/``"text"``; see :func:`~pliable.programs.retrieve.passage.normalize_corpus`).

    Args:
        stopwords: words left out of the index and of queries: a language code known to bm25s
            (``"en"``, ``"de"``, ``"fr"``, ...), a list of words, or ``None`` for none.
        k1: term-frequency saturation (usually 1.2 to 2).
        b: how much longer passages are penalised (0 to 1).
    """

    kind = "bm25"

    def __init__(
        self,
        corpus: Any,
        *,
        stopwords: str | Sequence[str] | None = "en",
        k1: float = 1.5,
        b: float = 0.75,
    ) -> None:
        self.k1 = _check_param("k1", k1, 0.0, 100.0)
        self.b = _check_param("b", b, 0.0, 1.0)
        self.stopwords = _check_stopwords(stopwords)
        self.passages: tuple[Passage, ...] = tuple(normalize_corpus(corpus))
        tokens = self._tokenize([p.text for p in self.passages])
        if not any(tokens):
            raise DataError(
                "No passage of the corpus has a word left to index (every word is a stopword "
                f"or shorter than two letters; stopwords={self._stopwords_label()}). Pass "
                "stopwords=None or longer texts.",
                source="corpus",
            )
        self._index: Any = _bm25s().BM25(k1=self.k1, b=self.b)
        self._index.index(tokens, show_progress=False)
        logger.debug("BM25 index built: %d passages, %d terms", len(self), len(self._vocab()))

    def _stopwords_label(self) -> str:
        if isinstance(self.stopwords, list):
            return f"a list of {len(self.stopwords)} words"
        return repr(self.stopwords)

    def _tokenize(self, texts: list[str]) -> list[list[str]]:
        tokens: list[list[str]] = _bm25s().tokenize(
            texts, stopwords=self.stopwords, return_ids=False, show_progress=False
        )
        return tokens

    def _vocab(self) -> dict[str, int]:
        vocab: dict[str, int] = self._index.vocab_dict
        return vocab

    def __len__(self) -> int:
        return len(self.passages)

    def search(self, query: str, k: int = 3) -> list[Passage]:
        """The ``k`` passages sharing the most (and rarest) words with ``query``, best first.

        Passages sharing no word score 0; they fill the list when fewer than ``k`` match.
        """
        check_query(query, k)
        import numpy as np

        (tokens,) = self._tokenize([query])
        ids = self._index.get_tokens_ids(tokens)
        if ids:
            scores = np.asarray(self._index.get_scores_from_ids(ids), dtype=np.float32)
        else:
            scores = np.zeros(len(self), dtype=np.float32)
        return [self.passages[i].with_score(s) for i, s in top_k(scores, k)]

    # --- saving ---------------------------------------------------------------------------------

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the passages, the index and ``retriever.json`` to the directory ``path``."""
        bm25s = _bm25s()
        directory = prepare_dir(path)
        write_passages(directory, self.passages)
        self._index.save(str(directory / _INDEX_DIR), allow_pickle=False, show_progress=False)
        settings = {
            "k1": self.k1,
            "b": self.b,
            "stopwords": self.stopwords,
            "bm25s_version": bm25s.__version__,
        }
        write_manifest(directory, self.kind, len(self), settings)
        self.path = directory
        logger.debug("BM25 retriever saved to %s", directory)
        return directory

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> BM25Retriever:
        """Load a retriever written by :meth:`save` (the index is read, not rebuilt)."""
        directory, manifest = read_manifest(path)
        if manifest["kind"] != cls.kind:
            raise UsageError(
                f"{directory} holds a {manifest['kind']!r} retriever, not a BM25 one. Load it "
                "with pl.load_retriever(path)."
            )
        return cls._from_manifest(directory, manifest)

    @classmethod
    def _from_manifest(cls, directory: Path, manifest: dict[str, Any]) -> BM25Retriever:
        manifest_path = directory / "retriever.json"
        settings, count = manifest["bm25"], manifest["count"]
        try:
            k1 = _check_param("k1", settings.get("k1"), 0.0, 100.0)
            b = _check_param("b", settings.get("b"), 0.0, 1.0)
            stopwords = _check_stopwords(settings.get("stopwords"))
        except UsageError as exc:
            raise DataError(
                f"{manifest_path}: invalid BM25 settings ({exc}). Build and save the retriever "
                "again.",
                source=str(manifest_path),
                field="bm25",
                value=settings,
            ) from exc
        passages = read_passages(directory, count)
        index = _load_index(directory / _INDEX_DIR, count)
        retriever = cls.__new__(cls)
        retriever.k1, retriever.b, retriever.stopwords = k1, b, stopwords
        retriever.passages, retriever._index, retriever.path = passages, index, directory
        logger.debug("BM25 retriever loaded from %s: %d passages", directory, count)
        return retriever


def _index_error(path: Path, problem: str) -> DataError:
    return DataError(
        f"{path}: {problem}. The saved BM25 index is damaged: build the retriever again and "
        "save it.",
        source=str(path),
    )


def _load_index(index_dir: Path, count: int) -> Any:
    """bm25s's index from ``index_dir``, checked against the passage ``count``."""
    import json

    import numpy as np

    params_path = index_dir / "params.index.json"
    try:
        params = json.loads(params_path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise _index_error(params_path, "is missing") from exc
    except (OSError, ValueError) as exc:
        raise _index_error(params_path, f"cannot be read as JSON ({exc})") from exc
    if not isinstance(params, dict) or params.get("num_docs") != count:
        found = params.get("num_docs") if isinstance(params, dict) else params
        raise _index_error(params_path, f"indexes {found!r} passages, not {count}")
    shapes: dict[str, tuple[int, ...]] = {}
    for name in _ARRAYS:
        try:  # the header only: shape and dtype, never an object array
            array = np.load(index_dir / name, mmap_mode="r", allow_pickle=False)
        except FileNotFoundError as exc:
            raise _index_error(index_dir / name, "is missing") from exc
        except (OSError, ValueError) as exc:
            raise _index_error(index_dir / name, f"is not a valid .npy array ({exc})") from exc
        if not isinstance(array, np.ndarray) or array.ndim != 1 or array.dtype.kind not in "iuf":
            raise _index_error(index_dir / name, "is not a one-dimensional array of numbers")
        shapes[name] = array.shape
    if shapes["data.csc.index.npy"] != shapes["indices.csc.index.npy"]:
        raise _index_error(index_dir, "its data and indices arrays differ in length")
    try:
        index = _bm25s().BM25.load(
            str(index_dir), load_corpus=False, mmap=False, allow_pickle=False, show_progress=False
        )
    except (OSError, ValueError, TypeError, KeyError) as exc:
        raise _index_error(index_dir, f"cannot be loaded by bm25s ({exc})") from exc
    n_terms = shapes["indptr.csc.index.npy"][0]
    if any(not isinstance(v, int) or not 0 <= v < n_terms for v in index.vocab_dict.values()):
        raise _index_error(index_dir / "vocab.index.json", "does not match the index arrays")
    return index
