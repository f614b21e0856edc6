"""Write js/test/fixtures/, the cases the JavaScript renderer (js/) is tested on: pliable.messages
documents exported from a few programs, inputs for their steps with the exact messages pliable
renders for them (``pl.load(file).render(step, lm=..., **inputs)``), and single input values
with the text pliable makes of them. No LM is called.

    .venv/bin/python scripts/make-js-fixtures.py           # rewrite js/test/fixtures/
    .venv/bin/python scripts/make-js-fixtures.py --check   # exit 1 if they are out of date

tests/test_js_renderer.py checks that the committed fixtures are what this writes, and runs
``node --test js/test/`` on them.

Values are stored as JSON, which cannot tell a float 2.0 from an int 2, nor hold NaN or an int
beyond 2**53 exactly; where that matters a value is stored marked, as JavaScript would pass it:
``{"$pyfloat": 2.0}`` (pass ``pyFloat(2)``) and ``{"$bigint": "123..."}`` (pass ``123...n``).
"""

from __future__ import annotations

import enum
import json
import math
import random
import re
import struct
import sys
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel

import pliable as pl
from pliable.compiled.io import dump_program
from pliable.tasks import load_task

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "js" / "test" / "fixtures"
SAFE = 2**53

# Every awkward character a text input can hold: braces (single, doubled, a placeholder's
# look-alike), quotes, backslashes, newlines and tabs, control characters, "/", U+2028,
# non-ASCII and an astral emoji.
TRICKY = (
    'My {"order": 12} blender {ticket} {{x}} }{ broke.\n"Quoted", \'single\', back\\slash\t'
    "tab\r\nCRLF \x00\x01\x1f\x7f / \u2028 naïve café €35 ☕ 😀 end"
)


class Person(BaseModel):
    name: str
    age: int


class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


class Typed(pl.Signature):
    """Summarise the record."""

    text: str = pl.InputField(desc="free text")
    lines: list[str] = pl.InputField()
    empty: list[str] = pl.InputField()
    counts: list[int] = pl.InputField()
    scores: list[float] = pl.InputField()
    weights: dict[str, float] = pl.InputField()
    meta: dict[str, Any] = pl.InputField()
    n: int = pl.InputField()
    ratio: float = pl.InputField()
    whole: float = pl.InputField()
    flag: bool = pl.InputField()
    note: str | None = pl.InputField()
    maybe: float | None = pl.InputField()
    level: Literal["low", "high"] = pl.InputField()
    pick: Literal[1, 2, "three"] = pl.InputField()
    data: Any = pl.InputField()
    person: Person = pl.InputField()
    color: Color = pl.InputField()
    colors: list[Color] = pl.InputField(desc="enum members, so JSON, never numbered lines")
    loose: str = pl.InputField(desc="text, given other values too")
    summary: str = pl.OutputField()


TYPED_INPUTS: dict[str, Any] = {
    "text": TRICKY,
    "lines": ["first {line}", "second ✓", 'third "quoted"'],
    "empty": [],
    "counts": [0, -1, 7, SAFE, SAFE + 1, -(2**63), 10**30],
    "scores": [0.5, 1.0, 2, -0.0, 1e16, 1e-5, 0.1 + 0.2, 1e22],
    "weights": {"a": 1, "b": 0.25, "c d": -3.5e-7},
    "meta": {"k": [1, {"x": None, "y": True}], "é": "\u2028/\x1b", "n": 1.5},
    "n": 42,
    "ratio": 0.125,
    "whole": 3,
    "flag": True,
    "note": "a note with {braces}",
    "maybe": 2,
    "level": "high",
    "pick": 2,
    "data": {"nested": {"list": [1, 2.5, "x", None, False], "empty": {}, "none": []}},
    "person": {"name": "Zoë", "age": 31},
    "color": "blue",
    "colors": ["red", "blue"],
    "loose": 7,
}

