"""``SoftPromptProgram``: a program whose predictor runs on a base model with a trained soft
prompt. What the soft-prompt optimizers return, and what ``pl.load`` gives back.

    compiled = PromptTuning(metric).compile(pl.Predict("text -> label"), trainset=train)
    compiled(text="...")            # the predictor's own prompt, sent to the soft-prompted model
    compiled.save("clf.json")       # clf.json + clf.adapter/ (PEFT's safetensors)
    compiled.program                # the program inside (its predictor's lm is the soft LM)

This module imports no torch: pliable can recognise a soft-prompt program without the extra.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pliable.compiled.kinds import register_program_kind
from pliable.errors import CompiledFileError, UsageError
from pliable.programs.module import Module, Wrapper

if TYPE_CHECKING:
    from pliable.data.example import Prediction
    from pliable.lm.soft_prompt import SoftPromptLM

__all__ = ["METHODS", "SoftPromptInfo", "SoftPromptProgram"]

#: The soft-prompt methods, by the name saved in artifacts.
METHODS = ("prompt_tuning", "prefix_tuning", "p_tuning", "multitask_prompt_tuning")


@dataclass(frozen=True)
class SoftPromptInfo:
    """What identifies a trained soft prompt: its method, base model and weights."""

    method: str
    base_model: str  # "local/smollm2", or the path the base model was loaded from
    base_sha256: str
    base_files: tuple[str, ...]
    predictor: str  # the predictor that runs with the soft prompt
    adapter_sha256: str  # of the trained tensors
    task_id: int | None = None  # multitask prompt tuning: the task whose prompt is used


class SoftPromptProgram(Wrapper):
    """``program`` with its one predictor answering through ``lm`` (a :class:`SoftPromptLM`).

    Calls go to ``program``; its predictors are this program's predictors (by the same
    names), so evaluation, traces and saving see the program's own prompt.
    """

    def __init__(self, program: Module, lm: SoftPromptLM, info: SoftPromptInfo) -> None:
        if isinstance(program, SoftPromptProgram):
            raise UsageError("SoftPromptProgram: the program already has a soft prompt.")
        if info.method not in METHODS:
            raise UsageError(
                f"SoftPromptProgram: unknown method {info.method!r}; one of {METHODS}."
            )
        named = dict(program.named_predictors())
        if info.predictor not in named:
            raise UsageError(
                f"SoftPromptProgram: no predictor {info.predictor!r} in "
                f"{type(program).__name__} (it has {sorted(named)})."
            )
        named[info.predictor].lm = lm
        self.program = program
        self.lm = lm
        self.info = info
        self.report = getattr(program, "report", None)

    def forward(self, *args: Any, **kwargs: Any) -> Prediction:
        return self.program(*args, **kwargs)

    # --- compiled state: the predictors' own, plus the soft prompt's identity ---
    def extra_state(self) -> dict[str, Any]:
        from pliable.compiled.kinds import kind_name

        inner, i = self.program, self.info
        section = {
            "program": kind_name(inner) or f"{type(inner).__module__}:{type(inner).__qualname__}",
            "method": i.method,
            "adapter_sha256": i.adapter_sha256,
            "base_model": i.base_model,
            "base_sha256": i.base_sha256,
            "base_files": list(i.base_files),
            "predictor": i.predictor,
            "task_id": i.task_id,
            "max_tokens": self.lm.max_tokens,
        }
        return {**inner.extra_state(), "soft_prompt": section}

    def prepare_extra_state(
        self, state: Mapping[str, Any], *, lm: Any = None, **context: Any
    ) -> Callable[[], None]:
        raise CompiledFileError(
            "a soft-prompt program is loaded whole, with its adapter: pl.load(path)."
        )

    @classmethod
    def from_state(
        cls, state: Mapping[str, Any], /, *, lm: Any = None, **context: Any
    ) -> SoftPromptProgram:
        """Rebuild from a compiled file: the wrapped program (a registered kind, named in
        the ``soft_prompt`` section), its adapter from the folder beside the file (``root``),
        on the recorded packaged base model or ``base_model=``."""
        from pliable.compiled.kinds import program_kind
        from pliable.programs.soft_prompt_files import read_section, restore

        raw = state.get("soft_prompt") if isinstance(state, Mapping) else None
        section = read_section(raw)
        assert isinstance(raw, Mapping)
        name = raw.get("program")
        inner_cls = program_kind(name) if isinstance(name, str) else None
        if inner_cls is None or issubclass(inner_cls, Wrapper):
            raise CompiledFileError(
                f"soft_prompt.program is {str(name)[:80]!r}, which is not a registered program "
                "kind. Register it with pl.register_program_kind(name, cls)."
            )
        inner = inner_cls.from_state(
            {k: v for k, v in state.items() if k != "soft_prompt"}, lm=lm, **context
        )
        return restore(
            inner, section, root=context.get("root"), base_model=context.get("base_model")
        )

    def save_files(self, path: str | os.PathLike[str], report: Any = None) -> Path:
        """Write ``path`` (the compiled JSON) and the adapter folder beside it; see
        :func:`pliable.programs.soft_prompt_files.save_soft`."""
        from pliable.programs.soft_prompt_files import save_soft

        return save_soft(self, path, report=report)

    def __repr__(self) -> str:
        inner = repr(self.program).replace("\n", "\n  ")
        return f"SoftPromptProgram({self.info.method}, base={self.info.base_model!r},\n  {inner}\n)"


register_program_kind("pliable.SoftPromptProgram", SoftPromptProgram)
