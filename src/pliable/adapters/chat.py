"""``ChatAdapter``: fields delimited by ``[[name]]`` marker lines.

A compact prompt::

    system:    <instructions>
               Inputs:
               [[question]] <desc>
               Outputs, each on the lines after its marker, in this order:
               [[answer]] <type hint> <desc>
    user:      [[question]]
               What is the capital of France?

               Reply with your answer only.
    assistant: Paris

With several outputs, the reply (and each demo's answer) puts each value on the lines after
its marker, and the last line says so: "Reply with [[reasoning]] followed by your reasoning
on the next line, then [[answer]] followed by your answer on the next line." A lone output is
written bare, without its marker.

Parsing is tolerant: markers may carry ``##`` and spaces (``[[ ## answer ## ]]``), a value may
start on the marker's line, ``answer:`` / ``**answer**:`` / ``## answer`` headers are accepted
when no markers are found, a reply with no markers is the value of a lone output field, and a
JSON object with the output fields is accepted too.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from pliable.adapters.base import Adapter, match_field, pick_fields
from pliable.adapters.json_repair import loads_lenient
from pliable.adapters.values import type_hint
from pliable.errors import ParseError

if TYPE_CHECKING:
    from pliable.signatures.signature import Signature

__all__ = ["ChatAdapter"]

_MARKER = re.compile(
    r"^[ \t]*(?:[#*]+[ \t]*)?\[\[[ \t]*(?:#+[ \t]*)?(?P<name>[A-Za-z_]\w*)[ \t]*(?:#+[ \t]*)?\]\]"
    r"(?:[ \t]*\*+)?[ \t:]*",
    re.M,
)
_FENCED = re.compile(r"\A[ \t]*```[^\n]*\n(.*?)\n[ \t]*```[ \t]*\Z", re.S)
_TRAILER = re.compile(
    r"(?:\A|\n)[ \t]*\[\[[ \t]*(?:#+[ \t]*)?completed[ \t]*(?:#+[ \t]*)?\]\][ \t]*\Z", re.I
)


# A lone value the model wrapped as if it were a marker, "[[garden hose]]" or "[[ ## yes ## ]]",
# maybe followed by a parenthetical on its line (an echoed type hint), which is dropped. The
# inner text neither starts nor ends with a space or "#", so the match cannot backtrack.
_WRAPPED = re.compile(
    r"\A\[\[[ \t#]*(?P<inner>[^\[\]\n \t#](?:[^\[\]\n]*[^\[\]\n \t#])?)[ \t#]*\]\]"
    r"(?:[ \t]*\([^()\n]*\))?\Z"
)
_WRAPPED_MAX = 200  # characters: a longer reply is not a lone wrapped value


def _header_pattern(names: list[str]) -> re.Pattern[str]:
    alternatives = "|".join(re.escape(n) for n in names)
    return re.compile(
        rf"^[ \t]*(?:#+[ \t]*)?(?:\*\*)?(?P<name>{alternatives})(?:\*\*)?[ \t]*(?::|(?=\n))"
        rf"(?:\*\*)?[ \t]*",
        re.M | re.I,
    )


def _unwrap(value: str, fields: list[str]) -> str:
    """A lone value written in marker form, unwrapped (unless it names a field)."""
    m = _WRAPPED.match(value) if len(value) <= _WRAPPED_MAX else None
    if m is None or match_field(fields)(m.group("inner")) is not None:
        return value
    return m.group("inner")


def _sections(
    text: str, pattern: re.Pattern[str], names: list[str], stops: list[str]
) -> dict[str, str]:
    """Split ``text`` at header matches; record the sections of ``names`` (first occurrence
    wins). A header of any name in ``stops`` (every field of the signature) ends a section,
    so a reply that runs on into an invented next turn does not leak into the last value."""
    record = match_field(names)
    stop = match_field(stops)
    hits = [m for m in pattern.finditer(text) if stop(m.group("name")) is not None]
    found: dict[str, str] = {}
    for i, m in enumerate(hits):
        name = record(m.group("name"))
        end = hits[i + 1].start() if i + 1 < len(hits) else len(text)
        value = _TRAILER.sub("", text[m.end() : end]).strip()
        # an empty section ("[[answer]]" and nothing) leaves room for a later one with text
        if name is not None and name not in found and value:
            found[name] = value
    return found


class ChatAdapter(Adapter):
    """Fields delimited by ``[[name]]`` lines; the default for LMs that take no JSON schema."""

    name = "chat"

    def system_prompt(self, signature: type[Signature], instructions: str | None = None) -> str:
        parts = [instructions or signature.instructions]
        described = self.describe_inputs(signature)
        if described:
            parts.append(described)
        lines = ["Outputs, each on the lines after its marker, in this order:"]
        for f in signature.output_fields.values():
            hint = type_hint(f.annotation)
            lines.append(
                " ".join(
                    p for p in (self.field_marker(f.name), f"({hint})" if hint else "", f.desc) if p
                )
            )
        parts.append("\n".join(lines))
        return "\n\n".join(parts)

    def reply_reminder(self, signature: type[Signature]) -> str:
        # "Reply with [[answer]]." alone is read literally: Qwen2.5 writes the marker and
        # stops. Naming what follows each marker was chosen over other wordings by the parse
        # rate on the four packaged local models (benchmarks/format_wording.py). A lone output
        # is asked for without its marker (see format_outputs).
        names = list(signature.output_fields)
        if len(names) == 1:
            return f"Reply with your {names[0].replace('_', ' ')} only."
        parts = [
            f"{self.field_marker(n)} followed by your {n.replace('_', ' ')} on the next line"
            for n in signature.output_fields
        ]
        return "Reply with " + ", then ".join(parts) + "."

    def format_outputs(self, signature: type[Signature], values: Mapping[str, Any]) -> str:
        # A lone output is written bare: with "[[answer]]\nYes" turns as demos, Qwen2.5-Coder
        # 0.5B often replied "[[answer]]" and stopped; bare values parse as well (a reply with
        # no marker is the lone field's value) and scored at least as well on the packaged
        # models, zero- and few-shot (benchmarks/format_wording.py, BENCHMARKS.md).
        names = list(signature.output_fields)
        if len(names) == 1 and names[0] in values:
            bare = self.render_output(signature, names[0], values[names[0]])
            marked = self.marked_outputs(signature, values)
            # demos repeat on every call: each one's check is remembered, like the system prompt
            cache: dict[tuple[type[Signature], str, str], bool]
            cache = self.__dict__.setdefault("_bare_cache", {})
            key = (signature, bare, marked)
            same = cache.get(key)
            if same is None:
                if len(cache) > 4096:
                    cache.clear()
                same = cache[key] = self._same_reading(signature, bare, marked)
            # else (e.g. "answer: 0", which reads as a header): the marker form
            return bare if same else marked
        return self.marked_outputs(signature, values)

    def marked_outputs(self, signature: type[Signature], values: Mapping[str, Any]) -> str:
        """Each output's value on the lines after its marker (several outputs, a lone value
        that would not read back bare, and templates that ask for markers)."""
        return "\n\n".join(
            f"{self.field_marker(name)}\n{self.render_output(signature, name, values[name])}"
            for name in signature.output_fields
            if name in values
        )

    def _same_reading(self, signature: type[Signature], bare: str, marked: str) -> bool:
        """Whether ``bare`` parses to what ``marked`` parses to (it may not: "answer: 0"
        reads as a header); typed values compare after coercion ("7" and 7.0 alike)."""

        def reading(text: str) -> tuple[bool, Any]:
            try:
                return True, self.parse(signature, text)
            except Exception as exc:  # compared by kind: both unreadable the same way
                return False, type(exc).__name__

        return reading(bare) == reading(marked)

    def parse(self, signature: type[Signature], text: str) -> dict[str, Any]:
        names = list(signature.output_fields)
        stops = [*signature.fields, "completed"]
        body = text
        if fenced := _FENCED.match(text):  # the whole reply wrapped in a code fence
            body = fenced.group(1)
        # markers first; then "name:" headers and a JSON object fill what is still missing
        found = _sections(body, _MARKER, names, stops)
        if len(found) < len(names):
            headers = _sections(body, _header_pattern(stops), names, stops)
            found = {**headers, **found}
        if len(found) < len(names) and "{" in body:
            try:
                data = loads_lenient(body, want=dict)
            except ValueError:
                data = None
            if isinstance(data, dict):
                found = {**pick_fields(data, names), **found}
        if not found and len(names) == 1:
            first = next((m for m in _MARKER.finditer(body) if m.group("name") in stops), None)
            lone = body[: first.start()] if first else body  # stop at an invented next turn
            found = {names[0]: _unwrap(_TRAILER.sub("", lone).strip(), stops)}
        # a marker with nothing after it ("[[answer]]" and stop) is a missing value, not ""
        found = {k: v for k, v in found.items() if not (isinstance(v, str) and not v.strip())}
        if not text.strip():
            raise ParseError(
                "the LM returned empty text",
                raw_text=text,
                expected_fields=names,
                adapter=self.name,
            )
        return self._coerce_all(signature, found, text)
