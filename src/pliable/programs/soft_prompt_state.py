"""``SoftPromptState``: the ``soft_prompt`` section of a compiled file, validated (see
:mod:`pliable.programs.soft_prompt_files`). Its own module so that pydantic is imported only
when a soft prompt is saved or loaded."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

__all__ = ["SoftPromptState"]


class SoftPromptState(BaseModel):
    """The ``soft_prompt`` section of a compiled file."""

    model_config = ConfigDict(extra="forbid")

    method: Literal["prompt_tuning", "prefix_tuning", "p_tuning", "multitask_prompt_tuning"]
    adapter_dir: str
    adapter_sha256: str
    base_model: str
    base_sha256: str
    base_files: list[str] = []
    predictor: str = "self"
    task_id: int | None = None
    max_tokens: int = 128
    peft_version: str | None = None
    transformers_version: str | None = None
    torch_version: str | None = None
