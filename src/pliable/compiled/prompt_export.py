"""Export a compiled program's prompts for another runtime: plain chat messages, Jinja2,
LangChain, promptfoo.

    files = pl.export("tickets.json", format="messages")   # {"tickets.messages.json": "..."}
    pliable export tickets.json --format jinja2 --out prompts/

Every format writes the messages each step sends, as :func:`~pliable.compiled.render_prompts`
renders them, with a place for each input. How an input value becomes text (the same rules
for every format, written into the ``messages`` file as ``input_rendering``):

* text as it is;
* a non-empty list of texts as bullet lines: ``- first`` newline ``- second`` (version 1
  ``messages`` files had numbered lines instead: ``[1] first``);
* anything else as JSON (``json.dumps(value, ensure_ascii=False)``: ``", "`` and ``": "``
  separators, non-ASCII kept), after pydantic models, enums and tuples become plain JSON data.

The formats:

``messages``
    one JSON file. Per step: its fields and types, its adapter, model and LM options, and
    ``messages`` whose ``content`` has a ``{name}`` placeholder per input, with literal braces
    doubled (``{{`` and ``}}``: Python's ``str.format`` syntax, so
    ``content.format(**rendered)`` gives the message), and the same content as ``parts``, a
    list of ``{"text": ...}`` and ``{"input": name}`` pieces for runtimes without
    ``str.format``. The JavaScript renderer in ``js/`` reads this file.
``jinja2``
    one template per step. It renders (``jinja2``, autoescape off) to the step's messages as a
    JSON array; typed inputs are rendered by the ``pliable_input`` macro it includes, whose
    JSON case calls a ``pliable_json`` filter the host registers
    (``env.filters["pliable_json"] = lambda v: json.dumps(v, ensure_ascii=False)``).
``langchain``
    one JSON file of LangChain serialized ``ChatPromptTemplate`` objects, one per step
    (``langchain_core.load.load``), whose ``format_messages(**rendered)`` are the messages
    (roles ``system``/``human``/``ai``). Needs ``langchain-core`` to export.
``promptfoo``
    a ``promptfooconfig.yaml`` with one prompt file per step (Nunjucks, as promptfoo renders
    it) and, given a dev set, one test per example: its inputs rendered by the rules above
    and an assertion that the answer contains the gold value.

A program whose prompt is not fixed text (KNN, soft prompts) is refused, as
:func:`~pliable.compiled.render_prompts` refuses it.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pliable.compiled.render import file_models, per_call_parts, read_predictors
from pliable.errors import CompiledFileError, UsageError

if TYPE_CHECKING:
    from pliable.lm.types import LanguageModel

__all__ = ["FORMATS", "INPUT_RENDERING", "export", "render_input_text", "template_parts"]

FORMATS = ("messages", "jinja2", "langchain", "promptfoo")

INPUT_RENDERING = (
    "text: as it is",
    "a non-empty list of texts: bullet lines, '- first\\n- second'",
    "anything else: JSON, json.dumps(value, ensure_ascii=False) (', ' and ': ' separators, "
    "non-ASCII kept), after pydantic models, enums and tuples become plain JSON data",
)

# Stand-ins for the inputs while a step's messages are rendered: private-use characters no
# prompt holds, so where they land is where each input goes.
_OPEN, _CLOSE = "\ue000", "\ue001"

Part = dict[str, str]


def render_input_text(value: Any) -> str:
    """An input value as prompt text, by the rules every export format documents."""
    from pliable.adapters.values import render_input

    return render_input(value)


def template_parts(content: str, inputs: Sequence[str]) -> list[Part]:
    """Split a message rendered with stand-ins into text and input pieces."""
    parts: list[Part] = []
    rest = content
    while _OPEN in rest:
        before, _, after = rest.partition(_OPEN)
        name, found, rest = after.partition(_CLOSE)
        if not found or name not in inputs:
            raise CompiledFileError(f"cannot export: an input marker is damaged in {content!r}")
        if before:
            parts.append({"text": before})
        parts.append({"input": name})
    if rest:
        parts.append({"text": rest})
    return parts


def _format_string(parts: Sequence[Part]) -> str:
    return "".join(
        "{" + p["input"] + "}" if "input" in p else p["text"].replace("{", "{{").replace("}", "}}")
        for p in parts
    )


def _steps(
    source: Any, lm: LanguageModel | str | None
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The file (validated) and, per step, its fields, settings and message parts."""
    from pliable.compiled.io import dump_program

    data = source if isinstance(source, (str, os.PathLike, Mapping)) else dump_program(source)
    parsed, predictors = read_predictors(data)
    missing = per_call_parts(parsed)
    if missing is not None:
        raise CompiledFileError(
            f"cannot export this program: its prompt is not fixed text, because {missing}. "
            "Serve it with pliable (pl.load(path)), which renders it per call."
        )
    models = file_models(parsed)
    steps = []
    for name, predictor in predictors.items():
        sig = predictor.signature
        target = lm if lm is not None else models.get(name) or predictor.lm
        adapter = predictor.resolved_adapter(target)
        stand_ins = {f: f"{_OPEN}{f}{_CLOSE}" for f in sig.input_fields}
        messages = adapter.format(sig, stand_ins, demos=predictor.demos)
        state = parsed.predictors[name]
        steps.append(
            {
                "name": name,
                "signature": sig.signature_string(),
                "inputs": {f: field.type_name for f, field in sig.input_fields.items()},
                "outputs": {f: field.type_name for f, field in sig.output_fields.items()},
                "adapter": type(adapter).__name__,
                "model": models.get(name),
                "options": dict(state.lm.options) if state.lm else {},
                "config": dict(state.config),
                "parts": [
                    {"role": m["role"], "parts": template_parts(m["content"], list(stand_ins))}
                    for m in messages
                ],
            }
        )
    return {"program": parsed.program}, steps


