"""``PTuning``: virtual tokens produced by a prompt encoder (MLP or LSTM),
with Hugging Face PEFT on a local causal LM (SmolLM2-135M-Instruct by
default, dequantized from its GGUF).

    tune = PTuning(metric, num_virtual_tokens=8, epochs=3)
    compiled = tune.compile(pl.Predict("text -> label"), trainset=train, valset=dev,
                            budget=pl.Budget(seconds=600), run_dir="runs/soft")
    compiled.save("clf.json")              # clf.json + clf.adapter/ (PEFT, safetensors)

How compiling works, and the arguments the soft-prompt optimizers share:
:mod:`pliable.optimizers.soft.base`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pliable.errors import UsageError
from pliable.lm import torch_deps as _deps
from pliable.lm.soft_model import BaseModel
from pliable.optimizers.soft.base import SoftPromptOptimizer, check_int

__all__ = ["PTuning"]


class PTuning(SoftPromptOptimizer):
    """P-tuning (Liu et al., 2021): virtual token embeddings produced by a prompt encoder,
    ``encoder="mlp"`` or ``"lstm"`` (a bidirectional LSTM then an MLP), of
    ``encoder_hidden_size``. See :class:`SoftPromptOptimizer` for the other arguments."""

    method = "p_tuning"
    default_lr = 1e-2

    def __init__(
        self,
        metric: Callable[..., Any] | None = None,
        *,
        encoder: str = "mlp",
        encoder_hidden_size: int = 128,
        **kw: Any,
    ) -> None:
        super().__init__(metric, **kw)
        if encoder not in ("mlp", "lstm"):
            raise UsageError(f"PTuning(encoder=...) is 'mlp' or 'lstm'; got {encoder!r}.")
        check_int("encoder_hidden_size", encoder_hidden_size)
        self.encoder = encoder
        self.encoder_hidden_size = encoder_hidden_size

    def _peft_config(self, base: BaseModel) -> Any:
        peft = _deps.peft()
        return peft.PromptEncoderConfig(
            task_type="CAUSAL_LM",
            num_virtual_tokens=self.num_virtual_tokens,
            encoder_reparameterization_type=self.encoder.upper(),
            encoder_hidden_size=self.encoder_hidden_size,
            encoder_dropout=0.0,
        )
