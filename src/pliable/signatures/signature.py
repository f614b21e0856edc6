"""``Signature``: what one LM step takes and gives, as an immutable, comparable value.

Two ways to declare one::

    QA = pl.Signature("context, question -> answer")

    class QA(pl.Signature):
        \"\"\"Answer the question from the context.\"\"\"          # the instructions
        context: list[str] = pl.InputField(desc="passages")
        question: str = pl.InputField()
        answer: str = pl.OutputField(desc="a few words")

A signature is a class (so it can be declared with a class statement and used as a type), but
it behaves as a value: it cannot be changed after creation, every edit (``with_instructions``,
``append``, ``prepend``, ``delete``, ``with_field``) returns a new signature, and two signatures
are equal when their fields, types, descriptions and instructions are equal.
"""

from __future__ import annotations

import inspect
import json
import keyword
import sys
import typing
from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, ClassVar

from pliable.errors import SignatureError
from pliable.signatures.fields import Field, FieldDecl
from pliable.signatures.parse import parse_signature_string
from pliable.signatures.types import spec_to_type, type_to_spec

__all__ = ["Signature", "SignatureMeta", "ensure_signature"]

SCHEMA_VERSION = 1


def _default_instructions(inputs: Mapping[str, Field], outputs: Mapping[str, Field]) -> str:
    ins = ", ".join(f"`{n}`" for n in inputs) or "no inputs"
    outs = ", ".join(f"`{n}`" for n in outputs)
    return f"Given {ins}, produce {outs}."


def _collect_class_fields(cls: type, local_ns: Mapping[str, Any]) -> list[Field]:
    inherited: list[Field] = []
    for base in reversed(cls.__mro__[1:]):
        for f in getattr(base, "__pliable_fields__", ()):
            inherited = [g for g in inherited if g.name != f.name] + [f]
    raw_annotations: dict[str, Any] = dict(inspect.get_annotations(cls))
    try:
        hints = typing.get_type_hints(cls, localns=dict(local_ns), include_extras=True)
    except Exception as exc:
        raise SignatureError(
            f"Signature class {cls.__name__}: could not resolve a field annotation: {exc}. "
            "Define the types the fields use at module level (or where the class can see them)."
        ) from exc
    names = list(raw_annotations)
    names += [n for n, v in cls.__dict__.items() if isinstance(v, FieldDecl) and n not in names]
    own: list[Field] = []
    for name in names:
        decl = cls.__dict__.get(name)
        if name.startswith("_") or typing.get_origin(hints.get(name)) is ClassVar:
            if isinstance(decl, FieldDecl):
                raise SignatureError(
                    f"Signature class {cls.__name__}: field `{name}` starts with '_', and such "
                    "names are private to the class. Rename the field without the underscore."
                )
            continue
        if not isinstance(decl, FieldDecl):
            raise SignatureError(
                f"Signature class {cls.__name__}: `{name}` has a type but is not declared as a "
                f"field (value {decl!r}). Write `{name}: T = pl.InputField()` or "
                f"`{name}: T = pl.OutputField()`."
            )
        own.append(Field(name, decl.kind, hints.get(name, str), decl.desc))
    own_names = {f.name for f in own}
    return [f for f in inherited if f.name not in own_names] + own


