"""Signatures: typed declarations of what one LM step takes and gives."""

from typing import TYPE_CHECKING

from pliable._lazy import attach

if TYPE_CHECKING:
    from pliable.signatures.fields import Field, InputField, OutputField
    from pliable.signatures.signature import Signature, ensure_signature
    from pliable.signatures.types import type_name

__all__ = [
    "Field",
    "InputField",
    "OutputField",
    "Signature",
    "ensure_signature",
    "type_name",
]

_LAZY = {
    "Field": "pliable.signatures.fields",
    "InputField": "pliable.signatures.fields",
    "OutputField": "pliable.signatures.fields",
    "Signature": "pliable.signatures.signature",
    "ensure_signature": "pliable.signatures.signature",
    "type_name": "pliable.signatures.types",
}

if not TYPE_CHECKING:
    __getattr__, __dir__ = attach(__name__, _LAZY)

del TYPE_CHECKING, attach
