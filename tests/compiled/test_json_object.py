"""Reading a compiled JSON file (shared by ``pl.load`` and the soft-prompt artifacts)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import pliable as pl
from pliable.compiled.io import read_json as _json_object


def test_json_object_reads_an_object(tmp_path: Path) -> None:
    path = tmp_path / "a.json"
    path.write_text('{"a": 1}', "utf-8")
    assert _json_object(path) == {"a": 1}


def test_json_object_errors(tmp_path: Path) -> None:
    missing = tmp_path / "missing.json"
    with pytest.raises(pl.CompiledFileError, match=f"^Cannot read {re.escape(str(missing))}: "):
        _json_object(missing)
    broken = tmp_path / "broken.json"
    broken.write_text("{", "utf-8")
    with pytest.raises(pl.CompiledFileError, match=r"is not valid JSON \(.*\)\. Re-save"):
        _json_object(broken)
    listed = tmp_path / "list.json"
    listed.write_text("[1]", "utf-8")
    message = f"{listed}: expected a JSON object, got list."
    with pytest.raises(pl.CompiledFileError, match=f"^{re.escape(message)}$"):
        _json_object(listed)


def test_load_says_to_resave_a_broken_file(tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text("{", "utf-8")
    with pytest.raises(
        pl.CompiledFileError,
        match=r"is not valid JSON \(.*\)\. Re-save the program with pl.save",
    ):
        pl.load(broken)
    listed = tmp_path / "list.json"
    listed.write_text("[1]", "utf-8")
    with pytest.raises(pl.CompiledFileError, match=r": expected a JSON object, got list\.$"):
        pl.load(listed)
