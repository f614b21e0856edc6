"""``PrefixTuning``: per-layer key/value prefixes,
with Hugging Face PEFT on a local causal LM (SmolLM2-135M-Instruct by
default, dequantized from its GGUF).

    tune = PrefixTuning(metric, num_virtual_tokens=8, epochs=3)
    compiled = tune.compile(pl.Predict("text -> label"), trainset=train, valset=dev,
                            budget=pl.Budget(seconds=600), run_dir="runs/soft")
    compiled.save("clf.json")              # clf.json + clf.adapter/ (PEFT, safetensors)

How compiling works, and the arguments the soft-prompt optimizers share:
:mod:`pliable.optimizers.soft.base`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pliable.lm import torch_deps as _deps
from pliable.lm.soft_model import BaseModel
from pliable.optimizers.soft.base import SoftPromptOptimizer, check_int

__all__ = ["PrefixTuning"]


class PrefixTuning(SoftPromptOptimizer):
    """Prefix tuning (Li & Liang, 2021): trained keys and values for ``num_virtual_tokens``
    positions in every layer. ``prefix_projection=True`` reparametrises them through an MLP
    of ``encoder_hidden_size``. See :class:`SoftPromptOptimizer` for the other arguments."""

    method = "prefix_tuning"
    default_lr = 1e-2

    def __init__(
        self,
        metric: Callable[..., Any] | None = None,
        *,
        prefix_projection: bool = False,
        encoder_hidden_size: int = 128,
        **kw: Any,
    ) -> None:
        super().__init__(metric, **kw)
        check_int("encoder_hidden_size", encoder_hidden_size)
        self.prefix_projection = bool(prefix_projection)
        self.encoder_hidden_size = encoder_hidden_size

    def _peft_config(self, base: BaseModel) -> Any:
        peft = _deps.peft()
        return peft.PrefixTuningConfig(
            task_type="CAUSAL_LM",
            num_virtual_tokens=self.num_virtual_tokens,
            prefix_projection=self.prefix_projection,
            encoder_hidden_size=self.encoder_hidden_size,
        )
