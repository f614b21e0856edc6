"""How the CLI fails: one table of invocations, each with its exit code and a one-line error,
none with a traceback; checks that must happen before the first LM call make none; a run in
which every example failed is a failure, not a 0; the README's exit codes are the CLI's."""

import json

import pytest

import pliable as pl
from pliable.cli import main
from pliable.errors import LMAuthError

CALLS: list[str] = []


def adder(messages):
    """Right on every question (``a+b``), after counting the call."""
    last = messages[-1]["content"]
    CALLS.append(last)
    question = last.split("[[question]]\n")[1].split("\n")[0]
    if question == "garbled":
        return "no marker here"
    a, _, b = question.partition("+")
    return f"[[answer]]\n{int(a) + int(b) if b else 'not a number'}"


def no_key(messages):
    CALLS.append(messages[-1]["content"])
    raise LMAuthError("Missing credentials: set OPENAI_API_KEY", model="clifail/nokey")


@pytest.fixture(autouse=True)
def world(tmp_path, monkeypatch):
    """Data files, a metric file, a program file and two fake providers, in ``tmp_path``."""
    CALLS.clear()
    pl.register_provider("clifail", lambda model, s: pl.FunctionLM(adder))
    pl.register_provider("clinokey", lambda model, s: pl.FunctionLM(no_key))
    monkeypatch.chdir(tmp_path)
    rows = [{"question": f"{i}+{i}", "answer": str(2 * i)} for i in range(1, 7)]
    write_jsonl(tmp_path / "train.jsonl", rows)
    write_jsonl(tmp_path / "dev.jsonl", rows[:4])
    write_jsonl(tmp_path / "bad_q.jsonl", [{"question": "x", "answer": "1"}] * 3)
    write_jsonl(tmp_path / "half.jsonl", [*rows[:2], {"question": "x", "answer": "1"}] * 2)
    write_jsonl(tmp_path / "inputs.jsonl", [{"question": "1+2"}, {"question": "3+4"}])
    write_jsonl(tmp_path / "bad_inputs.jsonl", [{"question": "x"}, {"question": "y"}])
    (tmp_path / "metrics.py").write_text(
        "def picky(example, prediction, trace=None):\n"
        "    if prediction.answer != example.answer:\n"
        "        raise ValueError('cannot score ' + str(prediction.answer))\n"
        "    return 1.0\n"
        "def broken(example, prediction, trace=None):\n"
        "    return example.nope\n"
        "def traced(example, prediction, trace):\n"
        "    return float(len(trace[-1].outputs) > 0)\n"
    )
    (tmp_path / "prog.py").write_text(
        "import pliable as pl\nprogram = pl.Predict('question -> answer')\n"
        "def make():\n    raise ValueError('no model weights here')\n"
    )
    (tmp_path / "a folder").mkdir()
    return tmp_path


