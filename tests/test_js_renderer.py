"""The JavaScript renderer (js/): its committed fixtures are what pliable renders today, and its
node tests, which render every fixture byte for byte, pass."""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "js" / "test" / "fixtures"
REGENERATE = ".venv/bin/python scripts/make-js-fixtures.py"


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "make_js_fixtures", ROOT / "scripts" / "make-js-fixtures.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_committed_fixtures_are_current() -> None:
    generator = _generator()
    fresh = generator.build()
    committed = {p.name: p.read_text(encoding="utf-8") for p in FIXTURES.glob("*.json")}
    assert sorted(committed) == sorted(fresh), f"fixture files differ; run {REGENERATE}"
    current = generator.versionless
    stale = [n for n in fresh if current(committed[n]) != current(fresh[n])]
    assert not stale, f"{stale} are out of date (pliable renders differently); run {REGENERATE}"


def test_node_tests_pass() -> None:
    if shutil.which("node") is None:
        if os.environ.get("CI"):
            pytest.fail("node is not installed; CI installs it with scripts/install-node")
        pytest.skip("node is not installed (scripts/install-node)")
    done = subprocess.run(
        ["node", "--test", "js/test/"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        encoding="utf-8",
        errors="replace",
        timeout=120,
        check=False,
    )
    report = done.stdout + done.stderr
    assert done.returncode == 0, report[-6000:]
    passed = re.search(r"^# pass (\d+)$", report, re.M)
    failed = re.search(r"^# fail (\d+)$", report, re.M)
    assert passed, report[-2000:]
    assert failed, report[-2000:]
    assert int(failed.group(1)) == 0
    assert int(passed.group(1)) >= 60, report[-2000:]
