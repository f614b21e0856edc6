"""Rebuild a pydantic model from the JSON schema stored in a signature's JSON form.

Used when a compiled file names a model class that cannot be imported where it is loaded (the
production runtime need not have the user's code). The rebuilt class validates the same JSON as
the original for the schema features pydantic emits for plain data models: scalar properties,
arrays, string-keyed objects, nested models through ``$defs``, enums, optional fields and
defaults. The rebuilt class remembers the stored spec, so saving it again writes the same JSON.
"""

from __future__ import annotations

from typing import Any, Literal, Optional

from pliable.errors import SignatureError

_JSON_SCALARS: dict[str, Any] = {"string": str, "integer": int, "number": float, "boolean": bool}


class _Builder:
    def __init__(self, root: dict[str, Any], where: str) -> None:
        self.root = root
        self.defs: dict[str, Any] = dict(root.get("$defs", {}))
        self.built: dict[str, Any] = {}
        self.where = where

    def fail(self, message: str) -> SignatureError:
        return SignatureError(f"{self.where}: cannot rebuild the model from its schema: {message}.")

    def resolve(self, node: dict[str, Any]) -> Any:
        if "$ref" in node:
            name = str(node["$ref"]).rsplit("/", 1)[-1]
            if name not in self.defs:
                raise self.fail(f"$ref {node['$ref']!r} is not in $defs")
            if name not in self.built:
                target = self.defs[name]
                is_model = "properties" in target
                self.built[name] = self.model(name, target) if is_model else self.resolve(target)
            return self.built[name]
        if "anyOf" in node:
            options = [o for o in node["anyOf"] if o.get("type") != "null"]
            if len(options) == 1 and len(node["anyOf"]) == 2:
                return Optional[self.resolve(options[0])]  # noqa: UP045
            raise self.fail(f"unions other than Optional are not supported: {node['anyOf']!r}")
        if "enum" in node:
            return Literal.__getitem__(tuple(node["enum"]))
        if "const" in node:
            return Literal.__getitem__((node["const"],))
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

        required = set(node.get("required", []))
        fields: dict[str, Any] = {}
        for prop, sub in node.get("properties", {}).items():
            annotation = self.resolve(sub)
            extras: dict[str, Any] = {}
            if "description" in sub:
                extras["description"] = sub["description"]
            if prop in required:
                fields[prop] = (annotation, Field(**extras))
            else:
                fields[prop] = (annotation, Field(default=sub.get("default"), **extras))
        model = create_model(name, **fields)
        if "description" in node:
            model.__doc__ = node["description"]
        return model


def model_from_schema(spec: dict[str, Any], *, where: str) -> Any:
    """Build a pydantic model class from a ``{"type": "model", "schema": ...}`` spec."""
    schema = spec.get("schema")
    if not isinstance(schema, dict):
        raise SignatureError(f"{where}: a model spec needs a 'schema' object; got {spec!r}.")
    builder = _Builder(schema, where)
    model = builder.model(str(spec.get("name") or schema.get("title") or "Model"), schema)
    model.__pliable_spec__ = dict(spec)
    return model
