"""``TemplateAdapter``: send a hand-written :class:`~pliable.Template` as the prompt.

::

    system:    <the template's system text, placeholders filled>
    user:      <the template's user text, filled with a demo's inputs>      (per demo)
    assistant: <the demo's outputs>
    user:      <the template's user text, filled with the inputs>
               [the reply format, only when the parser needs it]

Replies are read by the chat adapter's parser (``output_format="chat"``), which takes an
unmarked reply as the value of a lone output, so a single-output template needs no reply
format; with several outputs the ``[[name]]`` format is appended, unless the template already
writes every ``[[name]]``. ``output_format="json"`` reads (and, for several outputs, asks for)
one JSON object instead, and sends a JSON-schema ``response_format`` to LMs that support one.

Instruction optimizers and :class:`~pliable.Refine` edit a predictor's instructions. As long
as the signature's instructions are the template's own (``template.as_instructions()``, which
``Predict.from_template`` sets) or the signature's default, the template is sent as written; once
they are changed, the new instructions become the system message in place of the template's
system text, and the user text still presents the inputs.

This module also reads template text: :func:`parse_text` splits it into literal pieces and
``{field}`` placeholders (``{{`` and ``}}`` are literal braces).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, NamedTuple

from pliable.adapters.base import Adapter, marker
from pliable.adapters.chat import ChatAdapter
from pliable.adapters.json_adapter import JSONAdapter
from pliable.adapters.values import type_hint
from pliable.errors import DataError, InputError, UsageError
from pliable.signatures.types import optional_inner

if TYPE_CHECKING:
    from pliable.adapters.template_value import Template
    from pliable.lm.types import LanguageModel, Message
    from pliable.signatures.signature import Signature

__all__ = ["TemplateAdapter"]

_TOKEN = re.compile(r"\{\{|\}\}|\{([^{}\n]*)\}|[{}]")
_NAME = re.compile(r"[A-Za-z_]\w*")
_BRACES = "write a literal brace as {{ or }}; a placeholder is an input name, like {question}"
_FORMATS: dict[str, type[Adapter]] = {"chat": ChatAdapter, "json": JSONAdapter}


class Slot(NamedTuple):
    """A placeholder: its field name, and where it is (for error messages)."""

    name: str
    part: str  # "system" or "user"
    line: int  # 1-based, in the template's source
    text: str  # the whole line, for error messages


class Part(NamedTuple):
    """A template text (system or user) split into literal text and placeholders."""

    pieces: tuple[str | Slot, ...]  # literal text and placeholders, in order
    slots: tuple[Slot, ...]


_CONTEXT = 120  # characters of a placeholder's line kept either side, for messages
_MAX_SLOTS = 10_000


def parse_text(text: str, part: str, first_line: int, where: str, source: str | None) -> Part:
    """Split ``text`` into literal pieces and placeholders; raise on a malformed brace."""
    pieces: list[str | Slot] = []
    slots: list[Slot] = []
    literal, pos = [], 0
    line, scanned, line_start = first_line, 0, 0  # counted as we go: linear in the text
    for m in _TOKEN.finditer(text):
        literal.append(text[pos : m.start()])
        pos = m.end()
        token = m.group(0)
        if token in ("{{", "}}"):
            literal.append(token[0])
            continue
        line += text.count("\n", scanned, m.start())
        newline = text.rfind("\n", scanned, m.start())
        line_start = newline + 1 if newline >= 0 else line_start
        scanned = m.start()
        end = text.find("\n", m.end(), m.end() + _CONTEXT)  # the line, within reach
        lo = max(line_start, m.start() - _CONTEXT)
        line_text = text[lo : end if end >= 0 else m.end() + _CONTEXT].strip()
        name = (m.group(1) or "").strip()
        if token in ("{", "}") or not _NAME.fullmatch(name):
            message = (
                f"{where} ({part} text, line {line}): {token!r} in {line_text!r} is not a "
                f"placeholder: {_BRACES}."
            )
            if source is not None:
                raise DataError(message, source=source, line=line, value=token)
            raise UsageError(message)
        if len(slots) >= _MAX_SLOTS:
            raise UsageError(
                f"{where} ({part} text): more than {_MAX_SLOTS} placeholders; a template is a "
                "prompt, not data."
            )
        slot = Slot(name, part, line, line_text)
        pieces += ["".join(literal), slot]
        slots.append(slot)
        literal = []
    pieces.append("".join(literal) + text[pos:])
    return Part(tuple(p for p in pieces if p != ""), tuple(slots))


class _Plan:
    """What a signature needs from the template, computed once per signature."""

    def __init__(self, adapter: TemplateAdapter, signature: type[Signature]) -> None:
        template = adapter.template
        template.check(signature, allow_unused=adapter.allow_unused)
        own = signature.to_dict()["instructions"]
        self.system: str | None = None  # the instructions replacing the template's system text
        if own is not None and own.strip() != template.as_instructions().strip():
            self.system = own
        self.reply = adapter.reply_format(signature) if adapter.wants_reply(signature) else None
        self.optional = {  # inputs that may be left out, shown as empty text
            n: None for n, f in signature.input_fields.items() if optional_inner(f.annotation)
        }


_SETTINGS = frozenset({"output_format", "allow_unused", "reply_instruction"})


class TemplateAdapter(Adapter):
    """Format calls with a :class:`~pliable.Template`; parse replies as the chat (or JSON)
    adapter does.

    Args:
        template: the hand-written prompt.
        output_format: ``"chat"`` (``[[name]]`` markers, or plain text for one output) or
            ``"json"`` (one JSON object).
        allow_unused: let inputs the template never mentions go unsent.
        reply_instruction: append the reply format after the inputs: ``None`` (default) when
            the signature has several outputs the template does not already ask for by name,
            or always (``True``) or never (``False``).
    """

    name = "template"

    def __init__(
        self,
        template: Template,
        *,
        output_format: str = "chat",
        allow_unused: bool = False,
        reply_instruction: bool | None = None,
    ) -> None:
        from pliable.adapters.template_value import Template

        if not isinstance(template, Template):
            raise UsageError(
                f"TemplateAdapter needs a pl.Template; got {template!r}. Build one with "
                "pl.Template(user=..., system=...) or pl.Template.from_file(path)."
            )
        if output_format not in _FORMATS:
            raise UsageError(
                f"TemplateAdapter(output_format={output_format!r}): use 'chat' or 'json'."
            )
        self.template = template
        self.output_format = output_format
        self.allow_unused = allow_unused
        self.reply_instruction = reply_instruction
        self.inner: Adapter = _FORMATS[output_format]()
        self.free_text = self.inner.free_text
        self._plans: dict[type[Signature], _Plan] = {}

    def __repr__(self) -> str:
        return f"TemplateAdapter({self.template!r}, output_format={self.output_format!r})"

    # --- JSON form (for compiled files) ----------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """The adapter's settings and template as JSON data (see :meth:`from_dict`)."""
        return {
            "template": self.template.to_dict(),
            "output_format": self.output_format,
            "allow_unused": self.allow_unused,
            "reply_instruction": self.reply_instruction,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TemplateAdapter:
        from pliable.adapters.template_value import Template

        if not isinstance(data, Mapping) or not isinstance(data.get("template"), Mapping):
            raise UsageError(
                f"A TemplateAdapter's JSON form needs a 'template'; got {str(data)[:100]!r}."
            )
        options = {k: v for k, v in data.items() if k != "template"}
        unknown = sorted(str(k)[:40] for k in set(options) - _SETTINGS)
        if unknown:
            raise UsageError(f"Unknown TemplateAdapter settings {unknown}; it has {_SETTINGS}.")
        bad = [
            k
            for k, v in options.items()
            if (k == "output_format" and not isinstance(v, str))
            or (k == "allow_unused" and not isinstance(v, bool))
            or (k == "reply_instruction" and v is not None and not isinstance(v, bool))
        ]
        if bad:
            raise UsageError(f"TemplateAdapter settings of the wrong type: {sorted(bad)}.")
        try:
            return cls(Template.from_dict(data["template"]), **options)
        except TypeError as exc:
            raise UsageError(f"Bad TemplateAdapter settings {options!r}: {exc}.") from exc

    # --- prompt ----------------------------------------------------------------------------
    def _plan(self, signature: type[Signature]) -> _Plan:
        plan = self._plans.get(signature)
        if plan is None:
            if len(self._plans) > 256:
                self._plans.clear()
            plan = self._plans[signature] = _Plan(self, signature)
        return plan

    def wants_reply(self, signature: type[Signature]) -> bool:
        """Whether the reply format is appended (see ``reply_instruction``)."""
        if self.reply_instruction is not None:
            return self.reply_instruction
        if len(signature.output_fields) < 2:
            return False
        text = f"{self.template.system or ''}\n{self.template.user}"
        named = marker if self.output_format == "chat" else (lambda n: f'"{n}"')
        return not all(named(n) in text for n in signature.output_fields)

    def reply_format(self, signature: type[Signature]) -> str:
        """The lines telling the model how to write the outputs."""
        lines = []
        for f in signature.output_fields.values():
            hint = type_hint(f.annotation)
            if self.output_format == "chat":
                bits = (marker(f.name), f"({hint})" if hint else "", f.desc)
            else:
                bits = (f'"{f.name}":', hint or "text", f"({f.desc})" if f.desc else "")
            lines.append(" ".join(b for b in bits if b))
        head = (
            "Reply with each output on the lines after its marker, in this order:"
            if self.output_format == "chat"
            else "Reply with one JSON object with these keys, in order:"
        )
        return "\n".join([head, *lines])

    def format(
        self,
        signature: type[Signature],
        inputs: Mapping[str, Any],
        *,
        demos: Iterable[Mapping[str, Any]] = (),
        instructions: str | None = None,
    ) -> list[Message]:
        """The system message, a user/assistant pair per demo, then the filled user text."""
        plan = self._plan(signature)
        inputs = {**plan.optional, **inputs}  # Predict checked that only Optional ones lack
        system = instructions or plan.system or self.template.fill("system", inputs)
        messages: list[Message] = [] if system is None else [{"role": "system", "content": system}]
        for demo in demos:
            outputs = {k: demo[k] for k in signature.output_fields if k in demo}
            try:
                shown = self.template.fill("user", {**plan.optional, **demo}) if outputs else None
            except InputError:  # a demo lacking a placeholder's value cannot be shown
                shown = None
            if shown is None:
                continue
            messages.append({"role": "user", "content": shown})
            messages.append(
                {"role": "assistant", "content": self._outputs(signature, outputs, plan)}
            )
        user = self.template.fill("user", inputs) or ""
        if plan.reply is not None:
            user = f"{user}\n\n{plan.reply}"
        messages.append({"role": "user", "content": user})
        return messages

    def _outputs(self, signature: type[Signature], values: Mapping[str, Any], plan: _Plan) -> str:
        if plan.reply is None and len(signature.output_fields) == 1:  # an unmarked reply
            name, value = next(iter(values.items()))
            return self.render_output(signature, name, value)
        marked = getattr(self.inner, "marked_outputs", None)  # the reply asks for markers
        return (
            marked(signature, values)
            if callable(marked)
            else self.inner.format_outputs(signature, values)
        )

    def system_prompt(self, signature: type[Signature], instructions: str | None = None) -> str:
        """The system text with its placeholders unfilled ('' when there is none)."""
        return instructions or self._plan(signature).system or self.template.system or ""

    def reply_reminder(self, signature: type[Signature]) -> str:
        plan = self._plan(signature)
        return plan.reply or ""

    def format_outputs(self, signature: type[Signature], values: Mapping[str, Any]) -> str:
        return self._outputs(signature, values, self._plan(signature))

    # --- request and parsing ---------------------------------------------------------------
    def request_options(self, signature: type[Signature], lm: LanguageModel) -> dict[str, Any]:
        return self.inner.request_options(signature, lm)

    def parse(self, signature: type[Signature], text: str) -> dict[str, Any]:
        return self.inner.parse(signature, text)
