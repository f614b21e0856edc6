"""Text embedders: turn texts into unit-length vectors, for nearest-neighbour demo selection.

    emb = LocalEmbedder()                                  # llama.cpp on the packaged SmolLM2
    emb = LiteLLMEmbedder("openai/text-embedding-3-small")   # any litellm embedding model
    emb = FunctionEmbedder(my_fn, name="letters")           # your own code (tests)

    vectors = emb.embed(["a sentence", "another one"])    # float32, shape (2, d), rows of norm 1

An embedder is anything with a ``name`` (saved with a compiled program, so it can be rebuilt)
and ``embed(texts)``; see :class:`Embedder`. Rows are L2-normalised, so a dot product is the
cosine similarity. numpy, llama.cpp and litellm are imported only when a vector is made.
"""

from __future__ import annotations

import atexit
import os
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, Literal, Protocol, runtime_checkable

from pliable.errors import ConfigurationError, LMError, UsageError

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

__all__ = [
    "Embedder",
    "FunctionEmbedder",
    "LiteLLMEmbedder",
    "LocalEmbedder",
    "embedder_kind",
    "l2_normalize",
    "make_embedder",
]


@runtime_checkable
class Embedder(Protocol):
    """What KNN demo selection needs from an embedder.

    ``name`` identifies the embedding model (vectors from embedders with different names are
    not comparable). ``embed(texts)`` returns a float32 array of shape ``(len(texts), d)``
    whose rows have norm 1 (a zero row is allowed for a text with no features). It may be
    called from several threads at once.
    """

    name: str

    def embed(self, texts: Sequence[str]) -> NDArray[np.float32]: ...


def l2_normalize(vectors: Any) -> NDArray[np.float32]:
    """``vectors`` as a float32 matrix whose non-zero rows are scaled to norm 1."""
    import numpy as np

    matrix = np.array(vectors, dtype=np.float32, copy=True)
    if matrix.ndim == 1:
        matrix = matrix.reshape(1, -1) if matrix.size else matrix.reshape(0, 0)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    matrix /= norms
    return matrix


def checked_vectors(vectors: Any, count: int, who: str) -> NDArray[np.float32]:
    """Validate an embedder's raw output (``count`` rows, finite) and normalise it."""
    import numpy as np

    try:
        matrix = np.asarray(vectors, dtype=np.float32)
    except (TypeError, ValueError) as exc:
        raise UsageError(
            f"{who} returned something that is not a matrix of numbers ({exc})."
        ) from exc
    if count == 0 and matrix.size == 0:
        return np.zeros((0, matrix.shape[-1] if matrix.ndim == 2 else 0), dtype=np.float32)
    if matrix.ndim != 2 or matrix.shape[0] != count or matrix.shape[1] == 0:
        raise UsageError(
            f"{who} returned an array of shape {matrix.shape} for {count} texts; expected "
            f"({count}, d): one vector of d > 0 numbers per text."
        )
    if not np.isfinite(matrix).all():
        raise UsageError(f"{who} returned NaN or infinite values.")
    return l2_normalize(matrix)


class FunctionEmbedder:
    """An embedder backed by your function: ``fn(texts) -> array-like of shape (n, d)``.

    The output is checked and L2-normalised. ``name`` defaults to ``"function:<qualname>"``;
    give a stable name when the embedding is saved with a compiled program.
    """

    def __init__(
        self, fn: Callable[[list[str]], Any], *, name: str | None = None, dimension: int = 0
    ) -> None:
        if not callable(fn):
            raise UsageError(f"FunctionEmbedder needs a function of the texts; got {fn!r}.")
        self.fn = fn
        self.name = name or f"function:{getattr(fn, '__qualname__', type(fn).__name__)}"
        self._dimension = dimension

    def embed(self, texts: Sequence[str]) -> NDArray[np.float32]:
        items = list(texts)
        if not items:
            import numpy as np

            return np.zeros((0, self._dimension), dtype=np.float32)
        return checked_vectors(self.fn(items), len(items), f"FunctionEmbedder {self.name!r}")

    def __repr__(self) -> str:
        return f"FunctionEmbedder(name={self.name!r})"

    def __deepcopy__(self, memo: dict[int, Any]) -> FunctionEmbedder:
        return self  # shared, like an LM


