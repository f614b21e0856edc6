"""The README's code runs, its CLI transcript matches real output, and its test command is CI's."""

import contextlib
import io
import re
import shlex
from pathlib import Path

import pytest

from pliable.cli import main

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def blocks(lang):
    return re.findall(rf"```{lang}\n(.*?)```", README, flags=re.DOTALL)


def test_python_snippets_run_in_order():
    namespace: dict = {}
    for code in blocks("python"):
        with contextlib.redirect_stdout(io.StringIO()):
            exec(compile(code, "README.md", "exec"), namespace)


def test_console_transcripts_match_the_cli():
    for block in blocks("console"):
        command, _, expected = block.partition("\n")
        assert command.startswith("$ pliable ")
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            assert main(shlex.split(command)[2:]) == 0
        assert out.getvalue() == expected


def test_readme_test_command_is_what_ci_runs():
    ci_lines = (ROOT / ".ci" / "run").read_text().splitlines()
    command = next(line for line in ci_lines if "python3 -m venv" in line)
    assert command in blocks("bash")[1]


def test_readme_main_job_compiles_the_builtin_task():
    main_job = blocks("bash")[0]
    assert "pliable compile --task tickets --out tickets.json" in main_job
    from pliable.tasks import list_tasks

    assert "tickets" in list_tasks()


def test_benchmark_setup_is_one_command_that_installs_the_server_too():
    tomllib = pytest.importorskip("tomllib")
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    bench = project["optional-dependencies"]["bench"]
    assert "dspy-ai==3.4.1" in bench
    assert any(r.startswith("llama-cpp-python[server]") for r in bench)  # _llama_server.py
    command = next(b for b in blocks("bash") if "benchmarks/run.py --quick" in b).strip()
    assert '-e ".[bench]"' in command
    assert command in (ROOT / "BENCHMARKS.md").read_text(encoding="utf-8")


def test_readme_exit_code_table_is_the_cli_s(capsys):
    from pliable._cli_checks import EXIT_CODES

    rows = re.findall(r"^\| (\d+) \| (.+?) \|$", README, re.M)
    assert [(int(code), text) for code, text in rows] == list(EXIT_CODES)
    with pytest.raises(SystemExit) as exited:
        main(["--help"])
    assert exited.value.code == 0
    shown = capsys.readouterr().out
    for code, text in EXIT_CODES:
        assert re.search(rf"^  {code} +{re.escape(text)}$", shown, re.M), (code, shown)
