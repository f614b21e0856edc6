"""``Tool``: a plain Python function made callable by a model, with typed, validated arguments.

::

    def add(a: int, b: int = 0) -> int:
        \"\"\"Add two numbers.

        Args:
            a: the first number
            b: the second number
        \"\"\"
        return a + b

    tool = pl.Tool(add)
    tool.render()           # 'add(a: int, b: int = 0) - Add two numbers.' (+ argument lines)
    tool.schema()           # the JSON schema of the arguments, from the type hints
    tool(a="2", b=3)        # 5: "2" is read as 2, as the type hint says

The name comes from the function, the description from the docstring's first paragraph, and
argument descriptions from its ``Args:`` section (or ``:param name:`` lines). Arguments are
validated by pydantic (lax mode: ``"3"`` is an ``int``); what does not fit raises
:class:`ToolArgumentError` naming the argument, the value and the expected type. An async
function works too: a plain call runs it to completion, ``await tool.acall(...)`` awaits it.
"""

from __future__ import annotations

import functools
import inspect
import json
import re
import types
import typing
from collections.abc import Callable, Mapping
from typing import Any, Literal, Union

from pliable._async import to_thread as _to_thread
from pliable.errors import ToolArgumentError, UsageError
from pliable.signatures.types import optional_inner, type_name

__all__ = ["Tool", "ToolArgumentError"]

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")
_SECTION = re.compile(r"^(?:Args|Arguments|Parameters|Params|Keyword Args|Kwargs):\s*$")
_ENTRY = re.compile(r"^\*{0,2}(\w+)\s*(?:\([^)]*\))?\s*:\s*(.*)$")
_PARAM = re.compile(r"^:param\s+(?:[^:]*\s)?(\w+)\s*:\s*(.*)$")
_SIMPLE = (str, int, float, bool, type(None))


def _parse_docstring(doc: str) -> tuple[str, dict[str, str]]:
    """The first paragraph and the per-argument descriptions of a docstring."""
    lines = inspect.cleandoc(doc).splitlines()
    first: list[str] = []
    for line in lines:
        if not line.strip() or _SECTION.match(line.strip()) or line.strip().startswith(":"):
            break
        first.append(line.strip())
    args: dict[str, str] = {}
    current: str | None = None
    in_section, indent = False, 0
    for line in lines:
        stripped, depth = line.strip(), len(line) - len(line.lstrip())
        if m := _PARAM.match(stripped):
            current, in_section = m.group(1), False
            args[current] = m.group(2).strip()
        elif _SECTION.match(stripped):
            in_section, current, indent = True, None, -1
        elif in_section and stripped and depth == 0:
            in_section, current = False, None  # the next section ("Returns:") starts
        elif in_section and stripped:
            if indent < 0:
                indent = depth
            entry = _ENTRY.match(stripped) if depth <= indent else None
            if entry:
                current = entry.group(1)
                args[current] = entry.group(2).strip()
            elif current is not None:
                args[current] = f"{args[current]} {stripped}".strip()
        elif current is not None and stripped and not in_section and depth > 0:
            args[current] = f"{args[current]} {stripped}".strip()
    return " ".join(first), args


def _type_hints(fn: Callable[..., Any]) -> dict[str, Any]:
    target: Any = fn
    if isinstance(fn, functools.partial):
        target = fn.func
    elif isinstance(fn, type):
        target = fn.__init__  # type: ignore[misc]
    elif not (inspect.isfunction(fn) or inspect.ismethod(fn)):
        target = getattr(fn, "__call__", fn)  # noqa: B004 - a callable object's method
    return typing.get_type_hints(target, include_extras=True)


def _is_simple(tp: Any) -> bool:
    """True for types whose short name says all (no nested models to describe)."""
    if tp is Any or tp in _SIMPLE:
        return True
    origin = typing.get_origin(tp)
    if origin is Literal:
        return True
    if origin in (list, dict, tuple, set, frozenset, Union, types.UnionType):
        return all(_is_simple(a) for a in typing.get_args(tp) if a is not Ellipsis)
    return False


