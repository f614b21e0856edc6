"""One predictor's state as plain JSON, and reading it back: validated in full, applied later.

:func:`dump_predictor` is the only code that writes a predictor's state; saving, loading and
the resume hash all go through it (via ``Module.dump_state``). :func:`read_predictor` checks
a state (signature, demos against their fields' types, adapter, sampling options, the LM)
and returns a :class:`PredictorUpdate` that applies it, so a program can check every
predictor before changing any.

Nothing here imports or calls what a state names: types are rebuilt from their structure,
adapters are the built-in ones, and LM options are an allowlist of sampling options.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from pliable.adapters import ChatAdapter, JSONAdapter, TemplateAdapter
from pliable.adapters.values import coerce, to_jsonable
from pliable.compiled.io import validation_problems
from pliable.data.example import Example
from pliable.errors import CompiledFileError, PliableError
from pliable.lm.options import check_file_options, file_options
from pliable.signatures.signature import Signature

if TYPE_CHECKING:
    from pliable.adapters.base import Adapter
    from pliable.lm.types import LanguageModel
    from pliable.programs.predict import Predict

__all__ = [
    "BUILTIN_ADAPTERS",
    "PredictorUpdate",
    "adapter_name",
    "check_model_name",
    "dump_predictor",
    "read_predictor",
]

logger = logging.getLogger(__name__)

#: The adapters a compiled file may name; a custom adapter is named ``module:Class`` and
#: loads only into a predictor that already has it.
BUILTIN_ADAPTERS: dict[str, type[Adapter]] = {
    "chat": ChatAdapter,
    "json": JSONAdapter,
    "template": TemplateAdapter,
}
_MODEL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:@+\-]*(/[A-Za-z0-9._:@+\-]+)*$")
_MAX_DEMOS = 10_000


def adapter_name(adapter: Adapter | None) -> str | None:
    """The name a file gives ``adapter``: a built-in's short name, else ``module:Class``."""
    if adapter is None:
        return None
    for name, cls in BUILTIN_ADAPTERS.items():
        if type(adapter) is cls:
            return name
    return f"{type(adapter).__module__}:{type(adapter).__qualname__}"


def _options(options: Mapping[str, Any], where: str) -> dict[str, Any]:
    kept, dropped = file_options(options)
    if dropped:
        logger.warning(
            "%s: not saved, as a compiled file holds sampling options only: %s",
            where,
            ", ".join(dropped),
        )
    return {k: to_jsonable(v) for k, v in kept.items()}


def _lm_state(lm: LanguageModel | None, where: str) -> dict[str, Any] | None:
    if lm is None:
        return None
    from pliable.lm.lm import LM

    if isinstance(lm, LM):
        return {"model": lm.model, "options": _options(lm.defaults, where), "restorable": True}
    return {"model": str(getattr(lm, "model", type(lm).__name__)), "restorable": False}


def dump_predictor(predictor: Predict, name: str = "self") -> dict[str, Any]:
    """``predictor``'s state as plain JSON: kind, signature, demos, adapter, LM, options."""
    from pliable.programs.predict import ChainOfThought

    outputs = set(predictor.signature.output_fields)
    where = f"predictor {name!r}"
    state: dict[str, Any] = {
        "kind": "ChainOfThought" if isinstance(predictor, ChainOfThought) else "Predict",
        "signature": predictor.signature.to_dict(),
        "demos": [to_jsonable(dict(d)) for d in predictor.demos if outputs & set(d)],
        "adapter": adapter_name(predictor.adapter),
        "lm": _lm_state(predictor.lm, f"{where}: LM options"),
        "config": _options(predictor.config, f"{where}: config"),
    }
    to_dict = getattr(predictor.adapter, "to_dict", None)
    if type(predictor.adapter) in BUILTIN_ADAPTERS.values() and callable(to_dict):
        state["adapter_config"] = to_jsonable(to_dict())
    return state


def check_model_name(model: Any, where: str) -> str:
    """``model`` if a file may name it: a provider model name, or a packaged local model,
    never a path or an empty name."""
    if not isinstance(model, str) or not model.strip():
        raise CompiledFileError(
            f"{where} must be a model name such as 'openai/gpt-4o-mini' or 'local/smollm2'; "
            f"got {str(model)[:80]!r}. Pass lm=pl.LM(...) to pl.load to choose the model."
        )
    bad = (
        len(model) > 200
        or not _MODEL.match(model)
        or ".." in model
        or model.lower().endswith(".gguf")
    )
    if not bad and model.startswith("local/"):
        from pliable.lm.packaged import known_names

        bad = model not in known_names()
    if bad:
        raise CompiledFileError(
            f"{where} = {model[:120]!r} is not a model name a compiled file may give (a file "
            "names a provider's model or a packaged local model, never a path). Pass "
            "lm=pl.LM(...) to pl.load, or --model on the command line."
        )
    return model


class PredictorUpdate:
    """A predictor's state, checked in full and ready to apply (see :func:`read_predictor`)."""

    def __init__(
        self,
        kind: str,
        signature: type[Signature],
        demos: list[Example],
        adapter: Adapter | None,
        config: dict[str, Any],
        lm: LanguageModel | None,
    ) -> None:
        self.kind = kind
        self.signature = signature
        self.demos = demos
        self.adapter = adapter
        self.config = config
        self.lm = lm

    def apply(self, predictor: Predict) -> None:
        """Write the state into ``predictor`` (cannot fail: everything was checked)."""
        predictor.signature = self.signature
        predictor.demos = list(self.demos)
        predictor.adapter = self.adapter
        predictor.config = dict(self.config)
        if self.lm is not None:
            predictor.lm = self.lm

    def new_predictor(self) -> Predict:
        """A new ``Predict`` / ``ChainOfThought`` holding this state."""
        from pliable.programs.predict import ChainOfThought, Predict

        cls = ChainOfThought if self.kind == "ChainOfThought" else Predict
        predictor = cls.__new__(cls)
        Predict.__init__(predictor, self.signature)
        self.apply(predictor)
        return predictor


