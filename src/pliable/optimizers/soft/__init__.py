"""Soft prompts: train a few virtual-token embeddings (or per-layer prefixes) on a local causal
LM, with Hugging Face PEFT, instead of, or on top of, a hard prompt.

    from pliable.optimizers.soft import PromptTuning

    tune = PromptTuning(metric, num_virtual_tokens=8, epochs=3)      # SmolLM2-135M by default
    compiled = tune.compile(pl.Predict("text -> label"), trainset=train, valset=dev)
    compiled.save("clf.json")                                        # + clf.adapter/
    clf = load_soft("clf.json")                                      # same answers

``PromptTuning``, ``PrefixTuning``, ``PTuning`` (MLP or LSTM prompt encoder) and
``MultitaskPromptTuning`` share the optimizers' interface (metric, trainset, valset, budget,
run_dir, report). They need the ``soft`` extra (torch, transformers, peft, gguf):
``pip install "pliable[soft]"``; importing this package does not import them.
"""

from typing import TYPE_CHECKING

from pliable._lazy import attach

if TYPE_CHECKING:
    from pliable.lm.soft_model import BaseModel, load_base_model
    from pliable.lm.soft_prompt import SoftPromptLM
    from pliable.optimizers.soft.base import SoftPromptOptimizer
    from pliable.optimizers.soft.multitask_prompt_tuning import MultitaskPromptTuning
    from pliable.optimizers.soft.p_tuning import PTuning
    from pliable.optimizers.soft.prefix_tuning import PrefixTuning
    from pliable.optimizers.soft.prompt_tuning import PromptTuning
    from pliable.programs.soft_prompt import SoftPromptInfo, SoftPromptProgram
    from pliable.programs.soft_prompt_files import load_soft, save_soft

__all__ = [
    "BaseModel",
    "MultitaskPromptTuning",
    "PTuning",
    "PrefixTuning",
    "PromptTuning",
    "SoftPromptInfo",
    "SoftPromptLM",
    "SoftPromptOptimizer",
    "SoftPromptProgram",
    "load_base_model",
    "load_soft",
    "save_soft",
]

_LAZY = {
    "BaseModel": "pliable.lm.soft_model",
    "MultitaskPromptTuning": "pliable.optimizers.soft.multitask_prompt_tuning",
    "PTuning": "pliable.optimizers.soft.p_tuning",
    "PrefixTuning": "pliable.optimizers.soft.prefix_tuning",
    "PromptTuning": "pliable.optimizers.soft.prompt_tuning",
    "SoftPromptInfo": "pliable.programs.soft_prompt",
    "SoftPromptLM": "pliable.lm.soft_prompt",
    "SoftPromptOptimizer": "pliable.optimizers.soft.base",
    "SoftPromptProgram": "pliable.programs.soft_prompt",
    "load_base_model": "pliable.lm.soft_model",
    "load_soft": "pliable.programs.soft_prompt_files",
    "save_soft": "pliable.programs.soft_prompt_files",
}

if not TYPE_CHECKING:
    __getattr__, __dir__ = attach(__name__, _LAZY)

del TYPE_CHECKING, attach
