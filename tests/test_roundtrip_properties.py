"""Property-based round trips: typed values -> adapter text -> typed values, and signature JSON.

For random signatures (1-4 inputs, 1-4 outputs, random field names, types drawn from the
supported set, built from the string form, the JSON form or a class body) and random values:

* ``adapter.parse(sig, adapter.format_outputs(sig, values))`` gives back the same typed values,
  for both ``pl.ChatAdapter`` and ``pl.JSONAdapter``;
* ``pl.Predict(sig, lm=pl.ScriptedLM([text]), adapter=...)(**inputs)`` returns a prediction
  holding the same values;
* ``Signature.from_dict(sig.to_dict()) == sig`` and ``to_dict(from_dict(d)) == d``, also when a
  type's import path does not resolve and the type is rebuilt from its stored structure;
* ``loads_lenient`` reads plain and typically damaged JSON back to the same value.

The strategies respect the documented normalisations instead of fighting them: the chat
adapter strips the whitespace around a text value, and a text value must not hold a marker
line of an output field (``[[name]]``, ``[[ ## name ## ]]``, matched ignoring case) nor the
``[[completed]]`` trailer; an ``Optional`` value whose text reads ``null``/``none``/``n/a``/empty
is ``None`` (inside models too); floats are finite. Text is otherwise adversarial: it mixes
random characters with markers of input fields, ``name:`` headers, JSON punctuation, fences and
quotes. Field names are random identifiers (some differing only in case) plus a few that
collide with markers, JSON words or reserved names. Regressions for bugs found this way, and a
strict xfail for one still open, are at the end.
"""

import enum
import functools
import json
import keyword
import re
import string
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import pydantic
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import pliable as pl
from pliable.adapters.json_repair import loads_lenient
from pliable.adapters.values import to_jsonable
from pliable.signatures.types import type_to_spec

# Sized so the whole file runs in a few seconds.
ROUND_TRIP = settings(max_examples=150, deadline=None)
REBUILD = settings(max_examples=60, deadline=None)
QUICK = settings(max_examples=150, deadline=None)

ADAPTERS: dict[str, pl.Adapter] = {"chat": pl.ChatAdapter(), "json": pl.JSONAdapter()}


# --- module-level custom types (importable, so their stored "ref" resolves) -------------------
class Color(enum.Enum):
    RED = "red"
    GREEN = "green"
    DARK_BLUE = "dark blue"


class Inner(pydantic.BaseModel):
    label: str
    count: int
    tags: list[str] = []


class Outer(pydantic.BaseModel):
    title: str
    inner: Inner
    items: list[Inner]
    note: str | None = None
    scores: dict[str, float] = {}


class Tagged(pydantic.BaseModel):
    """A model with an enum-typed and a Literal-typed property."""

    color: Color
    level: Literal[1, 2, 3]


CUSTOM_TYPES: dict[str, Any] = {"Color": Color, "Inner": Inner, "Outer": Outer, "Tagged": Tagged}


# --- text ---------------------------------------------------------------------------------------
# Pieces that tend to confuse parsers, mixed into random text.
JSON_BITS = [
    "```",
    "```json\n",
    "'",
    '"',
    "\\",
    "//",
    "/*",
    "*/",
    "True",
    "None",
    "null",
    ",]",
    ",}",
    "{",
    "}",
    "[",
    "]",
    ":",
    ",",
    "\n",
    "\r\n",
    "\t",
    " ",
    "é",
    "\u2028",
    "😀",
    # sentence punctuation and words a tolerant reader might "clean up"
    ".",
    "!",
    "?",
    "*",
    "`",
    "#",
    "-",
    "yes",
    "N/A",
    "1.5",
]


def _mixed(bits: list[str], max_pieces: int = 6) -> st.SearchStrategy[str]:
    piece = st.text(max_size=6) | st.sampled_from(bits)
    return st.lists(piece, max_size=max_pieces).map("".join)


any_text = _mixed(JSON_BITS)  # text inside JSON values: anything goes