class SignatureMeta(type):
    """Metaclass making signature classes immutable values."""

    __pliable_fields__: tuple[Field, ...]
    __pliable_instructions__: str | None
    _pliable_views: tuple[Mapping[str, Field], Mapping[str, Field], Mapping[str, Field]]

    def __new__(
        mcs, name: str, bases: tuple[type, ...], namespace: dict[str, Any], **kwargs: Any
    ) -> SignatureMeta:
        prebuilt = namespace.pop("__pliable_prebuilt__", None)
        decls = {k for k, v in namespace.items() if isinstance(v, FieldDecl)}
        cls = super().__new__(mcs, name, bases, namespace, **kwargs)
        if prebuilt is not None:
            fields, instructions = prebuilt
        elif not any(isinstance(b, SignatureMeta) for b in bases):
            fields, instructions = (), None
        else:
            caller = sys._getframe(1)
            local_ns = dict(caller.f_globals) | dict(caller.f_locals)
            fields = tuple(_collect_class_fields(cls, local_ns))
            doc = namespace.get("__doc__")
            instructions = inspect.cleandoc(doc) if doc else None
            if instructions is None:
                instructions = next(
                    (b.__pliable_instructions__ for b in bases if isinstance(b, SignatureMeta)),
                    None,
                )
        for key in decls:
            type.__delattr__(cls, key)
        _check_fields(name, fields)
        type.__setattr__(cls, "__pliable_fields__", tuple(fields))
        views = (
            MappingProxyType({f.name: f for f in fields}),
            MappingProxyType({f.name: f for f in fields if f.kind == "input"}),
            MappingProxyType({f.name: f for f in fields if f.kind == "output"}),
        )
        type.__setattr__(cls, "_pliable_views", views)
        type.__setattr__(cls, "__pliable_instructions__", instructions)
        type.__setattr__(cls, "_pliable_key", None)
        return cls

    def __call__(
        cls,
        spec: str,
        instructions: str | None = None,
        *,
        types: Mapping[str, Any] | None = None,
    ) -> type[Signature]:
        """``Signature("a, b -> c", "instructions")`` builds a signature from its string form."""
        inputs, outputs = parse_signature_string(spec, types)
        fields = [Field(f.name, "input", f.annotation) for f in inputs]
        fields += [Field(f.name, "output", f.annotation) for f in outputs]
        return _make("StringSignature", fields, instructions)

    def __setattr__(cls, name: str, value: object) -> None:
        raise SignatureError(
            f"Signatures are immutable: cannot set {cls.__name__}.{name} = {value!r}. "
            "Use with_instructions(), append(), prepend(), delete() or with_field(), "
            "which return a new signature."
        )

    def __delattr__(cls, name: str) -> None:
        raise SignatureError(f"Signatures are immutable: cannot delete {cls.__name__}.{name}.")

    def _key(cls) -> str:
        key: str | None = cls.__dict__.get("_pliable_key")
        if key is None:
            content = {k: v for k, v in cls.to_dict().items() if k != "name"}
            key = json.dumps(content, sort_keys=True)
            type.__setattr__(cls, "_pliable_key", key)
        return key

    def __eq__(cls, other: object) -> bool:
        if isinstance(other, SignatureMeta):
            return cls._key() == other._key()
        return NotImplemented

    def __hash__(cls) -> int:
        return hash(cls._key())

    def __repr__(cls) -> str:
        return f"{cls.__name__}({cls.signature_string()!r}, instructions={cls.instructions!r})"

    # --- read-only views -------------------------------------------------------------------
    @property
    def fields(cls) -> Mapping[str, Field]:
        """All fields, inputs first, in declaration order."""
        return cls._pliable_views[0]

    @property
    def input_fields(cls) -> Mapping[str, Field]:
        return cls._pliable_views[1]

    @property
    def output_fields(cls) -> Mapping[str, Field]:
        return cls._pliable_views[2]

    @property
    def instructions(cls) -> str:
        """The instructions: the docstring / given text, or a default naming the fields."""
        if cls.__pliable_instructions__:
            return cls.__pliable_instructions__
        return _default_instructions(cls.input_fields, cls.output_fields)

    # --- edits (each returns a new signature) -----------------------------------------------
    def with_instructions(cls, instructions: str) -> type[Signature]:
        """A copy with new instructions."""
        if not isinstance(instructions, str) or not instructions.strip():
            raise SignatureError(f"Instructions must be a non-empty string; got {instructions!r}.")
        return _make(cls.__name__, list(cls.__pliable_fields__), instructions)

    def _insert(cls, name: str, decl: object, type_: Any, at_start: bool) -> type[Signature]:
        if not isinstance(decl, FieldDecl):
            raise SignatureError(
                f"Field `{name}`: expected pl.InputField(...) or pl.OutputField(...); got {decl!r}."
            )
        if name in cls.fields:
            raise SignatureError(
                f"Field `{name}` already exists in {cls.signature_string()!r}. "
                "Use with_field() to change it, or pick another name."
            )
        new = Field(name, decl.kind, type_, decl.desc)
        same = [f for f in cls.__pliable_fields__ if f.kind == decl.kind]
        other = [f for f in cls.__pliable_fields__ if f.kind != decl.kind]
        same = [new, *same] if at_start else [*same, new]
        ordered = same + other if decl.kind == "input" else other + same
        return _make(cls.__name__, ordered, cls.__pliable_instructions__)

    def prepend(cls, name: str, field: object, type_: Any = str) -> type[Signature]:
        """A copy with ``field`` first among the inputs (or outputs, for an OutputField)."""
        return cls._insert(name, field, type_, at_start=True)

    def append(cls, name: str, field: object, type_: Any = str) -> type[Signature]:
        """A copy with ``field`` last among the inputs (or outputs, for an OutputField)."""
        return cls._insert(name, field, type_, at_start=False)

    def delete(cls, name: str) -> type[Signature]:
        """A copy without the field ``name``."""
        if name not in cls.fields:
            raise SignatureError(
                f"Cannot delete `{name}`: no such field in {cls.signature_string()!r}. "
                f"Fields: {', '.join(cls.fields)}."
            )
        kept = [f for f in cls.__pliable_fields__ if f.name != name]
        return _make(cls.__name__, kept, cls.__pliable_instructions__)

    def with_field(
        cls, name: str, *, desc: str | None = None, type_: Any = None
    ) -> type[Signature]:
        """A copy where field ``name`` has a new description and/or type."""
        if name not in cls.fields:
            raise SignatureError(
                f"No field `{name}` in {cls.signature_string()!r}. Fields: {', '.join(cls.fields)}."
            )
        updated = [
            Field(
                f.name,
                f.kind,
                f.annotation if type_ is None else type_,
                f.desc if desc is None else desc,
            )
            if f.name == name
            else f
            for f in cls.__pliable_fields__
        ]
        return _make(cls.__name__, updated, cls.__pliable_instructions__)

    # --- forms ------------------------------------------------------------------------------
    def signature_string(cls) -> str:
        """The string form with types: ``"question: str -> answer: list[str]"``."""

        def side(fields: Mapping[str, Field]) -> str:
            return ", ".join(f"{f.name}: {f.type_name}" for f in fields.values())

        return f"{side(cls.input_fields)} -> {side(cls.output_fields)}"

    def to_dict(cls) -> dict[str, Any]:
        """The stable JSON form (round-trips through :meth:`Signature.from_dict`)."""
        return {
            "version": SCHEMA_VERSION,
            "name": cls.__name__,
            "instructions": cls.__pliable_instructions__,
            "inputs": [f.to_dict() for f in cls.input_fields.values()],
            "outputs": [f.to_dict() for f in cls.output_fields.values()],
        }


