"""A soft-prompt program on disk: the compiled JSON, and the adapter in PEFT's own format.

    save_soft(compiled, "clf.json")     # clf.json, and clf.adapter/ beside it
    clf = load_soft("clf.json")         # the same answers (base model checked by sha256)

``clf.adapter/`` is what PEFT's ``save_pretrained`` writes (``adapter_config.json`` and
``adapter_model.safetensors``), loadable with ``PeftModel.from_pretrained`` too. ``clf.json``
is the program's usual compiled file (``pliable.compiled.io.dump_program``: signature,
instructions, demos, report) with one more section, ``soft_prompt``::

    "soft_prompt": {
      "method": "prompt_tuning",           # or prefix_tuning, p_tuning, multitask_prompt_tuning
      "adapter_dir": "clf.adapter",        # relative to the JSON file's folder
      "adapter_sha256": "...",             # of the adapter's tensors (checked on load)
      "base_model": "local/smollm2",       # or the path of the GGUF file / model folder
      "base_sha256": "...",                # of the base model's files (checked on load)
      "base_files": ["SmolLM2-135M-Instruct.Q4_1.gguf"],
      "predictor": "self", "task_id": null, "max_tokens": 128,
      "peft_version": "...", "transformers_version": "...", "torch_version": "..."
    }

Loading refuses, with :class:`~pliable.compiled.CompiledFileError`, a base model whose files
differ from the ones the prompt was trained on, and adapter files that were changed.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pliable.compiled.io import CompiledFileError, _json_object, dump_program
from pliable.optimizers.soft import _deps
from pliable.optimizers.soft.program import SoftPromptInfo, SoftPromptProgram

if TYPE_CHECKING:
    from pliable.optimizers.soft.state import SoftPromptState

__all__ = ["load_soft", "save_soft"]

_PEFT_TYPES = {
    "prompt_tuning": "PROMPT_TUNING",
    "prefix_tuning": "PREFIX_TUNING",
    "p_tuning": "P_TUNING",
    "multitask_prompt_tuning": "MULTITASK_PROMPT_TUNING",
}


def save_soft(program: SoftPromptProgram, path: str | os.PathLike[str], report: Any = None) -> Path:
    """Write ``path`` (the compiled JSON) and ``<stem>.adapter/`` beside it. Returns ``path``."""
    if not isinstance(program, SoftPromptProgram):
        raise CompiledFileError(
            f"save_soft saves a SoftPromptProgram; got {type(program).__name__}. Use pl.save."
        )
    from pliable.optimizers.soft.lm import hushed
    from pliable.optimizers.soft.state import SoftPromptState

    target = Path(path)
    adapter = target.with_name(target.stem + ".adapter")
    tmp = target.with_name(adapter.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    with hushed():
        program.lm.network.save_pretrained(str(tmp), safe_serialization=True)
    shutil.rmtree(adapter, ignore_errors=True)
    tmp.replace(adapter)
    data = dump_program(program.program, report if report is not None else program.report)
    info, versions = program.info, _deps.versions()
    section = {
        "method": info.method,
        "adapter_dir": adapter.name,
        "adapter_sha256": info.adapter_sha256,
        "base_model": info.base_model,
        "base_sha256": info.base_sha256,
        "base_files": list(info.base_files),
        "predictor": info.predictor,
        "task_id": info.task_id,
        "max_tokens": program.lm.max_tokens,
        "peft_version": versions["peft"],
        "transformers_version": versions["transformers"],
        "torch_version": versions["torch"],
    }
    data["soft_prompt"] = SoftPromptState.model_validate(section).model_dump()
    text = json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    tmp_file = target.with_name(target.name + ".tmp")
    tmp_file.write_text(text, "utf-8")
    tmp_file.replace(target)
    return target


def _read(source: str | os.PathLike[str] | Mapping[str, Any]) -> tuple[dict[str, Any], str, Path]:
    if isinstance(source, Mapping):
        return dict(source), "compiled data", Path.cwd()
    return _json_object(source), str(source), Path(source).resolve().parent


def load_soft(
    source: str | os.PathLike[str] | Mapping[str, Any],
    *,
    base_model: str | os.PathLike[str] | None = None,
) -> SoftPromptProgram:
    """Rebuild a soft-prompt program saved by :func:`save_soft`.

    ``base_model`` loads the base model from elsewhere (its files must still have the
    recorded sha256); by default it is the one recorded in the file.
    """
    raw, where, root = _read(source)
    if not isinstance(raw.get("soft_prompt"), Mapping):
        raise CompiledFileError(
            f"{where} has no 'soft_prompt' section: it is not a soft-prompt program. Use pl.load."
        )
    from pydantic import ValidationError

    from pliable.optimizers.soft.state import SoftPromptState

    try:
        state = SoftPromptState.model_validate(raw["soft_prompt"])
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()[:5]
        )
        raise CompiledFileError(f"{where}: bad 'soft_prompt' section: {problems}.") from exc
    from pliable.compiled.io import load

    inner = load({k: v for k, v in raw.items() if k != "soft_prompt"})
    folder = Path(state.adapter_dir)
    folder = folder if folder.is_absolute() else root / folder
    _check_adapter(folder, state, where)
    from pliable.optimizers.soft.base import adapter_sha256
    from pliable.optimizers.soft.lm import SoftPromptLM, hushed
    from pliable.optimizers.soft.model import load_base_model

    base = load_base_model(base_model if base_model is not None else state.base_model)
    if base.sha256 != state.base_sha256:
        raise CompiledFileError(
            f"{where}: the soft prompt was trained on the base model {state.base_model!r} with "
            f"sha256 {state.base_sha256}, but {base.spec!r} has sha256 {base.sha256} (files "
            f"{base.file_names}). A soft prompt only works on its own base model: load it "
            "with load_soft(path, base_model=...) pointing at the original files."
        )
    with hushed():
        network = _deps.peft().PeftModel.from_pretrained(
            base.model, str(folder), is_trainable=False
        )
    network.eval()
    digest = adapter_sha256(network)
    if digest != state.adapter_sha256:
        raise CompiledFileError(
            f"{where}: the adapter in {folder} is not the one saved with this file (its "
            f"tensors have sha256 {digest}, the file records {state.adapter_sha256}). Save "
            "the program again."
        )
    lm = SoftPromptLM(
        network,
        base.tokenizer,
        name=f"soft/{state.method}:{base.spec}",
        max_tokens=state.max_tokens,
        task_id=state.task_id,
    )
    info = SoftPromptInfo(
        state.method,
        base.spec,
        base.sha256,
        tuple(base.file_names),
        state.predictor,
        digest,
        state.task_id,
    )
    program = SoftPromptProgram(inner, lm, info)
    program.report = raw.get("report")
    return program


def _check_adapter(folder: Path, state: SoftPromptState, where: str) -> None:
    config = folder / "adapter_config.json"
    if not config.is_file() or not (folder / "adapter_model.safetensors").is_file():
        raise CompiledFileError(
            f"{where}: the adapter folder {folder} is missing or incomplete (it needs "
            "adapter_config.json and adapter_model.safetensors). Keep it beside the JSON file."
        )
    try:
        peft_type = json.loads(config.read_text("utf-8")).get("peft_type")
    except ValueError as exc:
        raise CompiledFileError(f"{where}: {config} is not valid JSON ({exc}).") from exc
    if peft_type != _PEFT_TYPES[state.method]:
        raise CompiledFileError(
            f"{where}: the adapter in {folder} is a {peft_type}, but the file says {state.method}."
        )
