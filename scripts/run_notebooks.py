#!/usr/bin/env python3
"""Execute the notebooks in notebooks/ and check, or refresh, the outputs committed with them.

    .venv/bin/python scripts/run_notebooks.py            # check: exit 1 if an output is stale
    .venv/bin/python scripts/run_notebooks.py --write    # re-execute, write the fresh outputs
    .venv/bin/python scripts/run_notebooks.py --write notebooks/02_multihop_rag.ipynb

Each notebook runs top to bottom in a fresh Jupyter kernel, in an empty temporary working
folder, with an empty pliable cache (every LM call is real, so nothing depends on this
machine's cache) and the embedded default model on. The LM calls are deterministic: the
embedded model at temperature 0 (greedy, seed 0) or fake LMs.

"Stale" means: the committed outputs differ from a fresh run's once both are normalized
(:func:`normalize_cell`, :func:`normalize_text`), which blank what legitimately changes from
run to run or machine to machine: wall times, memory addresses, temporary and install paths,
progress bars, dates, run ids and dollar amounts (litellm's price table changes with its
version). Everything else (answers, scores, LM calls, token counts, printed prompts, the report
page) must match exactly.
tests/test_notebooks.py imports this file and runs the same check in CI.
"""

from __future__ import annotations

import argparse
import difflib
import os
import re
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS_DIR = ROOT / "notebooks"
CELL_TIMEOUT = 600  # seconds for one cell; a whole notebook takes well under a minute
KERNEL = "python3"
# Rich outputs compared by content; any other MIME type (images, widgets) only by presence.
TEXT_MIME_TYPES = ("text/plain", "text/markdown", "text/html", "application/json")


def notebooks() -> list[Path]:
    return sorted(NOTEBOOKS_DIR.glob("*.ipynb"))