def chat_bits(names: list[str]) -> list[str]:
    """Header-like pieces naming the signature's fields, plus general markdown and JSON bits."""
    out = [*JSON_BITS, "[[", "]]", "##", "**", "\n\n", "- ", "1. ", "[1] "]
    for n in names:
        out += [f"\n[[{n}]]\n", f"[[ ## {n} ## ]]", f"\n{n}:", f"\n**{n}**: ", f"\n## {n}\n"]
    return out


_NULL_WORDS = {"null", "none", "", "n/a"}


def null_like(text: str) -> bool:
    """Text an Optional field reads as None (documented: null / none / n/a / empty)."""
    token = text.strip().strip("`*\"'").strip().rstrip(".!").strip().strip("\"'")
    return token.lower() in _NULL_WORDS


_MARKER_LINE = re.compile(r"^[ \t]*(?:[#*]+[ \t]*)?\[\[([^\]\n]*)\]\]", re.M)
_COMPLETED = re.compile(r"\[\[[ \t#]*completed[ \t#]*\]\]", re.I)


def chat_safe(text: str, output_names: list[str]) -> bool:
    """False if ``text`` holds a line the chat adapter reads as a field marker (any field of the
    signature ends a section) or the trailer."""
    if _COMPLETED.search(text):
        return False
    reserved = {n.lower() for n in output_names}
    return not any(
        m.group(1).strip(" \t#").lower() in reserved for m in _MARKER_LINE.finditer(text)
    )


def chat_text(all_names: list[str], output_names: list[str]) -> st.SearchStrategy[str]:
    """Text the chat adapter writes as is and reads back unchanged."""
    raw = _mixed(chat_bits(all_names), max_pieces=8)
    return raw.map(str.strip).filter(lambda t: chat_safe(t, all_names))


# --- values -------------------------------------------------------------------------------------
finite_floats = st.floats(allow_nan=False, allow_infinity=False)
small_ints = st.integers(min_value=-(10**12), max_value=10**12)
big_ints = st.integers()  # arbitrarily large: both adapters keep them exact

inners = st.builds(Inner, label=any_text, count=big_ints, tags=st.lists(any_text, max_size=3))
outers = st.builds(
    Outer,
    title=any_text,
    inner=inners,
    items=st.lists(inners, max_size=2),
    note=st.none() | any_text.filter(lambda t: not null_like(t)),
    scores=st.dictionaries(any_text, finite_floats, max_size=3),
)
taggeds = st.builds(Tagged, color=st.sampled_from(Color), level=st.sampled_from([1, 2, 3]))


@dataclass(frozen=True)
class Kind:
    """One field type: how the string form spells it, the annotation, and its values.

    ``values`` takes the strategy for free text at the top level of the value (the chat adapter
    writes a text value as is, so that text must avoid marker lines).
    """

    spelled: str
    annotation: Any
    values: Callable[[st.SearchStrategy[str]], st.SearchStrategy[Any]]
    custom: bool = False


KINDS: list[Kind] = [
    Kind("str", str, lambda text: text),
    Kind("int", int, lambda _: big_ints),
    Kind("float", float, lambda _: finite_floats),
    Kind("bool", bool, lambda _: st.booleans()),
    Kind("list[str]", list[str], lambda _: st.lists(any_text, max_size=4)),
    Kind("list[int]", list[int], lambda _: st.lists(small_ints, max_size=4)),
    Kind(
        "dict[str, int]",
        dict[str, int],
        lambda _: st.dictionaries(any_text, small_ints, max_size=3),
    ),
    Kind(
        "dict[str, list[str]]",
        dict[str, list[str]],
        lambda _: st.dictionaries(any_text, st.lists(any_text, max_size=3), max_size=3),
    ),
    Kind(
        "Literal['yes', 'Yes', 'no', 'a b']",
        Literal["yes", "Yes", "no", "a b"],
        lambda _: st.sampled_from(["yes", "Yes", "no", "a b"]),
    ),
    Kind("Literal[-1, 0, 10]", Literal[-1, 0, 10], lambda _: st.sampled_from([-1, 0, 10])),
    Kind("Optional[int]", int | None, lambda _: st.none() | big_ints),
    Kind(
        "Optional[list[str]]",
        list[str] | None,
        lambda _: st.none() | st.lists(any_text, max_size=3),
    ),
    Kind(
        "Optional[str]",
        str | None,
        lambda text: st.none() | text.filter(lambda t: not null_like(t)),
    ),
    Kind("Color", Color, lambda _: st.sampled_from(Color), custom=True),
    Kind("Inner", Inner, lambda _: inners, custom=True),
    Kind("Outer", Outer, lambda _: outers, custom=True),
    Kind("list[Inner]", list[Inner], lambda _: st.lists(inners, max_size=3), custom=True),
    Kind("Optional[Inner]", Inner | None, lambda _: st.none() | inners, custom=True),
    Kind("Tagged", Tagged, lambda _: taggeds, custom=True),
]
CUSTOM_KINDS = [k for k in KINDS if k.custom]


