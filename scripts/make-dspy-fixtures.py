"""Write tests/fixtures/dspy/: DSPy programs saved by the real DSPy (the ``bench`` extra pins
3.4.1) with ``program.save(path)`` (``save_program=False``: the state JSON), for the tests of
``pl.from_dspy`` that run without DSPy. No LM is called: instructions and demos are set by hand.

    .venv/bin/python scripts/make-dspy-fixtures.py           # rewrite tests/fixtures/dspy/
    .venv/bin/python scripts/make-dspy-fixtures.py --check   # exit 1 if they are out of date

Each ``<name>.json`` is the file DSPy wrote, byte for byte. ``manifest.json`` is this script's:
the DSPy version, and for each file the program saved and what each of its predictors held
(its DSPy name, signature, field descriptions, instructions and demos, read from the live DSPy
objects), which the tests compare with the file and with what pliable renders.

DSPy writes one thing that depends on the machine: ``metadata.dependency_versions`` names the
Python and cloudpickle versions next to DSPy's. Files are compared without those two values
(:func:`comparable`), and a file that differs only there is not rewritten, so the fixtures stay
put when regenerated under another Python. tests/test_from_dspy.py regenerates them when DSPy is
installed and checks they equal the committed ones.
"""

from __future__ import annotations

import json
import re
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures" / "dspy"
MANIFEST = "manifest.json"
DSPY_VERSION = "3.4.1"  # the bench extra's pin: the version the fixtures were made with

_VERSIONS = re.compile(r'"dependency_versions": \{[^{}]*\}')
_MACHINE = re.compile(r'("(?:python|cloudpickle)": )"[^"]*"')


def _dspy() -> Any:
    import dspy

    return dspy


def predict(instructions: str | None = None) -> Any:
    """``dspy.Predict("question, context -> answer")`` with a bootstrapped and a labeled demo,
    and DSPy's default instructions unless ``instructions`` is given."""
    dspy = _dspy()
    qa = dspy.Predict("question, context -> answer")
    if instructions:
        qa.signature = qa.signature.with_instructions(instructions)
    qa.demos = [
        dspy.Example(question="What is 2+2?", context="arithmetic", answer="4", augmented=True),
        dspy.Example(question="Capital of France?", context="geography", answer="Paris"),
    ]
    return qa


def chain_of_thought() -> Any:
    """A ``dspy.ChainOfThought`` of a class signature (instructions and field descriptions)
    with a bootstrapped demo (with reasoning) and a labeled one (without)."""
    dspy = _dspy()

    class Classify(dspy.Signature):  # type: ignore[name-defined,misc]
        """Classify the ticket's urgency."""

        ticket: str = dspy.InputField(desc="the customer's message")
        urgency: str = dspy.OutputField(desc="low, medium or high")

    cot = dspy.ChainOfThought(Classify)
    cot.predict.demos = [
        dspy.Example(
            ticket="Site down!",
            reasoning="An outage hurts everyone.",
            urgency="high",
            augmented=True,
        ),
        dspy.Example(ticket="Typo on page", urgency="low"),
    ]
    return cot


def two_step() -> Any:
    """A ``dspy.Module`` of two predictors: ``generate_query``, a ChainOfThought of a class
    signature, and ``answer``, a Predict with changed instructions; a demo each."""
    dspy = _dspy()

    class QuerySig(dspy.Signature):  # type: ignore[name-defined,misc]
        """Write one search query for the question."""

        question: str = dspy.InputField(desc="the user's question")
        query: str = dspy.OutputField(desc="a short web search query")

    class TwoStep(dspy.Module):  # type: ignore[name-defined,misc]
        def __init__(self) -> None:
            super().__init__()
            self.generate_query = dspy.ChainOfThought(QuerySig)
            self.answer = dspy.Predict("context, question -> answer")

    program = TwoStep()
    program.generate_query.predict.demos = [
        dspy.Example(
            question="Who wrote Hamlet?",
            reasoning="Hamlet is a play.",
            query="Hamlet author",
            augmented=True,
        )
    ]
    program.answer.signature = program.answer.signature.with_instructions(
        "Answer from the context in a few words."
    )
    program.answer.demos = [
        dspy.Example(context="Hamlet was written by Shakespeare.", question="Q1", answer="Will")
    ]
    return program


