"""``JSONAdapter``: the model replies with one JSON object holding the output fields.

When the LM says it supports structured output (``lm.supports_response_schema``), the request
carries a JSON-schema ``response_format`` built from the output fields' types, so a model with
constrained decoding cannot produce text that fails to parse.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from pliable.adapters.base import Adapter, pick_fields
from pliable.adapters.json_repair import loads_lenient
from pliable.adapters.values import json_schema, to_jsonable, type_hint
from pliable.errors import ParseError

if TYPE_CHECKING:
    from pliable.lm.types import LanguageModel
    from pliable.signatures.signature import Signature

__all__ = ["JSONAdapter"]


def _close_objects(node: Any) -> bool:
    """Make every object schema closed and fully required (as strict structured-output modes
    demand), in place. Returns False if a free-form object (``dict[str, T]``) is present, which
    strict modes cannot express."""
    strict_ok = True
    if isinstance(node, dict):
        node.pop("default", None)
        if node.get("type") == "object" or "properties" in node:
            extra = node.get("additionalProperties")
            if isinstance(extra, dict) or ("properties" not in node and extra is not False):
                strict_ok = False
            else:
                node["additionalProperties"] = False
                node["required"] = list(node.get("properties", {}))
        for value in node.values():
            strict_ok = _close_objects(value) and strict_ok
    elif isinstance(node, list):
        for value in node:
            strict_ok = _close_objects(value) and strict_ok
    return strict_ok


@lru_cache(maxsize=256)
def _output_schema(signature: type[Signature]) -> tuple[dict[str, Any], bool]:
    """The JSON schema of the outputs object, and whether strict mode can take it."""
    import copy

    defs: dict[str, Any] = {}
    properties: dict[str, Any] = {}
    for name, f in signature.output_fields.items():
        field_schema = copy.deepcopy(json_schema(f.annotation))
        defs.update(field_schema.pop("$defs", {}))
        if f.desc:
            field_schema["description"] = f.desc
        properties[name] = field_schema
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    if defs:
        schema["$defs"] = defs
    strict = _close_objects(schema)
    return schema, strict


class JSONAdapter(Adapter):
    """Outputs as one JSON object; sends a JSON schema when the LM supports it."""

    name = "json"
    free_text = False

    def system_prompt(self, signature: type[Signature], instructions: str | None = None) -> str:
        parts = [instructions or signature.instructions]
        described = self.describe_inputs(signature)
        if described:
            parts.append(described)
        keys = []
        for f in signature.output_fields.values():
            details = "; ".join(p for p in (type_hint(f.annotation) or "text", f.desc) if p)
            keys.append(f'"{f.name}": {details}')
        parts.append("Reply with one JSON object with these keys, in order:\n" + "\n".join(keys))
        return "\n\n".join(parts)

    def reply_reminder(self, signature: type[Signature]) -> str:
        keys = ", ".join(f'"{n}"' for n in signature.output_fields)
        return f"Reply with a JSON object with keys {keys}."

    def format_outputs(self, signature: type[Signature], values: Mapping[str, Any]) -> str:
        data = {n: to_jsonable(values[n]) for n in signature.output_fields if n in values}
        return json.dumps(data, ensure_ascii=False)

    def request_options(self, signature: type[Signature], lm: LanguageModel) -> dict[str, Any]:
        if not getattr(lm, "supports_response_schema", False):
            return {}
        schema, strict = _output_schema(signature)
        return {
            "response_format": {
                "type": "json_schema",
                "json_schema": {"name": signature.__name__, "schema": schema, "strict": strict},
            }
        }

    def parse(self, signature: type[Signature], text: str) -> dict[str, Any]:
        names = list(signature.output_fields)
        try:
            data = loads_lenient(text, want=dict)
        except ValueError as exc:
            if len(names) == 1 and text.strip() and "{" not in text:
                # plain text for a lone field; a broken JSON object is never taken as text
                return self._coerce_all(signature, {names[0]: text.strip()}, text)
            raise ParseError(
                f"no JSON object in the reply ({exc})",
                raw_text=text,
                expected_fields=names,
                adapter=self.name,
            ) from exc
        if not isinstance(data, dict):
            if len(names) == 1:
                return self._coerce_all(signature, {names[0]: data}, text)
            raise ParseError(
                f"expected a JSON object, got {type(data).__name__}",
                raw_text=text,
                expected_fields=names,
                adapter=self.name,
            )
        found = pick_fields(data, names)
        if not found and len(names) == 1:
            # the object may be the lone field's value (a model or dict output), never text
            annotation = signature.output_fields[names[0]].annotation
            if annotation is str:
                raise ParseError(
                    f"the JSON object has none of the expected keys (it has {sorted(data)})",
                    raw_text=text,
                    expected_fields=names,
                    adapter=self.name,
                )
            found = {names[0]: data}
        return self._coerce_all(signature, found, text)
