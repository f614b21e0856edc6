"""Render a compiled file's prompts from the file alone, without rebuilding its program.

    prompts = pl.render_prompts("qa.json")
    for name, messages in prompts.items():      # predictor name -> chat messages
        ...                                     # {field} placeholders where the inputs go

This is what another runtime needs to serve a compiled program: the messages each step sends,
with its instructions, demos and output format written out by the step's adapter. Nothing in
the file is executed or imported beyond its adapters, so a ReAct file renders without its
tools and a custom program renders without its class.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from pliable.compiled.io import build_predictors
from pliable.errors import UsageError

if TYPE_CHECKING:
    from pliable.lm.types import Message
    from pliable.programs.predict import Predict

__all__ = ["render_messages", "render_prompts"]


def render_prompts(
    source: str | os.PathLike[str] | Mapping[str, Any],
    inputs: Mapping[str, Any] | None = None,
) -> dict[str, list[Message]]:
    """Each predictor's messages, in the file's order, keyed by predictor name.

    Inputs are ``{field}`` placeholders unless ``inputs`` gives their values; a value for a
    field no predictor reads is a :class:`~pliable.errors.UsageError`, so a misspelt name does
    not render silently as a placeholder. The file is validated in full first
    (:class:`~pliable.compiled.CompiledFileError`).
    """
    return render_messages(build_predictors(source), inputs)


def render_messages(
    predictors: Mapping[str, Predict], inputs: Mapping[str, Any] | None = None
) -> dict[str, list[Message]]:
    """:func:`render_prompts` for predictors already built."""
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
        sig = predictor.signature
        values = {f: given.get(f, "{" + f + "}") for f in sig.input_fields}
        out[name] = predictor.resolved_adapter().format(sig, values, demos=predictor.demos)
    return out