def _messages_file(head: Mapping[str, Any], steps: Sequence[Mapping[str, Any]]) -> str:
    from pliable._version import __version__

    doc = {
        "format": "pliable.messages",
        "version": 2,
        "program": head["program"],
        "exported_by": f"pliable {__version__}",
        "placeholders": (
            "content: {name} is where the input goes, literal braces are doubled ({{ and }}), "
            "as in Python's str.format; parts: the same content as text and input pieces"
        ),
        "input_rendering": list(INPUT_RENDERING),
        "steps": [
            {
                **{k: v for k, v in step.items() if k != "parts"},
                "messages": [
                    {
                        "role": m["role"],
                        "content": _format_string(m["parts"]),
                        "parts": m["parts"],
                    }
                    for m in step["parts"]
                ],
            }
            for step in steps
        ],
    }
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def _file_part(name: str) -> str:
    """``name`` as a safe part of a file name: letters, digits, ``_``, ``-`` and ``.`` only
    (a predictor may be named ``steps['a/b']``), never only dots."""
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("_") or "step"
    return f"_{safe}" if set(safe) == {"."} else safe


def _file_names(stem: str, names: Sequence[str], suffix: str) -> list[str]:
    """One distinct, safe file name per step."""
    out: list[str] = []
    for name in names:
        base = f"{_file_part(stem)}.{_file_part(name)}"
        candidate, i = f"{base}{suffix}", 2
        while candidate in out:
            candidate, i = f"{base}-{i}{suffix}", i + 1
        out.append(candidate)
    return out


def _inert(text: str) -> str:
    """Literal text for a Jinja/Nunjucks template: every ``{`` written as an expression, so
    nothing in it opens a tag."""
    return text.replace("{", '{{ "{" }}')


_JINJA_MACRO = (
    "{% macro pliable_input(v) %}{% if v is string %}{{ v }}"
    "{% elif v is sequence and v is not mapping and v|length > 0 "
    'and v|select("string")|list|length == v|length %}'
    "{% for x in v %}- {{ x }}{% if not loop.last %}\n{% endif %}{% endfor %}"
    "{% else %}{{ v|pliable_json }}{% endif %}{% endmacro %}"
)


def _template(step: Mapping[str, Any], *, value: str, dump: str, header: str) -> str:
    """A Jinja2/Nunjucks template rendering the step's messages as a JSON array: each
    message's text captured by a ``set`` block, then the list dumped as JSON."""
    blocks, entries = [], []
    for i, message in enumerate(step["parts"]):
        body = "".join(
            value.format(name=p["input"]) if "input" in p else _inert(p["text"])
            for p in message["parts"]
        )
        blocks.append(f"{{% set m{i} %}}{body}{{% endset %}}")
        entries.append(f'{{"role": {json.dumps(message["role"])}, "content": m{i}}}')
    return f"{header}{''.join(blocks)}{{{{ [{', '.join(entries)}]|{dump} }}}}"


