"""pliable compile / eval / inspect end to end, on a registered fake provider."""

import json

import pytest

import pliable as pl
from pliable.cli import main


def adder(messages):
    last = messages[-1]["content"]
    a, b = last.split("\n")[1].split("+")
    # answers right only once it has seen a demo (more than system + user messages)
    value = int(a) + int(b) if len(messages) > 2 else 0
    return f"[[answer]]\n{value}"


@pytest.fixture
def files(tmp_path):
    pl.register_provider("cliadder", lambda model, settings: pl.FunctionLM(adder))
    for name, rng in (("train", range(1, 9)), ("dev", range(20, 30))):
        rows = [{"question": f"{i}+{i}", "answer": str(2 * i)} for i in rng]
        (tmp_path / f"{name}.jsonl").write_text("\n".join(json.dumps(r) for r in rows))
    return tmp_path


def test_compile_then_inspect_then_eval(files, capsys):
    out = files / "adder.json"
    code = main(
        [
            "compile",
            "question -> answer",
            "--train",
            str(files / "train.jsonl"),
            "--dev",
            str(files / "dev.jsonl"),
            "--inputs",
            "question",
            "--model",
            "cliadder/m",
            "--no-cache",
            "--quiet",
            "--max-demos",
            "2",
            "--max-labeled",
            "4",
            "--out",
            str(out),
        ]
    )
    report = capsys.readouterr().out
    assert code == 0
    assert "baseline: 0.000" in report
    assert "final:    1.000" in report
    saved = json.loads(out.read_text())
    demos = saved["predictors"]["self"]["demos"]
    assert len(demos) == 4  # 2 bootstrapped, topped up with labeled ones to 4
    assert saved["report"]["final"]["score"] == 1.0

    assert main(["inspect", str(out)]) == 0
    shown = capsys.readouterr().out
    assert "=== predictor self: question: str -> answer: str (4 demos) ===" in shown
    assert "[[question]]\n{question}" in shown
    assert "baseline 0.000 -> final 1.000" in shown

    assert (
        main(
            [
                "eval",
                str(out),
                "--dev",
                str(files / "dev.jsonl"),
                "--inputs",
                "question",
                "--model",
                "cliadder/m",
                "--no-cache",
                "--quiet",
            ]
        )
        == 0
    )
    assert "100.0% on 10 examples" in capsys.readouterr().out


