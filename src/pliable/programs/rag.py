"""Retrieval-augmented programs: ``RAG`` (retrieve, then answer) and ``MultiHopQA`` (a query
per hop from the question and the notes so far, retrieve, collect notes, then answer).

Both are ordinary modules whose predictors optimizers compile as a whole: bootstrapping keeps
the demos of every stage from the same successful runs, and instruction optimizers rewrite
each stage's instruction. Their compiled JSON records how to rebuild them (``config()``), and
``pl.load(path)`` restores them without your code, reloading the retriever from the folder it
was saved to (``retriever.save(dir)`` before compiling), or from ``pl.load(path,
retriever=...)``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pliable.compiled.kinds import register_program_kind
from pliable.data.example import Prediction
from pliable.errors import CompiledFileError, PliableError, UsageError
from pliable.programs.module import Module
from pliable.programs.predict import ChainOfThought, Predict
from pliable.programs.retrieve.base import Retriever, load_retriever
from pliable.programs.retrieve.module import Retrieve
from pliable.signatures import InputField, Signature, ensure_signature

__all__ = ["RAG", "MultiHopQA"]


def _answer_signature(signature: str | type[Signature], context: str) -> type[Signature]:
    sig = ensure_signature(signature)
    if context in sig.fields:
        raise UsageError(
            f"The signature already has a field named {context!r}; the program adds it. "
            f"Rename that field. Signature: {sig.signature_string()}"
        )
    if len(sig.input_fields) < 1:
        raise UsageError(f"The signature needs an input field to search with: {sig}.")
    return sig.prepend(context, InputField(desc="passages that may hold the answer"), list[str])


def _retriever_from(config: Mapping[str, Any], retriever: Retriever | None) -> Retriever | None:
    if retriever is not None:
        return retriever
    reference = config.get("retriever")
    if reference is None:
        return None
    if not isinstance(reference, Mapping) or set(reference) - {"kind", "path"}:
        raise UsageError(
            "program_config.retriever must be {'kind': ..., 'path': ...}; got "
            f"{str(reference)[:60]!r}."
        )
    path = reference.get("path")
    if not isinstance(path, str) or path.startswith(("//", "\\\\")) or "\0" in path:
        raise UsageError(
            f"program_config.retriever.path = {str(path)[:80]!r} must be a local folder path. "
            "Pass the retriever yourself: pl.load(path, retriever=...)."
        )
    # the one path a compiled file may name: a saved retriever's folder, read as data (no
    # pickle); an embedder its manifest names must be a model name, never a path
    return load_retriever(reference, named_by_file=True)


class _Retrieving(Module):
    """What ``RAG`` and ``MultiHopQA`` share: their settings are a compiled-file section
    (``program_config``) that rebuilds them, with the retriever read from the folder it
    names unless you pass ``retriever=``."""

    def config(self) -> dict[str, Any]:
        raise NotImplementedError

    @classmethod
    def from_config(
        cls, config: Mapping[str, Any], *, retriever: Retriever | None = None
    ) -> Module:
        raise NotImplementedError

    def extra_state(self) -> dict[str, Any]:
        return {"program_config": self.config()}

    def comparable(self, section: str, value: Any) -> Any:
        # the retriever is whichever you gave this program: the file's folder may differ
        if not isinstance(value, Mapping):
            return value
        return {k: v for k, v in value.items() if k != "retriever"}

    @classmethod
    def from_state(cls, state: Mapping[str, Any], /, *, lm: Any = None, **context: Any) -> Module:
        config = state.get("program_config") if isinstance(state, Mapping) else None
        if not isinstance(config, Mapping):
            raise CompiledFileError(
                f"a {cls.__name__} file needs its 'program_config' object; it has none."
            )
        try:
            program = cls.from_config(config, retriever=context.get("retriever"))
        except (PliableError, KeyError, TypeError, ValueError, OSError) as exc:
            raise CompiledFileError(f"cannot rebuild the {cls.__name__}: {exc}") from exc
        program.load_state(state, lm=lm)
        return program


def _known_keys(config: Mapping[str, Any], keys: set[str]) -> None:
    unknown = sorted(str(k)[:40] for k in set(config) - keys)
    if unknown:
        raise UsageError(f"program_config has unknown key(s) {unknown}; it has {sorted(keys)}.")


_MAX_SETTING = 1000  # k, hops: a file sets how many searches and LM calls a question costs


def _setting(config: Mapping[str, Any], name: str, default: Any, kind: type) -> Any:
    value = config.get(name, default)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise UsageError(f"program_config.{name} must be {kind.__name__}; got {str(value)[:40]!r}.")
    if isinstance(value, int) and kind is int and not 1 <= value <= _MAX_SETTING:
        raise UsageError(f"program_config.{name} = {value} must be from 1 to {_MAX_SETTING}.")
    return value


def _checked_positive(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise UsageError(f"{name} must be a whole number >= 1; got {value!r}.")
    return value


class RAG(_Retrieving):
    """Retrieve ``k`` passages for the first input field, then answer with them as context.

    Args:
        signature: the task, e.g. ``"question -> answer"``; a ``context`` input is added.
        retriever: a :class:`~pliable.programs.retrieve.Retriever` (BM25 or embeddings).
        k: passages per question.
        reasoning: answer with :class:`~pliable.ChainOfThought` (default) or ``Predict``.
    """

    def __init__(
        self,
        signature: str | type[Signature] = "question -> answer",
        *,
        retriever: Retriever | None = None,
        k: int = 3,
        reasoning: bool = True,
    ) -> None:
        self.signature = ensure_signature(signature)
        self.k = _checked_positive("k", k)
        self.reasoning = reasoning
        self.retrieve = Retrieve(k=self.k, retriever=retriever)
        answer_sig = _answer_signature(self.signature, "context")
        self.answer = ChainOfThought(answer_sig) if reasoning else Predict(answer_sig)

    def forward(self, **inputs: Any) -> Prediction:
        query_field = next(iter(self.signature.input_fields))
        passages = self.retrieve(str(inputs.get(query_field, ""))).passages
        pred = self.answer(context=[p.text for p in passages], **inputs)
        return Prediction(**dict(pred), passages=passages)

    def config(self) -> dict[str, Any]:
        retriever = self.retrieve.retriever
        return {
            "signature": self.signature.to_dict(),
            "k": self.k,
            "reasoning": self.reasoning,
            "retriever": retriever.reference() if retriever is not None else None,
        }

    @classmethod
    def from_config(cls, config: Mapping[str, Any], *, retriever: Retriever | None = None) -> RAG:
        _known_keys(config, {"signature", "k", "reasoning", "retriever"})
        return cls(
            Signature.from_dict(config.get("signature")),  # type: ignore[arg-type]
            retriever=_retriever_from(config, retriever),
            k=_setting(config, "k", 3, int),
            reasoning=_setting(config, "reasoning", True, bool),
        )


class MultiHopQA(_Retrieving):
    """Answer a question that needs several lookups.

    For each of ``hops`` hops, ``generate_query`` writes a search query from the question and
    the notes so far; the ``k`` passages found are added to the notes (each passage once).
    Then ``answer`` answers from the question and all the notes.

    Args:
        signature: the task, e.g. ``"question -> answer"``; a ``notes`` input is added to the
            answer step. The query step reads the first input field.
        retriever: a :class:`~pliable.programs.retrieve.Retriever`.
        hops: how many searches (2 for two-hop questions).
        k: passages per search.
        reasoning: answer with :class:`~pliable.ChainOfThought` instead of ``Predict``.
    """

    def __init__(
        self,
        signature: str | type[Signature] = "question -> answer",
        *,
        retriever: Retriever | None = None,
        hops: int = 2,
        k: int = 2,
        reasoning: bool = False,
    ) -> None:
        self.signature = ensure_signature(signature)
        self.hops = _checked_positive("hops", hops)
        self.k = _checked_positive("k", k)
        self.reasoning = reasoning
        self.retrieve = Retrieve(k=self.k, retriever=retriever)
        question = next(iter(self.signature.input_fields), None)
        if question is None:
            raise UsageError(f"The signature needs an input field: {self.signature}.")
        self.generate_query = Predict(
            Signature(
                f"{question}, notes: list[str] -> query",
                "Write a short search query that finds the fact still missing to answer "
                f"the {question}, using the names found in the notes so far.",
            )
        )
        answer_sig = _answer_signature(self.signature, "notes")
        self.answer = ChainOfThought(answer_sig) if reasoning else Predict(answer_sig)

    def forward(self, **inputs: Any) -> Prediction:
        question = next(iter(self.signature.input_fields))
        notes: list[str] = []
        seen: set[str] = set()
        queries: list[str] = []
        passages = []
        for _ in range(self.hops):
            query = self.generate_query(**{question: inputs.get(question)}, notes=notes).query
            queries.append(str(query))
            for p in self.retrieve(str(query) or str(inputs.get(question, ""))).passages:
                if p.id not in seen:
                    seen.add(p.id)
                    notes.append(p.text)
                    passages.append(p)
        pred = self.answer(notes=notes, **inputs)
        return Prediction(**dict(pred), queries=queries, passages=passages)

    def config(self) -> dict[str, Any]:
        retriever = self.retrieve.retriever
        return {
            "signature": self.signature.to_dict(),
            "hops": self.hops,
            "k": self.k,
            "reasoning": self.reasoning,
            "retriever": retriever.reference() if retriever is not None else None,
        }

    @classmethod
    def from_config(
        cls, config: Mapping[str, Any], *, retriever: Retriever | None = None
    ) -> MultiHopQA:
        _known_keys(config, {"signature", "hops", "k", "reasoning", "retriever"})
        return cls(
            Signature.from_dict(config.get("signature")),  # type: ignore[arg-type]
            retriever=_retriever_from(config, retriever),
            hops=_setting(config, "hops", 2, int),
            k=_setting(config, "k", 2, int),
            reasoning=_setting(config, "reasoning", False, bool),
        )


register_program_kind("pliable.RAG", RAG)
register_program_kind("pliable.MultiHopQA", MultiHopQA)
