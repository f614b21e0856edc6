"""Save a program's compiled state as JSON, and load it back: validated first, then applied.

    program.save("qa.json")                 # or pl.save(program, "qa.json")
    qa = pl.load("qa.json")                 # built-in programs: no user code needed
    MyProgram().load("qa.json")             # a custom program: fills its predictors by name

Loading parses and checks the whole file (schema version, every signature, every demo value
against its field's type) before it touches the program; on any problem it raises
:class:`CompiledFileError` and changes nothing.
"""

from __future__ import annotations

import importlib
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pliable.adapters import ChatAdapter, JSONAdapter, TemplateAdapter
from pliable.adapters.values import coerce, to_jsonable
from pliable.data.example import Example
from pliable.errors import SignatureError, UsageError
from pliable.lm.options import is_secret_option
from pliable.programs.module import Module
from pliable.programs.predict import ChainOfThought, Predict
from pliable.signatures.signature import Signature

if TYPE_CHECKING:
    from pliable.adapters.base import Adapter
    from pliable.compiled.schema import CompiledFile, PredictorState
    from pliable.lm.types import LanguageModel

__all__ = [
    "CompiledFileError",
    "dump_program",
    "load",
    "load_into",
    "read_predictors",
    "save",
]

_BUILTIN_PROGRAMS: dict[str, type[Predict]] = {
    "pliable.Predict": Predict,
    "pliable.ChainOfThought": ChainOfThought,
}
_ADAPTERS: dict[str, type[Adapter]] = {
    "chat": ChatAdapter,
    "json": JSONAdapter,
    "template": TemplateAdapter,
}
# built-in programs with several steps: rebuilt from their config() by from_config()
_COMPOSITES: dict[str, str] = {
    "pliable.RAG": "pliable.programs.rag:RAG",
    "pliable.MultiHopQA": "pliable.programs.rag:MultiHopQA",
    "pliable.ReAct": "pliable.programs.react:ReAct",
}


def _composite(name: str) -> Any:
    module, _, cls = _COMPOSITES[name].partition(":")
    return getattr(importlib.import_module(module), cls)


class CompiledFileError(UsageError):
    """A compiled-program file is unreadable, invalid, from a newer pliable, or does not fit
    the program it is loaded into. Nothing was changed."""


def _version(dist: str) -> str | None:
    from importlib import metadata  # ~20 ms to import: only when saving

    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def _public(options: Mapping[str, Any]) -> dict[str, Any]:
    return {k: to_jsonable(v) for k, v in options.items() if not is_secret_option(k)}


def _adapter_name(adapter: Adapter | None) -> str | None:
    if adapter is None:
        return None
    for name, cls in _ADAPTERS.items():
        if type(adapter) is cls:
            return name
    return f"{type(adapter).__module__}:{type(adapter).__qualname__}"


def _adapter_config(adapter: Adapter | None) -> dict[str, Any] | None:
    """An adapter's own state (``to_dict()``), for adapters that have one (TemplateAdapter)."""
    to_dict = getattr(adapter, "to_dict", None)
    return to_jsonable(to_dict()) if callable(to_dict) else None


def _lm_settings(lm: LanguageModel | None) -> dict[str, Any] | None:
    if lm is None:
        return None
    from pliable.lm.lm import LM

    if isinstance(lm, LM):
        return {"model": lm.model, "options": _public(lm.defaults), "restorable": True}
    return {"model": str(getattr(lm, "model", type(lm).__name__)), "restorable": False}


def _program_name(program: Module) -> str:
    for name, cls in _BUILTIN_PROGRAMS.items():
        if type(program) is cls:
            return name
    for name in _COMPOSITES:
        if type(program) is _composite(name):
            return name
    return f"{type(program).__module__}:{type(program).__qualname__}"


