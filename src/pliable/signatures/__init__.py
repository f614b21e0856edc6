"""Signatures: typed declarations of what one LM step takes and gives."""

from pliable.signatures.fields import Field, InputField, OutputField
from pliable.signatures.signature import Signature, ensure_signature
from pliable.signatures.types import type_name

__all__ = ["Field", "InputField", "OutputField", "Signature", "ensure_signature", "type_name"]
