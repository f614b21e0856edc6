"""A program's compilable state, hashed: :func:`state_hash` reads ``program.dump_state()``, the
one writer of a program's state (the compiled file holds the same JSON).

Two candidates with the same state hash send the same prompts, so an evaluation recorded for
one stands for the other (that is how a resumed run skips work it has already done).
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
    """A short hash of the canonical JSON of ``program.dump_state()`` (and its class): the
    state a compiled file holds, so anything that changes a prompt (instructions, demos,
    field descriptions and types, adapter, LM, sampling options, program settings) changes
    the hash, and a resumed run re-scores the program instead of reusing an old score."""
    state: dict[str, Any] = {
        "class": f"{type(program).__module__}:{type(program).__qualname__}",
        "state": _canonical(program.dump_state()),
    }
    text = json.dumps(state, default=str, ensure_ascii=False)  # order is part of a prompt
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def _sorted(value: Any) -> Any:
    return {k: value[k] for k in sorted(value)} if isinstance(value, dict) else value


def _canonical(state: dict[str, Any]) -> dict[str, Any]:
    """``state`` with the orders that do not reach a prompt made canonical: sampling options
    and each demo's values (rendered in the signature's field order) sorted by name. The
    signature keeps its order: field, enum member and model property order is the prompt's."""
    predictors = state.get("predictors")
    if not isinstance(predictors, dict):
        return state
    out = dict(state)
    out["predictors"] = {}
    for name, p in predictors.items():
        p = dict(p)
        p["config"] = _sorted(p.get("config"))
        p["demos"] = [_sorted(d) for d in p.get("demos") or []]
        if isinstance(p.get("lm"), dict):
            p["lm"] = {**p["lm"], "options": _sorted(p["lm"].get("options"))}
        out["predictors"][name] = p
    return out


def example_key(example: Any) -> str:
    """A short hash of one example's values."""
    text = json.dumps(_jsonable(dict(example)), sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def instructions_of(program: Module) -> dict[str, str]:
    return {name: p.signature.instructions for name, p in program.named_predictors()}


def set_instruction(predictor: Predict, text: str) -> None:
    """Replace ``predictor``'s instruction (its signature is immutable: this swaps it)."""
    predictor.signature = predictor.signature.with_instructions(text)