TYPED_EDGES: dict[str, Any] = {
    **TYPED_INPUTS,
    "text": "",
    "lines": ["only"],
    "counts": [],
    "scores": [],
    "weights": {},
    "meta": {},
    "n": -(2**70),
    "ratio": 5e-324,
    "whole": -0.0,
    "flag": False,
    "note": None,
    "maybe": None,
    "level": "low",
    "pick": "three",
    "colors": [],
    "data": [["a", "b"], "c"],
    "loose": ["one", "two"],
}

# untyped places (Any, a str field) holding integral floats: JavaScript passes pyFloat(...)
TYPED_FLOATS: dict[str, Any] = {
    **TYPED_INPUTS,
    "data": {"score": 2.0, "items": [1.0, 1, 2.5]},
    "loose": 3.0,
    "maybe": 1e300,
}


def _typed(adapter: pl.Adapter) -> pl.Predict:
    program = pl.Predict(Typed, adapter=adapter)
    demo = {**TYPED_INPUTS, "text": "a demo", "data": {"demo": [1, "two"]}, "summary": "ok {}"}
    program.demos = [pl.Example(**demo).with_inputs(*Typed.input_fields)]
    return program


def _tickets() -> tuple[Any, list[Any]]:
    task = load_task("tickets")
    with pl.using(lm=pl.ScriptedLM([])):
        program = pl.LabeledFewShot(4).compile(task.program_factory(), trainset=list(task.trainset))
    return program, list(task.devset)


def _tickets_chat() -> Any:
    program, _ = _tickets()
    program.adapter = pl.ChatAdapter()
    return program


def _cot(adapter: pl.Adapter | None) -> pl.ChainOfThought:
    program = pl.ChainOfThought(
        "question: str, context: list[str] -> answer: float", adapter=adapter
    )
    program.demos = [
        pl.Example(
            question="How many {kg} in 1.5 t?",
            context=["1 t = 1000 kg", 'a "ton" is metric'],
            reasoning="1.5 × 1000",
            answer=1500.0,
        ).with_inputs("question", "context")
    ]
    return program


def _template() -> pl.Predict:
    template = pl.Template(
        system="Be {tone}. Literal {{braces}} stay.",
        user="Q: {question}\nNote: {note}\nData: {data}",
    )
    signature = pl.Signature("question, tone, note: Optional[str], data: dict[str, int] -> answer")
    return pl.Predict.from_template(template, signature)


Case = tuple[str, str | None, dict[str, Any], bool]


def programs() -> dict[str, tuple[Any, str, list[Case]]]:
    """name -> (program, the model it is exported and rendered for, cases), where a case is
    (case name, step, inputs, whether its integral floats are stored marked)."""
    tickets, dev = _tickets()
    plain: list[Case] = [("dev", None, {"ticket": dev[0]["ticket"]}, False)]
    return {
        "tickets": (
            tickets,
            "openai/gpt-4o-mini",
            [*plain, ("tricky text", None, {"ticket": TRICKY}, False)],
        ),
        "tickets-chat": (_tickets_chat(), "local/smollm2", plain),
        "cot": (
            _cot(None),
            "local/smollm2",
            [
                ("context", None, {"question": "Sum {a}?", "context": ["a=1", "b=2"]}, False),
                ("empty context", None, {"question": "Why?", "context": []}, False),
            ],
        ),
        "cot-chat": (
            _cot(pl.ChatAdapter()),
            "openai/gpt-4o-mini",
            [("one line of context", None, {"question": TRICKY, "context": ["x"]}, False)],
        ),
        "multihop": (
            pl.MultiHopQA(),
            "openai/gpt-4o-mini",
            [
                ("query, no notes", "generate_query", {"question": "Who?", "notes": []}, False),
                (
                    "query, notes",
                    "generate_query",
                    {"question": "Who?", "notes": ["Ann met {Bob}.", "Bob → Paris"]},
                    False,
                ),
                ("answer", "answer", {"question": "Who?", "notes": ["n1", "n2"]}, False),
            ],
        ),
        "typed-chat": (
            _typed(pl.ChatAdapter()),
            "openai/gpt-4o-mini",
            [
                ("values", None, TYPED_INPUTS, False),
                ("edges and nulls", None, TYPED_EDGES, False),
                ("integral floats in untyped places", None, TYPED_FLOATS, True),
            ],
        ),
        "typed-json": (
            _typed(pl.JSONAdapter()),
            "openai/gpt-4o-mini",
            [
                ("values", None, TYPED_INPUTS, False),
                ("edges and nulls", None, TYPED_EDGES, False),
                ("integral floats in untyped places", None, TYPED_FLOATS, True),
            ],
        ),
        "template": (
            _template(),
            "openai/gpt-4o-mini",
            [
                ("note", None, {"question": "Q?", "tone": "kind", "note": "n", "data": {}}, False),
                (
                    "no note",
                    None,
                    {"question": TRICKY, "tone": "{x}", "note": None, "data": {"a": 1}},
                    False,
                ),
            ],
        ),
    }