def test_budget_and_usage_errors_have_distinct_exit_codes(files, capsys):
    code = main(
        [
            "compile",
            "question -> answer",
            "--train",
            str(files / "train.jsonl"),
            "--dev",
            str(files / "dev.jsonl"),
            "--inputs",
            "question",
            "--model",
            "cliadder/m",
            "--no-cache",
            "--quiet",
            "--max-calls",
            "3",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0  # the budget stops compile cleanly, with the best program so far
    assert "stopped early: Budget reached: 3 LM calls" in out
    assert "LM calls 3 " in out

    code = main(
        [
            "eval",
            "question -> answer",
            "--dev",
            str(files / "dev.jsonl"),
            "--inputs",
            "question",
            "--model",
            "cliadder/m",
            "--no-cache",
            "--max-calls",
            "3",
        ]
    )
    err = capsys.readouterr().err
    assert code == 3  # eval has no best-so-far: the budget is an error there
    assert err.startswith("error: LM call budget reached: 3 calls")
    assert len(err.strip().splitlines()) == 1

    code = main(
        [
            "eval",
            "question -> answer",
            "--dev",
            str(files / "missing.jsonl"),
            "--inputs",
            "question",
            "--model",
            "cliadder/m",
        ]
    )
    assert code == 2
    assert "missing.jsonl" in capsys.readouterr().err

    assert (
        main(
            [
                "eval",
                "question -> answer",
                "--dev",
                str(files / "dev.jsonl"),
                "--inputs",
                "question",
                "--metric",
                "nope",
            ]
        )
        == 2
    )
    assert "Unknown metric 'nope'" in capsys.readouterr().err


def test_program_from_a_python_file(files, capsys):
    (files / "prog.py").write_text(
        "import pliable as pl\n"
        "class Prog(pl.Module):\n"
        "    def __init__(self):\n"
        "        self.step = pl.Predict('question -> answer')\n"
        "    def forward(self, question):\n"
        "        return self.step(question=question)\n"
    )
    code = main(
        [
            "eval",
            f"{files / 'prog.py'}:Prog",
            "--dev",
            str(files / "dev.jsonl"),
            "--inputs",
            "question",
            "--model",
            "cliadder/m",
            "--no-cache",
            "--quiet",
        ]
    )
    assert code == 0
    assert "0.0% on 10 examples" in capsys.readouterr().out


def yes_no_model(messages):
    """Says "yes" to everything; the data is mostly "no"."""
    return "[[label]]\nyes"


@pytest.fixture
def yes_no_files(tmp_path):
    pl.register_provider("cliyes", lambda model, settings: pl.FunctionLM(yes_no_model))
    for name, n_no, n in (("train", 7, 10), ("dev", 6, 10)):
        rows = [{"text": f"{name}{i}", "label": "no" if i < n_no else "yes"} for i in range(n)]
        (tmp_path / f"{name}.jsonl").write_text("\n".join(json.dumps(r) for r in rows))
    return tmp_path


def test_eval_compile_inspect_and_compare_show_the_majority_answer_floor(yes_no_files, capsys):
    data = [
        "--train",
        str(yes_no_files / "train.jsonl"),
        "--dev",
        str(yes_no_files / "dev.jsonl"),
        "--inputs",
        "text",
        "--model",
        "cliyes/m",
        "--no-cache",
        "--quiet",
        "--metric",
        "exact_match:label",
    ]
    signature = "text -> label: Literal['yes', 'no']"
    assert main(["eval", signature, *data]) == 0
    out = capsys.readouterr().out
    assert "40.0% on 10 examples" in out
    floor = next(line for line in out.splitlines() if line.startswith("  floor"))
    assert "60.0% always 'no' (the trainset's most common `label`: 7 of 10)" in floor
    assert "does not beat it" in floor

    # nothing this compile finds beats the floor: exit 5 and no --out, but the run
    # directory keeps the program for a look
    out_path, run_dir = yes_no_files / "yes_no.json", yes_no_files / "run"
    args = ["compile", signature, *data, "--max-demos", "1", "--max-labeled", "1"]
    assert main([*args, "--out", str(out_path), "--run-dir", str(run_dir)]) == 5
    out = capsys.readouterr().out
    assert "baseline: 0.400 [0.168, 0.687] (n=10) (at or below the floor)" in out
    assert "floor:    0.600 always 'no' (the trainset's most common `label`: 7 of 10)" in out
    assert not out_path.exists()
    path = run_dir / "final.json"

    assert main(["inspect", str(path)]) == 0
    shown = capsys.readouterr().out
    assert "majority-answer floor 0.600" in shown

    assert main(["compare", "zero-shot", "--signature", signature, *data]) == 0
    lines = capsys.readouterr().out.splitlines()
    row = next(line.split() for line in lines if line.startswith("floor "))
    assert row[1:4] == ["majority", "0.600", "0"]
    assert lines[-1].startswith("floor: always 'no'")


def test_a_compile_that_finds_nothing_above_the_majority_floor_exits_5_and_writes_no_file(
    tmp_path, capsys
):
    # always the wrong answer, with or without demos: every program scores 0, and always
    # answering "no" (the trainset's majority) would score 0.7 on the dev set
    def contrary(messages):
        q = messages[-1]["content"].split("[[question]]\n")[1].split("\n")[0]
        return "[[answer]]\n" + ("yes" if int(q[1:]) % 10 < 7 else "no")

    pl.register_provider("clicontrary", lambda model, settings: pl.FunctionLM(contrary))
    for name, prefix, n in (("train", "t", 10), ("dev", "d", 20)):
        rows = [
            {"question": f"{prefix}{i}", "answer": "no" if i % 10 < 7 else "yes"} for i in range(n)
        ]
        (tmp_path / f"{name}.jsonl").write_text("\n".join(json.dumps(r) for r in rows))
    out = tmp_path / "x.json"
    code = main(
        [
            "compile",
            "question -> answer: Literal['yes', 'no']",
            "--train",
            str(tmp_path / "train.jsonl"),
            "--dev",
            str(tmp_path / "dev.jsonl"),
            "--inputs",
            "question",
            "--model",
            "clicontrary/m",
            "--no-cache",
            "--quiet",
            "--out",
            str(out),
        ]
    )
    captured = capsys.readouterr()
    assert code == 5
    assert "NO USABLE PROGRAM" in captured.out
    (line,) = captured.err.strip().splitlines()
    assert line.startswith(f"error: no usable program ({out} not written): the program ")
    assert "scores 0.000 on the valset, below the majority-answer floor 0.700 (always 'no')" in line
    assert not out.exists()


def test_a_teacher_bootstraps_the_demos_and_is_not_saved(files, capsys):
    taught = []

    def teacher(messages):
        taught.append(messages)
        a, b = messages[-1]["content"].split("\n")[1].split("+")
        return f"[[answer]]\n{int(a) + int(b)}"

    pl.register_provider("cliteach", lambda model, settings: pl.FunctionLM(teacher))
    out = files / "taught.json"
    args = ["compile", "question -> answer", "--inputs", "question", "--no-cache", "--quiet"]
    data = ["--train", str(files / "train.jsonl"), "--dev", str(files / "dev.jsonl")]
    code = main(
        [*args, *data, "--model", "cliadder/m", "--teacher", "cliteach/big", "--out", str(out)]
    )
    capsys.readouterr()
    assert code == 0
    assert taught  # the bootstrapping runs went to the teacher
    saved = out.read_text()
    assert "cliteach" not in saved
    demos = json.loads(saved)["predictors"]["self"]["demos"]
    assert len(demos) == 4  # bootstrapped from the teacher's right answers: no room left
