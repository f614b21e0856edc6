"""``PromptTuning``: virtual token embeddings learned in front of the prompt,
with Hugging Face PEFT on a local causal LM (SmolLM2-135M-Instruct by
default, dequantized from its GGUF).

    tune = PromptTuning(metric, num_virtual_tokens=8, epochs=3)
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
from pliable.optimizers.soft.base import SoftPromptOptimizer

__all__ = ["PromptTuning", "init_prompt"]


class PromptTuning(SoftPromptOptimizer):
    """Prompt tuning (Lester et al., 2021): ``num_virtual_tokens`` trained embeddings before
    the prompt. ``init_text`` starts them from that text's token embeddings (repeated or cut
    to length); without it they start from the embeddings of vocabulary tokens drawn at
    random (with ``seed``). See :class:`SoftPromptOptimizer` for the other arguments."""

    method = "prompt_tuning"
    default_lr = 1e-2

    def __init__(
        self, metric: Callable[..., Any] | None = None, *, init_text: str | None = None, **kw: Any
    ) -> None:
        super().__init__(metric, **kw)
        if init_text is not None and (not isinstance(init_text, str) or not init_text.strip()):
            raise UsageError(f"init_text must be a non-empty string or None; got {init_text!r}.")
        self.init_text = init_text

    def _peft_config(self, base: BaseModel) -> Any:
        peft = _deps.peft()
        return peft.PromptTuningConfig(
            task_type="CAUSAL_LM", num_virtual_tokens=self.num_virtual_tokens
        )

    def _init_prompt(self, network: Any, base: BaseModel) -> None:
        init_prompt(network, base, self.init_text, self.num_virtual_tokens, self.seed)


def init_prompt(network: Any, base: BaseModel, text: str | None, length: int, seed: int) -> None:
    """Start a prompt-tuning embedding from token embeddings: those of ``text`` (repeated or
    cut to ``length``), or, with no text, of ``length`` vocabulary tokens drawn at random
    with ``seed``. Either way the prompt starts at the scale of real word embeddings (PEFT's
    random initialisation is N(0, 1), far larger, and trains poorly)."""
    torch = _deps.torch()
    words = base.model.get_input_embeddings().weight
    if text is not None:
        ids = list(base.tokenizer(text, add_special_tokens=False)["input_ids"])
        if not ids:
            raise UsageError(f"init_text {text!r} has no tokens.")
        ids = (ids * (length // len(ids) + 1))[:length]
        chosen = torch.tensor(ids)
    else:
        special = set(base.tokenizer.all_special_ids)
        generator = torch.Generator().manual_seed(seed)
        pool = torch.tensor([i for i in range(words.shape[0]) if i not in special])
        chosen = pool[torch.randint(len(pool), (length,), generator=generator)]
    embedding = network.prompt_encoder["default"].embedding
    with torch.no_grad():
        embedding.weight.copy_(words[chosen].detach().clone())