def _strip_titles(node: Any, *, in_properties: bool = False) -> Any:
    """Drop pydantic's generated ``title`` keys (never a property that is named "title")."""
    if isinstance(node, dict):
        return {
            k: _strip_titles(v, in_properties=k in ("properties", "$defs") and not in_properties)
            for k, v in node.items()
            if in_properties or not (k == "title" and isinstance(v, str))
        }
    if isinstance(node, list):
        return [_strip_titles(v) for v in node]
    return node


class Tool:
    """A Python callable the model can call by name, with arguments checked against its hints.

    Args:
        fn: a function (or any callable) with type hints; a missing hint means ``Any``.
        name: the name the model calls it by (default: the function's ``__name__``).
        desc: what the tool does (default: the docstring's first paragraph).
    """

    def __init__(
        self, fn: Callable[..., Any], *, name: str | None = None, desc: str | None = None
    ) -> None:
        if not callable(fn):
            raise UsageError(f"Tool needs a callable; got {type(fn).__name__}: {fn!r}.")
        self.fn = fn
        self.name = name or str(getattr(fn, "__name__", ""))
        if not _NAME.fullmatch(self.name):
            raise UsageError(
                f"Tool name {self.name!r} for {fn!r} is not usable: a tool name is letters, "
                "digits, '_' or '-', starting with a letter or '_'. Pass name=... to pl.Tool."
            )
        doc = inspect.getdoc(fn)
        if not doc and not (inspect.isfunction(fn) or inspect.ismethod(fn)):
            doc = inspect.getdoc(getattr(fn, "__call__", None))  # noqa: B004
        doc_desc, self.arg_descs = _parse_docstring(doc or "")
        self.desc = (desc if desc is not None else doc_desc).strip()
        try:
            self._params = inspect.signature(fn).parameters
            hints = _type_hints(fn)
        except (TypeError, ValueError, NameError) as exc:
            raise UsageError(
                f"Tool {self.name!r}: cannot read the signature or type hints of {fn!r} ({exc}). "
                "Wrap it in a `def` with type-hinted arguments."
            ) from exc
        self.args: dict[str, inspect.Parameter] = {
            n: p.replace(annotation=hints.get(n, Any))
            for n, p in self._params.items()
            if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
        }
        takes_extra = any(p.kind is p.VAR_KEYWORD for p in self._params.values())
        self._model = self._build_model(takes_extra)

    def _build_model(self, takes_extra: bool) -> Any:
        from pydantic import ConfigDict, Field, create_model

        fields: dict[str, Any] = {}
        for i, (n, p) in enumerate(self.args.items()):
            default = ... if p.default is p.empty else p.default
            fields[f"arg{i}"] = (
                p.annotation,
                Field(default, alias=n, description=self.arg_descs.get(n)),
            )
        config = ConfigDict(extra="allow" if takes_extra else "forbid", coerce_numbers_to_str=True)
        try:
            return create_model(f"{self.name}_args", __config__=config, **fields)
        except Exception as exc:
            raise UsageError(
                f"Tool {self.name!r}: its argument types cannot be validated ({exc}). Use "
                "types pydantic understands (str, int, list[str], pydantic models, ...)."
            ) from exc

    def __deepcopy__(self, memo: dict[int, Any]) -> Tool:
        return self  # a tool is shared by program copies, like an LM

    def __repr__(self) -> str:
        return f"Tool({self.render().splitlines()[0]!r})"

    @classmethod
    def from_any(cls, tool: Tool | Callable[..., Any]) -> Tool:
        """``tool`` itself if it is a Tool, else a Tool made from the callable."""
        return tool if isinstance(tool, Tool) else cls(tool)

    def schema(self) -> dict[str, Any]:
        """The JSON schema of the arguments object (pydantic's, without titles)."""
        try:
            schema: dict[str, Any] = self._model.model_json_schema(by_alias=True)
        except Exception as exc:
            raise UsageError(
                f"Tool {self.name!r}: its arguments have no JSON schema ({exc}). Use JSON-like "
                "argument types (str, int, list[str], pydantic models, ...)."
            ) from exc
        return _strip_titles(schema)  # type: ignore[no-any-return]

    def render(self) -> str:
        """The tool as shown to the model: ``name(arg: type, ...) - description``, then a
        line per argument that has a description or a structured type."""
        sig, notes = [], []
        schema = self.schema()
        for n, p in self.args.items():
            shown = f"{n}: {type_name(p.annotation)}"
            sig.append(shown if p.default is p.empty else f"{shown} = {p.default!r}")
            note = self.arg_descs.get(n, "")
            if not _is_simple(optional_inner(p.annotation) or p.annotation):
                prop = dict(schema.get("properties", {}).get(n, {}))
                prop.pop("description", None)
                if "$ref" in json.dumps(prop):
                    prop = {**prop, "$defs": schema.get("$defs", {})}
                note = f"{note} (JSON matching {json.dumps(prop, separators=(',', ':'))})".strip()
            if note:
                notes.append(f"    {n}: {note}")
        head = f"{self.name}({', '.join(sig)})" + (f" - {self.desc}" if self.desc else "")
        return "\n".join([head, *notes])

    def _bind(self, args: object) -> tuple[list[Any], dict[str, Any]]:
        from pydantic import ValidationError

        if not isinstance(args, Mapping):
            example = ", ".join(f'"{n}": ...' for n in self.args)
            raise ToolArgumentError(
                f"Tool `{self.name}` takes its arguments as a JSON object like {{{example}}}; "
                f"got {type(args).__name__} {args!r}.",
                tool=self.name,
                value=args,
            )
        try:
            model = self._model.model_validate(dict(args))
        except ValidationError as exc:
            raise self._argument_error(exc, args) from exc
        fields = type(model).model_fields
        given = {fields[k].alias: getattr(model, k) for k in model.model_fields_set if k in fields}
        given.update(model.model_extra or {})
        positional = [
            given.pop(n) for n, p in self.args.items() if p.kind is p.POSITIONAL_ONLY and n in given
        ]
        return positional, given

    def _argument_error(self, exc: Any, args: Mapping[str, Any]) -> ToolArgumentError:
        problems, first = [], None
        for err in exc.errors():
            loc = [str(x) for x in err["loc"]]
            arg = loc[0] if loc else ""
            first = first or arg
            param = self.args.get(arg)
            expected = type_name(param.annotation) if param is not None else "?"
            path = ".".join(loc)
            if err["type"] == "missing" and len(loc) == 1:
                problems.append(f"missing argument `{arg}` ({expected})")
            elif err["type"] == "extra_forbidden":
                problems.append(
                    f"unknown argument `{arg}` = {args.get(arg)!r}; its arguments are: "
                    f"{', '.join(self.args) or '(none)'}"
                )
            else:
                value = err.get("input")
                problems.append(
                    f"argument `{path}` should be {expected}, but got {type(value).__name__} "
                    f"{value!r} ({err['msg']})"
                )
        return ToolArgumentError(
            f"Tool `{self.name}`: " + "; ".join(problems) + ".",
            tool=self.name,
            field=first,
            value=args.get(first) if first else None,
        )

    def invoke(self, args: object) -> Any:
        """Validate ``args`` (a mapping of argument names to values) and call the function."""
        positional, keywords = self._bind(args)
        result = self.fn(*positional, **keywords)
        if inspect.isawaitable(result):
            import asyncio

            try:
                asyncio.get_running_loop()
            except RuntimeError:
                return asyncio.run(_await(result))
            if inspect.iscoroutine(result):
                result.close()
            raise UsageError(
                f"Tool {self.name!r} is async and was called from a running event loop; "
                f"use `await tool.acall(...)` there."
            )
        return result

    def __call__(self, /, **kwargs: Any) -> Any:
        return self.invoke(kwargs)

    async def acall(self, /, **kwargs: Any) -> Any:
        """Validate the arguments and await the function (a sync one runs in a thread)."""
        positional, keywords = self._bind(kwargs)
        if inspect.iscoroutinefunction(self.fn):
            result = self.fn(*positional, **keywords)
        else:
            result = await _to_thread(self.fn, *positional, **keywords)
        return await result if inspect.isawaitable(result) else result


async def _await(awaitable: Any) -> Any:
    return await awaitable
