"""Field declarations: :func:`InputField`, :func:`OutputField` and the resolved :class:`Field`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from pliable.signatures.types import type_name, type_to_spec

__all__ = ["Field", "FieldDecl", "FieldKind", "InputField", "OutputField"]

FieldKind = Literal["input", "output"]


@dataclass(frozen=True)
class FieldDecl:
    """What ``InputField(...)`` / ``OutputField(...)`` return inside a class body."""

    kind: FieldKind
    desc: str = ""


def InputField(*, desc: str = "") -> Any:
    """Declare an input field of a class-form :class:`~pliable.Signature`.

    ``desc`` is shown to the model next to the field's name.
    """
    return FieldDecl("input", desc)


def OutputField(*, desc: str = "") -> Any:
    """Declare an output field of a class-form :class:`~pliable.Signature`."""
    return FieldDecl("output", desc)


@dataclass(frozen=True)
class Field:
    """One resolved field of a signature: name, direction, type and description."""

    name: str
    kind: FieldKind
    annotation: Any = str
    desc: str = ""
    _spec: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        if not self._spec:
            object.__setattr__(
                self, "_spec", type_to_spec(self.annotation, where=f"field `{self.name}`")
            )

    @property
    def type_name(self) -> str:
        """The readable type name shown in prompts, e.g. ``list[str]``."""
        return type_name(self.annotation)

    @property
    def type_spec(self) -> dict[str, Any]:
        """The JSON form of the field's type."""
        return self._spec

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "type": self._spec}
        if self.desc:
            out["desc"] = self.desc
        return out

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Field):
            return NotImplemented
        return (self.name, self.kind, self.desc, self._spec) == (
            other.name,
            other.kind,
            other.desc,
            other._spec,
        )

    def __hash__(self) -> int:
        return hash((self.name, self.kind, self.desc))
