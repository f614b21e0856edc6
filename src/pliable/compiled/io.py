"""Save a program's state as a compiled JSON file, and load it back: validated, then applied.

    program.save("qa.json")                     # or pl.save(program, "qa.json")
    qa = pl.load("qa.json")                     # a registered program kind: no user code needed
    MyProgram().load("qa.json")                 # fill a program you built, by predictor name
    pl.load("qa.json", program=MyProgram)       # the same, built with no arguments

This module is the file format only: the envelope (schema version, versions, the program's
kind, the report), reading and migrating old versions, and the atomic write. What a program
holds is its own ``dump_state()``; what it accepts is its own ``load_state()``. Kinds are
looked up in :mod:`pliable.compiled.kinds`, never imported from a name in the file, so
loading a file runs no code and imports nothing it names. Every problem is a
:class:`~pliable.errors.CompiledFileError`, raised before the program is changed.
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pliable.compiled.kinds import kind_name, program_kind
from pliable.errors import CompiledFileError, PliableError

if TYPE_CHECKING:
    from pliable.compiled.schema import CompiledFile

__all__ = [
    "MAX_DEPTH",
    "MAX_FILE_BYTES",
    "read_capped",
    "MAX_PREDICTORS",
    "dump_program",
    "load",
    "migrate",
    "read_file",
    "report_of",
    "validation_problems",
    "read_json",
    "save",
    "write_json",
]

logger = logging.getLogger(__name__)

#: Larger files are refused before they are parsed.
MAX_FILE_BYTES = 64 * 1024 * 1024
#: More predictors than this in one program is not a program anyone compiled.
MAX_PREDICTORS = 1000
#: Lists and objects nest at most this deep (a model type's schema is the deepest part).
MAX_DEPTH = 64
_RESAVE = "Re-save the program with pl.save(program, path)."
_IDENT = r"[A-Za-z_][A-Za-z0-9_]*"
_PROGRAM_NAME = re.compile(rf"^{_IDENT}(\.{_IDENT})*(:{_IDENT}(\.{_IDENT})*)?$")


def _version(dist: str) -> str | None:
    from importlib import metadata  # ~20 ms to import: only when saving

    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def _report_dict(report: Any) -> Any:
    from pliable.adapters.values import to_jsonable

    if report is not None and hasattr(report, "to_dict"):
        report = report.to_dict()
    return to_jsonable(report) if report is not None else None


def dump_program(program: Any, report: Any = None) -> dict[str, Any]:
    """The compiled-file content for ``program``: the envelope around its ``dump_state()``.

    The program's class must be a registered kind (every built-in is); an unregistered
    custom program is written as ``"module:Class"``, which loads only when the caller
    supplies the class (``pl.load(path, program=MyProgram)``).
    """
    from pliable._version import __version__
    from pliable.compiled.schema import SCHEMA_VERSION

    name = kind_name(program)
    if name is None:
        cls = type(program)
        name = f"{cls.__module__}:{cls.__qualname__}"
    state = program.dump_state()
    if not isinstance(state, dict) or "predictors" not in state:
        raise CompiledFileError(
            f"{type(program).__name__}.dump_state() returned {type(state).__name__} without "
            "'predictors'; it must return the dict of pl.Module.dump_state()."
        )
    return {
        "schema_version": SCHEMA_VERSION,
        "pliable_version": __version__,
        "litellm_version": _version("litellm"),
        "program": name,
        **state,
        "report": _report_dict(report if report is not None else getattr(program, "report", None)),
    }


def write_json(path: str | os.PathLike[str], data: Mapping[str, Any]) -> Path:
    """Write ``data`` to ``path`` as indented JSON, atomically (temp file + rename).

    Keys keep the order the program's ``dump_state`` gives them (fixed by the code, so files
    diff well): the order of fields, enum members and model properties is part of a prompt.
    """
    target = Path(path)
    text = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(text, "utf-8")
        tmp.replace(target)  # a crash never leaves half a file
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise CompiledFileError(f"Cannot write {target}: {exc}. Check the folder exists.") from exc
    return target


def save(program: Any, path: str | os.PathLike[str], report: Any = None) -> Path:
    """Write ``program``'s compiled state to ``path`` (JSON, sorted keys). Returns the path.

    A program that keeps files beside its JSON (a soft prompt's adapter folder) writes them
    through its own ``save_files(path)``.
    """
    save_files = getattr(program, "save_files", None)
    if callable(save_files):
        result: Path = save_files(path, report=report)
        return result
    return write_json(path, dump_program(program, report))


# --- reading ---------------------------------------------------------------------------------


def validation_problems(exc: Any, limit: int = 5) -> str:
    """A pydantic ``ValidationError``'s first problems, one ``where: what`` each, joined."""
    return "; ".join(
        f"{'.'.join(str(p) for p in e['loc'])[:120]}: {e['msg']}" for e in exc.errors()[:limit]
    )


def _too_deep(value: Any, limit: int = MAX_DEPTH) -> bool:
    """Whether JSON ``value`` nests lists and objects more than ``limit`` levels (checked
    without recursion, so any depth the parser allowed is safe to look at)."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, (list, tuple)):
            children = item
        else:
            continue
        if depth >= limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


def _unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object whose keys are all different: a key written twice would let two readers
    (pliable, another runtime) see two different files."""
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise CompiledFileError(
                f"the key {key[:60]!r} appears twice in one object; a compiled file names "
                "each key once. Re-save the program with pl.save(program, path)."
            )
        out[key] = value
    return out


def read_capped(path: str | os.PathLike[str], kind: str = "a compiled file") -> bytes:
    """The bytes of ``path``, refused (:class:`CompiledFileError`) when it cannot be read
    or is larger than :data:`MAX_FILE_BYTES` (``kind`` names the file in that message)."""
    where = str(path)
    try:
        size = os.path.getsize(path)
        data = Path(path).read_bytes() if size <= MAX_FILE_BYTES else b""
    except OSError as exc:
        raise CompiledFileError(f"Cannot read {where}: {exc}.") from exc
    if size > MAX_FILE_BYTES:
        raise CompiledFileError(
            f"{where} is {size} bytes; {kind} is at most {MAX_FILE_BYTES}. Is it the right file?"
        )
    return data


def read_json(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The JSON object in the file ``path``, or :class:`CompiledFileError` saying why not."""
    where = str(path)
    data = read_capped(path)
    try:
        raw = json.loads(data.decode("utf-8"), object_pairs_hook=_unique)
    except CompiledFileError as exc:
        raise CompiledFileError(f"{where}: {exc}") from exc
    except UnicodeDecodeError as exc:
        raise CompiledFileError(f"{where} is not UTF-8 text ({exc}). {_RESAVE}") from exc
    except RecursionError as exc:
        raise CompiledFileError(f"{where} is nested too deeply to be a compiled file.") from exc
    except ValueError as exc:
        raise CompiledFileError(f"{where} is not valid JSON ({exc}). {_RESAVE}") from exc
    if not isinstance(raw, dict):
        raise CompiledFileError(f"{where}: expected a JSON object, got {type(raw).__name__}.")
    return raw


def migrate(raw: dict[str, Any]) -> dict[str, Any]:
    """A version 1 or 2 file's content in the version 3 layout (other versions unchanged).

    Version 1 meant chat by ``"adapter": null``; versions 1 and 2 kept a KNN or soft-prompt
    program's inner kind in ``program`` with a ``knn`` / ``soft_prompt`` section beside it.
    """
    version = raw.get("schema_version")
    if version not in (1, 2) or isinstance(version, bool):
        return raw
    out = dict(raw)
    out["schema_version"] = 3
    predictors = out.get("predictors")
    if version == 1 and isinstance(predictors, dict):
        out["predictors"] = {
            name: ({**p, "adapter": p.get("adapter") or "chat"} if isinstance(p, dict) else p)
            for name, p in predictors.items()
        }
    for section, kind in (
        ("soft_prompt", "pliable.SoftPromptProgram"),
        ("knn", "pliable.KNNProgram"),
    ):
        if isinstance(out.get(section), dict):
            out[section] = {**out[section], "program": out.get("program")}
            out["program"] = kind
            break
    return out


def read_file(source: str | os.PathLike[str] | Mapping[str, Any]) -> tuple[CompiledFile, str]:
    """The validated envelope of a compiled file (or of its content as a dict), and a name
    for it in messages. Old versions are migrated; newer ones are refused."""
    from pydantic import ValidationError

    from pliable.compiled.schema import READABLE_VERSIONS, SCHEMA_VERSION, CompiledFile

    where = "compiled data"
    if isinstance(source, Mapping):
        raw: dict[str, Any] = dict(source)
    elif isinstance(source, (str, os.PathLike)):
        where = str(source)
        raw = read_json(source)
    else:
        raise CompiledFileError(
            f"Expected a path to a compiled file or its content as a dict; got "
            f"{type(source).__name__}."
        )
    if _too_deep(raw):
        raise CompiledFileError(
            f"{where} nests lists and objects more than {MAX_DEPTH} levels deep; a compiled "
            "program does not. Is it the right file?"
        )
    version = raw.get("schema_version")
    if type(version) is not int:
        raise CompiledFileError(
            f"{where}: 'schema_version' must be an integer; got {str(version)[:40]!r}. Is it a "
            "compiled pliable program?"
        )
    if version > SCHEMA_VERSION:
        raise CompiledFileError(
            f"{where} was written by a newer pliable (schema version {version}; this pliable "
            f"reads up to version {SCHEMA_VERSION}). Upgrade pliable to load it."
        )
    if version not in READABLE_VERSIONS:
        raise CompiledFileError(
            f"{where} has schema version {version}; this pliable reads "
            f"{', '.join(map(str, READABLE_VERSIONS))}."
        )
    predictors = raw.get("predictors")
    if isinstance(predictors, dict) and len(predictors) > MAX_PREDICTORS:
        raise CompiledFileError(
            f"{where} has {len(predictors)} predictors; a compiled file holds at most "
            f"{MAX_PREDICTORS}. Is it the right file?"
        )
    try:
        parsed = CompiledFile.model_validate(migrate(raw))
    except ValidationError as exc:
        problems = validation_problems(exc)
        raise CompiledFileError(f"{where} is not a valid compiled program: {problems}.") from exc
    except RecursionError as exc:
        raise CompiledFileError(f"{where} is nested too deeply to be a compiled file.") from exc
    name = parsed.program
    if not _PROGRAM_NAME.match(name) or len(name) > 300:
        raise CompiledFileError(
            f"{where}: 'program' = {name[:80]!r} is not a program kind (a dotted name such as "
            "'pliable.Predict', or 'module:Class' of a custom program)."
        )
    if name.startswith("pliable.") and ":" not in name and program_kind(name) is None:
        raise CompiledFileError(
            f"{where}: 'program' = {name[:80]!r} is not one of pliable's program kinds. Was the "
            "file written by a newer pliable? Upgrade pliable to load it."
        )
    return parsed, where


def _state_of(parsed: CompiledFile) -> dict[str, Any]:
    """The program's own state: everything in the file but the envelope."""
    envelope = {"schema_version", "pliable_version", "litellm_version", "program", "report"}
    data = parsed.model_dump(exclude=envelope, exclude_none=True)
    return data


def _resolve(parsed: CompiledFile, where: str, program: Any) -> tuple[type[Any] | None, Any]:
    """The class to build (or None) and the instance to fill (or None)."""
    if program is None:
        cls = program_kind(parsed.program)
        if cls is None:
            custom = ":" in parsed.program
            raise CompiledFileError(
                f"{where}: 'program' is {parsed.program[:120]!r}, which is not a registered "
                "program kind, so it is not loaded (a compiled file never makes pliable import "
                "or run code it names). "
                + (
                    "It is a custom program: pass its class, pl.load(path, program=MyProgram), "
                    "fill one you built, MyProgram(...).load(path), or register it once with "
                    "pl.register_program_kind(name, MyProgram) before saving."
                    if custom
                    else "Register it with pl.register_program_kind(name, cls), or pass "
                    "program=... to pl.load."
                )
            )
        return cls, None
    cls = program if isinstance(program, type) else type(program)
    if not callable(getattr(cls, "from_state", None)) or not callable(
        getattr(cls, "load_state", None)
    ):
        raise CompiledFileError(
            f"program= must be a pl.Module (class or instance); got {type(program).__name__}."
        )
    named = program_kind(parsed.program)
    if named is not None and not issubclass(cls, named):
        raise CompiledFileError(
            f"{where} holds a {parsed.program} program, not a {cls.__name__}: load it with "
            "pl.load(path), or into the kind of program it was compiled from."
        )
    if isinstance(program, type):
        return program, None
    return None, program


def load(
    source: str | os.PathLike[str] | Mapping[str, Any],
    *,
    program: Any = None,
    lm: Any = None,
    **context: Any,
) -> Any:
    """Rebuild a program from its compiled file.

    Without ``program``, the file's ``"program"`` must be a registered kind (every built-in
    is: ``Predict``, ``ChainOfThought``, ``RAG``, ``MultiHopQA``, ``ReAct``, KNN and
    soft-prompt programs), rebuilt from the file alone. ``program`` is a class to build with
    no arguments, or a program you built, filled in place by predictor name. ``lm`` replaces
    the LM recorded in the file for every predictor. ``context`` is what a kind needs from
    you because it is code or a place, never read from a file: ``tools=`` for ``ReAct``,
    ``retriever=`` for ``RAG`` / ``MultiHopQA`` (else the folder the file names is read),
    ``embedder=`` for a KNN program with a custom embedder, ``base_model=`` for a soft prompt
    trained on a model file.

    All or nothing: every problem raises :class:`~pliable.errors.CompiledFileError` before
    anything is changed.
    """
    parsed, where = read_file(source)
    cls, instance = _resolve(parsed, where, program)
    state = _state_of(parsed)
    if not isinstance(source, Mapping):
        context.setdefault("root", Path(source).resolve().parent)
    try:
        if instance is not None:
            instance.load_state(state, lm=lm, **context)
            result = instance
        else:
            assert cls is not None
            result = cls.from_state(state, lm=lm, **context)
    except PliableError as exc:  # CompiledFileError included: name the file
        raise CompiledFileError(f"{where}: {exc}") from exc
    except RecursionError as exc:
        raise CompiledFileError(f"{where} is nested too deeply to load.") from exc
    except TypeError as exc:
        raise CompiledFileError(
            f"{where}: cannot build {parsed.program[:120]!r} from the file ({exc}). Build the "
            "program yourself and call .load(path) on it."
        ) from exc
    result.report = report_of(parsed)
    return result


def report_of(parsed: CompiledFile) -> dict[str, Any] | None:
    """The file's report as the plain dict it was written as (checked by the schema)."""
    return parsed.report.model_dump(exclude_unset=True) if parsed.report is not None else None
