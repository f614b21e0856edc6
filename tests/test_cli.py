import json
import subprocess
import sys

from pliable.cli import main


def test_signature_shows_fields(capsys):
    assert main(["signature", "question, k: int -> answers: list[str]"]) == 0
    out = capsys.readouterr().out
    assert "question: str, k: int -> answers: list[str]" in out
    assert "output answers: list[str]" in out


def test_signature_json_round_trips(capsys):
    import pliable as pl

    main(["signature", "q -> a: Literal['x', 'y']", "--json"])
    data = json.loads(capsys.readouterr().out)
    assert pl.Signature.from_dict(data) == pl.Signature("q -> a: Literal['x', 'y']")


def test_malformed_signature_exits_2_on_one_line_with_the_column(capsys):
    assert main(["signature", "q -> 3a"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "'3a' is not a valid field name" in err
    assert "at column 6 of 'q -> 3a'" in err


def test_signature_error_line_is_built_from_the_fields_or_the_first_line():
    from pliable.cli import _signature_line
    from pliable.errors import SignatureError

    located = SignatureError(
        "Bad: x\n  a -> \n     ^\nAdvice.", text="a -> ", column=6, advice="Do."
    )
    assert _signature_line(located) == "Bad: x, at column 6 of 'a -> '. Do."
    assert _signature_line(SignatureError("Signatures are immutable.\nmore")) == (
        "Signatures are immutable."
    )


def test_render_with_demos_file(tmp_path, capsys):
    demos = tmp_path / "demos.jsonl"
    demos.write_text('{"question": "1+1", "answer": "2"}\n\n')
    assert (
        main(
            ["render", "question -> answer", "-i", "question=2+2", "--demos", str(demos), "--json"]
        )
        == 0
    )
    messages = json.loads(capsys.readouterr().out)
    assert [m["role"] for m in messages] == ["system", "user", "assistant", "user"]
    assert messages[-1]["content"].startswith("[[question]]\n2+2")


def test_bad_demo_line_names_file_and_line(tmp_path, capsys):
    demos = tmp_path / "d.jsonl"
    demos.write_text('{"question": "1"}\n{broken\n')
    assert main(["render", "question -> answer", "--demos", str(demos)]) == 2
    assert "d.jsonl, line 2" in capsys.readouterr().err


def test_console_script_runs_as_module():
    out = subprocess.run(
        [sys.executable, "-m", "pliable.cli", "--version"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.startswith("pliable ")


def test_run_uses_the_named_model_and_reports_failures_per_row(tmp_path, capsys):
    import pliable as pl

    def answer(messages):
        question = messages[-1]["content"].split("\n")[1]
        return "[[answer]]\n" + ("not a number" if question == "bad" else str(len(question)))

    pl.register_provider("clitest", lambda model, settings: pl.FunctionLM(answer))
    rows = tmp_path / "in.jsonl"
    rows.write_text('{"question": "abc"}\n{"question": "bad"}\n')
    code = main(
        [
            "run",
            "question -> answer: int",
            "--inputs",
            str(rows),
            "--model",
            "clitest/x",
            "--no-cache",
        ]
    )
    out = capsys.readouterr()
    lines = [json.loads(line) for line in out.out.splitlines()]
    assert code == 0  # one of two failed: the run fails only when every input fails
    assert lines[0] == {"answer": 3}
    assert "field `answer` (int)" in lines[1]["error"]
    args = ["run", "question -> answer: int", "--inputs", str(rows), "--model", "clitest/x"]
    assert main([*args, "--no-cache", "--max-error-rate", "0.4"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: 1 of 2 inputs failed; the first: ")
    assert "\n" not in err
    assert main([*args, "--no-cache", "--max-error-rate", "0.5"]) == 0
