"""A soft-prompt program on disk: the compiled JSON, and the adapter in PEFT's own format.

    save_soft(compiled, "clf.json")     # clf.json, and clf.adapter/ beside it (or compiled.save)
    clf = load_soft("clf.json")         # the same answers (base model checked by sha256)

``clf.adapter/`` is what PEFT's ``save_pretrained`` writes (``adapter_config.json`` and
``adapter_model.safetensors``), loadable with ``PeftModel.from_pretrained`` too. ``clf.json``
is the program's usual compiled file (kind ``pliable.SoftPromptProgram``: signature,
instructions, demos, report) with one more section, ``soft_prompt``::

    "soft_prompt": {
      "program": "pliable.Predict",        # the wrapped program's kind
      "method": "prompt_tuning",           # or prefix_tuning, p_tuning, multitask_prompt_tuning
      "adapter_dir": "clf.adapter",        # beside the JSON file (a plain folder name)
      "adapter_sha256": "...",             # of the adapter's tensors (checked on load)
      "base_model": "local/smollm2",       # a packaged local model, or where it was loaded from
      "base_sha256": "...",                # of the base model's files (checked on load)
      "base_files": ["SmolLM2-135M-Instruct.Q4_1.gguf"],
      "predictor": "self", "task_id": null, "max_tokens": 128,
      "peft_version": "...", "transformers_version": "...", "torch_version": "..."
    }

Loading reads the adapter only from the folder beside the JSON file, and the base model only
from a packaged local model name: a base model trained from a path is loaded when you pass
``base_model=`` (a file never chooses a path to read). It refuses, with
:class:`~pliable.errors.CompiledFileError`, a base model whose files differ from the ones the
prompt was trained on, and adapter files that were changed.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pliable.compiled.io import validation_problems
from pliable.errors import CompiledFileError

if TYPE_CHECKING:
    from pliable.programs.soft_prompt import SoftPromptProgram
    from pliable.programs.soft_prompt_state import SoftPromptState

__all__ = ["load_soft", "read_section", "restore", "save_soft"]

_PEFT_TYPES = {
    "prompt_tuning": "PROMPT_TUNING",
    "prefix_tuning": "PREFIX_TUNING",
    "p_tuning": "P_TUNING",
    "multitask_prompt_tuning": "MULTITASK_PROMPT_TUNING",
}
_FOLDER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._\-]*$")


def save_soft(program: SoftPromptProgram, path: str | os.PathLike[str], report: Any = None) -> Path:
    """Write ``path`` (the compiled JSON) and ``<stem>.adapter/`` beside it. Returns ``path``."""
    from pliable.compiled.io import dump_program, write_json
    from pliable.lm import torch_deps
    from pliable.lm.soft_prompt import hushed
    from pliable.programs.soft_prompt import SoftPromptProgram

    if not isinstance(program, SoftPromptProgram):
        raise CompiledFileError(
            f"save_soft saves a SoftPromptProgram; got {type(program).__name__}. Use pl.save."
        )
    target = Path(path)
    adapter = target.with_name(target.stem + ".adapter")
    tmp = target.with_name(adapter.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    with hushed():
        program.lm.network.save_pretrained(str(tmp), safe_serialization=True)
    shutil.rmtree(adapter, ignore_errors=True)
    tmp.replace(adapter)
    data = dump_program(program, report)
    versions = torch_deps.versions()
    data["soft_prompt"].update(
        adapter_dir=adapter.name,
        peft_version=versions["peft"],
        transformers_version=versions["transformers"],
        torch_version=versions["torch"],
    )
    return write_json(target, data)


def read_section(raw: Any) -> SoftPromptState:
    """The validated ``soft_prompt`` section (without its ``program`` key)."""
    from pydantic import ValidationError

    from pliable.programs.soft_prompt_state import SoftPromptState

    if not isinstance(raw, Mapping):
        raise CompiledFileError("it has no 'soft_prompt' object: it is not a soft-prompt program.")
    try:
        return SoftPromptState.model_validate({k: v for k, v in raw.items() if k != "program"})
    except ValidationError as exc:
        problems = validation_problems(exc)
        raise CompiledFileError(f"bad 'soft_prompt' section: {problems}.") from exc


def restore(
    inner: Any,
    state: SoftPromptState,
    *,
    root: Path | None,
    base_model: str | os.PathLike[str] | None,
) -> SoftPromptProgram:
    """Wrap ``inner`` (its predictors loaded) with the soft prompt ``state`` describes: the
    adapter from ``root / adapter_dir``, on the recorded base model (or ``base_model``)."""
    from pliable.lm.packaged import known_names

    if not _FOLDER.match(state.adapter_dir) or ".." in state.adapter_dir:
        raise CompiledFileError(
            f"soft_prompt.adapter_dir = {state.adapter_dir[:80]!r} must be a folder name beside "
            "the JSON file, not a path."
        )
    if root is None:
        raise CompiledFileError(
            "a soft prompt's adapter is a folder beside its JSON file: load it from the file's "
            "path, not from its content."
        )
    if base_model is None and state.base_model not in known_names():
        raise CompiledFileError(
            f"the soft prompt was trained on {state.base_model[:120]!r}, which is not a "
            "packaged local model; a compiled file never chooses a path to load. Pass it: "
            "pl.load(path, base_model=...)."
        )
    folder = root / state.adapter_dir
    _check_adapter(folder, state)
    from pliable.lm import torch_deps
    from pliable.lm.soft_model import load_base_model
    from pliable.lm.soft_prompt import SoftPromptLM, adapter_sha256, hushed
    from pliable.programs.soft_prompt import SoftPromptInfo, SoftPromptProgram

    base = load_base_model(base_model if base_model is not None else state.base_model)
    if base.sha256 != state.base_sha256:
        raise CompiledFileError(
            f"the soft prompt was trained on the base model {state.base_model!r} with "
            f"sha256 {state.base_sha256}, but {base.spec!r} has sha256 {base.sha256} (files "
            f"{base.file_names}). A soft prompt only works on its own base model: load it "
            "with base_model=... pointing at the original files."
        )
    with hushed():
        network = torch_deps.peft().PeftModel.from_pretrained(
            base.model, str(folder), is_trainable=False
        )
    network.eval()
    digest = adapter_sha256(network)
    if digest != state.adapter_sha256:
        raise CompiledFileError(
            f"the adapter in {folder} is not the one saved with this file (its tensors have "
            f"sha256 {digest}, the file records {state.adapter_sha256}). Save the program again."
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
    return SoftPromptProgram(inner, lm, info)


def load_soft(
    source: str | os.PathLike[str],
    *,
    base_model: str | os.PathLike[str] | None = None,
) -> SoftPromptProgram:
    """Rebuild a soft-prompt program saved by :func:`save_soft` (``pl.load`` does the same).

    ``base_model`` loads the base model from elsewhere (its files must still have the
    recorded sha256); by default it is the packaged local model the file records.
    """
    from pliable.compiled.io import load
    from pliable.programs.soft_prompt import SoftPromptProgram

    if isinstance(source, Mapping):
        raise CompiledFileError(
            "load_soft reads a file: a soft prompt's adapter is a folder beside its JSON."
        )
    program = load(source, program=SoftPromptProgram, base_model=base_model)
    assert isinstance(program, SoftPromptProgram)
    return program


def _check_adapter(folder: Path, state: SoftPromptState) -> None:
    config = folder / "adapter_config.json"
    if not config.is_file() or not (folder / "adapter_model.safetensors").is_file():
        raise CompiledFileError(
            f"the adapter folder {folder} is missing or incomplete (it needs "
            "adapter_config.json and adapter_model.safetensors). Keep it beside the JSON file."
        )
    try:
        peft_type = json.loads(config.read_text("utf-8")).get("peft_type")
    except (ValueError, AttributeError) as exc:
        raise CompiledFileError(f"{config} is not a valid adapter config ({exc}).") from exc
    if peft_type != _PEFT_TYPES[state.method]:
        raise CompiledFileError(
            f"the adapter in {folder} is a {peft_type}, but the file says {state.method}."
        )