def _jinja_files(stem: str, steps: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    header = _JINJA_MACRO + (
        "{# pliable export: renders to this step's chat messages as a JSON array. Register "
        "the filter env.filters['pliable_json'] = lambda v: json.dumps(v, ensure_ascii=False); "
        "autoescape off. #}"
    )
    names = _file_names(stem, [step["name"] for step in steps], ".jinja")
    return {
        file: _template(step, value="{{{{ pliable_input({name}) }}}}", dump="tojson", header=header)
        for file, step in zip(names, steps, strict=True)
    }


_LC_ROLES = {"system": "system", "user": "human", "assistant": "ai"}


def _langchain_file(steps: Sequence[Mapping[str, Any]]) -> str:
    try:
        from langchain_core.load import dumpd
        from langchain_core.prompts import ChatPromptTemplate
    except ImportError as exc:
        raise UsageError(
            "format='langchain' needs langchain-core: pip install langchain-core"
        ) from exc
    out = {}
    for step in steps:
        pairs = [(_LC_ROLES[m["role"]], _format_string(m["parts"])) for m in step["parts"]]
        out[step["name"]] = dumpd(ChatPromptTemplate.from_messages(pairs))
    return json.dumps(out, indent=2, ensure_ascii=False) + "\n"


def _promptfoo_files(
    stem: str,
    steps: Sequence[Mapping[str, Any]],
    devset: Sequence[Any] | None,
) -> dict[str, str]:
    if len(steps) != 1:
        raise UsageError(
            f"format='promptfoo' exports a one-step program (promptfoo scores one prompt); "
            f"this one has {len(steps)} steps: {', '.join(s['name'] for s in steps)}."
        )
    (step,) = steps
    (prompt,) = _file_names(stem, [step["name"]], ".prompt.njk")
    files = {prompt: _template(step, value="{{{{ {name} }}}}", dump="dump", header="")}
    provider = step["model"] or "openai:gpt-4o-mini"
    lines = [
        "# pliable export: the compiled prompt, its inputs rendered as pliable renders them",
        f"description: {json.dumps(stem + ' (pliable)')}",
        f"prompts: [{json.dumps('file://' + prompt)}]",
        f"providers: [{json.dumps(provider.replace('/', ':', 1))}]",
        "tests:",
    ]
    outputs = list(step["outputs"])
    for example in devset or []:
        values = {f: render_input_text(example[f]) for f in step["inputs"] if f in example}
        lines.append(f"  - vars: {json.dumps(values, ensure_ascii=False)}")
        golds = [str(example[f]) for f in outputs if f in example]
        if golds:
            lines.append(f"    assert: [{{type: icontains, value: {json.dumps(golds[0])}}}]")
    if not devset:
        lines.append("  []")
    files["promptfooconfig.yaml"] = "\n".join(lines) + "\n"
    return files


def export(
    source: Any,
    format: str = "messages",
    *,
    lm: LanguageModel | str | None = None,
    devset: Sequence[Any] | None = None,
    name: str | None = None,
) -> dict[str, str]:
    """A compiled program's prompts in another runtime's format, as ``{file name: text}``.

    ``source`` is a compiled file's path, its parsed JSON, or a program. ``format`` is one
    of :data:`FORMATS` (see the module docstring). ``lm`` (an LM or a model name) picks the
    adapter where the file names none, as a call to that LM would. ``devset`` gives
    promptfoo its tests. ``name`` is the files' stem (default: the source file's, or
    ``program``). File names hold only letters, digits, ``_``, ``-`` and ``.``, whatever
    the predictors are called. Nothing is written: ``pliable export`` writes the files.
    """
    if format not in FORMATS:
        raise UsageError(f"Unknown export format {format!r}; use one of {', '.join(FORMATS)}.")
    stem = name or (Path(source).stem if isinstance(source, (str, os.PathLike)) else "program")
    head, steps = _steps(source, lm)
    if format == "messages":
        return {f"{_file_part(stem)}.messages.json": _messages_file(head, steps)}
    if format == "jinja2":
        return _jinja_files(stem, steps)
    if format == "langchain":
        return {f"{_file_part(stem)}.langchain.json": _langchain_file(steps)}
    return _promptfoo_files(stem, steps, devset)
