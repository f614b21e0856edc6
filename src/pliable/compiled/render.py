"""Render a compiled file's prompts from the file alone, without rebuilding its program.

    prompts = pl.render_prompts("qa.json")
    for name, messages in prompts.items():      # predictor name -> chat messages
        ...                                     # {field} placeholders where the inputs go

This is what another runtime needs to serve a compiled program: the messages each step sends,
with its instructions, demos and output format written out by the step's adapter. Each
predictor is rebuilt on its own from its state (through the registered ``pliable.Predict`` /
``pliable.ChainOfThought`` kinds), so a ReAct file renders without its tools and a custom
program renders without its class; nothing the file names is imported or run. The LM settings
each step sends with its messages (model, temperature, ...) are in the file beside them:
``predictors.<name>.lm`` and ``predictors.<name>.config``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from pliable.compiled.io import read_file
from pliable.compiled.kinds import program_kind
from pliable.errors import CompiledFileError, PliableError, UsageError

if TYPE_CHECKING:
    from pliable.compiled.schema import CompiledFile
    from pliable.lm.types import LanguageModel, Message

__all__ = [
    "file_models",
    "per_call_parts",
    "read_predictors",
    "render_messages",
    "render_prompts",
]

_KINDS = {"Predict": "pliable.Predict", "ChainOfThought": "pliable.ChainOfThought"}


def read_predictors(
    source: str | os.PathLike[str] | Mapping[str, Any],
) -> tuple[CompiledFile, dict[str, Any]]:
    """The validated file, and its predictors each rebuilt on its own from its state
    (signature, demos, adapter, options), without the program around them and without an
    LM. All are checked before any is returned."""
    parsed, where = read_file(source)
    if parsed.program in _KINDS.values() and list(parsed.predictors) != ["self"]:
        raise CompiledFileError(
            f"{where}: a {parsed.program} file has one predictor named 'self'; found "
            f"{sorted(n[:40] for n in parsed.predictors)}."
        )
    out: dict[str, Any] = {}
    for name, state in parsed.predictors.items():
        cls = program_kind(_KINDS[state.kind])
        if cls is None:  # pliable's own kinds are always registered
            raise CompiledFileError(f"{where}: no program kind for {state.kind}.")
        data = state.model_dump()
        try:  # the LM settings are checked as loading checks them, but no LM is built
            out[name] = cls.from_state({"predictors": {"self": data}}, restore_lm=False)
        except PliableError as exc:
            raise CompiledFileError(f"{where}: predictor {name!r}: {exc}") from exc
    return parsed, out


def render_prompts(
    source: str | os.PathLike[str] | Mapping[str, Any],
    inputs: Mapping[str, Any] | None = None,
    *,
    lm: LanguageModel | str | None = None,
) -> dict[str, list[Message]]:
    """Each predictor's messages, in the file's order, keyed by predictor name.

    A predictor whose file names no adapter (``"adapter": null``) gets the default for its
    LM, as a call would: JSON for an LM that enforces a JSON schema (every local model),
    chat for others. That LM is ``lm`` when given (an LM or a model name: the one the
    program will be called with), else the predictor's ``lm.model`` in the file, else the
    embedded local model.

    Inputs are ``{field}`` placeholders unless ``inputs`` gives their values, which are
    checked and converted to each field's type as a call would; a value for a field no
    predictor reads is a :class:`~pliable.errors.UsageError`, so a misspelt name does not
    render silently as a placeholder. The file is validated in full first. A program whose
    prompt is not fixed text (a KNN program picks its demos per call; a soft prompt adds
    learned vectors) raises :class:`~pliable.errors.CompiledFileError`: render it with
    ``pl.load(path).render(...)`` per input instead.
    """
    parsed, predictors = read_predictors(source)
    missing = per_call_parts(parsed)
    if missing is not None:
        where = source if isinstance(source, (str, os.PathLike)) else "this compiled program"
        raise CompiledFileError(
            f"{where}: its prompt is not fixed text, because {missing}. Render it per input "
            "with pl.load(path).render(predictor_name, **inputs)."
        )
    return render_messages(predictors, inputs, lm=lm, models=file_models(parsed))


def file_models(parsed: CompiledFile) -> dict[str, str | None]:
    """Each predictor's LM name as the file records it (``None`` where it records none)."""
    return {name: p.lm.model if p.lm else None for name, p in parsed.predictors.items()}


def per_call_parts(parsed: CompiledFile) -> str | None:
    """What the file's fixed text leaves out of the prompt an LM receives, or None."""
    if parsed.knn is not None:
        k, pool = parsed.knn.get("k"), parsed.knn.get("pool")
        size = len(pool) if isinstance(pool, list) else 0
        return f"its demos are chosen per call (the {str(k)[:10]} nearest of {size} examples)"
    if parsed.soft_prompt is not None:
        method = str(parsed.soft_prompt.get("method", "soft prompt"))[:40]
        return f"a soft prompt ({method}: learned vectors, not text) goes with every call"
    return None


def render_messages(
    predictors: Mapping[str, Any],
    inputs: Mapping[str, Any] | None = None,
    *,
    lm: LanguageModel | str | None = None,
    models: Mapping[str, str | None] | None = None,
) -> dict[str, list[Message]]:
    """:func:`render_prompts` for predictors already built; ``models`` are their LM names
    from the file (:func:`file_models`), used when ``lm`` is not given."""
    given = dict(inputs or {})
    known = {f for p in predictors.values() for f in p.signature.input_fields}
    unknown = sorted(set(given) - known)
    if unknown:
        raise UsageError(
            f"render_prompts(inputs=...) names {unknown}, which no predictor reads; the "
            f"input fields are {sorted(known)}."
        )
    out: dict[str, list[Message]] = {}
    for name, predictor in predictors.items():
        target = lm if lm is not None else (models or {}).get(name) or predictor.lm
        mine = {f: v for f, v in given.items() if f in predictor.signature.input_fields}
        out[name] = predictor.prompt_messages(mine, lm=target)
    return out
