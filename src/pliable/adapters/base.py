"""The adapter contract: (signature, instructions, demos, inputs) -> messages; text -> outputs.

An adapter renders the prompt in a fixed order, instructions and demos first and the inputs
last, so the prompt prefix stays byte-identical across inputs (an LM's prefix cache can reuse
it). Parsing never calls the LM again: what can be repaired locally is repaired, and what
cannot raises :class:`~pliable.errors.ParseError` with the raw text.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from pliable.adapters.values import coerce, render_input, render_value
from pliable.errors import ParseError
from pliable.signatures.types import optional_inner

if TYPE_CHECKING:
    from pliable.lm.types import LanguageModel, Message
    from pliable.signatures.signature import Signature

__all__ = ["Adapter", "marker", "match_field", "pick_fields"]


def match_field(names: Iterable[str]) -> Callable[[str], str | None]:
    """A lookup from a name the model wrote to the field it means.

    Exact names win; otherwise case is ignored, unless two fields differ only in case.
    """
    exact = set(names)
    folded: dict[str, str | None] = {}
    for n in exact:
        folded[n.lower()] = None if n.lower() in folded else n

    def lookup(written: str) -> str | None:
        return written if written in exact else folded.get(written.lower())

    return lookup


def pick_fields(data: Mapping[str, Any], names: Iterable[str]) -> dict[str, Any]:
    """The values of ``data`` (a decoded JSON object) that belong to fields in ``names``."""
    lookup = match_field(names)
    found: dict[str, Any] = {}
    for key, value in data.items():
        name = lookup(str(key))
        if name is not None and (name not in found or str(key) == name):
            found[name] = value
    return found


def marker(name: str) -> str:
    """The line that introduces a field's value: ``[[name]]``."""
    return f"[[{name}]]"


class Adapter(ABC):
    """Base class of adapters. Subclasses say how outputs are asked for and read back."""

    name = "adapter"
    #: True when output values are free text (so "none" may mean None), False for JSON.
    free_text = True

    # --- prompt ----------------------------------------------------------------------------
    def format(
        self,
        signature: type[Signature],
        inputs: Mapping[str, Any],
        *,
        demos: Iterable[Mapping[str, Any]] = (),
        instructions: str | None = None,
    ) -> list[Message]:
        """The chat messages for one call: system, then demo turns, then the inputs."""
        # the system prompt depends only on (signature, instructions): render it once
        cache: dict[tuple[type[Signature], str | None], str]
        cache = self.__dict__.setdefault("_system_cache", {})
        key = (signature, instructions)
        system = cache.get(key)
        if system is None:
            if len(cache) > 256:
                cache.clear()
            system = cache[key] = self.system_prompt(signature, instructions)
        messages: list[Message] = [{"role": "system", "content": system}]
        for demo in demos:
            outputs = {k: demo[k] for k in signature.output_fields if k in demo}
            if not outputs:
                continue
            messages.append({"role": "user", "content": self.format_inputs(signature, demo)})
            messages.append(
                {"role": "assistant", "content": self.format_outputs(signature, outputs)}
            )
        user = self.format_inputs(signature, inputs) + "\n\n" + self.reply_reminder(signature)
        messages.append({"role": "user", "content": user})
        return messages

    def describe_inputs(self, signature: type[Signature]) -> str:
        """Input descriptions for the system prompt ('' when no input has one)."""
        lines = [
            f"{self.field_marker(f.name)} {f.desc}"
            for f in signature.input_fields.values()
            if f.desc
        ]
        return "Inputs:\n" + "\n".join(lines) if lines else ""

    def format_inputs(self, signature: type[Signature], values: Mapping[str, Any]) -> str:
        """The inputs present in ``values``, each after its marker line."""
        parts = [
            f"{self.field_marker(name)}\n{render_input(values[name])}"
            for name in signature.input_fields
            if name in values
        ]
        return "\n\n".join(parts)

    def field_marker(self, name: str) -> str:
        """The line that introduces a field's value in this adapter's prompts."""
        return marker(name)

    def render_output(self, signature: type[Signature], name: str, value: Any) -> str:
        return render_value(value, signature.output_fields[name].annotation)

    @abstractmethod
    def system_prompt(self, signature: type[Signature], instructions: str | None = None) -> str:
        """The instructions and the description of the fields and the reply format."""

    @abstractmethod
    def reply_reminder(self, signature: type[Signature]) -> str:
        """The short line after the inputs that says how to reply."""

    @abstractmethod
    def format_outputs(self, signature: type[Signature], values: Mapping[str, Any]) -> str:
        """Outputs written exactly as the model is asked to write them (used for demos)."""

    # --- request and parsing ---------------------------------------------------------------
    def request_options(self, signature: type[Signature], lm: LanguageModel) -> dict[str, Any]:
        """Extra LM options this adapter wants (e.g. a JSON-schema ``response_format``)."""
        return {}

    @abstractmethod
    def parse(self, signature: type[Signature], text: str) -> dict[str, Any]:
        """Read the LM's text into typed outputs; raise :class:`ParseError` if impossible."""

    def _coerce_all(
        self, signature: type[Signature], raw: Mapping[str, Any], text: str
    ) -> dict[str, Any]:
        """Coerce the found raw values; raise ParseError for missing or unreadable fields."""
        expected = list(signature.output_fields)
        optional = [
            n
            for n, f in signature.output_fields.items()
            if n not in raw and optional_inner(f.annotation) is not None
        ]
        if optional and len(optional) < len(expected):  # a missing Optional output is None
            raw = {**raw, **dict.fromkeys(optional)}
        missing = [n for n in expected if n not in raw]
        if missing:
            raise ParseError(
                f"missing output field(s) {', '.join(missing)}",
                raw_text=text,
                expected_fields=expected,
                found_fields=list(raw),
                adapter=self.name,
            )
        out: dict[str, Any] = {}
        for name, field in signature.output_fields.items():
            try:
                out[name] = coerce(field.annotation, raw[name], null_words=self.free_text)
            except ValueError as exc:
                raise ParseError(
                    f"field `{name}` ({field.type_name}): {exc}",
                    raw_text=text,
                    expected_fields=expected,
                    found_fields=list(raw),
                    field=name,
                    adapter=self.name,
                ) from exc
        return out
