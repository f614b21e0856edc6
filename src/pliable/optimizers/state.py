"""A program's compilable state: each predictor's instruction and demos, as plain JSON.

Optimizers change only this state, so it identifies a candidate: two candidates with the same
state hash answer every input the same way, and an evaluation recorded for one stands for
the other (that is how a resumed run skips work it has already done).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from pliable.programs.module import Module
from pliable.programs.predict import Predict

__all__ = ["example_key", "instructions_of", "program_state", "set_instruction", "state_hash"]


def _jsonable(value: Any) -> Any:
    from pliable.adapters.values import to_jsonable

    return to_jsonable(value)


def program_state(program: Module) -> dict[str, dict[str, Any]]:
    """``{predictor name: {"instructions": ..., "demos": [...]}}`` in plain JSON values."""
    return {
        name: {
            "instructions": p.signature.instructions,
            "demos": [_jsonable(dict(d)) for d in p.demos],
        }
        for name, p in program.named_predictors()
    }


def state_hash(program: Module) -> str:
    """A short hash of :func:`program_state` (and each predictor's signature)."""
    state: dict[str, Any] = program_state(program)
    for name, p in program.named_predictors():
        state[name]["signature"] = p.signature.signature_string()
        # what else changes the answers: the predictor's own LM, options and adapter
        lm = p.lm
        state[name]["lm"] = (
            None
            if lm is None
            else [getattr(lm, "model", type(lm).__name__), _public(getattr(lm, "defaults", {}))]
        )
        state[name]["config"] = _public(p.config)
        to_dict = getattr(p.adapter, "to_dict", None)  # a TemplateAdapter's template
        state[name]["adapter"] = (
            None
            if p.adapter is None
            else [type(p.adapter).__qualname__, to_dict() if callable(to_dict) else None]
        )
    extra = getattr(program, "compile_state_key", None)
    if callable(extra):  # programs with state beyond their predictors (KNNProgram)
        state["__program__"] = str(extra())
    config = getattr(program, "config", None)
    if callable(config):  # built-in programs: k, hops, the retriever's folder, the tools
        state["__config__"] = config()
    text = json.dumps(state, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def _public(options: Any) -> Any:
    from pliable.lm.options import is_secret_option

    if not isinstance(options, dict):
        return None
    return {k: v for k, v in options.items() if not is_secret_option(k)}


def example_key(example: Any) -> str:
    """A short hash of one example's values."""
    text = json.dumps(_jsonable(dict(example)), sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def instructions_of(program: Module) -> dict[str, str]:
    return {name: p.signature.instructions for name, p in program.named_predictors()}


def set_instruction(predictor: Predict, text: str) -> None:
    """Replace ``predictor``'s instruction (its signature is immutable: this swaps it)."""
    predictor.signature = predictor.signature.with_instructions(text)
