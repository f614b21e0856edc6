"""``SoftPromptProgram``: a program whose predictor runs on a base model with a trained soft
prompt. What the soft-prompt optimizers return, and what ``load_soft`` gives back.

    compiled = PromptTuning(metric).compile(pl.Predict("text -> label"), trainset=train)
    compiled(text="...")            # the predictor's own prompt, sent to the soft-prompted model
    compiled.save("clf.json")       # clf.json + clf.adapter/ (PEFT's safetensors)
    compiled.program                # the program inside (its predictor's lm is the soft LM)

This module imports no torch: pliable can recognise a soft-prompt program without the extra.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pliable.errors import UsageError
from pliable.programs.module import Module, _Wrapper

if TYPE_CHECKING:
    from pliable.data.example import Prediction
    from pliable.optimizers.soft.lm import SoftPromptLM

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


class SoftPromptProgram(_Wrapper):
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

    def compile_state_key(self) -> str:
        """What besides the predictors' state decides the answers (for ``state_hash``)."""
        i = self.info
        return f"soft {i.method} base={i.base_sha256[:16]} adapter={i.adapter_sha256[:16]}"

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write ``path`` (the compiled JSON) and the adapter folder beside it; see
        :func:`pliable.optimizers.soft.artifact.save_soft`."""
        from pliable.optimizers.soft.artifact import save_soft

        return save_soft(self, path)

    def __repr__(self) -> str:
        inner = repr(self.program).replace("\n", "\n  ")
        return f"SoftPromptProgram({self.info.method}, base={self.info.base_model!r},\n  {inner}\n)"
