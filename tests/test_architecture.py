"""The shape of the package, checked from its source.

- The layers (pyproject.toml, ``[tool.importlinter]``) hold: ``lint-imports`` passes.
- No module reads a private name (``_x``) of another top-level package of pliable. The three
  CLI modules (``pliable.cli``, ``pliable._cli_jobs``, ``pliable._cli_compare``) count as one
  package, "the CLI": they are one program split over three files, and share private helpers
  the way the modules of one package do.
- Every exception class is defined in ``pliable/errors.py`` (the tree is in its docstring),
  except the internal ones in ``INTERNAL_EXCEPTIONS``.
- No package exports a name that is also the name of one of its modules (``pliable.evaluate``
  the package vs ``pl.evaluate`` the function): one of the two would hide the other.
- The lazy ``__init__`` files (PEP 562, :mod:`pliable._lazy`) list the same names for type
  checkers (``if TYPE_CHECKING:``) as for the interpreter (``_LAZY``); ``import pliable`` loads
  only the errors and the version, none of the heavy dependencies; every module and every
  exported name can be imported first, on its own, in a fresh interpreter.
"""

from __future__ import annotations

import ast
import builtins
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"
PACKAGE = SRC / "pliable"

CLI_MODULES = {"pliable.cli", "pliable._cli_jobs", "pliable._cli_compare"}

# Exceptions that may live outside errors.py: internal control flow that never reaches a user.
INTERNAL_EXCEPTIONS = {
    # Raised by the row readers and caught by the loaders in the same package, which turn it
    # into a DataError (with file:line) or a skipped row; it never leaves pliable.data.
    "pliable.data.readers.BadRow",
}

# What `import pliable` may load of pliable itself, and what it must not load from elsewhere.
EAGER = {"pliable", "pliable._lazy", "pliable._version", "pliable.errors"}
HEAVY = ["pydantic", "numpy", "litellm", "optuna", "tqdm", "torch", "asyncio", "sqlite3"]


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def is_package(path: Path) -> bool:
    return path.name == "__init__.py"


def group(module: str) -> str:
    """The top-level part of pliable a module belongs to (the CLI modules are one)."""
    if module in CLI_MODULES:
        return "cli"
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "pliable"


def module_exists(module: str) -> bool:
    path = SRC / module.replace(".", "/")
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def is_private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


SOURCES = sorted(PACKAGE.rglob("*.py"))
TREES = {path: ast.parse(path.read_text(encoding="utf-8"), str(path)) for path in SOURCES}


def absolute_target(path: Path, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    package = module_name(path).split(".")
    if not is_package(path):
        package.pop()
    base = package[: len(package) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def private_imports_across_packages() -> list[str]:
    found = []
    for path, tree in TREES.items():
        importer = module_name(path)
        aliases: dict[str, str] = {}  # local name -> pliable module it is bound to
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name.startswith("pliable") and alias.asname:
                        aliases[alias.asname] = alias.name
            elif isinstance(node, ast.ImportFrom):
                target = absolute_target(path, node)
                if not target.startswith("pliable"):
                    continue
                for alias in node.names:
                    if module_exists(f"{target}.{alias.name}"):
                        owner = f"{target}.{alias.name}"  # a module imported by name
                        aliases[alias.asname or alias.name] = owner
                    else:
                        owner = target
                    if is_private(alias.name) and group(owner) != group(importer):
                        found.append(f"{importer}:{node.lineno}: from {target} import {alias.name}")
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id in aliases
                and is_private(node.attr)
                and group(aliases[node.value.id]) != group(importer)
            ):
                found.append(f"{importer}:{node.lineno}: {node.value.id}.{node.attr}")
    return found


def test_no_private_name_is_imported_from_another_package():
    assert private_imports_across_packages() == []


def exception_classes() -> dict[str, str]:
    """``module.Class`` -> file of every class deriving (by name) from an exception."""
    known = {name for name in dir(builtins) if isinstance(getattr(builtins, name), type)}
    known = {name for name in known if issubclass(getattr(builtins, name), BaseException)}
    classes = [
        (module_name(path), node)
        for path, tree in TREES.items()
        for node in ast.walk(tree)
        if isinstance(node, ast.ClassDef)
    ]
    found: dict[str, str] = {}
    changed = True
    while changed:  # a class deriving from a found exception class is one too
        changed = False
        for module, node in classes:
            key = f"{module}.{node.name}"
            bases = {
                b.id if isinstance(b, ast.Name) else b.attr
                for b in node.bases
                if isinstance(b, (ast.Name, ast.Attribute))
            }
            named_like_one = any(b.endswith(("Error", "Exception", "Warning")) for b in bases)
            if key not in found and (bases & known or named_like_one):
                found[key] = module
                known.add(node.name)
                changed = True
    return found


def test_every_exception_class_is_defined_in_errors():
    found = exception_classes()
    assert "pliable.errors.PliableError" in found  # the scan sees errors.py's classes
    elsewhere = {name for name, module in found.items() if module != "pliable.errors"}
    assert elsewhere == INTERNAL_EXCEPTIONS


def test_every_error_is_in_the_errors_docstring_tree():
    import pliable.errors as errors

    for name in errors.__all__:
        assert f" {name} " in errors.__doc__, name


def exported_names(init: Path) -> list[str]:
    for node in TREES[init].body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets
        ):
            return list(ast.literal_eval(node.value))
    return []