# --- llama.cpp ---------------------------------------------------------------------------------


class _EmbeddingEngine:
    """A llama.cpp model loaded in embedding mode (mean pooling) and the lock for its use.

    It is never the instance a ``LocalLM`` generates with: embedding mode needs its own
    context, and the two would otherwise clobber each other's KV cache.
    """

    def __init__(self, path: Path, n_ctx: int, n_threads: int, repack: bool | None) -> None:
        from pliable.lm import local

        llama_cpp = local._import_llama_cpp()  # sets OMP_WAIT_POLICY before llama.cpp loads
        # LocalLM's lock: held while process-wide llama.cpp state changes, as LocalLM does.
        with local._registry_lock:
            self.llama: Any = local._load_llama(
                path,
                n_threads,
                repack,
                embedding=True,
                pooling_type=llama_cpp.LLAMA_POOLING_TYPE_MEAN,
                n_ctx=n_ctx,
                n_batch=n_ctx,
                n_ubatch=n_ctx,
            )
        self.lock = threading.Lock()
        self.dimension = int(self.llama.n_embd())


_engines: dict[tuple[str, int, int, bool | None], _EmbeddingEngine] = {}
_engines_lock = threading.Lock()


def _close_engines() -> None:
    """Free the models at exit, while llama.cpp's bindings still exist (a model freed during
    interpreter teardown prints an ignored exception)."""
    with _engines_lock:
        for engine in _engines.values():
            with engine.lock:
                engine.llama.close()
        _engines.clear()


class LocalEmbedder:
    """Embeddings from a local GGUF model run by llama.cpp in this process (no network).

    The model's last hidden states are mean-pooled over the text's tokens and L2-normalised.
    SmolLM2-135M is a chat model, not a trained sentence encoder: its vectors rank texts on
    the same topic above unrelated ones, which is what demo selection needs, but they are no
    match for a dedicated embedding model (use :class:`LiteLLMEmbedder` for one).

    Args:
        model: ``"local/smollm2"`` (default), ``"local/gemma3-270m"`` or ``"local/<path>.gguf"``.
        n_ctx: the longest text, in tokens; longer texts are cut to it.
        n_threads: CPU threads (default: ``os.cpu_count()``).
        weight_repacking: as for :class:`~pliable.lm.local.LocalLM`.

    One model is loaded per file and settings, shared by every ``LocalEmbedder`` using it
    (never by a ``LocalLM``); a lock serializes its use, so any thread may call :meth:`embed`.
    """

    def __init__(
        self,
        model: str = "local/smollm2",
        *,
        n_ctx: int = 2048,
        n_threads: int | None = None,
        weight_repacking: bool | None = None,
    ) -> None:
        from pliable.lm.packaged import DEFAULT_LOCAL_MODEL, resolve_local_model

        self.model = DEFAULT_LOCAL_MODEL if model in ("local", "local/") else model
        self.name = self.model
        self.path = resolve_local_model(self.model)
        self.n_ctx = n_ctx
        self.n_threads = n_threads or os.cpu_count() or 1
        self.weight_repacking = weight_repacking
        self._engine: _EmbeddingEngine | None = None

    def _loaded(self) -> _EmbeddingEngine:
        if self._engine is None:
            key = (str(self.path.resolve()), self.n_ctx, self.n_threads, self.weight_repacking)
            with _engines_lock:
                if key not in _engines:
                    if not _engines:
                        atexit.register(_close_engines)
                    _engines[key] = _EmbeddingEngine(self.path, *key[1:])
                self._engine = _engines[key]
        return self._engine

    def load(self) -> LocalEmbedder:
        """Load the model now (otherwise the first :meth:`embed` does). Returns ``self``."""
        self._loaded()
        return self

    @property
    def dimension(self) -> int:
        """The length of the vectors (loads the model)."""
        return self._loaded().dimension

    def embed(self, texts: Sequence[str]) -> NDArray[np.float32]:
        items = [str(t) for t in texts]
        engine = self._loaded()
        if not items:
            import numpy as np

            return np.zeros((0, engine.dimension), dtype=np.float32)
        with engine.lock:
            try:
                vectors = engine.llama.embed(items, normalize=False, truncate=True)
            except (RuntimeError, ValueError) as exc:
                raise LMError(f"llama.cpp could not embed the texts: {exc}") from exc
        return checked_vectors(vectors, len(items), f"LocalEmbedder({self.model!r})")

    def __repr__(self) -> str:
        return f"LocalEmbedder({self.model!r})"

    def __deepcopy__(self, memo: dict[int, Any]) -> LocalEmbedder:
        return self  # a loaded model is a shared resource


