"""The saved state of a KNN program: k, input fields, embedder and the demo pool (JSON-able)."""

from __future__ import annotations

from typing import Any, Literal

from typing_extensions import NotRequired, TypedDict

__all__ = ["KNNEmbedderRef", "KNNPoolItem", "KNNState", "KNNVectors"]


class KNNEmbedderRef(TypedDict):
    """The embedder: rebuilt from its name for ``local`` and ``litellm``; ``custom`` is yours."""

    kind: Literal["local", "litellm", "custom"]
    name: str


class KNNPoolItem(TypedDict):
    """One trainset example: its values and which of them are inputs."""

    values: dict[str, Any]
    inputs: list[str]


class KNNVectors(TypedDict):
    """The pool's embeddings: little-endian float32 rows, ``len(pool) * dimension`` values."""

    dtype: Literal["float32"]
    dimension: int
    base64: str


class KNNState(TypedDict):
    """What a compiled KNN program needs besides its predictors (see ``dump_knn_state``)."""

    k: int
    input_fields: list[str]
    embedder: KNNEmbedderRef
    pool: list[KNNPoolItem]
    embeddings: NotRequired[KNNVectors | None]
