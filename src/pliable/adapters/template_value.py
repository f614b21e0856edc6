"""``Template``: a hand-written prompt (a hard prompt) with ``{field}`` placeholders.

::

    t = pl.Template("Question: {question}\\nAnswer in one word.", system="You are terse.")
    qa = pl.Predict.from_template(t, "question -> answer", lm=lm)   # sends exactly this text
    pl.evaluate(qa, devset, metric)                   # like any program
    t = pl.Template.from_file("prompts/qa.txt")       # '### system' / '### user' sections

Placeholders are input field names in braces; ``{{`` and ``}}`` write literal braces.
:meth:`Template.check` says which placeholders do not fit a signature. As a starting point for
the optimizers, ``pl.Predict(sig, instructions=t.as_instructions())`` hands them the text to
improve (instruction optimizers rewrite it, few-shot optimizers add demos to it).
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pliable.adapters.template import Part, parse_text
from pliable.adapters.values import render_input
from pliable.errors import DataError, InputError, SignatureError, UsageError

if TYPE_CHECKING:
    from pliable.lm.types import Message
    from pliable.signatures.signature import Signature

__all__ = ["Template"]

_HEADER = re.compile(
    r"^[ \t]*(?:#{1,6}[ \t]*([A-Za-z]+)[ \t]*:?|\[[ \t]*([A-Za-z]+)[ \t]*\])[ \t]*$", re.M
)
_ROLES = ("system", "user", "assistant")


def _trim(body: str, first_line: int) -> tuple[str, int]:
    """``body`` without surrounding blank lines or trailing spaces, and its first line."""
    stripped = body.lstrip("\n")
    return stripped.rstrip(), first_line + len(body) - len(stripped)


def _sections(text: str, source: str) -> tuple[dict[str, str], dict[str, int]]:
    """Split a template file at its section headers: ({role: text}, {role: first line})."""
    headers = [m for m in _HEADER.finditer(text) if (m.group(1) or m.group(2)).lower() in _ROLES]
    if not headers:
        user, line = _trim(text, 1)
        return {"user": user}, {"user": line}

    def fail(line: int | None, why: str, value: str | None = None) -> DataError:
        at = f"{source}, line {line}" if line else source
        return DataError(f"{at}: {why}", source=source, line=line, value=value)

    parts: dict[str, str] = {}
    lines: dict[str, int] = {}
    if text[: headers[0].start()].strip():
        before = text[: headers[0].start()].strip()
        raise fail(1, f"text before the first section header: {before[:80]!r}.", before)
    for i, m in enumerate(headers):
        role, header = (m.group(1) or m.group(2)).lower(), m.group(0).strip()
        line = text.count("\n", 0, m.start()) + 1
        if role == "assistant":
            raise fail(line, f"{header!r}: a template has a system and a user section only.")
        if role in parts:
            raise fail(line, f"a second {role} section (the first starts at line {lines[role]}).")
        end = headers[i + 1].start() if i + 1 < len(headers) else len(text)
        parts[role], lines[role] = _trim(text[m.end() + 1 : end], line + 1)
        if not parts[role].strip():
            raise fail(line, f"the {role} section is empty. Write its text, or remove {header!r}.")
    if "user" not in parts:
        raise fail(None, "no user section. Add a '### user' section holding the {placeholders}.")
    return parts, lines


def _show(value: Any) -> str:
    return "" if value is None else render_input(value)


class Template:
    """A fixed prompt: an optional system message and a user message with ``{field}`` slots.

    Args:
        user: the user message; ``{name}`` is replaced by the input ``name``.
        system: the system message (may use placeholders too), or None for none.
        name: a label for messages and reports (``from_file`` uses the file's name).
    """

    __slots__ = ("_parts", "name", "source", "system", "user")
    user: str
    system: str | None
    name: str | None
    source: str | None  # the file it was loaded from
    _parts: dict[str, Part]

    def __init__(self, user: str, *, system: str | None = None, name: str | None = None) -> None:
        self._init(user, system, name, None, {})

    def _init(
        self,
        user: Any,
        system: Any,
        name: str | None,
        source: str | None,
        lines: Mapping[str, int],
    ) -> None:
        where = source or (f"Template {name!r}" if name else "Template")
        for role, text in (("user", user), ("system", system)):
            if (role == "user" or text is not None) and not (
                isinstance(text, str) and text.strip()
            ):
                hint = " (or None for no system message)" if role == "system" else ""
                raise UsageError(
                    f"{where}: the {role} text must be non-empty text{hint}; got {text!r}."
                )
        parts = {
            role: parse_text(text, role, lines.get(role, 1), where, source)
            for role, text in (("system", system), ("user", user))
            if text is not None
        }
        for attr, value in zip(self.__slots__, (parts, name, source, system, user), strict=True):
            object.__setattr__(self, attr, value)

    def __setattr__(self, name: str, value: object) -> None:
        raise UsageError(f"Templates are immutable: cannot set {name}. Build a new Template.")

    # --- loading and saving ----------------------------------------------------------------
    @classmethod
    def from_text(cls, text: str, *, name: str | None = None) -> Template:
        """A template from the text of a template file (see :meth:`from_file`)."""
        return cls._load(text, name, "template text")

    @classmethod
    def from_file(cls, path: str | os.PathLike[str], *, name: str | None = None) -> Template:
        """Load a plain-text template file, as kept in prompt hubs.

        Either the whole file is the user message, or it has sections headed by lines such as
        ``### system`` and ``### user`` (any number of ``#``, any case; ``[system]`` and
        ``[user]`` work too). Blank lines around a section are dropped.
        """
        source = str(path)
        try:
            text = Path(path).read_text("utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise DataError(
                f"Cannot read the template file {source}: {exc}. Check the path (relative "
                f"paths start at {Path.cwd()}) and that it is UTF-8 text.",
                source=source,
            ) from exc
        return cls._load(text, name or Path(path).stem, source)

    @classmethod
    def _load(cls, text: str, name: str | None, source: str) -> Template:
        if not isinstance(text, str) or not text.strip():
            raise DataError(
                f"{source} is empty: a template needs at least a user message.", source=source
            )
        parts, lines = _sections(text.replace("\r\n", "\n"), source)
        template = cls.__new__(cls)
        template._init(parts["user"], parts.get("system"), name, source, lines)
        return template

    def to_dict(self) -> dict[str, Any]:
        """The JSON form: ``{"name": ..., "system": ..., "user": ...}``."""
        return {"name": self.name, "system": self.system, "user": self.user}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Template:
        """Rebuild a template from :meth:`to_dict` output."""
        if not isinstance(data, Mapping) or set(data) - {"name", "system", "user"}:
            raise UsageError(
                "A template's JSON form is an object with 'user' and optional 'system' and "
                f"'name'; got {str(data)[:100]!r}."
            )
        name, user = data.get("name"), data.get("user", "")
        system = data.get("system")
        if not isinstance(user, str) or not isinstance(system, (str, type(None))):
            raise UsageError("A template's 'user' and 'system' texts must be strings.")
        return cls(user, system=system, name=name and str(name))

    # --- reading ---------------------------------------------------------------------------
    @property
    def fields(self) -> frozenset[str]:
        """The placeholder names used in the system and user text."""
        return frozenset(s.name for p in self._parts.values() for s in p.slots)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Template):
            return NotImplemented
        return self.to_dict() == other.to_dict()

    def __hash__(self) -> int:
        return hash((self.name, self.system, self.user))

    def __repr__(self) -> str:
        label = f"{self.name!r}, " if self.name else ""
        return f"Template({label}fields={sorted(self.fields)})"

    def check(self, signature: str | type[Signature], *, allow_unused: bool = False) -> None:
        """Raise :class:`SignatureError` if the placeholders do not fit ``signature``.

        Every placeholder must be an input field (outputs are not known when the prompt is
        written), and every input must appear somewhere unless ``allow_unused``.
        """
        from pliable.signatures.signature import ensure_signature

        sig = ensure_signature(signature)
        inputs, outputs = list(sig.input_fields), set(sig.output_fields)
        problems: list[str] = []
        seen: set[str] = set()
        for slot in (s for p in self._parts.values() for s in p.slots):
            if slot.name in inputs or slot.name in seen:
                continue
            seen.add(slot.name)
            at = f"{slot.part} text, line {slot.line} ({slot.text!r})"
            if slot.name in outputs:
                problems.append(
                    f"{at}: {{{slot.name}}} is an output field; the template is filled in "
                    "before the LM answers, so it can only use inputs. Remove it (the reply "
                    "format is asked for when needed)."
                )
                continue
            close = difflib.get_close_matches(slot.name, inputs, n=1)
            hint = f" Did you mean {{{close[0]}}}?" if close else ""
            problems.append(
                f"{at}: unknown placeholder {{{slot.name}}}: no input `{slot.name}`.{hint} "
                f"Inputs are: {', '.join(inputs) or 'none'}."
            )
        unused = [n for n in inputs if n not in self.fields]
        if unused and not allow_unused:
            text = f"{self.system or ''}\n{self.user}"
            escaped = [n for n in unused if "{{" + n + "}}" in text]
            extra = (
                f" ({', '.join('{{' + n + '}}' for n in escaped)} is an escaped literal brace: "
                "write a placeholder with single braces.)"
                if escaped
                else ""
            )
            problems.append(
                f"input(s) {', '.join(f'`{n}`' for n in unused)} never appear in the template, "
                f"so the LM would not see them. Add {', '.join('{' + n + '}' for n in unused)}, "
                f"or pass allow_unused=True.{extra}"
            )
        if problems:
            where = f" {self.name!r}" if self.name else ""
            where += f" ({self.source})" if self.source and self.source != self.name else ""
            raise SignatureError(
                f"Template{where} does not fit {sig.signature_string()!r}:\n  - "
                + "\n  - ".join(problems)
            )

    # --- rendering -------------------------------------------------------------------------
    def fill(self, part: str, values: Mapping[str, Any]) -> str | None:
        """The ``part`` ("system" or "user") with its placeholders filled from ``values``
        (rendered like any input; None as empty text). None when the part is absent."""
        parsed = self._parts.get(part)
        if parsed is None:
            return None
        missing = sorted({s.name for s in parsed.slots if s.name not in values})
        if missing:
            raise InputError(
                f"The template's {part} text needs {', '.join('{' + n + '}' for n in missing)}; "
                f"got values for {sorted(values) or 'nothing'}. Pass every placeholder by name.",
                field=missing[0] if len(missing) == 1 else None,
            )
        return "".join(p if isinstance(p, str) else _show(values[p.name]) for p in parsed.pieces)

    def render(self, **inputs: Any) -> list[Message]:
        """The chat messages: the system message (if any), then the user message."""
        unknown = sorted(set(inputs) - self.fields)
        if unknown:
            close = difflib.get_close_matches(unknown[0], sorted(self.fields), n=1)
            hint = f" Did you mean `{close[0]}`?" if close else ""
            raise InputError(
                f"Unknown input `{unknown[0]}` = {inputs[unknown[0]]!r}: the template's "
                f"placeholders are {sorted(self.fields)}.{hint}",
                field=unknown[0],
                value=inputs[unknown[0]],
            )
        system, user = self.fill("system", inputs), self.fill("user", inputs)
        messages: list[Message] = [] if system is None else [{"role": "system", "content": system}]
        messages.append({"role": "user", "content": user or ""})
        return messages

    def as_instructions(self) -> str:
        """The template as one instruction text, placeholders written as `field`: the
        starting instruction for ``pl.Predict(sig, instructions=...)``, which the optimizers
        then improve (and what ``Predict.from_template`` sets as its signature's instructions)."""
        texts = []
        for part in self._parts.values():
            texts.append("".join(p if isinstance(p, str) else f"`{p.name}`" for p in part.pieces))
        return "\n\n".join(t.strip() for t in texts)