# --- signatures ---------------------------------------------------------------------------------
# `lm` and `config` name a call's own options, so Predict refuses them as fields.
_PREDICT_RESERVED = {"lm", "config"}


@functools.cache
def accepted_name(name: str) -> bool:
    """Whether the library takes ``name`` as a field name (keywords, reserved names fail)."""
    if name in _PREDICT_RESERVED or keyword.iskeyword(name):
        return False
    try:
        pl.Signature(f"-> {name}")
    except pl.SignatureError:
        return False
    return True


random_names = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,7}", fullmatch=True)
tricky_names = st.sampled_from(
    [
        "answer",
        "Answer",
        "ANSWER",
        "completed",
        "json",
        "null",
        "true",
        "none",
        "_x",
        "a",
        "A",
        "reasoning",
        "fields",
        "instructions",
        "to_dict",
        "lm",
        "config",
        "self",
        "mro",
        "class",
    ]
)
field_names = (random_names | tricky_names).filter(accepted_name)


@dataclass(frozen=True)
class Spec:
    """A drawn signature, before it is built in one of its three forms."""

    inputs: tuple[tuple[str, Kind], ...]
    outputs: tuple[tuple[str, Kind], ...]

    @property
    def names(self) -> list[str]:
        return [n for n, _ in self.inputs + self.outputs]

    @property
    def output_names(self) -> list[str]:
        return [n for n, _ in self.outputs]

    def string_form(self) -> type[pl.Signature]:
        def side(fields: tuple[tuple[str, Kind], ...]) -> str:
            return ", ".join(n if k.spelled == "str" else f"{n}: {k.spelled}" for n, k in fields)

        return pl.Signature(f"{side(self.inputs)} -> {side(self.outputs)}", types=CUSTOM_TYPES)

    def dict_form(self) -> type[pl.Signature]:
        def side(fields: tuple[tuple[str, Kind], ...]) -> list[dict[str, Any]]:
            return [{"name": n, "type": type_to_spec(k.annotation)} for n, k in fields]

        data = {
            "version": 1,
            "name": "Drawn",
            "instructions": None,
            "inputs": side(self.inputs),
            "outputs": side(self.outputs),
        }
        own = {n: k.annotation for n, k in (*self.inputs, *self.outputs)}
        return pl.Signature.from_dict(data, types=own)  # the caller's classes, kept

    def class_form(self) -> type[pl.Signature]:
        body: dict[str, Any] = {
            "__annotations__": {n: k.annotation for n, k in self.inputs + self.outputs}
        }
        body.update({n: pl.InputField() for n, _ in self.inputs})
        body.update({n: pl.OutputField() for n, _ in self.outputs})
        return types.new_class("Drawn", (pl.Signature,), exec_body=lambda ns: ns.update(body))

    def forms(self) -> list[str]:
        # A class body skips underscore-named attributes, so it cannot declare those fields.
        underscored = any(n.startswith("_") for n in self.names)
        return ["string", "dict"] if underscored else ["string", "dict", "class"]

    def build(self, form: str) -> type[pl.Signature]:
        builders = {"string": self.string_form, "dict": self.dict_form, "class": self.class_form}
        return builders[form]()