def _check_fields(name: str, fields: tuple[Field, ...] | list[Field]) -> None:
    seen: set[str] = set()
    for f in fields:
        if f.name in seen:
            raise SignatureError(f"Signature {name}: field `{f.name}` is declared twice.")
        if f.name in _RESERVED:
            raise SignatureError(
                f"Signature {name}: `{f.name}` cannot be a field name (it is a Signature "
                "method or property). Rename the field."
            )
        if len(f.name) > 4 and f.name.startswith("__") and f.name.endswith("__"):
            raise SignatureError(
                f"Signature {name}: `{f.name}` cannot be a field name (names like __x__ are "
                "Python's own attributes). Rename the field."
            )
        seen.add(f.name)


def _make(name: str, fields: list[Field], instructions: str | None) -> type[Signature]:
    if fields and not any(f.kind == "output" for f in fields):
        raise SignatureError(f"Signature {name} needs at least one output field.")
    ns = {"__pliable_prebuilt__": (tuple(fields), instructions), "__doc__": instructions}
    ns["__module__"] = __name__
    return SignatureMeta.__new__(SignatureMeta, name, (Signature,), ns)  # type: ignore[return-value]


class Signature(metaclass=SignatureMeta):
    """Base of all signatures. See the module docstring for the two ways to declare one."""

    if TYPE_CHECKING:  # what ``Signature("a -> b")`` returns, for type checkers

        def __new__(
            cls,
            spec: str,
            instructions: str | None = None,
            *,
            types: Mapping[str, Any] | None = None,
        ) -> Any: ...

    @classmethod
    def from_dict(
        cls, data: Mapping[str, Any], *, types: Mapping[str, Any] | None = None
    ) -> type[Signature]:
        """Rebuild a signature from :meth:`to_dict` output. Validates everything first.

        Types are rebuilt from their stored structure; nothing named in ``data`` is
        imported. ``types`` maps field names to the annotations to use instead where their
        structure is the stored one (a program's own enum and model classes).
        """
        if not isinstance(data, Mapping):
            raise SignatureError(
                f"A signature's JSON form must be an object; got {type(data).__name__}."
            )
        unknown = sorted(str(k)[:40] for k in set(data) - _SIGNATURE_KEYS)
        if unknown:
            raise SignatureError(
                f"Signature JSON: unknown key(s) {unknown}; a signature has "
                f"{sorted(_SIGNATURE_KEYS)}."
            )
        version = data.get("version", SCHEMA_VERSION)
        if type(version) is not int or version != SCHEMA_VERSION:
            raise SignatureError(
                f"Signature JSON has version {str(version)[:20]}; this pliable reads version "
                f"{SCHEMA_VERSION}. Upgrade pliable to load it."
            )
        fields: list[Field] = []
        for kind, key in (("input", "inputs"), ("output", "outputs")):
            items = data.get(key, [])
            if not isinstance(items, list):
                raise SignatureError(
                    f"Signature JSON: {key!r} must be a list; got {type(items).__name__}."
                )
            for item in items:
                fields.append(_field_from_dict(item, kind, key, types))
        if not any(f.kind == "output" for f in fields):
            raise SignatureError(
                "Signature JSON: a signature needs at least one output field; got "
                f"{len(fields)} field(s) and no 'outputs'."
            )
        instructions = data.get("instructions")
        if instructions is not None and not isinstance(instructions, str):
            raise SignatureError(
                "Signature JSON: 'instructions' must be a string; got "
                f"{type(instructions).__name__}."
            )
        name = data.get("name", "Signature")
        if not isinstance(name, str) or not name.isidentifier() or len(name) > 100:
            raise SignatureError(
                f"Signature JSON: 'name' must be a class name (an identifier); got "
                f"{str(name)[:60]!r}."
            )
        _check_fields(name, fields)
        return _make(name, fields, instructions)