def _signature(raw: Any, where: str, current: Predict | None) -> type[Signature]:
    from pliable.errors import SignatureError

    types = None
    if current is not None:  # keep the program's own classes where the file has the same types
        types = {n: f.annotation for n, f in current.signature.fields.items()}
    try:
        return Signature.from_dict(raw, types=types)
    except SignatureError as exc:
        raise CompiledFileError(f"{where}: bad signature: {exc}") from exc


def _demo(index: int, values: Any, signature: type[Signature], where: str) -> Example:
    if not isinstance(values, Mapping):
        raise CompiledFileError(
            f"{where}, demo {index}: a demo is an object of field values; got "
            f"{type(values).__name__}."
        )
    typed: dict[str, Any] = {}
    for key, value in values.items():
        field = signature.fields.get(key)
        if field is None or field.annotation is str or field.annotation is Any:
            typed[key] = value  # text fields take any value; extra columns are kept
            continue
        try:
            typed[key] = coerce(field.annotation, value)
        except (ValueError, TypeError, PliableError) as exc:
            raise CompiledFileError(
                f"{where}, demo {index}: field `{key}` = {str(value)[:80]!r} is not a valid "
                f"{field.type_name} ({exc})."
            ) from exc
    return Example(typed)


def _adapter(name: Any, config: Any, where: str, current: Predict | None) -> Adapter | None:
    if name is None:
        return None
    if name in BUILTIN_ADAPTERS:
        cls = BUILTIN_ADAPTERS[name]
        try:
            if config is None:
                return cls()
            return cls.from_dict(config)  # type: ignore[attr-defined, no-any-return]
        except (PliableError, ValueError, TypeError, AttributeError) as exc:
            raise CompiledFileError(f"{where}: bad {name!r} adapter settings: {exc}") from exc
    if current is not None and adapter_name(current.adapter) == name:
        return current.adapter  # the program's own custom adapter, by the same name
    raise CompiledFileError(
        f"{where}: the adapter {str(name)[:120]!r} is not a built-in one "
        f"({', '.join(BUILTIN_ADAPTERS)}), and a compiled file never makes pliable import it. "
        "Load the file into a program whose predictor already has that adapter: "
        "MyProgram().load(path)."
    )


def _lm(
    raw: Any, where: str, override: LanguageModel | None, restore: bool = True
) -> LanguageModel | None:
    if raw is None:
        return override
    if not isinstance(raw, Mapping):
        raise CompiledFileError(f"{where}.lm must be an object; got {type(raw).__name__}.")
    model = check_model_name(raw.get("model"), f"{where}.lm.model")
    options = raw.get("options", {})
    problem = check_file_options(options, f"{where}.lm.options")
    if problem is not None:
        raise CompiledFileError(problem + ".")
    if override is not None or raw.get("restorable") is not True or not restore:
        return override
    from pliable.lm.lm import LM

    try:
        return LM(model, **options)
    except PliableError as exc:
        raise CompiledFileError(f"{where}.lm: cannot rebuild the LM {model!r}: {exc}") from exc


def read_predictor(
    state: Any,
    where: str,
    *,
    current: Predict | None = None,
    lm: LanguageModel | None = None,
    restore_lm: bool = True,
) -> PredictorUpdate:
    """Check one predictor's state (as written by :func:`dump_predictor`).

    ``current`` is the predictor it will be applied to, if any: its kind and fields must
    match, its custom adapter is kept when the file names the same one, and its field types
    are kept where the file's have the same structure. ``lm`` replaces the file's LM;
    ``restore_lm=False`` checks the file's LM settings but builds no LM (rendering).
    """
    from pydantic import ValidationError

    from pliable.compiled.schema import PredictorState

    try:
        parsed = PredictorState.model_validate(state)
    except ValidationError as exc:
        problems = validation_problems(exc)
        raise CompiledFileError(f"{where}: {problems}.") from exc
    if len(parsed.demos) > _MAX_DEMOS:
        raise CompiledFileError(f"{where}: {len(parsed.demos)} demos; at most {_MAX_DEMOS}.")
    signature = _signature(parsed.signature, where, current)
    if current is not None:
        from pliable.programs.predict import ChainOfThought

        kind = "ChainOfThought" if isinstance(current, ChainOfThought) else "Predict"
        if kind != parsed.kind:
            raise CompiledFileError(
                f"{where} is a {parsed.kind} in the file but a {kind} in the program."
            )
        if list(current.signature.fields) != list(signature.fields):
            raise CompiledFileError(
                f"{where} has fields {list(signature.fields)} in the file but "
                f"{list(current.signature.fields)} in the program. Load the file into the "
                "program it was compiled from."
            )
    demos = [_demo(i, d, signature, where) for i, d in enumerate(parsed.demos)]
    if parsed.adapter is None and parsed.adapter_config is not None:
        raise CompiledFileError(f"{where} has adapter settings but names no adapter.")
    adapter = _adapter(parsed.adapter, parsed.adapter_config, where, current)
    problem = check_file_options(parsed.config, f"{where}.config")
    if problem is not None:
        raise CompiledFileError(problem + ".")
    restored = _lm(parsed.lm.model_dump() if parsed.lm else None, where, lm, restore_lm)
    return PredictorUpdate(parsed.kind, signature, demos, adapter, dict(parsed.config), restored)