# file name -> (how the program is built, what it shows, its builder)
PROGRAMS: dict[str, tuple[str, str, Any]] = {
    "predict.json": (
        'dspy.Predict("question, context -> answer")',
        "a Predict with DSPy's default instructions: no program= needed",
        predict,
    ),
    "predict-instructions.json": (
        'dspy.Predict("question, context -> answer"), instructions "Answer in one word."',
        "a Predict with changed instructions: the fields come from program=",
        lambda: predict("Answer in one word."),
    ),
    "chain-of-thought.json": (
        "dspy.ChainOfThought(Classify), Classify a class signature with field descriptions",
        "a ChainOfThought: its predictor is 'predict', its first output 'reasoning'",
        chain_of_thought,
    ),
    "two-step.json": (
        "TwoStep(dspy.Module): generate_query = dspy.ChainOfThought(QuerySig), "
        'answer = dspy.Predict("context, question -> answer") with changed instructions',
        "two predictors, mapped by name onto a pliable program with program=",
        two_step,
    ),
}


def held(program: Any) -> dict[str, Any]:
    """What each predictor of a live DSPy program holds, by DSPy's predictor name."""
    out: dict[str, Any] = {}
    for name, pred in program.named_predictors():
        sig = pred.signature
        fields = {**sig.input_fields, **sig.output_fields}
        descs = {n: (f.json_schema_extra or {}).get("desc", "") for n, f in fields.items()}
        out[name] = {
            "signature": sig.signature,
            "descriptions": {n: d for n, d in descs.items() if d != f"${{{n}}}"},
            "instructions": sig.instructions,
            "demos": [dict(d.toDict()) if hasattr(d, "toDict") else dict(d) for d in pred.demos],
        }
    return out


def _dump(data: Any) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def build() -> dict[str, str]:
    """Every fixture file's text, by file name: DSPy's saved states and the manifest."""
    dspy = _dspy()
    files: dict[str, str] = {}
    manifest: dict[str, Any] = {
        "about": "DSPy programs saved with program.save(path) (save_program=False), for "
        "tests/test_from_dspy.py; written by scripts/make-dspy-fixtures.py",
        "dspy": dspy.__version__,
        "files": {},
    }
    with tempfile.TemporaryDirectory() as tmp:
        for name, (program_text, about, make) in PROGRAMS.items():
            program = make()
            path = Path(tmp) / name
            program.save(str(path))
            files[name] = path.read_bytes().decode("utf-8")
            manifest["files"][name] = {
                "program": program_text,
                "about": about,
                "predictors": held(program),
            }
    files[MANIFEST] = _dump(manifest)
    return files


def write(folder: Path) -> list[str]:
    """Write the fixture files into ``folder``, leaving alone those that differ only in the
    machine's versions; remove other ``.json`` files there. The names written, sorted."""
    files = build()
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.json"):
        if old.name not in files:
            old.unlink()
    written = []
    for name, text in sorted(files.items()):
        path = folder / name
        if path.is_file() and comparable(path.read_text(encoding="utf-8")) == comparable(text):
            continue
        path.write_text(text, encoding="utf-8")
        written.append(name)
    return written


def comparable(text: str) -> str:
    """A fixture's text without what depends on the machine that saved it: the Python and
    cloudpickle versions in DSPy's ``metadata.dependency_versions`` (DSPy's stays)."""
    return _VERSIONS.sub(lambda m: _MACHINE.sub(r'\1"*"', m.group(0)), text)


def stale(folder: Path) -> list[str]:
    """The fixture files in ``folder`` that differ from what DSPy writes now, or are missing
    or extra."""
    files = build()
    out = [
        name
        for name, text in files.items()
        if not (folder / name).is_file()
        or comparable((folder / name).read_text(encoding="utf-8")) != comparable(text)
    ]
    out += [p.name for p in folder.glob("*.json") if p.name not in files]
    return sorted(out)


def main(argv: list[str]) -> int:
    dspy = _dspy()
    if dspy.__version__ != DSPY_VERSION:
        print(
            f"DSPy {dspy.__version__} is installed; the fixtures are made with DSPy "
            f"{DSPY_VERSION} (pip install -e '.[bench]'). Change DSPY_VERSION with the pin."
        )
        return 1
    if "--check" in argv:
        out = stale(FIXTURES)
        if out:
            print(f"out of date: {out}; run scripts/make-dspy-fixtures.py")
            return 1
        print(f"{len(PROGRAMS) + 1} fixture files up to date")
        return 0
    written = write(FIXTURES)
    print(f"wrote {written or 'nothing (up to date)'} in {FIXTURES.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
