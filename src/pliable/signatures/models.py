"""Rebuild a pydantic model from the JSON schema stored in a signature's JSON form.

Used whenever a compiled file is read: the file's model classes are never imported (the
production runtime need not have the user's code, and a file must not make pliable import
anything). The rebuilt class validates the same JSON as
the original for the schema features pydantic emits for plain data models: scalar properties,
arrays, string-keyed objects, nested models through ``$defs``, enums, optional fields and
defaults. The rebuilt class remembers the stored spec, so saving it again writes the same JSON.
"""

from __future__ import annotations

import keyword
from functools import cache
from typing import Any, Literal, Optional

from pliable.errors import SignatureError

_MAX_DEPTH = 32
_MAX_PROPERTIES = 1000

_JSON_SCALARS: dict[str, Any] = {"string": str, "integer": int, "number": float, "boolean": bool}


class _Builder:
    def __init__(self, root: dict[str, Any], where: str) -> None:
        self.root = root
        self.defs: dict[str, Any] = dict(root.get("$defs", {}))
        self.built: dict[str, Any] = {}
        self.building: set[str] = set()
        self.where = where
        self.depth = 0
        if not isinstance(root.get("$defs", {}), dict):
            raise self.fail("'$defs' must be an object")

    def fail(self, message: str) -> SignatureError:
        return SignatureError(f"{self.where}: cannot rebuild the model from its schema: {message}.")

    def resolve(self, node: Any) -> Any:
        if not isinstance(node, dict):
            raise self.fail(f"a schema node must be an object; got {str(node)[:60]!r}")
        self.depth += 1
        try:
            if self.depth > _MAX_DEPTH:
                raise self.fail(f"the schema is nested more than {_MAX_DEPTH} levels deep")
            return self._resolve(node)
        finally:
            self.depth -= 1

    def _resolve(self, node: dict[str, Any]) -> Any:
        if "$ref" in node:
            name = str(node["$ref"]).rsplit("/", 1)[-1]
            if name not in self.defs:
                raise self.fail(f"$ref {str(node['$ref'])[:60]!r} is not in $defs")
            if name not in self.built:
                if name in self.building:
                    raise self.fail(f"the model {name[:60]!r} refers to itself")
                self.building.add(name)
                target = self.defs[name]
                is_model = isinstance(target, dict) and "properties" in target
                self.built[name] = self.model(name, target) if is_model else self.resolve(target)
            return self.built[name]
        if "anyOf" in node:
            if not isinstance(node["anyOf"], list) or not all(
                isinstance(o, dict) for o in node["anyOf"]
            ):
                raise self.fail("'anyOf' must be a list of objects")
            options = [o for o in node["anyOf"] if o.get("type") != "null"]
            if len(options) == 1 and len(node["anyOf"]) == 2:
                return Optional[self.resolve(options[0])]  # noqa: UP045
            raise self.fail(f"unions other than Optional are not supported: {node['anyOf']!r}")
        if "enum" in node or "const" in node:
            values = node["enum"] if "enum" in node else [node["const"]]
            if not isinstance(values, list) or not values:
                raise self.fail("'enum' must be a non-empty list")
            if not all(isinstance(v, (str, int, bool)) for v in values):
                raise self.fail("enum values must be str, int or bool")
            return Literal.__getitem__(tuple(values))
        kind = node.get("type")
        if kind in _JSON_SCALARS:
            return _JSON_SCALARS[kind]
        if kind == "array":
            return list[self.resolve(node.get("items", {}))]  # type: ignore[misc]
        if kind == "object":
            if "properties" in node:
                return self.model(str(node.get("title", "Model")), node)
            extra = node.get("additionalProperties", {})
            return dict[str, self.resolve(extra if isinstance(extra, dict) else {})]  # type: ignore[misc]
        if kind is None:
            return Any
        raise self.fail(f"JSON type {kind!r} is not supported")

    def model(self, name: str, node: dict[str, Any]) -> Any:
        from pydantic import Field, create_model

        properties = node.get("properties", {})
        required_list = node.get("required", [])
        if not isinstance(properties, dict) or len(properties) > _MAX_PROPERTIES:
            raise self.fail(f"'properties' must be an object of at most {_MAX_PROPERTIES}")
        if not isinstance(required_list, list):
            raise self.fail("'required' must be a list")
        if not name.isidentifier():
            name = "Model"
        required = {r for r in required_list if isinstance(r, str)}
        fields: dict[str, Any] = {}
        for prop, sub in properties.items():
            if (
                not prop.isidentifier()
                or keyword.iskeyword(prop)
                or prop.startswith("_")
                or prop in _basemodel_names()
            ):
                raise self.fail(
                    f"{prop[:60]!r} cannot be a property name (an identifier that is not a "
                    "pydantic BaseModel attribute and does not start with '_')"
                )
            if not isinstance(sub, dict):
                raise self.fail(f"property {prop!r} must be a schema object")
            annotation = self.resolve(sub)
            extras: dict[str, Any] = {}
            if isinstance(sub.get("description"), str):
                extras["description"] = sub["description"]
            if prop in required:
                fields[prop] = (annotation, Field(**extras))
            else:
                fields[prop] = (annotation, Field(default=sub.get("default"), **extras))
        try:
            model = create_model(name, **fields)
        except Exception as exc:  # pydantic's own refusal of a field or default
            raise self.fail(f"pydantic refused it ({exc})") from exc
        if isinstance(node.get("description"), str):
            model.__doc__ = node["description"]
        return model


@cache
def _basemodel_names() -> frozenset[str]:
    from pydantic import BaseModel

    return frozenset(dir(BaseModel))


def model_from_schema(spec: dict[str, Any], *, where: str) -> Any:
    """Build a pydantic model class from a ``{"type": "model", "schema": ...}`` spec."""
    schema = spec.get("schema")
    if not isinstance(schema, dict):
        raise SignatureError(f"{where}: a model spec needs a 'schema' object; got {spec!r}.")
    builder = _Builder(schema, where)
    model = builder.model(str(spec.get("name") or schema.get("title") or "Model"), schema)
    model.__pliable_spec__ = dict(spec)
    return model
