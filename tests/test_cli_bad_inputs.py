"""Bad input files through the CLI: each is one line on stderr, ``error: ...``, naming the file
(and the line where there is one), exit code 2, no traceback, and no LM call.

Each row of ``CASES`` writes its files into ``tmp_path`` and runs ``pliable.cli.main``; ``{d}``
in an argument is that folder. The fake provider ``badinputs/...`` fails the test if it is
ever called: every one of these must be refused before the first LM call.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

import pytest

import pliable as pl
from pliable._cli_jobs import load_metric, load_program
from pliable.cli import main

GOOD = b'{"question": "2+2?", "answer": "4"}\n'
LATIN1 = b'{"question": "caf\xe9?", "answer": "yes"}\n'  # "é" written as Latin-1
DEEP = b"[" * 100_000 + b"\n"
BIG_INT = b'{"question": "how many?", "answer": ' + b"7" * 5000 + b"}\n"
MODEL = ["--model", "badinputs/x", "--no-cache"]
LATIN1_AT = len(GOOD) + LATIN1.index(0xE9)  # the bad byte's offset in GOOD + LATIN1


class Case(NamedTuple):
    files: dict[str, bytes]
    argv: list[str]
    expected: list[str]  # substrings of the error line; the first names the file (and line)


def _eval(data: str) -> list[str]:
    return ["eval", "question -> answer", "--dev", f"{{d}}/{data}", "--inputs", "question", *MODEL]


def _metric(spec: str) -> list[str]:
    return [*_eval("good.jsonl"), "--metric", f"{{d}}/{spec}"]


def _compile(program: str, train: str = "good.jsonl") -> list[str]:
    data = ["--train", f"{{d}}/{train}", "--dev", "{d}/good.jsonl", "--inputs", "question"]
    return ["compile", program, *data, *MODEL]


def _run(inputs: str) -> list[str]:
    return ["run", "question -> answer", "--inputs", f"{{d}}/{inputs}", *MODEL]


def _render(demos: str) -> list[str]:
    return ["render", "question -> answer", "-i", "question=hi", "--demos", f"{{d}}/{demos}"]


UTF8 = ["not UTF-8", "byte 0xe9", "byte offset", "re-save the file as UTF-8"]
SYNTAX = b"def metric(example, prediction):\n    return (\n\ndef other(:\n    pass\n"
RAISES = b"import math\nRATIO = 1 / 0\n\n\ndef metric(example, prediction):\n    return 1.0\n"
METRIC = b"def metric(example, prediction):\n    return 1.0\n\n\nTHRESHOLD = 0.5\n"
PROGRAM = (
    b'import pliable as pl\n\n\ndef make_program():\n    return pl.Predict("question -> answer")\n'
)

CASES: dict[str, Case] = {
    # --- data files read by the loaders (--train, --dev, --bigbench) -----------------------
    "dev with an unknown suffix": Case(
        {"rows.txt": b"question,answer\n2+2?,4\n"},
        _eval("rows.txt"),
        ["rows.txt", "'.txt'", ".jsonl", ".csv", "What to do"],
    ),
    "dev with no suffix": Case(
        {"rows": GOOD}, _eval("rows"), ["rows: cannot tell its format", ".jsonl"]
    ),
    "Latin-1 JSONL dev": Case(
        {"dev.jsonl": GOOD + LATIN1},
        _eval("dev.jsonl"),
        ["dev.jsonl:2:", f"offset {LATIN1_AT} ", *UTF8],
    ),
    "Latin-1 CSV dev": Case(
        {"dev.csv": b"question,answer\n2+2?,4\ncaf\xe9?,yes\n"},
        _eval("dev.csv"),
        ["dev.csv:3:", "offset 26", *UTF8],
    ),
    "Latin-1 JSON dev": Case(
        {"dev.json": b"[\n" + LATIN1.rstrip() + b"\n]\n"},
        _eval("dev.json"),
        ["dev.json:2:", *UTF8],
    ),
    "Latin-1 JSONL train": Case(
        {"good.jsonl": GOOD, "train.jsonl": LATIN1},
        _compile("question -> answer", train="train.jsonl"),
        ["train.jsonl:1:", *UTF8],
    ),
    "JSONL dev nested 100k deep": Case(
        {"dev.jsonl": GOOD + DEEP},
        _eval("dev.jsonl"),
        ["dev.jsonl:2:", "nested 100000 deep", "[[[", "What to do"],
    ),
    "JSON dev nested 100k deep": Case(
        {"dev.json": b'[\n  {"question": "a", "answer": "b"},\n  ' + DEEP},
        _eval("dev.json"),
        ["dev.json:3:", "nested 100001 deep", "What to do"],
    ),
    "JSONL dev with a 5000-digit integer": Case(
        {"dev.jsonl": GOOD + GOOD + BIG_INT},
        _eval("dev.jsonl"),
        ["dev.jsonl:3:", "integer of 5000 digits", "column 37", "777", "What to do"],
    ),
    "JSON dev with a 5000-digit integer": Case(
        {"dev.json": b"[\n" + GOOD.rstrip() + b",\n" + BIG_INT + b"]\n"},
        _eval("dev.json"),
        ["dev.json:3:", "integer of 5000 digits", "What to do"],
    ),
    "BIG-bench task nested 100k deep": Case(
        {"task.json": b'{"examples": [\n' + DEEP},
        ["eval", "--bigbench", "{d}/task.json", *MODEL],
        ["task.json:2:", "nested 100002 deep"],
    ),
    # --- JSONL read by run --inputs and render --demos --------------------------------------
    "Latin-1 run --inputs": Case(
        {"in.jsonl": b'{"question": "a"}\n' + LATIN1}, _run("in.jsonl"), ["in.jsonl:2:", *UTF8]
    ),
    "run --inputs nested 100k deep": Case(
        {"in.jsonl": DEEP}, _run("in.jsonl"), ["in.jsonl, line 1:", "nested 100000 deep"]
    ),
    "run --inputs with a 5000-digit integer": Case(
        {"in.jsonl": b"\n" + BIG_INT},
        _run("in.jsonl"),
        ["in.jsonl, line 2:", "integer of 5000 digits"],
    ),
    "Latin-1 render --demos": Case(
        {"demos.jsonl": LATIN1}, _render("demos.jsonl"), ["demos.jsonl:1:", *UTF8]
    ),
    "render --demos nested 100k deep": Case(
        {"demos.jsonl": GOOD + DEEP},
        _render("demos.jsonl"),
        ["demos.jsonl, line 2:", "nested 100000 deep"],
    ),
    "render --demos with a 5000-digit integer": Case(
        {"demos.jsonl": BIG_INT},
        _render("demos.jsonl"),
        ["demos.jsonl, line 1:", "integer of 5000 digits", "write it as a string"],
    ),
    # --- the user's Python files: --metric file.py:fn and compile file.py:obj --------------
    "metric file with a syntax error": Case(
        {"good.jsonl": GOOD, "m.py": SYNTAX},
        _metric("m.py:metric"),
        ["m.py:4:", "SyntaxError: invalid syntax: 'def other(:'", "m.py:metric"],
    ),
    "metric file raising at import": Case(
        {"good.jsonl": GOOD, "m2.py": RAISES},
        _metric("m2.py:metric"),
        ["m2.py:2:", "ZeroDivisionError: division by zero"],
    ),
    "metric file importing a module beside it": Case(
        {"good.jsonl": GOOD, "m3.py": b"\nimport helper3\n", "helper3.py": b"X = 1\n"},
        _metric("m3.py:metric"),
        ["m3.py:2:", "ModuleNotFoundError", "helper3 is next to the file", "PYTHONPATH="],
    ),
    "metric name the file does not define": Case(
        {"good.jsonl": GOOD, "m4.py": METRIC},
        _metric("m4.py:metrik"),
        ["m4.py", "has no 'metrik'", "metric, THRESHOLD", "Did you mean 'metric'?"],
    ),
    "metric that is not a function": Case(
        {"good.jsonl": GOOD, "m5.py": METRIC},
        _metric("m5.py:THRESHOLD"),
        ["m5.py:THRESHOLD", "float 0.5, not a function"],
    ),
    "metric taking one argument": Case(
        {"good.jsonl": GOOD, "m6.py": b"def metric(example):\n    return 1.0\n"},
        _metric("m6.py:metric"),
        ["m6.py:metric", "1 positional argument"],
    ),
    "program file with a syntax error": Case(
        {"good.jsonl": GOOD, "p1.py": b"import pliable as pl\nprogram = pl.Predict('q -> a'\n"},
        _compile("{d}/p1.py:program"),
        ["p1.py:2:", "SyntaxError"],
    ),
    "program file raising at import": Case(
        {"good.jsonl": GOOD, "p2.py": b"SETTINGS = {}\n\n\nMODEL = SETTINGS['model']\n"},
        _compile("{d}/p2.py:program"),
        ["p2.py:4:", "KeyError: 'model'"],
    ),
    "program file exiting at import": Case(
        {"good.jsonl": GOOD, "p3.py": b"import sys\nsys.exit(3)\n"},
        _compile("{d}/p3.py:program"),
        ["p3.py:2:", "SystemExit: 3", "__main__"],
    ),
    "program name the file does not define": Case(
        {"good.jsonl": GOOD, "p4.py": PROGRAM},
        _compile("{d}/p4.py:program"),
        ["p4.py", "has no 'program'; it defines make_program."],
    ),
}


@pytest.fixture
def lm_calls() -> Iterator[list[Any]]:
    """Serve ``badinputs/...`` with a fake LM that records (and refuses) every call."""
    calls: list[Any] = []

    def answer(messages: Any) -> str:
        calls.append(messages)
        raise AssertionError("a bad input file must be refused before any LM call")

    pl.register_provider("badinputs", lambda model, settings: pl.FunctionLM(answer))
    yield calls
    pl.lm.unregister_provider("badinputs")


@pytest.fixture(autouse=True)
def clean_modules(tmp_path: Path) -> Iterator[None]:
    """Forget the modules imported from tmp_path (``file.py:name`` registers them by stem)."""
    yield
    for name, module in list(sys.modules.items()):
        if Path(getattr(module, "__file__", None) or "/").parent == tmp_path:
            del sys.modules[name]


@pytest.mark.parametrize("case", CASES.values(), ids=list(CASES))
def test_bad_input_is_one_error_line_and_exit_2(
    case: Case, tmp_path: Path, capsys: pytest.CaptureFixture[str], lm_calls: list[Any]
) -> None:
    for name, content in case.files.items():
        (tmp_path / name).write_bytes(content)
    argv = [arg.replace("{d}", str(tmp_path)) for arg in case.argv]

    code = main(argv)

    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    assert code == 2, err
    assert len(err.splitlines()) == 1, err
    assert err.startswith("error: ")
    for expected in case.expected:
        assert expected in err, f"{expected!r} not in {err!r}"
    assert len(err) < 700, err  # values are shown truncated
    assert lm_calls == []


# --- _import_object through load_metric / load_program ----------------------------------------


def test_a_failed_import_is_chained_and_leaves_no_half_module(tmp_path: Path) -> None:
    path = tmp_path / "half_imported_metric.py"
    path.write_text("import json\nVALUE = json.loads('{')\n", encoding="utf-8")
    with pytest.raises(
        pl.UsageError, match=r"half_imported_metric\.py:2: .*JSONDecodeError"
    ) as info:
        load_metric(f"{path}:metric")
    assert isinstance(info.value.__cause__, ValueError)
    assert "half_imported_metric" not in sys.modules


def test_a_syntax_error_names_its_line_and_shows_the_code(tmp_path: Path) -> None:
    path = tmp_path / "syntax_error_program.py"
    path.write_text("x = 1\ny = (2 +\n", encoding="utf-8")
    with pytest.raises(pl.UsageError) as info:
        load_program(f"{path}:program")
    message = str(info.value)
    assert message.startswith(f"{path}:2: SyntaxError: ")
    assert "'y = (2 +'" in message
    assert isinstance(info.value.__cause__, SyntaxError)
    assert "\n" not in message


def test_a_syntax_error_raised_by_code_is_placed_at_the_calling_line(tmp_path: Path) -> None:
    path = tmp_path / "compiles_text.py"
    path.write_text("\n\nCODE = compile('1 +', '<text>', 'eval')\n", encoding="utf-8")
    with pytest.raises(pl.UsageError, match=r"compiles_text\.py:3: importing it .* SyntaxError"):
        load_metric(f"{path}:metric")


def test_missing_name_lists_only_what_the_file_defines(tmp_path: Path) -> None:
    path = tmp_path / "defines_some.py"
    path.write_text(
        "import os\nfrom pathlib import Path\nfrom pliable import Predict\n\n"
        "program = Predict('q -> a')\n_private = 1\n\n\ndef build():\n    return program\n",
        encoding="utf-8",
    )
    with pytest.raises(pl.UsageError) as info:
        load_program(f"{path}:progam")
    message = str(info.value)
    assert "it defines program, build." in message
    assert "Did you mean 'program'?" in message
    for imported in ("os", "Path", "Predict", "_private"):
        assert f" {imported}," not in message
        assert f" {imported}." not in message


def test_an_empty_name_after_the_colon_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "any_metric.py"
    path.write_text("def metric(e, p):\n    return 1\n", encoding="utf-8")
    with pytest.raises(pl.UsageError, match="'' is not a Python name"):
        load_metric(f"{path}:")


def test_a_syntax_error_in_a_module_the_file_imports_names_both(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.syspath_prepend(str(tmp_path))
    (tmp_path / "broken_helper.py").write_text("\n\nx = = 1\n", encoding="utf-8")
    path = tmp_path / "uses_broken_helper.py"
    path.write_text("import os\nimport broken_helper\n", encoding="utf-8")
    with pytest.raises(pl.UsageError) as info:
        load_metric(f"{path}:metric")
    message = str(info.value)
    assert message.startswith(f"{tmp_path / 'broken_helper.py'}:3: SyntaxError: ")
    assert f"(imported at {path}:2)" in message