def write_jsonl(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


DATA = ["--train", "train.jsonl", "--dev", "dev.jsonl"]
SIG = "question -> answer"
FAKE = ["--model", "clifail/m", "--no-cache", "--quiet"]
COMPILE = ["compile", SIG, *DATA, *FAKE, "--max-demos", "1", "--max-labeled", "1"]
EVAL = ["eval", SIG, "--dev", "dev.jsonl", *FAKE]

# (id, argv, exit code, a piece of the one-line error (None: exit 0, no error), LM calls made)
# ``calls`` None means "any"; 0 means the check happened before the first LM call.
CASES = [
    # --- bad usage: exit 2, no LM call ------------------------------------------------------
    ("no-command", [], 2, "the following arguments are required", 0),
    ("unknown-command", ["frobnicate"], 2, "invalid choice", 0),
    ("compile-no-data", ["compile", SIG, *FAKE], 2, "Pass --train FILE", 0),
    ("compile-no-dev", ["compile", SIG, "--train", "train.jsonl", *FAKE], 2, "--dev FILE", 0),
    ("eval-no-dev", ["eval", SIG, *FAKE], 2, "Pass --dev FILE", 0),
    ("compare-no-dev", ["compare", "zero-shot", "--signature", SIG, *FAKE], 2, "--dev FILE", 0),
    ("eval-no-program", ["eval", "--dev", "dev.jsonl", *FAKE], 2, "Name a program", 0),
    ("limit-0", [*EVAL, "--limit", "0"], 2, "--limit: must be at least 1, got 0", 0),
    ("limit-negative", [*EVAL, "--limit", "-2"], 2, "must be at least 1, got -2", 0),
    ("limit-text", [*EVAL, "--limit", "ten"], 2, "expected a whole number, got 'ten'", 0),
    ("max-calls-negative", [*EVAL, "--max-calls", "-1"], 2, "must be at least 0", 0),
    ("max-tokens-negative", [*EVAL, "--max-tokens", "-1"], 2, "must be at least 1", 0),
    ("max-tokens-0", [*EVAL, "--max-tokens", "0"], 2, "must be at least 1", 0),
    ("threads-0", [*EVAL, "--threads", "0"], 2, "--threads: must be at least 1", 0),
    ("budget-calls-negative", [*COMPILE, "--budget-calls", "-1"], 2, "at least 0", 0),
    ("budget-tokens-negative", [*COMPILE, "--budget-tokens", "-5"], 2, "at least 0", 0),
    ("budget-usd-negative", [*COMPILE, "--budget-usd", "-0.5"], 2, "finite number >= 0", 0),
    ("budget-seconds-nan", [*COMPILE, "--budget-seconds", "nan"], 2, "finite number >= 0", 0),
    ("candidates-0", [*COMPILE, "--candidates", "0"], 2, "must be at least 1", 0),
    ("max-demos-negative", [*COMPILE, "--max-demos", "-1"], 2, "must be at least 0", 0),
    ("max-labeled-negative", [*COMPILE, "--max-labeled", "-3"], 2, "must be at least 0", 0),
    ("error-rate-high", [*EVAL, "--max-error-rate", "1.5"], 2, "between 0 and 1", 0),
    ("error-rate-negative", [*EVAL, "--max-error-rate", "-0.1"], 2, "finite number >= 0", 0),
    ("error-rate-text", [*EVAL, "--max-error-rate", "lots"], 2, "expected a number", 0),
    ("unknown-optimizer", [*COMPILE, "--optimizer", "magic"], 2, "invalid choice", 0),
    ("unknown-adapter", [*EVAL, "--adapter", "xml"], 2, "invalid choice", 0),
    (
        "empty-model-eval",
        ["eval", SIG, "--dev", "dev.jsonl", "--model", ""],
        2,
        "--model is empty",
        0,
    ),
    ("blank-model-compile", ["compile", SIG, *DATA, "--model", "  "], 2, "--model is empty", 0),
    (
        "empty-model-run",
        ["run", SIG, "-i", "question=1+1", "--model", ""],
        2,
        "--model is empty",
        0,
    ),
    ("empty-teacher", [*COMPILE, "--teacher", ""], 2, "--teacher is empty", 0),
    ("out-missing-folder", [*COMPILE, "--out", "no/such/dir/x.json"], 2, "does not exist", 0),
    ("out-is-a-folder", [*COMPILE, "--out", "a folder"], 2, "is a folder", 0),
    ("render-a-json-file", ["render", "tickets.json"], 2, "pliable inspect FILE", 0),
    ("render-a-py-file", ["render", "prog.py:program"], 2, "signature string", 0),
    ("run-py-without-object", ["run", "prog.py", "-i", "question=1", *FAKE], 2, "prog.py:NAME", 0),
    ("run-py-missing-object", ["run", "prog.py:nope", "-i", "q=1", *FAKE], 2, "nope", 0),
    ("run-factory-raises", ["run", "prog.py:make", "-i", "q=1", *FAKE], 2, "no model weights", 0),
    ("run-missing-json", ["run", "gone.json", "-i", "question=1", *FAKE], 2, "gone.json", 0),
    ("run-unknown-input", ["run", SIG, "-i", "prompt=1+1", *FAKE], 2, "question", 0),
    ("run-bad-assignment", ["run", SIG, "-i", "question", *FAKE], 2, "--input takes name=value", 0),
    ("run-empty-inputs-file", ["run", SIG, "--inputs", "empty.jsonl", *FAKE], 2, "no rows", 0),
    ("metric-unknown", [*EVAL, "--metric", "accuracy"], 2, "Unknown metric 'accuracy'", 0),
    ("metric-missing-field", [*EVAL, "--metric", "exact_match:label"], 2, "label", 0),
    ("metric-raises-on-gold", [*EVAL, "--metric", "metrics.py:broken"], 2, "first dev example", 0),
    ("metric-file-missing", [*EVAL, "--metric", "nope.py:fn"], 2, "nope.py", 0),
    (
        "default-metric-two-outputs",
        ["eval", "question -> answer, reason", "--dev", "dev.jsonl", *FAKE],
        2,
        "--metric exact_match:FIELD",
        0,
    ),
    (
        "keep-one-of-two-budgets",
        [*COMPILE, "--budget-calls", "5", "--max-calls", "5"],
        2,
        "one of --budget-calls and --max-calls",
        0,
    ),
    ("dev-file-missing", ["eval", SIG, "--dev", "gone.jsonl", *FAKE], 2, "gone.jsonl", 0),
    (
        "bigbench-unknown",
        ["eval", "--bigbench", "no_such_task_xyz", *FAKE],
        2,
        "no_such_task_xyz",
        0,
    ),
    ("task-unknown", ["eval", "--task", "nope", *FAKE], 2, "nope", 0),
    ("report-missing-run-dir", ["report", "no-run-here"], 2, "no-run-here", 0),
    ("inspect-missing-file", ["inspect", "gone.json"], 2, "gone.json", 0),
    ("signature-malformed", ["signature", "question answer"], 2, "->", 0),
    # --- configuration found at the first call: exit 2, one call at most -------------------
    (
        "run-unknown-local-model",
        ["run", SIG, "-i", "question=1+1", "--model", "local/nosuch"],
        2,
        "local/nosuch",
        0,
    ),
    (
        "eval-unknown-local-model",
        ["eval", SIG, "--dev", "dev.jsonl", "--model", "local/nosuch", "--quiet"],
        2,
        "local/nosuch",
        0,
    ),
    # --- the LM fails: exit 3 at the first call, not once per example ----------------------
    (
        "eval-no-key",
        ["eval", SIG, "--dev", "dev.jsonl", "--model", "clinokey/m", "--no-cache", "--quiet"],
        3,
        "OPENAI_API_KEY",
        1,
    ),
    (
        "compile-no-key",
        [
            "compile",
            SIG,
            *DATA,
            "--model",
            "clinokey/m",
            "--no-cache",
            "--quiet",
            "--out",
            "x.json",
        ],
        3,
        "LMAuthError",
        1,
    ),
    (
        "run-no-key",
        ["run", SIG, "-i", "question=1+1", "--model", "clinokey/m", "--no-cache"],
        3,
        "Not retried",
        1,
    ),
    ("eval-budget", [*EVAL, "--max-calls", "2"], 3, "2 calls were allowed", 2),
    # --- an answer that does not parse, on one input: exit 4 -------------------------------
    (
        "run-parse-failure",
        ["run", "question -> answer: int", "-i", "question=garbled", *FAKE],
        4,
        "answer",
        1,
    ),
    # --- examples failed past the threshold: exit 1 ----------------------------------------
    (
        "eval-every-example-fails",
        ["eval", "question -> answer: int", "--dev", "bad_q.jsonl", *FAKE],
        1,
        "3 of 3 examples failed",
        3,
    ),
    (
        "eval-metric-raises-on-every-prediction",
        ["eval", SIG, "--dev", "bad_q.jsonl", *FAKE, "--metric", "metrics.py:picky"],
        1,
        "cannot score",
        3,
    ),
    (
        "eval-half-fail-past-rate",
        [
            "eval",
            "question -> answer: int",
            "--dev",
            "half.jsonl",
            *FAKE,
            "--max-error-rate",
            "0.2",
        ],
        1,
        "2 of 6 examples",
        6,
    ),
    (
        "run-every-input-fails",
        ["run", "question -> answer: int", "--inputs", "bad_inputs.jsonl", *FAKE],
        1,
        "2 of 2 inputs failed",
        2,
    ),
    # --- success: exit 0 ---------------------------------------------------------------------
    (
        "eval-half-fail-default",
        ["eval", "question -> answer: int", "--dev", "half.jsonl", *FAKE],
        0,
        None,
        6,
    ),
    ("eval-inputs-from-signature", EVAL, 0, None, 4),
    ("eval-metric-needs-a-trace", [*EVAL, "--metric", "metrics.py:traced"], 0, None, 4),
    ("compile-ok", [*COMPILE, "--out", "ok.json"], 0, None, None),
    ("run-ok", ["run", SIG, "-i", "question=1+2", *FAKE], 0, None, 1),
    ("signature-ok", ["signature", SIG], 0, None, 0),
]


@pytest.mark.parametrize(
    ("argv", "code", "message", "calls"),
    [
        pytest.param(argv, code, message, calls, id=name)
        for name, argv, code, message, calls in CASES
    ],
)
def test_cli_failure_table(world, capsys, argv, code, message, calls):
    (world / "empty.jsonl").write_text("")
    try:
        got = main(argv)
    except SystemExit as exit:  # argparse's own exits
        got = exit.code
    out, err = capsys.readouterr()
    assert got == code, (out, err)
    assert "Traceback" not in out + err
    if message is None:
        assert err.strip() == ""
    else:
        lines = err.strip().splitlines()
        assert len(lines) == 1, err
        assert lines[0].startswith("error: "), err
        assert message in lines[0], err
    if calls is not None:
        assert len(CALLS) == calls


def test_the_table_is_long_enough():
    assert len(CASES) >= 60


def test_out_is_not_written_when_every_example_fails(world, capsys):
    argv = [
        "compile",
        "question -> answer: int",
        "--train",
        "bad_q.jsonl",
        "--dev",
        "bad_q.jsonl",
        *FAKE,
        "--out",
        "never.json",
    ]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert "3 of 3 dev examples raised errors" in err
    assert "never.json not written" in err
    assert "the first: ParseError: " in err
    assert not (world / "never.json").exists()


def test_a_failed_compile_shows_the_first_dev_error_when_the_report_has_it():
    from pliable._cli_jobs import _first_error
    from pliable.optimizers.report import ScoreSummary

    failed = ScoreSummary(0.0, 0.0, 0.0, 3, 3, "ParseError: no number\nthe raw answer")
    assert _first_error(failed) == "the first: ParseError: no number"
    unknown = ScoreSummary(0.0, 0.0, 0.0, 3, 3)
    assert "run `pliable eval`" in _first_error(unknown)


def test_a_missing_key_is_not_retried_and_names_the_variable(world, capsys):
    assert main(["run", SIG, "-i", "question=1+1", "--model", "clinokey/m", "--no-cache"]) == 3
    assert len(CALLS) == 1
    assert "OPENAI_API_KEY" in capsys.readouterr().err


def test_python_advice_is_said_as_cli_flags():
    from pliable._cli_checks import cli_words

    text = "Use more valset examples, or compile(..., require_significance=False) to keep it."
    assert cli_words(text) == "Use more valset examples, or --keep-insignificant to keep it."
    assert "--skip-bad-rows" in cli_words("fix the row, or pass skip_bad_rows=True to skip")


def test_a_huge_score_is_not_printed_as_a_wall_of_digits(world, capsys):
    (world / "huge.py").write_text("def metric(example, prediction, trace=None):\n    return 1e300")
    assert main([*EVAL, "--metric", "huge.py:metric"]) == 0
    out = capsys.readouterr().out
    assert "1e+300" in out
    assert "0" * 50 not in out