@st.composite
def specs(
    draw: st.DrawFn, kinds: list[Kind] = KINDS, first_output: list[Kind] | None = None
) -> Spec:
    n_in, n_out = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    size = n_in + n_out
    names = draw(st.lists(field_names, min_size=size, max_size=size, unique=True))
    # text is where a tolerant reader is most likely to change a value: draw it more often
    text_kinds = [k for k in kinds if k.spelled in ("str", "Optional[str]")]
    kind = st.sampled_from(kinds) | st.sampled_from(text_kinds)
    in_kinds = [draw(kind) for _ in range(n_in)]
    out_kinds = [draw(kind) for _ in range(n_out)]
    if first_output is not None:
        out_kinds[0] = draw(st.sampled_from(first_output))
    return Spec(
        tuple(zip(names[:n_in], in_kinds, strict=True)),
        tuple(zip(names[n_in:], out_kinds, strict=True)),
    )


@dataclass(frozen=True)
class Case:
    spec: Spec
    form: str
    sig: type[pl.Signature]
    inputs: dict[str, Any]
    outputs: dict[str, Any]


@st.composite
def cases(
    draw: st.DrawFn,
    text_for: str = "chat",
    kinds: list[Kind] = KINDS,
    first_output: list[Kind] | None = None,
) -> Case:
    """A signature in a random form with input and output values.

    ``text_for="chat"``: top-level output text is what the chat adapter keeps (stripped, no
    marker lines), which the JSON adapter reads back too; ``"json"``: any text.
    """
    spec = draw(specs(kinds, first_output))
    form = draw(st.sampled_from(spec.forms()))
    text = chat_text(spec.names, spec.output_names) if text_for == "chat" else any_text
    outputs = {n: draw(k.values(text), label=f"output {n}") for n, k in spec.outputs}
    inputs = {n: draw(k.values(any_text), label=f"input {n}") for n, k in spec.inputs}
    return Case(spec, form, spec.build(form), inputs, outputs)


# --- comparing typed values ---------------------------------------------------------------------
def assert_same(expected: Any, got: Any, where: str) -> None:
    """Equal values of the same types, all the way down (``1``, ``True`` and ``1.0`` differ)."""
    shown = f"{where}: got {got!r} ({type(got).__name__}), expected {expected!r}"
    assert type(got) is type(expected), shown
    if isinstance(expected, pydantic.BaseModel):
        for name in type(expected).model_fields:
            assert_same(getattr(expected, name), getattr(got, name), f"{where}.{name}")
    elif isinstance(expected, list):
        assert len(got) == len(expected), shown
        for i, (e, g) in enumerate(zip(expected, got, strict=True)):
            assert_same(e, g, f"{where}[{i}]")
    elif isinstance(expected, dict):
        assert list(got) == list(expected), shown
        for key in expected:
            assert_same(expected[key], got[key], f"{where}[{key!r}]")
    else:
        assert got == expected, shown


def assert_outputs(case: Case, got: typing.Mapping[str, Any], how: str) -> None:
    assert sorted(got) == sorted(case.outputs), f"{how}: fields {sorted(got)}"
    for name, value in case.outputs.items():
        assert_same(value, got[name], f"{how} {case.sig.signature_string()!r} `{name}`")


def _blank_text_output(adapter: pl.Adapter, case: Case) -> bool:
    """A required text output that is blank: the chat format reads "[[name]]" followed by
    nothing as a missing value (tested in tests/adapters), so it cannot round-trip."""
    return adapter.name == "chat" and any(
        case.sig.output_fields[n].annotation is str and isinstance(v, str) and not v.strip()
        for n, v in case.outputs.items()
    )


def check_format_then_parse(adapter: pl.Adapter, case: Case) -> None:
    text = adapter.format_outputs(case.sig, case.outputs)
    assert_outputs(case, adapter.parse(case.sig, text), f"{adapter.name}/{case.form}")


def check_predict(adapter: pl.Adapter, case: Case) -> None:
    text = adapter.format_outputs(case.sig, case.outputs)
    lm = pl.ScriptedLM([text])
    prediction = pl.Predict(case.sig, lm=lm, adapter=adapter)(**case.inputs)
    assert isinstance(prediction, pl.Prediction)
    assert_outputs(case, prediction, f"Predict/{adapter.name}/{case.form}")
    assert len(lm.calls) == 1
    assert lm.remaining == 0
    assert list(lm.calls[0].messages) == adapter.format(case.sig, case.inputs)


