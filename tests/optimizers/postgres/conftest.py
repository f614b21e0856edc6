"""A throwaway PostgreSQL server for the tests of this folder (scripts/start-postgres).

The server starts once per test session, on 127.0.0.1 and a free port, in a folder under the
temporary directory, and stops at the end. The tests install nothing: PostgreSQL comes from
scripts/install-postgres (CI runs it). Where the server cannot start (PostgreSQL not
installed, no driver), the tests are skipped with the reason, except in CI (``CI`` set) or
with ``PLIABLE_REQUIRE_POSTGRES=1``, where that is a failure.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

SCRIPTS = Path(__file__).resolve().parents[3] / "scripts"


def _required() -> bool:
    return bool(os.environ.get("CI")) or os.environ.get("PLIABLE_REQUIRE_POSTGRES") == "1"


def _unavailable(reason: str) -> None:
    if _required():
        pytest.fail(f"PostgreSQL is required here (CI or PLIABLE_REQUIRE_POSTGRES=1): {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """``postgresql://pliable@127.0.0.1:PORT/pliable``, an empty database."""
    for module in ("optuna", "sqlalchemy", "psycopg"):
        if importlib.util.find_spec(module) is None:
            _unavailable(f"{module} is not installed (pip install -e '.[dev]')")
    # not under pytest's own temporary folders (nor a closed $TMPDIR): as root, the server
    # runs as another user, who must reach the folder
    base = "/tmp" if os.path.isdir("/tmp") else None
    folder = tempfile.mkdtemp(prefix="pliable-pg-", dir=base)
    try:
        done = subprocess.run(
            [str(SCRIPTS / "start-postgres"), folder],
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        shutil.rmtree(folder, ignore_errors=True)
        _unavailable(f"scripts/start-postgres failed: {exc!r}")
    if done.returncode != 0 or not done.stdout.strip():
        _stop(folder)
        _unavailable(f"scripts/start-postgres failed: {done.stderr.strip()[-600:]}")
    try:
        yield done.stdout.strip().splitlines()[-1]
    finally:
        _stop(folder)


def _stop(folder: str) -> None:
    subprocess.run(
        [str(SCRIPTS / "stop-postgres"), folder], capture_output=True, timeout=60, check=False
    )
    shutil.rmtree(folder, ignore_errors=True)