def dump_program(program: Module, report: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The compiled-file content for ``program`` as a JSON-able dict."""
    from pliable.optimizers.knn import KNNProgram

    knn = None
    if isinstance(program, KNNProgram):
        knn = program.dump_knn_state()
        report = report if report is not None else program.report
        program = program.program
    predictors: dict[str, Any] = {}
    for name, p in program.named_predictors():
        output_names = set(p.signature.output_fields)
        predictors[name] = {
            "kind": "ChainOfThought" if isinstance(p, ChainOfThought) else "Predict",
            "signature": p.signature.to_dict(),
            "demos": [to_jsonable(dict(d)) for d in p.demos if output_names & set(d)],
            "adapter": _adapter_name(p.adapter),
            "lm": _lm_settings(p.lm),
            "config": _public(p.config),
        }
        adapter_config = _adapter_config(p.adapter)
        if adapter_config is not None:  # only stateful adapters write the key
            predictors[name]["adapter_config"] = adapter_config
    saved_report = report if report is not None else getattr(program, "report", None)
    if saved_report is not None and hasattr(saved_report, "to_dict"):
        saved_report = saved_report.to_dict()
    from pliable import __version__
    from pliable.compiled.schema import SCHEMA_VERSION

    return {
        "schema_version": SCHEMA_VERSION,
        "pliable_version": __version__,
        "litellm_version": _version("litellm"),
        "program": _program_name(program),
        "predictors": predictors,
        "report": to_jsonable(saved_report) if saved_report is not None else None,
        "knn": to_jsonable(knn) if knn is not None else None,
        "program_config": to_jsonable(program.config())  # type: ignore[attr-defined]
        if _program_name(program) in _COMPOSITES
        else None,
    }


def save(program: Module, path: str | os.PathLike[str], report: Any = None) -> Path:
    """Write ``program``'s compiled state to ``path`` (JSON, sorted keys). Returns the path."""
    from pliable.optimizers.soft.program import SoftPromptProgram

    if isinstance(program, SoftPromptProgram):  # its adapter folder is written beside the JSON
        from pliable.optimizers.soft.artifact import save_soft

        return save_soft(program, path, report=report)
    data = dump_program(program, report)
    target = Path(path)
    tmp = target.with_name(target.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n", "utf-8")
    tmp.replace(target)  # atomic: a crash never leaves half a file
    return target


# --- loading ---------------------------------------------------------------------------------


def _json_object(path: str | os.PathLike[str], hint: str = "") -> dict[str, Any]:
    """The JSON object in the file ``path``, or :class:`CompiledFileError` saying why not
    (``hint``, what to do, follows the message for a file that is not JSON)."""
    where = str(path)
    try:
        raw = json.loads(Path(path).read_text("utf-8"))
    except OSError as exc:
        raise CompiledFileError(f"Cannot read {where}: {exc}.") from exc
    except ValueError as exc:
        raise CompiledFileError(
            f"{where} is not valid JSON ({exc})." + (f" {hint}" if hint else "")
        ) from exc
    if not isinstance(raw, dict):
        raise CompiledFileError(f"{where}: expected a JSON object, got {type(raw).__name__}.")
    return raw


def _read(source: str | os.PathLike[str] | Mapping[str, Any]) -> tuple[CompiledFile, str]:
    from pydantic import ValidationError

    from pliable.compiled.schema import READABLE_VERSIONS, SCHEMA_VERSION, CompiledFile

    where = "compiled data"
    if isinstance(source, Mapping):
        raw: Mapping[str, Any] = source
    else:
        where = str(source)
        raw = _json_object(source, "Was it edited by hand? Re-save the program.")
    version = raw.get("schema_version")
    if isinstance(version, int) and version > SCHEMA_VERSION:
        raise CompiledFileError(
            f"{where} was written by a newer pliable (schema version {version}; this pliable "
            f"reads version {SCHEMA_VERSION}). Upgrade pliable to load it."
        )
    try:
        parsed = CompiledFile.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()[:5]
        )
        raise CompiledFileError(f"{where} is not a valid compiled program: {problems}.") from exc
    if parsed.schema_version not in READABLE_VERSIONS:
        raise CompiledFileError(
            f"{where} has schema version {parsed.schema_version}; this pliable reads "
            f"{', '.join(map(str, READABLE_VERSIONS))}."
        )
    if parsed.schema_version == 1:  # a version 1 file with no adapter was measured with chat
        predictors = {
            name: p.model_copy(update={"adapter": p.adapter or "chat"})
            for name, p in parsed.predictors.items()
        }
        parsed = parsed.model_copy(update={"predictors": predictors})
    return parsed, where


def _resolve_adapter(
    name: str | None, where: str, config: dict[str, Any] | None = None
) -> Adapter | None:
    """Rebuild a predictor's adapter: ``cls.from_dict(config)`` when the file holds the
    adapter's settings, else ``cls()``."""
    if name is None:
        return None
    try:
        obj: Any = _ADAPTERS.get(name)
        if obj is None:
            module, _, qualname = name.partition(":")
            obj = importlib.import_module(module)
            for part in qualname.split("."):
                obj = getattr(obj, part)
        adapter: Adapter = obj.from_dict(config) if config is not None else obj()
    except Exception as exc:
        raise CompiledFileError(
            f"{where}: cannot rebuild the adapter {name!r} ({exc}). Make it importable, or "
            "load with the program's own adapter set."
        ) from exc
    return adapter


class _Built:
    """One predictor's validated state, ready to apply."""

    def __init__(self, name: str, state: PredictorState, where: str) -> None:
        self.name = name
        self.kind = state.kind
        label = f"{where}, predictor {name!r}"
        try:
            self.signature = Signature.from_dict(state.signature)
        except SignatureError as exc:
            raise CompiledFileError(f"{label}: bad signature: {exc}") from exc
        self.demos = [self._demo(i, d, label) for i, d in enumerate(state.demos)]
        self.adapter = _resolve_adapter(state.adapter, label, state.adapter_config)
        self.lm_settings = state.lm
        self.config = dict(state.config)

    def _demo(self, index: int, values: dict[str, Any], label: str) -> Example:
        typed: dict[str, Any] = {}
        for key, value in values.items():
            field = self.signature.fields.get(key)
            if field is None or field.annotation is str or field.annotation is Any:
                typed[key] = value  # text fields take any value; extra columns are kept
                continue
            try:
                typed[key] = coerce(field.annotation, value)
            except ValueError as exc:
                raise CompiledFileError(
                    f"{label}, demo {index}: field `{key}` = {value!r} is not a valid "
                    f"{field.type_name} ({exc})."
                ) from exc
        return Example(typed)

    def lm(self, override: LanguageModel | None) -> LanguageModel | None:
        if override is not None:
            return override
        s = self.lm_settings
        if s is None or not s.restorable:
            return None
        from pliable.lm.lm import LM

        return LM(s.model, **s.options)

    def apply(self, predictor: Predict, lm: LanguageModel | None, restore_lm: bool = True) -> None:
        predictor.signature = self.signature
        predictor.demos = list(self.demos)
        predictor.adapter = self.adapter
        predictor.config = dict(self.config)
        chosen = self.lm(lm) if restore_lm else lm
        if chosen is not None:
            predictor.lm = chosen

    def new_predictor(self, lm: LanguageModel | None, restore_lm: bool = True) -> Predict:
        cls = ChainOfThought if self.kind == "ChainOfThought" else Predict
        predictor = cls.__new__(cls)
        Predict.__init__(predictor, self.signature)
        predictor._initial_signature = self.signature
        self.apply(predictor, lm, restore_lm)
        return predictor


def _build_all(parsed: CompiledFile, where: str) -> dict[str, _Built]:
    return {name: _Built(name, state, where) for name, state in parsed.predictors.items()}


def read_predictors(
    source: str | os.PathLike[str] | Mapping[str, Any],
) -> tuple[CompiledFile, dict[str, Predict]]:
    """The validated file, and its predictors each rebuilt on its own from its state
    (signature, demos, adapter, config): without the program around them and without an LM."""
    parsed, where = _read(source)
    built = _build_all(parsed, where)
    return parsed, {name: b.new_predictor(None, restore_lm=False) for name, b in built.items()}


def load_into(
    program: Module,
    source: str | os.PathLike[str] | Mapping[str, Any],
    *,
    lm: LanguageModel | None = None,
) -> Module:
    """Fill ``program``'s predictors from a compiled file, by name. All or nothing."""
    parsed, where = _read(source)
    if parsed.soft_prompt is not None:
        raise CompiledFileError(
            f"{where} holds a soft prompt (an adapter for a local model): load it with pl.load."
        )
    built = _build_all(parsed, where)
    mine = dict(program.named_predictors())
    missing = sorted(set(mine) - set(built))
    extra = sorted(set(built) - set(mine))
    if missing or extra:
        raise CompiledFileError(
            f"{where} does not fit {type(program).__name__}: predictors in the program but not "
            f"the file: {missing or 'none'}; in the file but not the program: {extra or 'none'}. "
            "Load it into the program it was compiled from."
        )
    for name, predictor in mine.items():
        b = built[name]
        kind = "ChainOfThought" if isinstance(predictor, ChainOfThought) else "Predict"
        if kind != b.kind:
            raise CompiledFileError(
                f"{where}: predictor {name!r} is a {b.kind} in the file but a {kind} in "
                f"{type(program).__name__}."
            )
        if list(predictor.signature.fields) != list(b.signature.fields):
            raise CompiledFileError(
                f"{where}: predictor {name!r} has fields {list(b.signature.fields)} in the file "
                f"but {list(predictor.signature.fields)} in the program."
            )
    for name, predictor in mine.items():
        built[name].apply(predictor, lm)
    program.report = parsed.report
    return program


def load(
    source: str | os.PathLike[str] | Mapping[str, Any],
    *,
    lm: LanguageModel | None = None,
    embedder: Any = None,
    retriever: Any = None,
    tools: Any = None,
) -> Module:
    """Rebuild a program from its compiled file.

    Built-in programs come back from the file alone (``RAG`` and ``MultiHopQA`` reload their
    retriever from the folder it was saved to, unless ``retriever=`` is given; ``ReAct`` needs
    its ``tools=``, which are your code). A custom program's class is imported and built with
    no arguments; if that is not possible, use ``MyProgram(...).load(path)``. ``lm`` replaces
    the LM recorded in the file for every predictor; ``embedder`` is needed for a KNN program
    compiled with a custom embedder.
    """
    parsed, where = _read(source)
    if parsed.soft_prompt is not None:  # a soft prompt: the adapter and its base model
        from pliable.optimizers.soft.artifact import load_soft

        return load_soft(source)
    if parsed.knn is not None:
        from pliable.optimizers.knn import KNNProgram

        inner = load(parsed.model_dump(exclude={"knn"}), lm=lm)
        try:
            wrapped = KNNProgram.from_knn_state(inner, parsed.knn, embedder=embedder)
        except Exception as exc:
            raise CompiledFileError(f"{where}: cannot restore the KNN program: {exc}") from exc
        wrapped.report = parsed.report
        return wrapped
    if parsed.program in _COMPOSITES:
        return _load_composite(parsed, where, lm=lm, retriever=retriever, tools=tools)
    built = _build_all(parsed, where)
    if parsed.program in _BUILTIN_PROGRAMS:
        if set(built) != {"self"}:
            raise CompiledFileError(
                f"{where}: a {parsed.program} file has one predictor named 'self'; "
                f"found {sorted(built)}."
            )
        program: Module = built["self"].new_predictor(lm)
        program.report = parsed.report
        return program
    module_name, _, qualname = parsed.program.partition(":")
    try:
        obj: Any = importlib.import_module(module_name)
        for part in qualname.split("."):
            obj = getattr(obj, part)
        instance = obj()
    except Exception as exc:
        raise CompiledFileError(
            f"{where} holds a custom program {parsed.program!r} that cannot be built here "
            f"({exc}). Build it yourself and call .load(path) on it."
        ) from exc
    if not isinstance(instance, Module):
        raise CompiledFileError(f"{where}: {parsed.program!r} is not a pl.Module.")
    return load_into(instance, parsed.model_dump(), lm=lm)


def _load_composite(
    parsed: CompiledFile, where: str, *, lm: LanguageModel | None, retriever: Any, tools: Any
) -> Module:
    """Rebuild a built-in multi-step program from its config, then fill its predictors."""
    config = parsed.program_config
    if not isinstance(config, dict):
        raise CompiledFileError(
            f"{where}: a {parsed.program} file needs its 'program_config'; it has none."
        )
    cls = _composite(parsed.program)
    try:
        if parsed.program == "pliable.ReAct":
            if tools is None:
                names = [t.get("name") for t in config.get("tools", [])]
                raise UsageError(
                    f"this ReAct program calls the tools {names}, which are your code: pass "
                    "them as pl.load(path, tools=[...])."
                )
            program: Module = cls.from_config(config, tools=tools)
        else:
            program = cls.from_config(config, retriever=retriever)
    except Exception as exc:
        raise CompiledFileError(f"{where}: cannot rebuild the {parsed.program}: {exc}") from exc
    return load_into(program, parsed.model_dump(), lm=lm)
