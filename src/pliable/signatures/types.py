"""The field types a signature supports, their readable names and their JSON form.

Supported: ``str``, ``int``, ``float``, ``bool``, ``Any``, ``list[T]``, ``dict[str, T]``,
``Literal[...]``, ``Optional[T]`` (also ``T | None``), ``Enum`` subclasses and pydantic models.

The JSON form (:func:`type_to_spec` / :func:`spec_to_type`) is what a compiled program stores.
Enums and pydantic models are stored with their import path *and* their structure, so a file
loads where the user's code is importable (giving back the very class) and where it is not
(giving back an equivalent class rebuilt from the structure).
"""

from __future__ import annotations

import enum
import importlib
import types
import typing
from typing import Any, Literal, Union

from pliable.errors import SignatureError

__all__ = ["is_pydantic_model", "spec_to_type", "type_name", "type_to_spec"]

TypeSpec = dict[str, Any]

_SCALARS: dict[type, str] = {str: "str", int: "int", float: "float", bool: "bool"}
_SCALAR_BY_NAME: dict[str, Any] = {"str": str, "int": int, "float": float, "bool": bool}


def is_pydantic_model(tp: object) -> bool:
    """True if ``tp`` is a pydantic ``BaseModel`` subclass, without importing pydantic."""
    if not isinstance(tp, type):
        return False
    return any(
        base.__name__ == "BaseModel" and base.__module__.startswith("pydantic")
        for base in tp.__mro__
    )


def _is_none(tp: object) -> bool:
    return tp is None or tp is type(None)


def optional_inner(tp: object) -> object | None:
    """Return ``T`` if ``tp`` is ``Optional[T]`` / ``T | None``, else ``None``."""
    origin = typing.get_origin(tp)
    if origin is Union or origin is types.UnionType:
        args = [a for a in typing.get_args(tp) if not _is_none(a)]
        if len(args) == 1 and len(typing.get_args(tp)) == 2:
            inner: object = args[0]
            return inner
    return None


def type_name(tp: object) -> str:
    """A short readable name for ``tp``, as shown in prompts: ``list[str]``, ``Literal['a']``."""
    if tp is Any:
        return "Any"
    if isinstance(tp, type) and tp in _SCALARS:
        return _SCALARS[tp]
    inner = optional_inner(tp)
    if inner is not None:
        return f"Optional[{type_name(inner)}]"
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is Literal:
        return "Literal[" + ", ".join(repr(a) for a in args) + "]"
    if origin is list:
        return f"list[{type_name(args[0]) if args else 'Any'}]"
    if origin is dict:
        return f"dict[str, {type_name(args[1]) if len(args) == 2 else 'Any'}]"
    if isinstance(tp, type):
        return tp.__name__
    return repr(tp)


def _ref(tp: type) -> str:
    return f"{tp.__module__}:{tp.__qualname__}"


def type_to_spec(tp: object, *, where: str = "field") -> TypeSpec:
    """The JSON form of a supported type. Raises :class:`SignatureError` for others."""
    if tp is Any:
        return {"type": "any"}
    if isinstance(tp, type) and tp in _SCALARS:
        return {"type": _SCALARS[tp]}
    inner = optional_inner(tp)
    if inner is not None:
        return {"type": "optional", "inner": type_to_spec(inner, where=where)}
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is Literal:
        bad = [a for a in args if not isinstance(a, (str, int, bool))]
        if bad or not args:
            raise SignatureError(
                f"{where}: Literal values must be str, int or bool; got {bad or 'no values'}."
            )
        return {"type": "literal", "values": list(args)}
    if origin is list or tp is list:
        item = args[0] if args else Any
        return {"type": "list", "items": type_to_spec(item, where=where)}
    if origin is dict or tp is dict:
        key, value = args if len(args) == 2 else (str, Any)
        if key is not str:
            raise SignatureError(
                f"{where}: dict keys must be str (JSON objects have string keys); got "
                f"{type_name(key)}. Use dict[str, ...]."
            )
        return {"type": "dict", "values": type_to_spec(value, where=where)}
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        saved = getattr(tp, "__pliable_spec__", None)
        if isinstance(saved, dict):
            return dict(saved)
        members = {m.name: m.value for m in tp}
        bad_values = {k: v for k, v in members.items() if not isinstance(v, (str, int))}
        if bad_values:
            raise SignatureError(
                f"{where}: enum {tp.__name__} has values that are not str or int: {bad_values}."
            )
        return {"type": "enum", "name": tp.__name__, "ref": _ref(tp), "members": members}
    if is_pydantic_model(tp):
        assert isinstance(tp, type)
        saved = getattr(tp, "__pliable_spec__", None)
        if isinstance(saved, dict):
            return dict(saved)
        schema = tp.model_json_schema()  # type: ignore[attr-defined]
        return {"type": "model", "name": tp.__name__, "ref": _ref(tp), "schema": schema}
    raise SignatureError(
        f"{where}: unsupported type {type_name(tp)!s}. Supported: str, int, float, bool, Any, "
        "list[T], dict[str, T], Literal[...], Optional[T], Enum subclasses and pydantic models."
    )


def _import_ref(ref: str) -> object | None:
    module_name, _, qualname = ref.partition(":")
    if not module_name or not qualname or "<locals>" in qualname:
        return None
    try:
        obj: object = importlib.import_module(module_name)
        for part in qualname.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError):
        return None
    return obj


def spec_to_type(spec: TypeSpec, *, where: str = "field") -> Any:
    """Rebuild a type from its JSON form (the inverse of :func:`type_to_spec`)."""
    if not isinstance(spec, dict) or "type" not in spec:
        raise SignatureError(
            f"{where}: a type spec must be an object with a 'type' key; got {spec!r}."
        )
    kind = spec["type"]
    if kind in _SCALAR_BY_NAME:
        return _SCALAR_BY_NAME[kind]
    if kind == "any":
        return Any
    if kind == "optional":
        return typing.Optional[spec_to_type(spec["inner"], where=where)]  # noqa: UP045
    if kind == "list":
        return list[spec_to_type(spec["items"], where=where)]  # type: ignore[misc]
    if kind == "dict":
        return dict[str, spec_to_type(spec["values"], where=where)]  # type: ignore[misc]
    if kind == "literal":
        values = spec.get("values")
        if not isinstance(values, list) or not values:
            raise SignatureError(
                f"{where}: a literal spec needs a non-empty 'values' list; got {spec!r}."
            )
        return Literal.__getitem__(tuple(values))
    if kind in ("enum", "model"):
        found = _import_ref(str(spec.get("ref", "")))
        if found is not None:
            try:
                if type_to_spec(found, where=where) == spec:
                    return found
            except SignatureError:
                pass
        if kind == "enum":
            return _rebuild_enum(spec, where)
        from pliable.signatures._models import model_from_schema

        return model_from_schema(spec, where=where)
    raise SignatureError(
        f"{where}: unknown type kind {kind!r} in {spec!r}. "
        "Was this file written by a newer pliable? Upgrade pliable to read it."
    )


def _rebuild_enum(spec: TypeSpec, where: str) -> type[enum.Enum]:
    members = spec.get("members")
    if not isinstance(members, dict) or not members:
        raise SignatureError(
            f"{where}: an enum spec needs a non-empty 'members' object; got {spec!r}."
        )
    rebuilt = enum.Enum(str(spec.get("name", "Enum")), members)  # type: ignore[misc]
    rebuilt.__pliable_spec__ = dict(spec)  # type: ignore[attr-defined]
    return rebuilt