# --- adapter round trips ------------------------------------------------------------------------
@ROUND_TRIP
@given(case=cases("chat"))
def test_chat_format_outputs_then_parse_gives_the_same_values(case: Case) -> None:
    assume(not _blank_text_output(ADAPTERS["chat"], case))
    check_format_then_parse(ADAPTERS["chat"], case)


@ROUND_TRIP
@given(case=cases("json"))
def test_json_format_outputs_then_parse_gives_the_same_values(case: Case) -> None:
    check_format_then_parse(ADAPTERS["json"], case)


@ROUND_TRIP
@given(case=cases("chat"))
def test_chat_predict_returns_the_scripted_values(case: Case) -> None:
    assume(not _blank_text_output(ADAPTERS["chat"], case))
    check_predict(ADAPTERS["chat"], case)


@ROUND_TRIP
@given(case=cases("json"))
def test_json_predict_returns_the_scripted_values(case: Case) -> None:
    check_predict(ADAPTERS["json"], case)


class _LossyChat(pl.ChatAdapter):
    """Writes floats with 3 decimals: the kind of loss the properties must catch."""

    def render_output(self, signature: type[pl.Signature], name: str, value: Any) -> str:
        if isinstance(value, float):
            return f"{value:.3f}"
        return super().render_output(signature, name, value)


def test_the_checks_can_fail() -> None:
    sig = pl.Signature("q -> n: float, flag: bool, xs: list[int]")
    case = Case(Spec((), ()), "string", sig, {"q": "?"}, {"n": 0.12345, "flag": True, "xs": [1]})
    check_format_then_parse(pl.ChatAdapter(), case)
    with pytest.raises(AssertionError, match="`n`"):
        check_format_then_parse(_LossyChat(), case)
    with pytest.raises(AssertionError, match="`n`"):
        check_predict(_LossyChat(), case)
    for wrong in (
        {"n": 1, "flag": True, "xs": [1]},
        {"n": 0.12345, "flag": 1, "xs": [1]},
        {"n": 0.12345, "flag": True, "xs": [True]},
    ):
        with pytest.raises(AssertionError):
            assert_outputs(case, wrong, "typed")
    with pytest.raises(AssertionError, match="fields"):
        assert_outputs(case, {"n": 0.12345, "flag": True}, "missing")


# --- signature JSON form ------------------------------------------------------------------------
def _without_name(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if k != "name"}


@QUICK
@given(spec=specs(), data=st.data())
def test_to_dict_from_dict_round_trip(spec: Spec, data: st.DataObject) -> None:
    sig = spec.build(data.draw(st.sampled_from(spec.forms()), label="form"))
    d = sig.to_dict()
    assert json.loads(json.dumps(d)) == d  # plain JSON

    back = pl.Signature.from_dict(d, types={n: f.annotation for n, f in sig.fields.items()})
    assert back == sig
    assert hash(back) == hash(sig)
    assert back.to_dict() == d
    assert back.signature_string() == sig.signature_string()
    for name, f in sig.fields.items():
        # the caller's enums and models are kept where their structure is the stored one
        assert back.fields[name].annotation == f.annotation
        assert back.fields[name].kind == f.kind
    rebuilt = pl.Signature.from_dict(d)  # nothing imported: rebuilt from the structure
    assert rebuilt.to_dict() == d
    assert rebuilt.signature_string() == sig.signature_string()

    stored = json.loads(json.dumps(d))  # as read back from a file
    assert pl.Signature.from_dict(stored).to_dict() == stored

    # the three ways of declaring the same fields agree (apart from the class name)
    dicts = [_without_name(spec.build(form).to_dict()) for form in spec.forms()]
    assert all(other == dicts[0] for other in dicts[1:])


BOGUS_MODULE = "pliable_no_such_module_for_tests"