_SIGNATURE_KEYS = frozenset({"version", "name", "instructions", "inputs", "outputs"})
_FIELD_KEYS = frozenset({"name", "type", "desc"})


def _field_from_dict(item: Any, kind: str, key: str, types: Mapping[str, Any] | None) -> Field:
    if not isinstance(item, Mapping) or not isinstance(item.get("name"), str):
        raise SignatureError(f"Signature JSON: each of {key!r} needs a 'name' string.")
    unknown = sorted(str(k)[:40] for k in set(item) - _FIELD_KEYS)
    if unknown:
        raise SignatureError(
            f"Signature JSON: field {item['name'][:40]!r} has unknown key(s) {unknown}; a "
            f"field has {sorted(_FIELD_KEYS)}."
        )
    name = item["name"]
    if not name.isidentifier() or keyword.iskeyword(name):
        raise SignatureError(
            f"Signature JSON: {name[:60]!r} is not a field name (a field is a Python "
            "identifier). Fix the name in the file."
        )
    desc = item.get("desc", "")
    if not isinstance(desc, str):
        raise SignatureError(f"Signature JSON: field `{name}`: 'desc' must be a string.")
    where = f"field `{name}`"
    spec = item.get("type", {"type": "str"})
    annotation = spec_to_type(spec, where=where)
    if types is not None and name in types:
        own = types[name]
        try:
            if type_to_spec(own, where=where) == spec:
                annotation = own
        except SignatureError:
            pass
    return Field(name, kind, annotation, desc, dict(spec))  # type: ignore[arg-type]


_RESERVED = frozenset(
    {n for n in dir(SignatureMeta) if not n.startswith("_")}
    | {n for n in dir(Signature) if not n.startswith("_")}
)


def ensure_signature(
    spec: str | type[Signature], instructions: str | None = None
) -> type[Signature]:
    """Accept a signature class or a string form; return a signature class."""
    if isinstance(spec, SignatureMeta) and spec is not Signature:
        sig: type[Signature] = spec
        return sig.with_instructions(instructions) if instructions else sig
    if isinstance(spec, str):
        made: type[Signature] = Signature(spec, instructions)
        return made
    raise SignatureError(
        f"Expected a signature string like 'question -> answer' or a Signature subclass; "
        f"got {type(spec).__name__}: {spec!r}."
    )
