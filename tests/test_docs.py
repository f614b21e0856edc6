"""The docs site (mkdocs.yml, docs/): it builds with no warning, the API reference covers every
exported name, and the "Coming from DSPy" page shows exactly pliable's table of DSPy names
(``pliable._dspy_names``), whose pliable names all exist and whose renamed names raise an
error naming the equivalent."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import pliable
from pliable._dspy_names import DSPY_NAMES

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
DSPY_PAGE = DOCS / "coming-from-dspy.md"


def dspy_page_table() -> dict[str, tuple[str, ...]]:
    """The page's name table: DSPy name (last part of ``dspy.X``) -> the ``pl.`` names."""
    table = {}
    for line in DSPY_PAGE.read_text(encoding="utf-8").splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) >= 2 and (match := re.fullmatch(r"`dspy\.(?:utils\.)?(\w+)`", cells[0])):
            assert match.group(1) not in table, f"{match.group(1)} is in the table twice"
            table[match.group(1)] = tuple(re.findall(r"`pl\.(\w+)`", cells[1]))
    return table


def test_dspy_page_table_is_the_table_of_pliable_dspy_names():
    assert dspy_page_table() == DSPY_NAMES


def test_every_pliable_name_on_the_dspy_page_exists():
    text = DSPY_PAGE.read_text(encoding="utf-8")
    named = set(re.findall(r"(?<!>>> )\bpl\.(\w+)", text))  # not the pl.GEPA example
    assert named  # the pattern finds the names
    assert sorted(named - set(pliable.__all__)) == []
    assert sorted({n for names in DSPY_NAMES.values() for n in names} - set(pliable.__all__)) == []


def test_methods_named_on_the_dspy_page_exist():
    for method in ["save", "load", "named_predictors", "predictors", "deepcopy", "reset_copy"]:
        assert callable(getattr(pliable.Module, method)), method
    for method in ["batch", "dump_state", "load_state"]:
        assert callable(getattr(pliable.Module, method)), method
    for method in ["with_inputs", "inputs", "labels"]:
        assert callable(getattr(pliable.Example, method)), method


RENAMED = sorted(name for name, equivalents in DSPY_NAMES.items() if name not in equivalents)


def test_a_renamed_dspy_name_raises_an_error_naming_the_equivalent():
    """In a fresh interpreter: once something imports the module ``pliable.settings``, Python
    binds it as ``pl.settings`` (whose ``configure`` is ``pl.configure``), and the hint is moot."""
    code = f"""
import json, pliable
messages = {{}}
for name in {RENAMED!r}:
    try:
        getattr(pliable, name)
    except AttributeError as error:
        messages[name] = str(error)
print(json.dumps(messages))
"""
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    messages = json.loads(proc.stdout)
    assert sorted(messages) == RENAMED
    for name in RENAMED:
        assert name not in pliable.__all__
        assert messages[name].startswith(f"pliable has no {name}; use pl."), messages[name]
        for equivalent in DSPY_NAMES[name]:
            assert f"pl.{equivalent}" in messages[name]


def test_dspy_names_that_pliable_shares_are_pliable_s_own():
    shared = [name for name, equivalents in DSPY_NAMES.items() if name in equivalents]
    assert shared
    assert sorted(set(shared) - set(pliable.__all__)) == []


def test_the_dspy_hints_hide_no_submodule():
    from pliable import settings  # the module pliable.settings, though pl.settings is a hint

    assert settings.__name__ == "pliable.settings"


def test_the_reference_documents_every_exported_name():
    pages = "\n".join(p.read_text(encoding="utf-8") for p in (DOCS / "reference").glob("*.md"))
    documented = set(re.findall(r"^::: pliable\.(\w+)\s*$", pages, re.MULTILINE))
    assert sorted(set(pliable.__all__) - documented - set(pliable.errors.__all__)) == []
    assert "::: pliable.errors" in pages  # the errors, with the tree of the module docstring
    assert sorted(documented - set(pliable.__all__) - {"errors"}) == []


def load_hook():
    spec = importlib.util.spec_from_file_location(
        "readme_sections", DOCS / "hooks" / "readme_sections.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_hook_includes_a_readme_section_with_its_subsections_moved_up():
    exceptions = pytest.importorskip("mkdocs.exceptions")
    hook = load_hook()
    readme = "# t\n\nintro\n\n## A\n\na\n\n```py\n# not a heading\n```\n\n### B\n\nb\n\n## C\n\nc\n"
    assert hook.section(readme, "") == "intro\n"
    assert hook.section(readme, "A") == "a\n\n```py\n# not a heading\n```\n\n## B\n\nb\n"
    assert hook.section(readme, "B") == "b\n"
    with pytest.raises(exceptions.PluginError, match=r"README\.md has no section 'D'"):
        hook.section(readme, "D")


def test_the_docs_build_with_no_warning(tmp_path):
    """``mkdocs build --strict`` (a few seconds): CI's build of the docs site."""
    mkdocs = Path(sys.executable).with_name("mkdocs")
    if not mkdocs.exists():
        if os.environ.get("CI"):
            pytest.fail("mkdocs is not installed; CI installs the dev extra, which has it")
        pytest.skip("mkdocs is not installed (it is in the dev extra)")
    proc = subprocess.run(
        [str(mkdocs), "build", "--strict", "--quiet", "--site-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    quickstart = (tmp_path / "guide" / "quickstart" / "index.html").read_text(encoding="utf-8")
    assert "Signatures are immutable values" in quickstart  # README text, included
    predict = (tmp_path / "reference" / "programs" / "index.html").read_text(encoding="utf-8")
    assert 'id="pliable.Predict"' in predict  # rendered from the docstrings