def bogus_refs(node: Any) -> Any:
    """A copy where every enum/model "ref" names a module that does not exist."""
    if isinstance(node, dict):
        out = {k: bogus_refs(v) for k, v in node.items()}
        if node.get("type") in ("enum", "model") and "ref" in node:
            out["ref"] = f"{BOGUS_MODULE}:{node.get('name')}"
        return out
    if isinstance(node, list):
        return [bogus_refs(v) for v in node]
    return node


def _custom_classes(annotation: Any) -> list[type]:
    if isinstance(annotation, type) and annotation in CUSTOM_TYPES.values():
        return [annotation]
    return [c for a in typing.get_args(annotation) for c in _custom_classes(a)]


def test_bogus_refs_reaches_nested_specs() -> None:
    sig = pl.Signature("q -> xs: list[Inner], c: Optional[Color]", types=CUSTOM_TYPES)
    d = bogus_refs(sig.to_dict())
    refs = [d["outputs"][0]["type"]["items"]["ref"], d["outputs"][1]["type"]["inner"]["ref"]]
    assert refs == [f"{BOGUS_MODULE}:Inner", f"{BOGUS_MODULE}:Color"]


@pytest.mark.parametrize("adapter_name", ["chat", "json"])
@REBUILD
@given(case=cases("chat", first_output=CUSTOM_KINDS))
def test_unimportable_refs_are_rebuilt_and_read_the_same_values(
    adapter_name: str, case: Case
) -> None:
    d = bogus_refs(case.sig.to_dict())
    rebuilt = pl.Signature.from_dict(d)

    # the rebuilt types remember their stored form: saving again writes the same JSON
    assert rebuilt.to_dict() == d
    assert pl.Signature.from_dict(rebuilt.to_dict()) == rebuilt
    for name, f in case.sig.fields.items():
        annotation = rebuilt.fields[name].annotation
        assert not _custom_classes(annotation), f"`{name}` resolved to the importable class"
        if not _custom_classes(f.annotation):
            assert annotation == f.annotation

    # ... and they read what the original signature's adapter writes as the same data
    adapter = ADAPTERS[adapter_name]
    assume(not _blank_text_output(adapter, case))
    got = adapter.parse(rebuilt, adapter.format_outputs(case.sig, case.outputs))
    assert sorted(got) == sorted(case.outputs)
    for name, value in case.outputs.items():
        assert to_jsonable(got[name]) == to_jsonable(value), name
        if isinstance(value, pydantic.BaseModel):
            assert isinstance(got[name], pydantic.BaseModel)
            assert type(got[name]) is not type(value)
            assert type(got[name]).__name__ == type(value).__name__
            assert got[name].model_dump(mode="json") == value.model_dump(mode="json")
            if not isinstance(value, Tagged):  # (a rebuilt enum property reads as plain text)
                assert got[name].model_dump() == value.model_dump()
        elif isinstance(value, Color):
            assert isinstance(got[name], enum.Enum)
            assert not isinstance(got[name], Color)
            assert (got[name].name, got[name].value) == (value.name, value.value)
        elif isinstance(value, list) and value and isinstance(value[0], pydantic.BaseModel):
            assert [m.model_dump() for m in got[name]] == [m.model_dump() for m in value]
        else:
            assert_same(value, got[name], name)


# --- loads_lenient ------------------------------------------------------------------------------
json_keys = _mixed(JSON_BITS, max_pieces=3)
json_scalars = st.none() | st.booleans() | st.integers() | finite_floats | any_text
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(json_keys, inner, max_size=4),
    max_leaves=12,
)
json_containers = st.lists(json_values, min_size=1, max_size=4) | st.dictionaries(
    json_keys, json_values, min_size=1, max_size=4
)
# Prose around the JSON: no brackets, braces, quotes or backticks (those would start a value).
prose = st.text(alphabet=string.ascii_letters + string.digits + " .,:;!?-\n", max_size=30)


@QUICK
@given(value=json_values, ascii_only=st.booleans())
def test_loads_lenient_reads_plain_json(value: Any, ascii_only: bool) -> None:
    assert_same(value, loads_lenient(json.dumps(value, ensure_ascii=ascii_only)), "value")


