"""The field types a signature supports, their readable names and their JSON form.

Supported: ``str``, ``int``, ``float``, ``bool``, ``Any``, ``list[T]``, ``dict[str, T]``,
``Literal[...]``, ``Optional[T]`` (also ``T | None``), ``Enum`` subclasses and pydantic models.

The JSON form (:func:`type_to_spec` / :func:`spec_to_type`) is what a compiled program stores.
Enums and pydantic models are stored with their structure (and, for the reader's information,
their import path). Reading a spec never imports anything: it rebuilds an equivalent class
from the structure. A program that loads a file into its own predictors keeps its own classes
where their structure is the stored one (``Signature.from_dict(..., types=...)``).
"""

from __future__ import annotations

import enum
import keyword
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


_MAX_DEPTH = 32
_MAX_MEMBERS = 10_000
_ENUM_RESERVED = frozenset(dir(enum.Enum)) | {"mro", "name", "value"}


def spec_to_type(spec: TypeSpec, *, where: str = "field") -> Any:
    """Rebuild a type from its JSON form (the inverse of :func:`type_to_spec`).

    Only the structure is read: an enum or model spec gives a class rebuilt from its members
    or schema, and nothing named in the spec is imported.
    """
    return _from_spec(spec, where, 0)


def _from_spec(spec: Any, where: str, depth: int) -> Any:
    if depth > _MAX_DEPTH:
        raise SignatureError(f"{where}: the type is nested more than {_MAX_DEPTH} levels deep.")
    if not isinstance(spec, dict) or not isinstance(spec.get("type"), str):
        raise SignatureError(
            f"{where}: a type spec must be an object with a 'type' string; got {str(spec)[:80]!r}."
        )
    kind = spec["type"]
    if kind in _SCALAR_BY_NAME:
        return _SCALAR_BY_NAME[kind]
    if kind == "any":
        return Any
    if kind in ("optional", "list", "dict"):
        key = {"optional": "inner", "list": "items", "dict": "values"}[kind]
        if key not in spec:
            raise SignatureError(f"{where}: a {kind} spec needs {key!r}; got {str(spec)[:80]!r}.")
        inner = _from_spec(spec[key], where, depth + 1)
        if kind == "optional":
            return typing.Optional[inner]  # noqa: UP045
        return list[inner] if kind == "list" else dict[str, inner]  # type: ignore[valid-type]
    if kind == "literal":
        values = spec.get("values")
        if not isinstance(values, list) or not values or len(values) > _MAX_MEMBERS:
            raise SignatureError(
                f"{where}: a literal spec needs a non-empty 'values' list; got "
                f"{str(values)[:80]!r}."
            )
        if not all(isinstance(v, (str, int, bool)) for v in values):
            raise SignatureError(f"{where}: Literal values must be str, int or bool.")
        return Literal.__getitem__(tuple(values))
    if kind == "enum":
        return _rebuild_enum(spec, where)
    if kind == "model":
        from pliable.signatures.models import model_from_schema

        return model_from_schema(spec, where=where)
    raise SignatureError(
        f"{where}: unknown type kind {kind[:40]!r}. "
        "Was this file written by a newer pliable? Upgrade pliable to read it."
    )


def _rebuild_enum(spec: TypeSpec, where: str) -> type[enum.Enum]:
    members = spec.get("members")
    if not isinstance(members, dict) or not members or len(members) > _MAX_MEMBERS:
        raise SignatureError(
            f"{where}: an enum spec needs a non-empty 'members' object; got {str(members)[:80]!r}."
        )
    for member, value in members.items():
        if (
            not member.isidentifier()
            or keyword.iskeyword(member)
            or member.startswith("_")
            or member in _ENUM_RESERVED
        ):
            raise SignatureError(
                f"{where}: {member[:60]!r} cannot be an enum member name (it must be an "
                "identifier that is not an Enum attribute and does not start with '_')."
            )
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            raise SignatureError(
                f"{where}: enum member {member!r} has value {str(value)[:60]!r}; enum values "
                "must be str or int."
            )
    name = spec.get("name", "Enum")
    if not isinstance(name, str) or not name.isidentifier():
        name = "Enum"
    try:
        rebuilt = enum.Enum(name, members)  # type: ignore[misc]
    except (TypeError, ValueError) as exc:
        raise SignatureError(f"{where}: cannot rebuild the enum {name!r}: {exc}.") from exc
    rebuilt.__pliable_spec__ = dict(spec)  # type: ignore[attr-defined]
    return rebuilt
