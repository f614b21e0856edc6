"""Objects named on the command line as ``file.py:name``: importing the user's file, and a
one-line :class:`UsageError` for each way that fails (no such file, a syntax error, an
exception or ``SystemExit`` at import, a sibling module off the import path, no such name),
then checking the object is the metric or program asked for."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pliable.errors import PliableError, UsageError
from pliable.programs.module import Module

__all__ = ["import_object", "metric_from_file", "program_from_file"]


def import_object(spec: str) -> Any:
    """The object named by ``file.py:name``, importing the file. Every failure is a one-line
    :class:`UsageError`: no such file, an error while importing it (a syntax error, or any
    exception its code raises: ``file:line`` of the error), or no such name (it lists the
    names the file defines)."""
    path, _, name = spec.rpartition(":")
    file = Path(path)
    if not file.is_file():
        raise UsageError(f"{spec!r}: no such file {path!r}. Use file.py:object.")
    if not name.isidentifier():
        raise UsageError(
            f"{spec!r}: {name!r} is not a Python name. Use file.py:object, e.g. {path}:program."
        )
    module_spec = importlib.util.spec_from_file_location(file.stem, file)
    if module_spec is None or module_spec.loader is None:
        raise UsageError(f"{spec!r}: cannot import {path!r} as Python.")
    module = importlib.util.module_from_spec(module_spec)
    sys.modules[file.stem] = module
    try:
        module_spec.loader.exec_module(module)
    except (Exception, SystemExit) as exc:  # its code may do anything: say where it failed
        if sys.modules.get(file.stem) is module:
            del sys.modules[file.stem]
        raise _import_failure(spec, file, exc) from exc
    if not hasattr(module, name):
        import difflib

        defined = _defined_names(module)
        close = difflib.get_close_matches(name, defined, n=1)
        shown = ", ".join(defined[:20]) + (f" and {len(defined) - 20} more" if defined[20:] else "")
        raise UsageError(
            f"{spec!r}: {path} has no {name!r}; it defines {shown or 'no public names'}."
            + (f" Did you mean {close[0]!r}?" if close else "")
            + f" What to do: name one of them after the colon ({path}:NAME)."
        )
    return getattr(module, name)


def _import_failure(spec: str, file: Path, exc: BaseException) -> UsageError:
    """One line saying where importing ``file`` (for ``spec``) failed, from ``exc``."""
    import traceback

    def short(text: str, limit: int = 100) -> str:
        lines = text.strip().splitlines()
        first = lines[0].strip() if lines else ""
        return first if len(first) <= limit else first[: limit - 3] + "..."

    todo = f"What to do: fix the file; `python {file}` shows the whole traceback."
    frames = traceback.extract_tb(exc.__traceback__)
    line = next((f.lineno for f in reversed(frames) if _same_file(f.filename, file)), None)
    at = f"{file}:{line}" if line else str(file)
    if isinstance(exc, SyntaxError) and exc.filename and Path(exc.filename).is_file():
        # a file's own syntax error knows its file and line (maybe a module the file imports)
        where = f"{exc.filename}:{exc.lineno}" if exc.lineno else exc.filename
        code = f": {short(exc.text)!r}" if exc.text and exc.text.strip() else ""
        by = "" if _same_file(exc.filename, file) else f" (imported at {at})"
        return UsageError(
            f"{where}: {type(exc).__name__}: {exc.msg}{code}{by}; cannot import {spec!r}. {todo}"
        )
    if isinstance(exc, SystemExit):
        return UsageError(
            f"{at}: the file exits (SystemExit: {exc.code!r}) when it is imported for {spec!r}. "
            "What to do: put its script code under `if __name__ == '__main__':`."
        )
    message = short(str(exc))
    said = f"{type(exc).__name__}: {message}" if message else type(exc).__name__
    missing = (exc.name or "").partition(".")[0] if isinstance(exc, ModuleNotFoundError) else ""
    folder = file.resolve().parent
    if missing and ((folder / f"{missing}.py").is_file() or (folder / missing).is_dir()):
        todo = (
            f"What to do: {missing} is next to the file, but its folder is not on the import "
            f"path: set PYTHONPATH={folder}."
        )
    return UsageError(f"{at}: importing it for {spec!r} raised {said}. {todo}")


def _same_file(name: str, file: Path) -> bool:
    try:
        return Path(name).resolve() == file.resolve()
    except (OSError, ValueError):
        return False


def _defined_names(module: Any) -> list[str]:
    """The public names ``module`` defines: its own functions and classes, and its other
    values (not the modules, functions and classes it imports)."""
    import inspect
    import types

    names = []
    for key, value in vars(module).items():
        if key.startswith("_") or isinstance(value, types.ModuleType):
            continue
        if (inspect.isclass(value) or inspect.isroutine(value)) and getattr(
            value, "__module__", None
        ) != module.__name__:
            continue
        names.append(key)
    return names


def program_from_file(spec: str) -> Module:
    """The program named by ``file.py:name``: a Module, its class, or a factory (called)."""
    obj = import_object(spec)
    try:
        program = obj() if callable(obj) and not isinstance(obj, Module) else obj
    except PliableError:
        raise
    except Exception as exc:
        raise UsageError(
            f"{spec!r}: calling it to make the program raised {type(exc).__name__}: {exc}"
        ) from exc
    if not isinstance(program, Module):
        raise UsageError(f"{spec!r} is not a pl.Module (got {type(program).__name__}).")
    return program


def metric_from_file(spec: str) -> Callable[..., Any]:
    """The metric named by ``file.py:function``, checked to take ``(example, prediction)``."""
    from pliable.evaluation.metric_base import metric_caller

    metric: Callable[..., Any] = import_object(spec)
    if not callable(metric):
        raise UsageError(
            f"{spec!r} is {type(metric).__name__} {_preview(metric)}, not a function. What "
            "to do: name a function metric(example, prediction[, trace]) -> score."
        )
    try:
        metric_caller(metric)  # refuses a function that cannot take (example, prediction)
    except UsageError as exc:
        raise UsageError(f"{spec!r}: {exc}") from exc
    return metric


def _preview(value: object, limit: int = 60) -> str:
    try:
        text = repr(value)
    except Exception:  # a user's object: its repr may fail too
        text = f"<{type(value).__name__}>"
    return text if len(text) <= limit else text[: limit - 3] + "..."