def damaged_dumps(value: Any, draw: st.DrawFn, damage: list[str]) -> str:
    """Write ``value`` as JSON with the damage small models do, chosen at random."""
    if value is None or isinstance(value, bool):
        if draw(st.booleans()):
            damage.append("python literal")
            return repr(value)  # None / True / False
        return json.dumps(value)
    if isinstance(value, (int, float)):
        return json.dumps(value)
    if isinstance(value, str):
        if "'" not in value and '"' not in value and draw(st.booleans()):
            damage.append("single quotes")
            return "'" + json.dumps(value)[1:-1] + "'"
        return json.dumps(value)
    if isinstance(value, list):
        items = [damaged_dumps(v, draw, damage) for v in value]
    else:
        items = [
            f"{damaged_dumps(k, draw, damage)}: {damaged_dumps(v, draw, damage)}"
            for k, v in value.items()
        ]
    trailing = ""
    if items and draw(st.booleans()):
        damage.append("trailing comma")
        trailing = draw(st.sampled_from([",", ", ", ",\n"]))
    body = ", ".join(items) + trailing
    return f"[{body}]" if isinstance(value, list) else f"{{{body}}}"


@QUICK
@given(value=json_containers, data=st.data())
def test_loads_lenient_repairs_damaged_json(value: Any, data: st.DataObject) -> None:
    damage: list[str] = []
    text = damaged_dumps(value, data.draw, damage)
    wrap = data.draw(st.sampled_from(["none", "fence", "fence+prose", "prose"]), label="wrap")
    before, after = data.draw(prose, label="before"), data.draw(prose, label="after")
    if wrap.startswith("fence"):
        text = f"```json\n{text}\n```"
        if wrap == "fence+prose":
            text = f"{before}\n{text}\n{after}"
    elif wrap == "prose":
        text = f"{before} {text} {after}"
    how = f"{text!r} ({', '.join(damage) or 'no damage'}, {wrap})"
    assert_same(value, loads_lenient(text), how)


def test_damage_is_real_damage() -> None:
    """The damaged forms used above are not JSON: loads_lenient has to repair them."""
    for text in ("[1, 2,]", "{'a': 'b'}", "[True, None]", '```json\n{"a": 1}\n```'):
        with pytest.raises(json.JSONDecodeError):
            json.loads(text)
    assert loads_lenient("ok:\n```json\n{'a': [True, None, 'x',],}\n```") == {
        "a": [True, None, "x"]
    }


# --- regressions for bugs the properties found, and one still open --------------------------
def test_rebuilt_model_with_enum_property_reads_its_json() -> None:
    sig = pl.Signature("q -> t: Tagged", types=CUSTOM_TYPES)
    rebuilt = pl.Signature.from_dict(bogus_refs(sig.to_dict()))
    adapter = pl.JSONAdapter()
    value = Tagged(color=Color.DARK_BLUE, level=2)
    got = adapter.parse(rebuilt, adapter.format_outputs(sig, {"t": value}))
    assert got["t"].model_dump(mode="json") == value.model_dump(mode="json")


@pytest.mark.parametrize("adapter_name", ["chat", "json"])
def test_output_names_differing_only_in_case(adapter_name: str) -> None:
    sig = pl.Signature("q -> a: int, A: int")
    adapter = ADAPTERS[adapter_name]
    assert adapter.parse(sig, adapter.format_outputs(sig, {"a": 1, "A": 2})) == {"a": 1, "A": 2}


def test_predict_input_named_self() -> None:
    predict = pl.Predict("self -> out", lm=pl.ScriptedLM(["[[out]]\nok"]))
    assert predict(self="hi").out == "ok"


@pytest.mark.parametrize(
    "text",
    [
        '```json\n{"code": "```py\\nprint(1)\\n```", "n": 1}\n```',  # fenced, valid JSON
        '{"code": "```py\\nprint(1)\\n```", "n": 1,}',  # unfenced, trailing comma
    ],
)
def test_json_with_backticks_in_a_string(text: str) -> None:
    assert loads_lenient(text) == {"code": "```py\nprint(1)\n```", "n": 1}