def kernel_env(cache_dir: Path) -> dict[str, str]:
    """The kernel's environment: this one, with an empty pliable cache and the embedded model on
    (the test suite turns it off in tests/conftest.py), offline, without progress bars or other
    libraries' deprecation warnings, and this Python's ``pliable`` command first on the PATH
    (for ``!pliable ...`` cells)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PLIABLE_")}
    env.update(
        PLIABLE_CACHE_DIR=str(cache_dir),
        HF_HUB_OFFLINE="1",
        TQDM_DISABLE="1",
        PYTHONHASHSEED="0",
        PYTHONWARNINGS=",".join(
            [
                "ignore::DeprecationWarning",
                "ignore::PendingDeprecationWarning",
                "ignore:IProgress not found",  # tqdm.auto in a kernel without ipywidgets
            ]
        ),
        PATH=os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", os.defpath)]),
    )
    return env


@contextmanager
def _scratch() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="pliable-notebook-") as name:
        yield Path(name).resolve()


def execute(path: Path) -> Any:
    """``path`` run top to bottom in a fresh kernel: the executed notebook (nbformat).

    Raises ``nbclient.exceptions.CellExecutionError`` on the first cell that raises. Paths of
    the temporary working folder are written relative (``runs/x``, not ``/tmp/.../runs/x``),
    those of the temporary cache as the default one (``~/.cache/pliable``), and the committed
    notebook metadata is kept as it is (no Python version in it)."""
    import nbclient
    import nbformat

    notebook = nbformat.read(path, as_version=4)
    metadata = dict(notebook.metadata)
    with _scratch() as scratch:
        workdir = scratch / "work"
        workdir.mkdir()
        client = nbclient.NotebookClient(
            notebook,
            kernel_name=KERNEL,
            timeout=CELL_TIMEOUT,
            record_timing=False,
            resources={"metadata": {"path": str(workdir)}},
        )
        client.execute(env=kernel_env(scratch / "cache"))
        _scrub_paths(
            notebook,
            {
                f"{workdir}{os.sep}": "",
                str(workdir): ".",
                str(scratch / "cache"): "~/.cache/pliable",  # the default cache folder
                str(scratch): "/tmp",
            },
        )
    notebook.metadata = nbformat.from_dict(metadata)
    return notebook


def _scrub_paths(notebook: Any, replacements: dict[str, str]) -> None:
    def scrub(text: str) -> str:
        for old, new in replacements.items():
            text = text.replace(old, new)
        return text

    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        for output in cell.outputs:
            if "text" in output:
                output.text = scrub(output.text)
            if "evalue" in output:
                output.evalue = scrub(output.evalue)
                output.traceback = [scrub(line) for line in output.traceback]
            for mime, value in output.get("data", {}).items():
                if isinstance(value, str):
                    output.data[mime] = scrub(value)


# --- normalizing outputs -------------------------------------------------------------------------

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
# (pattern, replacement), applied in order to every output text.
_VOLATILE: list[tuple[re.Pattern[str], str]] = [
    # memory addresses: <object at 0x7f...>
    (re.compile(r"0x[0-9a-fA-F]{6,}"), "0x…"),
    # absolute paths into an install, the repository, the temp folder or the home folder (in
    # that order: a clone or a venv may itself sit in the temp folder)
    (re.compile(r"/[^\s'\"<>]*?/(?:site|dist)-packages/[^\s'\"<>)\]]*"), "<site-packages>"),
    (re.compile(re.escape(str(ROOT)) + r"[^\s'\"<>)\]]*"), "<repo>"),
    (re.compile(r"(?:/private)?/(?:tmp|var/folders)/[^\s'\"<>)\]]*"), "<tmp>"),
    (re.compile(re.escape(str(Path.home())) + r"[^\s'\"<>)\]]*"), "<home>"),
    # where a warning was raised: "file.py:123: UserWarning"
    (re.compile(r"\.py:\d+:"), ".py:…:"),
    # dates, times, run ids
    (
        re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?"),
        "<when>",
    ),
    (re.compile(r"\b\d{8}T\d{6}Z?\b"), "<when>"),
    (re.compile(r"\b\d{2}:\d{2}:\d{2}(?:\.\d+)?\b"), "<clock>"),
    (
        re.compile(
            r"\b[0-9a-f]{32}\b|\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b"
        ),
        "<id>",
    ),
    # durations: "12.3 s", "850 ms", "1m 05s", "0:00:12", "took 3 seconds", "4.1 s/call"
    (
        re.compile(
            r"\b\d+(?:\.\d+)?\s?(?:ms|µs|us|ns|s|sec|secs|seconds?|min|minutes?|h|hours?)\b"
        ),
        "<time>",
    ),
    (re.compile(r"\b\d+m\s?\d+(?:\.\d+)?s\b"), "<time>"),
    (re.compile(r"\b\d+:\d{2}:\d{2}\b"), "<time>"),
    # dollars (litellm's price table changes with its version)
    (re.compile(r"\$\s?\d[\d,]*(?:\.\d+)?(?:e-?\d+)?"), "$…"),
    (re.compile(r"(\busd\b[\"']?\s*[:=]\s*)\d[\d.e-]*", re.IGNORECASE), r"\1…"),
]
# a progress bar line (tqdm): "42%|████▏     | 5/12 [00:03<00:04,  1.52it/s]"
_PROGRESS = re.compile(
    r"^.*(?:\d+%\|.*\||\d+(?:\.\d+)?\s?(?:it|s)/(?:s|it)\b).*(?:\n|$)", re.MULTILINE
)


def normalize_text(text: str) -> str:
    """``text`` with the parts that change from run to run blanked (see the module docstring)."""
    text = _ANSI.sub("", text)
    # a carriage return redraws the line (progress bars): keep what the line ends as
    text = "\n".join(line.rsplit("\r", 1)[-1] for line in text.replace("\r\n", "\n").split("\n"))
    text = _PROGRESS.sub("", text)
    for pattern, replacement in _VOLATILE:
        text = pattern.sub(replacement, text)
    text = re.sub(r"[ \t]+$", "", text, flags=re.MULTILINE)
    return re.sub(r"\n{3,}", "\n\n", text).strip("\n")


def normalize_cell(cell: Any) -> list[dict[str, Any]]:
    """A code cell's outputs as comparable values: streams joined per stream (a kernel splits
    and interleaves them by timing), rich outputs by their text MIME types, errors by name."""
    streams: dict[str, str] = {}
    rest: list[dict[str, Any]] = []
    for output in cell.get("outputs", []):
        kind = output.get("output_type")
        if kind == "stream":
            name = output.get("name", "stdout")
            streams[name] = streams.get(name, "") + _text(output.get("text", ""))
        elif kind in ("execute_result", "display_data"):
            data = output.get("data", {})
            rest.append(
                {
                    "output": "display",
                    **{
                        mime: normalize_text(_text(data[mime])) if mime in TEXT_MIME_TYPES else "…"
                        for mime in sorted(data)
                    },
                }
            )
        elif kind == "error":
            rest.append(
                {
                    "output": "error",
                    "ename": output.get("ename"),
                    "evalue": normalize_text(output.get("evalue", "")),
                }
            )
    normalized = [
        {"output": f"stream {name}", "text": normalize_text(text)}
        for name, text in sorted(streams.items())
    ]
    return [entry for entry in normalized if entry["text"]] + rest


def _text(value: Any) -> str:
    return "".join(value) if isinstance(value, list) else str(value)


def _show(outputs: list[dict[str, Any]]) -> list[str]:
    lines = []
    for output in outputs:
        for key, value in output.items():
            if key != "output":
                lines.append(f"[{output['output']}] {key}:")
                lines.extend(f"  {line}" for line in str(value).splitlines())
    return lines


def stale_cells(committed: Any, fresh: Any) -> list[str]:
    """One message per code cell whose committed outputs differ from the fresh run's (after
    :func:`normalize_cell`), with a diff; [] when the committed outputs are current."""
    problems = []
    pairs = zip(committed.cells, fresh.cells, strict=True)
    for index, (old, new) in enumerate(pairs):
        if new.cell_type != "code":
            continue
        before, after = normalize_cell(old), normalize_cell(new)
        if before != after:
            diff = difflib.unified_diff(
                _show(before), _show(after), "committed", "fresh run", lineterm="", n=2
            )
            problems.append(f"cell {index}:\n" + "\n".join(diff))
    return problems


def errors(notebook: Any) -> list[tuple[int, str, str]]:
    """(cell index, error name, message) of every error output."""
    return [
        (index, output.get("ename"), output.get("evalue"))
        for index, cell in enumerate(notebook.cells)
        if cell.cell_type == "code"
        for output in cell.get("outputs", [])
        if output.get("output_type") == "error"
    ]


# --- command line --------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="*", type=Path, help="default: notebooks/*.ipynb")
    parser.add_argument("--write", action="store_true", help="write the fresh outputs")
    args = parser.parse_args(argv)

    import nbformat

    status = 0
    for path in args.notebooks or notebooks():
        started = time.monotonic()
        committed = nbformat.read(path, as_version=4)
        fresh = execute(path)
        seconds = time.monotonic() - started
        problems = stale_cells(committed, fresh)
        if args.write:
            if problems:  # else keep the file as it is: no churn from volatile parts
                nbformat.write(fresh, path)
            state = "written" if problems else "current"
        else:
            state = "stale" if problems else "current"
            if problems:
                status = 1
                print("\n\n".join(problems), file=sys.stderr)
        print(f"{path.name}: {state} ({seconds:.0f} s)")
    if status:
        print(
            "Refresh them with: .venv/bin/python scripts/run_notebooks.py --write", file=sys.stderr
        )
    return status


if __name__ == "__main__":
    sys.exit(main())
