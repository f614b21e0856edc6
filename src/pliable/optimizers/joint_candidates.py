"""A :class:`~pliable.optimizers.joint_space.Space` (a JointSearch's candidates) as JSON, the
form the shared study stores it in (the ``pliable_candidates`` study attribute), and back.
"""

from __future__ import annotations

from typing import Any

from pliable.adapters.values import coerce, to_jsonable
from pliable.data.example import Example
from pliable.optimizers.joint_space import Space
from pliable.programs.module import Module

__all__ = ["space_blob", "space_from"]


def space_blob(space: Space, recipe: str) -> dict[str, Any]:
    """``space`` as JSON, with its key and the ``recipe`` it was built from."""
    demos = {
        name: [[[to_jsonable(dict(d)), sorted(d.input_keys or ())] for d in s] for s in sets]
        for name, sets in space.demos.items()
    }
    return {"key": space.key, "recipe": recipe, "instructions": space.instructions, "demos": demos}


def space_from(blob: Any, student: Module) -> Space | None:
    """The space stored in ``blob`` for ``student``'s predictors, or None if it does not fit
    them or does not rebuild to the same key."""
    try:
        predictors = dict(student.named_predictors())
        demos: dict[str, list[list[Example]]] = {}
        for name, sets in blob["demos"].items():
            fields = predictors[name].signature.fields
            demos[name] = []
            for rows in sets:
                built = []
                for values, inputs in rows:
                    typed = {
                        k: v if k not in fields else coerce(fields[k].annotation, v)
                        for k, v in values.items()
                    }
                    example = Example(typed)
                    built.append(example.with_inputs(*inputs) if inputs else example)
                demos[name].append(built)
        instructions = {n: list(map(str, texts)) for n, texts in blob["instructions"].items()}
        space = Space(instructions, demos)
    except Exception:  # written by another version, or for another program
        return None
    same = space.key == blob.get("key") and sorted(space.names) == sorted(predictors)
    return space if same else None
