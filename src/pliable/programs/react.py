"""``ReAct``: a tool-using agent loop, built from two ordinary predictors.

::

    def search(query: str, k: int = 3) -> list[str]:
        \"\"\"Search the encyclopedia; returns the top passages.\"\"\"
        ...

    agent = pl.ReAct("question -> answer", tools=[search], max_steps=5)
    pred = agent(question="Where was the author of Dune born?")
    pred.answer, pred.trajectory      # the outputs, and every step taken

Each step, the ``react`` predictor (inputs + trajectory -> ``next_thought``,
``next_tool_name``, ``next_tool_args``) picks a tool and its arguments; the tool runs and its
result (or its error, as ``Error: <Type>: <message>``) is added to the trajectory as the
observation the model sees next. The loop ends when the model calls ``finish``, after
``max_steps`` steps, or when a step's reply cannot be read at all. Then the ``extract``
predictor (a ChainOfThought: inputs + trajectory -> outputs) writes the outputs.

Both are plain predictors with stable names (``react``, ``extract``), so optimizers compile
them like any other: bootstrapped demos come from every step of a successful run, and
instruction optimizers rewrite each one's instruction. The tool catalog is the description of
the ``next_tool_name`` field rather than part of the instruction, so a rewritten instruction
never loses it. :meth:`ReAct.config` / :meth:`ReAct.from_config` rebuild the program from
JSON given the same tools.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Literal, TypedDict

from pliable.adapters.values import to_jsonable
from pliable.compiled.kinds import register_program_kind
from pliable.data.example import Prediction
from pliable.errors import (
    RUN_STOPPING,
    CompiledFileError,
    InputError,
    ParseError,
    PliableError,
    UsageError,
)
from pliable.programs.module import Module
from pliable.programs.predict import ChainOfThought, Predict
from pliable.programs.tools import Tool
from pliable.signatures.fields import InputField, OutputField
from pliable.signatures.signature import Signature, ensure_signature

__all__ = ["FINISH", "ReAct", "Step", "format_trajectory"]

logger = logging.getLogger(__name__)

FINISH = "finish"
_NO_STEPS = "(no steps yet)"
_GUIDANCE = (
    "Work on this as an agent. You see the inputs and your trajectory so far: the thoughts, "
    "tool calls and observations of earlier steps. In each step, think about what is still "
    "missing, then call one tool with its arguments as a JSON object; its result is added to "
    "the trajectory as an observation. Once you have what you need to produce {outputs}, call "
    "`finish` with {{}} as its arguments."
)
_TRAJECTORY_DESC = "the earlier steps: thoughts, tool calls and their observations"


class Step(TypedDict):
    """One step of a run: the model's thought, the tool it called, the arguments it gave and
    what came back (``None`` for the ``finish`` step)."""

    thought: str
    tool: str
    args: Any
    observation: str | None


def _dumps(value: Any) -> str:
    return json.dumps(to_jsonable(value), ensure_ascii=False, default=str)


def format_trajectory(steps: Iterable[Step]) -> str:
    """The trajectory as the model reads it: one block per step."""
    blocks = []
    for i, step in enumerate(steps, 1):
        lines = [
            f"Step {i}",
            f"thought: {step['thought']}",
            f"tool: {step['tool']}",
            f"args: {_dumps(step['args'])}",
        ]
        if step["observation"] is not None:
            lines.append(f"observation: {step['observation']}")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) or _NO_STEPS


def _catalog(tools: Iterable[Tool], outputs: str) -> str:
    lines = ["the tool to call next:"]
    for tool in tools:
        lines.append("- " + tool.render().replace("\n", "\n  "))
    lines.append(f"- {FINISH}() - call it once you can produce {outputs}; it takes no arguments")
    return "\n".join(lines)


def _react_signature(signature: type[Signature], tools: list[Tool]) -> type[Signature]:
    outputs = ", ".join(f"`{n}`" for n in signature.output_fields)
    instructions = f"{signature.instructions}\n\n{_GUIDANCE.format(outputs=outputs)}"
    names = Literal.__getitem__((*(t.name for t in tools), FINISH))
    sig: type[Signature] = Signature("trajectory -> next_thought", instructions)
    sig = sig.with_field("trajectory", desc=_TRAJECTORY_DESC)
    sig = sig.with_field("next_thought", desc="what you know so far and what to do next")
    sig = sig.append("next_tool_name", OutputField(desc=_catalog(tools, outputs)), names)
    args_desc = 'the tool\'s arguments as a JSON object, e.g. {"name": value}; {} for finish'
    sig = sig.append("next_tool_args", OutputField(desc=args_desc), dict[str, Any])
    for name, field in reversed(list(signature.input_fields.items())):
        sig = sig.prepend(name, InputField(desc=field.desc), field.annotation)
    return sig


class ReAct(Module):
    """Reason and act: call tools in a loop, then write the signature's outputs.

    Args:
        signature: the task, as a signature class or string (``"question -> answer"``).
        tools: Python functions (type hints give the argument types, the docstring the
            description) or :class:`Tool` objects.
        max_steps: the most tool-choosing steps before the outputs are extracted.
        max_observation_chars: a longer tool result is cut to this many characters.

    The prediction holds the outputs (and the extract step's ``reasoning``) plus
    ``trajectory``: the list of :class:`Step` taken.
    """

    def __init__(
        self,
        signature: str | type[Signature],
        tools: Iterable[Tool | Callable[..., Any]],
        *,
        max_steps: int = 5,
        max_observation_chars: int = 2000,
    ) -> None:
        sig = ensure_signature(signature)
        if "trajectory" in sig.fields:
            raise UsageError(
                f"ReAct: {sig.signature_string()!r} has a field named `trajectory`, which "
                "ReAct uses for the steps taken. Rename the field."
            )
        if isinstance(tools, Tool) or callable(tools):
            raise UsageError(f"ReAct takes a list of tools; got one: {tools!r}. Write [tool].")
        made = [Tool.from_any(t) for t in tools]
        names = [t.name for t in made]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise UsageError(
                f"ReAct: two tools are named {duplicates[0]!r}; tool names must differ. "
                "Pass pl.Tool(fn, name=...) to rename one."
            )
        if FINISH in names:
            raise UsageError(
                f"ReAct: a tool cannot be named {FINISH!r}; the model calls `{FINISH}` to end "
                "the loop. Pass pl.Tool(fn, name=...) to rename it."
            )
        if max_steps < 1 or max_observation_chars < 1:
            raise UsageError(
                "ReAct: max_steps and max_observation_chars must be >= 1; got "
                f"max_steps={max_steps}, max_observation_chars={max_observation_chars}."
            )
        self.react = Predict(_react_signature(sig, made))
        self.extract = ChainOfThought(
            sig.append("trajectory", InputField(desc=_TRAJECTORY_DESC), str)
        )
        self.signature = sig
        self.tools: dict[str, Tool] = {t.name: t for t in made}
        self.max_steps = max_steps
        self.max_observation_chars = max_observation_chars

    # --- running ---------------------------------------------------------------------------
    def forward(self, /, **inputs: Any) -> Prediction:
        fields = self.signature.input_fields
        unknown = [k for k in inputs if k not in fields]
        if unknown:
            raise InputError(
                f"Unknown input `{unknown[0]}` for ReAct({self.signature.signature_string()!r}). "
                f"Inputs are: {', '.join(fields) or '(none)'}.",
                field=unknown[0],
                value=inputs[unknown[0]],
            )
        steps: list[Step] = []
        for number in range(1, self.max_steps + 1):
            decided = self._decide(inputs, steps, number)
            if decided is None:
                break
            thought, name, args = decided
            tool = self._match(name)
            if tool == FINISH:
                steps.append(Step(thought=thought, tool=FINISH, args=args, observation=None))
                break
            observation = self._observe(tool, name, args)
            called = tool.name if isinstance(tool, Tool) else name
            steps.append(Step(thought=thought, tool=called, args=args, observation=observation))
        else:
            logger.info("ReAct stopped after max_steps=%d without `finish`", self.max_steps)
        extracted = self.extract(**inputs, trajectory=format_trajectory(steps))
        return Prediction({**extracted, "trajectory": steps})

    def _decide(
        self, inputs: Mapping[str, Any], steps: list[Step], number: int
    ) -> tuple[str, str, Any] | None:
        """The model's next (thought, tool name, args); None when its reply is unreadable."""
        try:
            pred = self.react(**inputs, trajectory=format_trajectory(steps))
            return str(pred.next_thought), str(pred.next_tool_name), pred.next_tool_args
        except ParseError as exc:
            error = exc
        if error.field in ("next_tool_name", "next_tool_args"):
            # an unknown tool or non-object arguments: read the reply loosely, so the model
            # is told what was wrong in the next observation instead of the loop ending
            relaxed = self.react.signature.with_field("next_tool_name", type_=str)
            relaxed = relaxed.with_field("next_tool_args", type_=Any)
            try:
                raw = self.react.resolved_adapter().parse(relaxed, error.raw_text)
                return str(raw["next_thought"]), str(raw["next_tool_name"]), raw["next_tool_args"]
            except ParseError:
                pass
        logger.warning(
            "ReAct: the reply of step %d could not be read; extracting the outputs from the "
            "%d step(s) so far.\n%s",
            number,
            len(steps),
            error,
        )
        return None

    def _match(self, name: str) -> Tool | str | None:
        """The tool (or FINISH) the model named, ignoring case and stray quotes."""
        if name == FINISH:
            return FINISH
        if name in self.tools:
            return self.tools[name]
        cleaned = name.strip().strip("`'\"").strip().casefold()
        if cleaned == FINISH:
            return FINISH
        return next((t for n, t in self.tools.items() if n.casefold() == cleaned), None)

    def _observe(self, tool: Tool | str | None, name: str, args: Any) -> str:
        """Run the tool; its result, or its error, as the text the model sees next."""
        if not isinstance(tool, Tool):
            return (
                f"Error: there is no tool named {name!r}. Call one of: "
                f"{', '.join([*self.tools, FINISH])}."
            )
        try:
            result = tool.invoke(args)
        except RUN_STOPPING:
            raise
        except Exception as exc:  # shown to the model, which may fix its call
            logger.debug("ReAct: tool %r raised %r", tool.name, exc)
            text = f"Error: {type(exc).__name__}: {exc}"
        else:
            text = result if isinstance(result, str) else _dumps(result)
        limit = self.max_observation_chars
        if len(text) > limit:
            text = f"{text[:limit]}\n... [{len(text) - limit} more characters cut]"
        return text

    # --- rebuilding ------------------------------------------------------------------------
    def config(self) -> dict[str, Any]:
        """What rebuilds this program (with the same tools): see :meth:`from_config`."""
        return {
            "signature": self.signature.to_dict(),
            "tools": [
                {"name": t.name, "desc": t.desc, "schema": t.schema()} for t in self.tools.values()
            ],
            "max_steps": self.max_steps,
            "max_observation_chars": self.max_observation_chars,
        }

    @classmethod
    def from_config(
        cls, config: Mapping[str, Any], *, tools: Iterable[Tool | Callable[..., Any]]
    ) -> ReAct:
        """Rebuild a ReAct from :meth:`config` output; ``tools`` must be the recorded tools."""
        recorded = config.get("tools") if isinstance(config, Mapping) else None
        if not isinstance(recorded, list) or not all(
            isinstance(t, Mapping)
            and isinstance(t.get("name"), str)
            and set(t) <= {"name", "desc", "schema"}
            for t in recorded
        ):
            raise UsageError(
                "ReAct config needs a 'tools' list of objects with a 'name' (and 'desc', "
                f"'schema'); got {str(recorded)[:200]!r}."
            )
        unknown = sorted(
            str(k)[:40]
            for k in set(config) - {"signature", "tools", "max_steps", "max_observation_chars"}
        )
        if unknown:
            raise UsageError(f"ReAct config has unknown key(s) {unknown}.")
        given: list[Tool] = [Tool.from_any(tool) for tool in tools]
        by_name = {t.name: t for t in given}
        names = [t["name"] for t in recorded]
        missing = [n for n in names if n not in by_name]
        unexpected = [n for n in by_name if n not in names]
        if missing or unexpected:
            raise UsageError(
                f"ReAct was saved with the tools {names}; pass the same tools. "
                f"Missing: {missing or 'none'}; not in the saved program: {unexpected or 'none'}."
            )
        for entry in recorded:
            now = json.loads(json.dumps(by_name[entry["name"]].schema(), default=str))
            if "schema" in entry and entry["schema"] != now:
                logger.warning(
                    "ReAct: tool %r's arguments changed since it was saved: %s, now %s",
                    entry["name"],
                    entry["schema"],
                    now,
                )
        ordered = sorted(given, key=lambda tool: names.index(tool.name))  # keeps duplicates
        return cls(
            Signature.from_dict(config.get("signature", {})),
            ordered,
            max_steps=_whole(config, "max_steps", 5),
            max_observation_chars=_whole(config, "max_observation_chars", 2000),
        )

    def extra_state(self) -> dict[str, Any]:
        return {"program_config": self.config()}

    def comparable(self, section: str, value: Any) -> Any:
        # the tools are yours: their names must agree, their recorded schemas are compared
        # (and a difference logged) when a file rebuilds the program
        if not isinstance(value, Mapping):
            return value
        tools = value.get("tools")
        names = [t.get("name") for t in tools if isinstance(t, Mapping)] if tools else tools
        return {**value, "tools": names}

    @classmethod
    def from_state(cls, state: Mapping[str, Any], /, *, lm: Any = None, **context: Any) -> ReAct:
        """Rebuild from a compiled file's state; ``tools=`` must be the recorded tools (they
        are your code: a file never names code that pliable would import)."""
        config = state.get("program_config") if isinstance(state, Mapping) else None
        if not isinstance(config, Mapping):
            raise CompiledFileError("a ReAct file needs its 'program_config' object; it has none.")
        tools = context.get("tools")
        if tools is None:
            recorded = config.get("tools")
            names = (
                [str(t.get("name"))[:40] for t in recorded if isinstance(t, Mapping)]
                if isinstance(recorded, list)
                else []
            )
            raise CompiledFileError(
                f"this ReAct program calls the tools {names[:20]}, which are your code: pass "
                "them as pl.load(path, tools=[...])."
            )
        try:
            program = cls.from_config(config, tools=tools)
        except (PliableError, KeyError, TypeError, ValueError) as exc:
            raise CompiledFileError(f"cannot rebuild the ReAct program: {exc}") from exc
        program.load_state(state, lm=lm)
        return program


def _whole(config: Mapping[str, Any], name: str, default: int) -> int:
    value = config.get(name, default)
    high = 1_000_000 if name == "max_observation_chars" else 1000  # a file sets the cost
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= high:
        raise UsageError(
            f"program_config.{name} must be a whole number from 1 to {high}; got "
            f"{str(value)[:40]!r}."
        )
    return value


register_program_kind("pliable.ReAct", ReAct)