# --- litellm -----------------------------------------------------------------------------------


def _litellm_module() -> ModuleType:
    """litellm, imported (and quietened) on first use; tests replace this function."""
    from pliable.lm.litellm_backend import _litellm

    return _litellm()


def _field(item: Any, key: str) -> Any:
    return item[key] if isinstance(item, dict) else getattr(item, key)


class LiteLLMEmbedder:
    """Embeddings from any provider litellm supports, e.g. ``"openai/text-embedding-3-small"``.

    Texts are sent ``batch_size`` at a time. Extra keyword arguments (``api_key``,
    ``api_base``, ``dimensions``, ...) go to every ``litellm.embedding`` call; they are never
    saved or shown. Provider failures raise :class:`~pliable.errors.ProviderError` subclasses.
    """

    def __init__(self, model: str, *, batch_size: int = 128, **options: Any) -> None:
        if not model or not isinstance(model, str):
            raise UsageError(f"LiteLLMEmbedder needs a model name; got {model!r}.")
        if batch_size < 1:
            raise UsageError(f"batch_size must be >= 1; got {batch_size}.")
        self.model = model
        self.name = model
        self.batch_size = batch_size
        self._options = dict(options)

    def embed(self, texts: Sequence[str]) -> NDArray[np.float32]:
        items = [str(t) for t in texts]
        if not items:
            import numpy as np

            return np.zeros((0, 0), dtype=np.float32)
        from pliable.lm.litellm_backend import map_provider_error

        litellm = _litellm_module()
        rows: list[Any] = []
        for start in range(0, len(items), self.batch_size):
            chunk = items[start : start + self.batch_size]
            try:
                response = litellm.embedding(model=self.model, input=chunk, **self._options)
            except Exception as exc:  # litellm raises many kinds; keep the provider's message
                raise map_provider_error(exc, self.model) from exc
            data = list(_field(response, "data"))
            if len(data) != len(chunk):
                raise LMError(
                    f"{self.model} returned {len(data)} embeddings for {len(chunk)} texts."
                )
            if all(_has_index(d) for d in data):
                data.sort(key=lambda d: int(_field(d, "index")))
            rows.extend(_field(d, "embedding") for d in data)
        return checked_vectors(rows, len(items), f"LiteLLMEmbedder({self.model!r})")

    def __repr__(self) -> str:  # never shows the options (they may hold a key)
        return f"LiteLLMEmbedder({self.model!r})"

    def __deepcopy__(self, memo: dict[int, Any]) -> LiteLLMEmbedder:
        return self


def _has_index(item: Any) -> bool:
    try:
        return _field(item, "index") is not None
    except (KeyError, AttributeError):
        return False


# --- saving ------------------------------------------------------------------------------------


def embedder_kind(embedder: Embedder) -> Literal["local", "litellm", "custom"]:
    """How a saved embedder is rebuilt: ``"local"``, ``"litellm"`` or ``"custom"`` (by you)."""
    if isinstance(embedder, LocalEmbedder):
        return "local"
    if isinstance(embedder, LiteLLMEmbedder):
        return "litellm"
    return "custom"


def make_embedder(kind: str, name: str) -> Embedder:
    """Rebuild a saved embedder from its kind and name (a custom one cannot be)."""
    if kind == "local":
        return LocalEmbedder(name)
    if kind == "litellm":
        return LiteLLMEmbedder(name)
    raise ConfigurationError(
        f"The embedder {name!r} was your own ({kind}); it cannot be rebuilt from its name. "
        "Pass it when loading: embedder=..."
    )
