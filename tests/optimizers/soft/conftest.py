"""Fixtures for the soft-prompt tests: a tiny causal LM built offline, saved as a local Hugging
Face model folder (a byte-level BPE tokenizer trained on the prompts' words, with a ChatML
chat template, and a randomly initialised 2-layer Llama with hidden size 32).

The weights start at a larger scale than usual (``initializer_range=0.2``) so that a soft
prompt visibly moves the model's outputs: with the default 0.02 the logits are nearly
uniform whatever the prompt, and the loss cannot fall.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # before transformers is imported

CHATML = (
    "{% for m in messages %}{{ '<|im_start|>' + m['role'] + '\n' + m['content'] + "
    "'<|im_end|>\n' }}{% endfor %}{% if add_generation_prompt %}"
    "{{ '<|im_start|>assistant\n' }}{% endif %}"
)
CORPUS = [
    "Given `text`, produce `label`. Given `question`, produce `answer`.",
    "Outputs, each on the lines after its marker, in this order:",
    "[[text]] [[label]] [[question]] [[answer]] Reply with [[label]] followed by your label on",
    "the next line. Reply with [[answer]] followed by your answer on the next line.",
    "the movie was good bad great awful fine poor nice dull positive negative",
    "what is one two three four five six yes no",
]


def build_tiny_model(folder: Path, *, seed: int = 0) -> Path:
    """Write a tiny tokenizer and Llama model to ``folder`` (a few hundred KB, < 1 s)."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    bpe = Tokenizer(models.BPE(unk_token=None))
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=600,
        special_tokens=["<pad>", "<|im_start|>", "<|im_end|>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    bpe.train_from_iterator(CORPUS * 5, trainer)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=bpe, eos_token="<|im_end|>", pad_token="<pad>"
    )
    tokenizer.chat_template = CHATML
    tokenizer.save_pretrained(folder)
    torch.manual_seed(seed)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=1024,
        tie_word_embeddings=True,
        initializer_range=0.2,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=None,
    )
    LlamaForCausalLM(config).save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_model(tmp_path_factory.mktemp("tiny-llama"))


@pytest.fixture(scope="session")
def other_tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same architecture and tokenizer, other weights."""
    return build_tiny_model(tmp_path_factory.mktemp("tiny-llama-other"), seed=1)


@pytest.fixture(autouse=True, scope="module")
def _one_torch_thread() -> Iterator[None]:
    """Tiny models run fastest on one thread, and a busy 2-core machine makes torch's thread
    pool crawl; restore the setting afterwards."""
    try:
        import torch
    except ImportError:
        yield
        return
    before: Any = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
