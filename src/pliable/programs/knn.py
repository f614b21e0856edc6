"""``KNNProgram``: a program whose demos are chosen per input by embedding similarity, with
its saved state (:mod:`pliable.optimizers.knn_few_shot` is the optimizer that builds it)."""

from __future__ import annotations

import copy
import inspect
import json
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from pliable.compiled.io import validation_problems
from pliable.compiled.kinds import register_program_kind
from pliable.data.example import Example
from pliable.errors import CompiledFileError, ConfigurationError, PliableError, UsageError
from pliable.lm.embeddings import Embedder, checked_vectors, embedder_kind, make_embedder
from pliable.programs.knn_state import KNNState
from pliable.programs.module import Module, Wrapper, copy_structure
from pliable.programs.predict import Predict
from pliable.programs.retrieve.base import top_k
from pliable.programs.tracing import Trace, _active

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

    from pliable.data.example import Prediction
    from pliable.lm.types import Message

__all__ = ["KNNProgram", "KNNState"]

logger = logging.getLogger(__name__)
_QUERY_CACHE_SIZE = 1024  # input vectors kept per program (a repeated input is not re-embedded)


# --- saved state -------------------------------------------------------------------------------


# --- helpers -----------------------------------------------------------------------------------


def _as_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    from pliable.adapters.values import to_jsonable

    return json.dumps(to_jsonable(value), ensure_ascii=False, sort_keys=True, default=str)


def _input_fields_of(examples: Sequence[Example]) -> tuple[str, ...]:
    """The input fields of ``examples``, in the order they first appear."""
    seen: dict[str, None] = {}
    for ex in examples:
        keys = ex.input_keys or frozenset()
        for name in ex:
            if name in keys:
                seen.setdefault(name, None)
    return tuple(seen)


def _nearest(sims: NDArray[np.float32], candidates: NDArray[np.intp], k: int) -> list[int]:
    """The ``k`` candidates (ascending indexes) of highest similarity, best first; ties to
    the lower index."""
    if k <= 0 or candidates.size == 0:
        return []
    scores = sims[candidates] if candidates.size < sims.size else sims
    return [int(candidates[i]) for i, _ in top_k(scores, k)]


@contextmanager
def _retraced(originals: Mapping[int, Predict]) -> Iterator[None]:
    """Record the block's predictor calls in the active traces as calls of ``originals``."""
    outer = _active.get()
    if not outer:
        yield
        return
    inner = Trace()
    token = _active.set((inner,))
    try:
        yield
    finally:
        _active.reset(token)
        for entry in inner.entries:
            mapped = entry._replace(predictor=originals.get(id(entry.predictor), entry.predictor))
            for t in outer:
                t.append(mapped)


# --- the compiled program ----------------------------------------------------------------------


