"""The notebooks in notebooks/ use only the public API and are committed executed, with outputs
that a fresh run reproduces.

After changing a notebook, or anything its outputs show, refresh the committed outputs:

    .venv/bin/python scripts/run_notebooks.py --write

(without ``--write`` it only checks). It runs each notebook top to bottom in a fresh kernel, in an
empty working folder, with an empty pliable cache and the embedded model (SmolLM2-135M at
temperature 0, so every answer is reproducible), and compares outputs after blanking what varies
from run to run: wall times, dates, memory addresses, paths, progress bars, dollar amounts
(``normalize_text`` in the script). The integration test below runs the same check.
"""

import ast
import importlib.util
import json
import re
import sys
from pathlib import Path

import pytest

import pliable

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
REFRESH = "refresh with: .venv/bin/python scripts/run_notebooks.py --write"


def _names(paths):
    return [p.stem for p in paths]


def _load_runner():
    path = ROOT / "scripts" / "run_notebooks.py"
    spec = importlib.util.spec_from_file_location("run_notebooks", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


runner = _load_runner()


def _read(path):
    return json.loads(path.read_text(encoding="utf-8"))


def _code_cells(notebook):
    return [cell for cell in notebook["cells"] if cell["cell_type"] == "code"]


def _source(cell):
    return "".join(cell["source"])


def _python(source):
    """A cell's source as Python: IPython's ``!shell`` and ``%magic`` lines left out."""
    return "\n".join(
        "" if line.lstrip().startswith(("!", "%")) else line for line in source.splitlines()
    )


def test_the_three_notebooks_are_there():
    assert _names(NOTEBOOKS) == ["01_quickstart", "02_multihop_rag", "03_providers_budgets"]


# --- the public API only --------------------------------------------------------------------


def _private_uses(source):
    """What a cell uses of pliable beyond ``import pliable as pl`` and ``pl.<name in __all__>``."""
    public = set(pliable.__all__)
    problems = []
    for node in ast.walk(ast.parse(_python(source))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("pliable.") or (
                    alias.name == "pliable" and alias.asname != "pl"
                ):
                    problems.append(f"import {alias.name}")
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "pliable":
            names = {alias.name for alias in node.names}
            if node.module == "pliable":
                problems += [f"from pliable import {n}" for n in sorted(names - public)]
            else:
                problems.append(f"from {node.module} import {', '.join(sorted(names))}")
        elif (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id in ("pl", "pliable")
            and node.attr not in public
            and not node.attr.startswith("__")
        ):
            problems.append(f"{node.value.id}.{node.attr}")
    # the same in shell commands and anything ast does not see: python -m pliable.x, strings
    problems += [f"mentions {m}" for m in re.findall(r"\bpliable(?:\.[a-z_]+)+", source)]
    return problems


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_names(NOTEBOOKS))
def test_notebooks_use_only_the_public_api(path):
    found = {
        index: problems
        for index, cell in enumerate(_read(path)["cells"])
        if cell["cell_type"] == "code" and (problems := _private_uses(_source(cell)))
    }
    assert found == {}, (
        f"{path.name} reaches past the public API (import pliable as pl; names in pl.__all__)"
    )


def test_private_uses_are_found():
    assert _private_uses("import pliable as pl\npl.Predict('a -> b')\npl.__version__") == []
    assert _private_uses("from pliable import Predict") == []
    assert _private_uses("from pliable.tasks.catalog import TicketProduct") == [
        "from pliable.tasks.catalog import TicketProduct",
        "mentions pliable.tasks.catalog",
    ]
    assert _private_uses("from pliable.report.page import write_report")[0].startswith("from")
    assert _private_uses("import pliable.lm.local")[0] == "import pliable.lm.local"
    assert _private_uses("import pliable\npliable.settings.x")[:2] == [
        "import pliable",
        "pliable.settings",
    ]
    assert _private_uses("pl.tasks.load_task('x')") == ["pl.tasks"]
    assert _private_uses("!python -m pliable.cli report runs/x") == ["mentions pliable.cli"]
    assert _private_uses("!pliable report runs/x") == []


# --- committed executed, with outputs ----------------------------------------------------------


def _shows_something(source):
    """Whether a cell's source surely prints or displays: a print/display/inspect_history call,
    a ``!command``, or a last statement that is a bare expression (not a call, which may return
    None)."""
    if any(line.lstrip().startswith("!") for line in source.splitlines()):
        return True
    tree = ast.parse(_python(source))
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name in ("print", "display", "inspect_history"):
                return True
    last = tree.body[-1] if tree.body else None
    return (
        isinstance(last, ast.Expr)
        and not isinstance(last.value, ast.Call)
        and not source.rstrip().endswith(";")
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_names(NOTEBOOKS))
def test_notebooks_are_committed_executed_with_outputs(path):
    notebook = _read(path)
    assert notebook["metadata"]["kernelspec"]["name"] == "python3"
    cells = _code_cells(notebook)
    counts = [cell["execution_count"] for cell in cells]
    assert counts == list(range(1, len(cells) + 1)), (
        f"{path.name} was not run top to bottom in one kernel (execution counts {counts}); "
        + REFRESH
    )
    missing = [
        index
        for index, cell in enumerate(notebook["cells"])
        if cell["cell_type"] == "code" and _shows_something(_source(cell)) and not cell["outputs"]
    ]
    assert missing == [], f"{path.name}: cells {missing} have no committed outputs; {REFRESH}"
    errors = [
        (index, output.get("ename"))
        for index, cell in enumerate(notebook["cells"])
        if cell["cell_type"] == "code"
        for output in cell["outputs"]
        if output["output_type"] == "error"
    ]
    assert errors == [], f"{path.name}: error outputs committed"


def test_normalizing_blanks_only_what_varies():
    text = (
        "=== local/smollm2 at 2026-12-07 15:11:00 (0.80s; 66 prompt + 6 completion tokens) ===\n"
        "  LM calls 14 (+12 cache hits), tokens 4211+115, cost $0.0213, 6.9s\n"
        "<Foo object at 0x7f3a9c2b1d60> wrote /tmp/pliable-notebook-x1/work/report.html\n"
        "Evaluating:  42%|████▏     | 5/12 [00:03<00:04,  1.52it/s]\rEvaluating: 100%|██| 12/12\n"
        f"{runner.ROOT}/.venv/lib/python3.11/site-packages/tqdm/auto.py:21: TqdmWarning: hi\n"
        "  final:    0.750 [0.468, 0.911] (n=12)\n"
    )
    assert runner.normalize_text(text) == (
        "=== local/smollm2 at <when> (<time>; 66 prompt + 6 completion tokens) ===\n"
        "  LM calls 14 (+12 cache hits), tokens 4211+115, cost $…, <time>\n"
        "<Foo object at 0x…> wrote <tmp>\n"
        "<site-packages> TqdmWarning: hi\n"
        "  final:    0.750 [0.468, 0.911] (n=12)"
    )
    assert runner.normalize_text("score 0.417 -> 0.750") != runner.normalize_text(
        "score 0.417 -> 0.583"
    )


def test_streams_are_compared_joined():
    split = {"outputs": [{"output_type": "stream", "name": "stdout", "text": t} for t in "ab"]}
    whole = {"outputs": [{"output_type": "stream", "name": "stdout", "text": "ab"}]}
    assert runner.normalize_cell(split) == runner.normalize_cell(whole)


# --- a fresh run reproduces the committed outputs ------------------------------------------------


@pytest.mark.integration
@pytest.mark.parametrize("path", NOTEBOOKS, ids=_names(NOTEBOOKS))
def test_committed_outputs_match_a_fresh_run(path):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")

    committed = nbformat.read(path, as_version=4)
    try:
        fresh = runner.execute(path)
    except nbclient.exceptions.CellExecutionError as exc:
        pytest.fail(f"{path.name} failed:\n{exc}")
    assert runner.errors(fresh) == []

    unshown = [
        index
        for index, (old, new) in enumerate(zip(committed.cells, fresh.cells, strict=True))
        if new.cell_type == "code" and new.outputs and not old.outputs
    ]
    assert unshown == [], f"{path.name}: cells {unshown} show output, none committed; {REFRESH}"
    stale = runner.stale_cells(committed, fresh)
    assert not stale, f"{path.name}: committed outputs are stale; {REFRESH}\n" + "\n\n".join(stale)