INITS = [path for path in SOURCES if is_package(path)]


@pytest.mark.parametrize("init", INITS, ids=lambda p: module_name(p))
def test_no_module_is_named_like_a_name_its_package_exports(init):
    import importlib
    import types

    package = module_name(init)
    submodules = {p.stem for p in init.parent.glob("*.py")} | {
        p.parent.name for p in init.parent.glob("*/__init__.py")
    }
    clashes = set(exported_names(init)) & submodules
    module = importlib.import_module(package)
    for name in clashes:  # allowed only when the exported name is that module
        assert isinstance(getattr(module, name), types.ModuleType), f"{package}.{name}"


def lazy_tables(init: Path) -> tuple[dict[str, str], dict[str, str], set[str]]:
    """(``_LAZY``, the ``if TYPE_CHECKING:`` imports as name -> module, the eager imports)."""
    lazy: dict[str, str] = {}
    typed: dict[str, str] = {}
    eager: set[str] = set()
    for node in TREES[init].body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "_LAZY" for t in node.targets
        ):
            lazy = ast.literal_eval(node.value)
        elif isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING":
            for imp in node.body:
                assert isinstance(imp, ast.ImportFrom), ast.unparse(imp)
                for alias in imp.names:
                    name = alias.asname or alias.name
                    target = f"{imp.module}.{alias.name}"
                    typed[name] = target if module_exists(target) else str(imp.module)
        elif isinstance(node, ast.ImportFrom) and node.module not in ("typing", "pliable._lazy"):
            eager |= {alias.asname or alias.name for alias in node.names}
    return lazy, typed, eager


LAZY_INITS = [path for path in INITS if "_LAZY" in path.read_text(encoding="utf-8")]


def test_the_main_packages_are_lazy():
    lazy = {module_name(path) for path in LAZY_INITS}
    assert {"pliable", "pliable.programs", "pliable.optimizers", "pliable.evaluation"} <= lazy
    assert {"pliable.lm", "pliable.adapters", "pliable.data", "pliable.signatures"} <= lazy


@pytest.mark.parametrize("init", LAZY_INITS, ids=lambda p: module_name(p))
def test_lazy_names_are_the_names_type_checkers_see(init):
    lazy, typed, eager = lazy_tables(init)
    assert lazy == typed
    assert sorted(set(lazy) | (eager - {"__version__"})) == sorted(exported_names(init))
    for name, module in lazy.items():
        assert module_exists(module), (name, module)


def run_python(code: str) -> str:
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_import_pliable_loads_only_the_errors():
    loaded = set(
        json.loads(run_python("import json, sys, pliable; print(json.dumps(list(sys.modules)))"))
    )
    assert {m for m in loaded if m.split(".")[0] == "pliable"} == EAGER
    assert [m for m in HEAVY if m in loaded] == []


def test_every_module_and_exported_name_imports_first_in_a_fresh_state():
    """Import each module (and read each exported name of each lazy package) with no pliable
    module loaded before it: a circular import hidden by a fixed order shows up here."""
    modules = sorted(module_name(path) for path in SOURCES)
    names = {module_name(init): sorted(set(lazy_tables(init)[0])) for init in LAZY_INITS}
    code = f"""
        import importlib, json, sys, traceback
        failures = []

        def fresh():
            for name in [m for m in sys.modules if m.split(".")[0] == "pliable"]:
                del sys.modules[name]

        for module in {modules!r}:
            fresh()
            try:
                importlib.import_module(module)
            except Exception:
                failures.append(module + ": " + traceback.format_exc(limit=-3))
        for package, exported in {names!r}.items():
            for name in exported:
                fresh()
                try:
                    getattr(importlib.import_module(package), name)
                except Exception:
                    failures.append(package + "." + name + ": " + traceback.format_exc(limit=-3))
        print(json.dumps(failures))
    """
    assert json.loads(run_python(code)) == []


def test_import_contracts_hold():
    lint_imports = Path(sys.executable).with_name("lint-imports")
    if not lint_imports.exists():
        pytest.skip("import-linter is not installed (it is in the dev extra)")
    proc = subprocess.run(
        [str(lint_imports)], capture_output=True, text=True, cwd=ROOT, timeout=300, check=False
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