class KNNProgram(Wrapper):
    """``program`` run with per-call demos: the ``k`` nearest examples of ``trainset``.

    Args:
        program: the program to run (used as a template; its predictors' own demos are
            replaced on every call, never written).
        trainset: the pool of examples, with their inputs marked.
        embedder: embeds the pool (once, on first use or :meth:`pool_embeddings`) and each
            call's inputs.
        k: demos per predictor per call (exactly ``min(k, len(trainset))`` when every example
            fits the predictor).
        input_fields: the fields embedded, in this order (default: the trainset's inputs).
        embeddings: the pool's vectors, if already known (shape ``(len(trainset), d)``).

    Its predictors, as named by :meth:`named_predictors`, are ``program``'s.
    """

    def __init__(
        self,
        program: Module,
        trainset: Sequence[Example],
        embedder: Embedder,
        *,
        k: int,
        input_fields: Sequence[str] | None = None,
        embeddings: Any = None,
    ) -> None:
        if isinstance(program, KNNProgram):
            raise UsageError("KNNProgram: the program is already a KNNProgram.")
        if not isinstance(program, Module):
            raise UsageError(f"KNNProgram needs a pl.Module to run; got {program!r}.")
        if isinstance(k, bool) or not isinstance(k, int) or k < 0:
            raise UsageError(f"KNNProgram: k must be an integer >= 0; got {k!r}.")
        self.program = program
        self.examples: tuple[Example, ...] = tuple(trainset)
        self.embedder = embedder
        self.k = k
        self.input_fields: tuple[str, ...] = (
            tuple(input_fields) if input_fields is not None else _input_fields_of(self.examples)
        )
        self._lock = threading.Lock()
        self._fits: dict[str, tuple[Any, NDArray[np.intp]]] = {}
        self._queries: OrderedDict[str, NDArray[np.float32]] = OrderedDict()
        self._queries_lock = threading.Lock()
        self._embeddings: NDArray[np.float32] | None = None
        if embeddings is not None:
            self._embeddings = self._pool_matrix(embeddings)

    # --- embeddings ---
    def _pool_matrix(self, vectors: Any) -> NDArray[np.float32]:
        matrix = checked_vectors(vectors, len(self.examples), f"embedder {self.embedder.name!r}")
        matrix.setflags(write=False)
        return matrix

    def text_of(self, values: Mapping[str, Any]) -> str:
        """The text embedded for ``values``: its input fields as ``name: value`` lines."""
        return "\n".join(f"{n}: {_as_text(values[n])}" for n in self.input_fields if n in values)

    def pool_embeddings(self) -> NDArray[np.float32]:
        """The trainset's vectors (read-only), embedded in one batch on first use."""
        if self._embeddings is None:
            with self._lock:
                if self._embeddings is None:
                    texts = [self.text_of(ex) for ex in self.examples]
                    self._embeddings = self._pool_matrix(
                        self.embedder.embed(texts) if texts else []
                    )
        return self._embeddings

    def _query_vector(self, text: str) -> NDArray[np.float32]:
        with self._queries_lock:
            hit = self._queries.get(text)
            if hit is not None:
                self._queries.move_to_end(text)
                return hit
        matrix = checked_vectors(self.embedder.embed([text]), 1, f"embedder {self.embedder.name!r}")
        vector: NDArray[np.float32] = matrix[0]
        vector.setflags(write=False)
        with self._queries_lock:
            self._queries[text] = vector
            if len(self._queries) > _QUERY_CACHE_SIZE:
                self._queries.popitem(last=False)
        return vector

    def _fitting(self, name: str, predictor: Predict) -> NDArray[np.intp]:
        """Indexes of the pool examples that can be demos of ``predictor`` (cached)."""
        cached = self._fits.get(name)
        if cached is not None and cached[0] is predictor.signature:
            return cached[1]
        import numpy as np

        fits = [i for i, ex in enumerate(self.examples) if predictor.accepts_demo(ex)]
        indexes = np.array(fits, dtype=np.intp)
        self._fits[name] = (predictor.signature, indexes)
        return indexes

    def fitting_counts(self) -> dict[str, int]:
        """How many pool examples fit each predictor."""
        return {n: int(self._fitting(n, p).size) for n, p in self.named_predictors()}

    def demos_for(self, /, **inputs: Any) -> dict[str, list[Example]]:
        """The demos each predictor gets for a call with ``inputs``, by predictor name."""
        named = self.named_predictors()
        want = min(self.k, len(self.examples))
        if want == 0:
            return {name: [] for name, _ in named}
        if self.input_fields and not any(n in inputs for n in self.input_fields):
            raise UsageError(
                f"KNNProgram finds neighbours by the inputs {list(self.input_fields)}, and the "
                f"call gave none of them (got {sorted(inputs) or 'none'}). Pass them by name, "
                "or compile with input_fields=[...] naming the inputs the program is called with."
            )
        import numpy as np

        pool = self.pool_embeddings()
        query = self._query_vector(self.text_of(inputs))
        if query.shape[0] != pool.shape[1]:
            raise ConfigurationError(
                f"The embedder {self.embedder.name!r} made a {query.shape[0]}-number vector for "
                f"the input but the trainset's vectors have {pool.shape[1]}: they come from "
                "different embedding models. Use the embedder the program was compiled with."
            )
        # einsum, not BLAS: a multi-threaded gemv per call from a pool of worker threads
        # slows down by 10x and more as soon as the CPU is busy.
        sims = np.einsum("ij,j->i", pool, query)
        return {
            name: [self.examples[i] for i in _nearest(sims, self._fitting(name, p), want)]
            for name, p in named
        }

    # --- calls ---
    def _named_inputs(self, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> dict[str, Any]:
        """The call's inputs by name (positional arguments named by ``program.forward``)."""
        if not args:
            return dict(kwargs)
        try:
            bound = inspect.signature(self.program.forward).bind(*args, **kwargs)
        except (TypeError, ValueError):
            return dict(kwargs)  # the program's own call will report the mistake
        named: dict[str, Any] = {}
        for name, value in bound.arguments.items():
            kind = bound.signature.parameters[name].kind
            if kind is inspect.Parameter.VAR_KEYWORD:
                named.update(value)
            elif kind is not inspect.Parameter.VAR_POSITIONAL:
                named[name] = value
        return named

    def with_demos(self, demos: Mapping[str, list[Example]]) -> Module:
        """A light copy of the program whose predictors have ``demos`` (by name)."""
        return self._instance(demos)[0]

    def _instance(self, demos: Mapping[str, list[Example]]) -> tuple[Module, dict[int, Predict]]:
        named = self.named_predictors()
        wanted = {id(p): list(demos.get(name, [])) for name, p in named}
        memo: dict[int, Any] = {}
        instance: Module = copy_structure(self.program, memo)
        for key, chosen in wanted.items():
            if key in memo:
                memo[key].demos = chosen
        originals = {id(memo[id(p)]): p for _, p in named if id(p) in memo}
        return instance, originals

    def forward(self, *args: Any, **kwargs: Any) -> Prediction:
        demos = self.demos_for(**self._named_inputs(args, kwargs))
        instance, originals = self._instance(demos)
        with _retraced(originals):
            return instance(*args, **kwargs)

    async def aforward(self, *args: Any, **kwargs: Any) -> Prediction:
        from pliable._async import to_thread

        demos = await to_thread(self.demos_for, **self._named_inputs(args, kwargs))
        instance, originals = self._instance(demos)
        with _retraced(originals):
            return await instance.acall(*args, **kwargs)

    def render(
        self, predictor: str | None = None, /, lm: Any = None, **inputs: Any
    ) -> list[Message]:
        """The exact messages a predictor would send for ``inputs``, with their KNN demos."""
        return self.with_demos(self.demos_for(**inputs)).render(predictor, lm, **inputs)

    # --- copying and saving ---
    def __deepcopy__(self, memo: dict[int, Any]) -> KNNProgram:
        new = copy.copy(self)
        memo[id(self)] = new
        new.program = copy.deepcopy(self.program, memo)
        new._lock = threading.Lock()
        new._fits = {}
        new._queries = OrderedDict()
        new._queries_lock = threading.Lock()
        return new  # the pool, its (read-only) vectors and the embedder are shared

    def __repr__(self) -> str:
        inner = "\n".join("  " + line for line in repr(self.program).splitlines())
        return (
            f"KNNProgram(k={self.k}, pool={len(self.examples)}, "
            f"embedder={self.embedder.name!r},\n{inner}\n)"
        )

    def dump_knn_state(self, *, include_embeddings: bool = False) -> KNNState:
        """The KNN part of the compiled file (JSON-able): k, fields, embedder and pool.

        The pool's vectors are included only with ``include_embeddings`` (they are large;
        without them, loading embeds the pool again on first use).
        """
        from pliable.adapters.values import to_jsonable

        state: KNNState = {
            "k": self.k,
            "input_fields": list(self.input_fields),
            "embedder": {"kind": embedder_kind(self.embedder), "name": self.embedder.name},
            "pool": [
                {"values": to_jsonable(dict(ex)), "inputs": sorted(ex.input_keys or ())}
                for ex in self.examples
            ],
            "embeddings": None,
        }
        if include_embeddings:
            import base64

            matrix = self.pool_embeddings()
            state["embeddings"] = {
                "dtype": "float32",
                "dimension": int(matrix.shape[1]) if matrix.ndim == 2 else 0,
                "base64": base64.b64encode(matrix.astype("<f4").tobytes()).decode("ascii"),
            }
        return state

    @classmethod
    def from_knn_state(
        cls,
        program: Module,
        state: Mapping[str, Any],
        *,
        embedder: Embedder | None = None,
    ) -> KNNProgram:
        """Rebuild a KNN program around ``program`` (its predictors already loaded).

        ``embedder`` replaces the saved one (needed when it was a custom embedder). Saved
        vectors are used only when the embedder has the saved name. Pool values are read back
        as their fields' types in the program's signatures.
        """
        import base64

        from pydantic import TypeAdapter, ValidationError

        from pliable.adapters.values import coerce

        try:
            parsed = TypeAdapter(KNNState).validate_python(dict(state), strict=True)
        except ValidationError as exc:
            problems = validation_problems(exc)
            raise CompiledFileError(f"Invalid KNN state: {problems}.") from exc
        extra = sorted(set(state) - set(KNNState.__annotations__))
        if extra:
            raise CompiledFileError(f"Invalid KNN state: unknown keys {extra}.")
        if not 0 <= parsed["k"] <= 10_000:
            raise CompiledFileError(
                f"Invalid KNN state: k must be from 0 to 10000; got {parsed['k']}."
            )
        saved = parsed["embedder"]
        if embedder is None:
            from pliable.programs.predictor_state import check_model_name

            if saved["kind"] == "custom":
                raise CompiledFileError(
                    f"the KNN program was compiled with your own embedder "
                    f"{saved['name'][:60]!r}: pass it as pl.load(path, embedder=...)."
                )
            check_model_name(saved["name"], "knn.embedder.name")
        try:
            chosen = embedder or make_embedder(saved["kind"], saved["name"])
        except PliableError as exc:
            raise CompiledFileError(f"cannot rebuild the KNN embedder: {exc}") from exc
        annotations: dict[str, Any] = {}
        for _, predictor in program.named_predictors():
            for name, field in predictor.signature.fields.items():
                annotations.setdefault(name, field.annotation)
        pool: list[Example] = []
        for index, item in enumerate(parsed["pool"]):
            values: dict[str, Any] = {}
            for key, value in item["values"].items():
                annotation = annotations.get(key, str)
                if annotation is str or annotation is Any:
                    values[key] = value
                    continue
                try:
                    values[key] = coerce(annotation, value)
                except (ValueError, TypeError, PliableError) as exc:
                    raise CompiledFileError(
                        f"KNN pool example {index}: field `{key}` = {value!r} does not fit its "
                        f"type ({exc})."
                    ) from exc
            missing = [n for n in item["inputs"] if n not in values]
            if missing:
                raise CompiledFileError(
                    f"KNN pool example {index}: inputs {missing} are not among its values."
                )
            pool.append(Example(values).with_inputs(*item["inputs"]))
        vectors: Any = None
        stored = parsed.get("embeddings")
        if stored is not None and chosen.name == saved["name"]:
            import numpy as np

            try:
                raw = np.frombuffer(base64.b64decode(stored["base64"], validate=True), dtype="<f4")
            except ValueError as exc:
                raise CompiledFileError(
                    f"KNN embeddings are not valid base64 float32: {exc}"
                ) from exc
            dim = stored["dimension"]
            if dim <= 0 and raw.size == 0 and not pool:
                vectors = np.zeros((0, 0), dtype=np.float32)
            elif dim <= 0 or raw.size != len(pool) * dim:
                raise CompiledFileError(
                    f"KNN embeddings hold {raw.size} numbers; expected {len(pool)} x {dim}."
                )
            else:
                vectors = raw.reshape(len(pool), dim).astype(np.float32)
        elif stored is not None:
            logger.info(
                "KNN state: saved vectors are from %r, not %r; the pool is embedded again",
                saved["name"],
                chosen.name,
            )
        try:
            return cls(
                program,
                pool,
                chosen,
                k=parsed["k"],
                input_fields=parsed["input_fields"],
                embeddings=vectors,
            )
        except PliableError as exc:
            raise CompiledFileError(f"cannot rebuild the KNN program: {exc}") from exc

    # --- compiled state ---
    def extra_state(self) -> dict[str, Any]:
        from pliable.compiled.kinds import kind_name

        inner = self.program
        name = kind_name(inner) or f"{type(inner).__module__}:{type(inner).__qualname__}"
        return {**inner.extra_state(), "knn": {**self.dump_knn_state(), "program": name}}

    def prepare_extra_state(
        self, state: Mapping[str, Any], *, lm: Any = None, **context: Any
    ) -> Callable[[], None]:
        knn = state.get("knn")
        if not isinstance(knn, Mapping):
            raise CompiledFileError("a KNN program's file needs its 'knn' object; it has none.")
        inner = self.program.prepare_extra_state(state, lm=lm, **context)
        knn_state = {k: v for k, v in knn.items() if k != "program"}
        rebuilt = type(self).from_knn_state(
            self.program, knn_state, embedder=context.get("embedder")
        )

        def apply() -> None:
            inner()
            self.examples, self.embedder, self.k = rebuilt.examples, rebuilt.embedder, rebuilt.k
            self.input_fields = rebuilt.input_fields
            self._embeddings, self._fits = rebuilt._embeddings, {}
            self._queries = OrderedDict()

        return apply

    @classmethod
    def from_state(
        cls, state: Mapping[str, Any], /, *, lm: Any = None, **context: Any
    ) -> KNNProgram:
        """Rebuild from a compiled file's state: the wrapped program (a registered kind,
        named in the ``knn`` section) and the pool. ``embedder=`` replaces the saved one."""
        from pliable.compiled.kinds import program_kind

        knn = state.get("knn") if isinstance(state, Mapping) else None
        if not isinstance(knn, Mapping):
            raise CompiledFileError("a KNN program's file needs its 'knn' object; it has none.")
        name = knn.get("program")
        inner_cls = program_kind(name) if isinstance(name, str) else None
        if inner_cls is None or issubclass(inner_cls, Wrapper):
            raise CompiledFileError(
                f"knn.program is {str(name)[:80]!r}, which is not a registered program kind "
                "(a compiled file never makes pliable import code it names). Register it with "
                "pl.register_program_kind(name, cls), or fill a KNN program you built: "
                "knn_program.load(path)."
            )
        inner_state = {k: v for k, v in state.items() if k != "knn"}
        knn_state = {k: v for k, v in knn.items() if k != "program"}
        inner = inner_cls.from_state(inner_state, lm=lm, **context)
        return cls.from_knn_state(inner, knn_state, embedder=context.get("embedder"))


register_program_kind("pliable.KNNProgram", KNNProgram)


# --- the optimizer -----------------------------------------------------------------------------
