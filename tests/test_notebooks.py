"""The notebooks in notebooks/ run top to bottom on the embedded model and leave no error cells.

Each notebook is executed in a fresh Jupyter kernel (nbclient), in an empty working folder,
with an empty pliable cache (so every LM call is real) and the embedded default model on
(the suite turns it off in conftest.py; the kernel inherits this process's environment).
The committed files carry no outputs: the run here is what produces them.
"""

import json
from pathlib import Path

import pytest

NOTEBOOKS_DIR = Path(__file__).resolve().parents[1] / "notebooks"
NOTEBOOKS = sorted(NOTEBOOKS_DIR.glob("*.ipynb"))
CELL_TIMEOUT = 600  # seconds; a whole notebook takes well under a minute on two cores


def _names(paths):
    return [p.stem for p in paths]


def test_the_three_notebooks_are_there():
    assert _names(NOTEBOOKS) == ["01_quickstart", "02_multihop_rag", "03_providers_budgets"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_names(NOTEBOOKS))
def test_notebooks_are_committed_without_outputs(path):
    notebook = json.loads(path.read_text(encoding="utf-8"))
    assert notebook["metadata"]["kernelspec"]["name"] == "python3"
    for index, cell in enumerate(notebook["cells"]):
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [], f"{path.name} cell {index} has outputs; clear them"
            assert cell["execution_count"] is None, f"{path.name} cell {index} was run"


def _errors(notebook):
    """(cell index, error name, message) for every error output."""
    return [
        (index, output.get("ename"), output.get("evalue"))
        for index, cell in enumerate(notebook.cells)
        if cell.cell_type == "code"
        for output in cell.get("outputs", [])
        if output.get("output_type") == "error"
    ]


@pytest.mark.integration
@pytest.mark.parametrize("path", NOTEBOOKS, ids=_names(NOTEBOOKS))
def test_notebook_runs_without_errors(path, tmp_path, monkeypatch):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")

    monkeypatch.delenv("PLIABLE_DEFAULT_LM", raising=False)
    monkeypatch.setenv("PLIABLE_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    workdir = tmp_path / "work"
    workdir.mkdir()

    notebook = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(
        notebook,
        kernel_name="python3",
        timeout=CELL_TIMEOUT,
        resources={"metadata": {"path": str(workdir)}},
    )
    try:
        client.execute()
    except nbclient.exceptions.CellExecutionError as exc:
        pytest.fail(f"{path.name} failed:\n{exc}")

    assert _errors(notebook) == []
    code_cells = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert all(cell.execution_count is not None for cell in code_cells)