def encode(value: Any, mark_floats: bool = False) -> Any:
    """``value`` as JSON JavaScript reads back to the value it should pass (see the docstring)."""
    if isinstance(value, float):
        if not math.isfinite(value):
            return {"$pyfloat": str(value).replace("inf", "Infinity").replace("nan", "NaN")}
        return {"$pyfloat": value} if mark_floats and value.is_integer() else value
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > SAFE:
        return {"$bigint": str(value)}
    if isinstance(value, dict):
        return {k: encode(v, mark_floats) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [encode(v, mark_floats) for v in value]
    return value


def _dump(data: Any) -> str:
    return json.dumps(data, indent=1, ensure_ascii=False, allow_nan=False) + "\n"


def message_cases(files: dict[str, str]) -> list[dict[str, Any]]:
    cases = []
    for name, (program, lm, runs) in programs().items():
        state = dump_program(program)
        ((_, text),) = pl.export(state, format="messages", lm=lm, name=name).items()
        doc = f"{name}.messages.json"
        files[doc] = text
        loaded = pl.load(state)
        for case, step, inputs, mark in runs:
            messages = loaded.render(step, lm=lm, **inputs)
            cases.append(
                {
                    "name": f"{name}: {case}",
                    "doc": doc,
                    "step": step,
                    "lm": lm,
                    "inputs": encode(inputs, mark),
                    "messages": [{"role": m["role"], "content": m["content"]} for m in messages],
                }
            )
    return cases


def _floats() -> list[float]:
    rng = random.Random(17)
    found = [
        0.1, 0.2 + 0.1, 1 / 3, 2 / 3, 1e15, 1e16, 1e17, 9007199254740993.0, 123456789012345678.0,
        1234567890123456.0, 1e-4, 1e-5, 1.5e-4, 5e-324, 2.2250738585072014e-308,
        1.7976931348623157e308, 1e21, 1e22, 1e100, -1e-100, 0.0, -0.0, 100.0, 2.5, -7.0,
    ]  # fmt: skip
    found += [rng.uniform(-1000, 1000) for _ in range(30)]
    found += [rng.choice((1, -1)) * 10 ** rng.uniform(-30, 30) for _ in range(40)]
    while len(found) < 200:
        (x,) = struct.unpack("<d", rng.randbytes(8))
        if math.isfinite(x):
            found.append(x)
    return found


ESCAPES = {"quote": '"', "slash": "/\\", "ctl": "\x00\b\f\n\r\t\x1f\x7f", "ls": "\u2028"}


def input_cases() -> list[dict[str, Any]]:
    """Single values for a field of each type, and the text pliable makes of them."""
    floats = _floats()
    values: list[tuple[str, Any, bool]] = [
        ("str", TRICKY, False),
        ("str", "", False),
        ("str", ["a {b}", "c\nd"], False),
        ("str", [], False),
        ("str", 12, False),
        ("str", 3.0, True),
        ("str", None, False),
        ("str", {"a": [1, "é"]}, False),
        ("list[str]", ["one"], False),
        ("list[str]", [], False),
        ("list[int]", [1, -2, SAFE + 2, 2**70], False),
        ("list[float]", floats, False),
        ("list[float]", [1, 2, 3], False),
        ("float", 7, False),
        ("float", float("nan"), False),
        ("float", float("inf"), False),
        ("float", -float("inf"), False),
        ("int", 2**64, False),
        ("int", 5.0, False),
        ("bool", False, False),
        ("Optional[int]", None, False),
        ("Optional[float]", 4, False),
        ("Optional[list[str]]", ["x", "y"], False),
        ("Literal['a b', \"it's\", 3, True]", "it's", False),
        ("Literal['a b', \"it's\", 3, True]", 3, False),
        ("Literal['a b', \"it's\", 3, True]", True, False),
        ("dict[str, float]", {"x": 1, "y": 2.5}, False),
        ("dict[str, list[int]]", {"x": [1, 2], "z": []}, False),
        ("dict[str, Any]", {"a": 1.0, "b": [1.0, None]}, True),
        ("Any", ESCAPES, False),
        ("Any", [1, 2.0, [], {}, "x"], True),
        ("Any", ["a", "b"], False),
        ("Any", 2.0, True),
        ("Any", 2, False),
        ("list[Any]", [], False),
    ]  # fmt: skip
    cases = []
    for type_text, value, mark in values:
        signature = pl.Signature(f"value: {type_text} -> answer")
        field = signature.input_fields["value"]
        adapter = pl.ChatAdapter()
        program = pl.Predict(signature, adapter=adapter)
        user = program.messages(value=value)[-1]["content"]
        head, tail = "[[value]]\n", "\n\n" + adapter.reply_reminder(signature)
        if not (user.startswith(head) and user.endswith(tail)):
            raise AssertionError(f"unexpected layout: {user!r}")
        cases.append(
            {
                "type": field.type_name,
                "value": encode(value, mark),
                "text": user[len(head) : -len(tail)],
            }
        )
    return cases


def build() -> dict[str, str]:
    """The fixture files: {file name: text}."""
    files: dict[str, str] = {}
    files["messages.json"] = _dump(
        {
            "about": "Generated by scripts/make-js-fixtures.py: per case, a document, a step, the "
            "inputs (marked values: see that script) and the messages pliable renders.",
            "cases": message_cases(files),
        }
    )
    files["inputs.json"] = _dump(
        {
            "about": "Generated by scripts/make-js-fixtures.py: a field type, a value and the text "
            "pliable makes of it.",
            "cases": input_cases(),
        }
    )
    return files


def versionless(text: str) -> str:
    """A fixture without the pliable version that exported it: a release alone changes no
    fixture."""
    return re.sub(r'"exported_by": "pliable [^"]*"', '"exported_by": "pliable"', text)


def main(argv: list[str]) -> int:
    files = build()
    if "--check" in argv:
        stale = sorted(
            name
            for name, text in files.items()
            if not (FIXTURES / name).is_file()
            or versionless((FIXTURES / name).read_text(encoding="utf-8")) != versionless(text)
        )
        extra = sorted(p.name for p in FIXTURES.glob("*.json") if p.name not in files)
        if stale or extra:
            print(f"out of date: {stale + extra}; run scripts/make-js-fixtures.py")
            return 1
        print(f"{len(files)} fixture files up to date")
        return 0
    FIXTURES.mkdir(parents=True, exist_ok=True)
    for old in FIXTURES.glob("*.json"):
        if old.name not in files:
            old.unlink()
    for name, text in files.items():
        (FIXTURES / name).write_text(text, encoding="utf-8")
    print(f"wrote {len(files)} files to {FIXTURES.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
