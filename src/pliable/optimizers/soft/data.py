"""Training data for soft prompts: one predictor's prompt and its expected reply, as tokens.

For each example the prompt is exactly what the predictor sends for the example's inputs
(``predictor.messages(...)``: instructions, demos, inputs, in the adapter's format), rendered
with the tokenizer's chat template and its generation prompt. The target is the reply the
adapter expects to parse (``adapter.format_outputs``: for the chat adapter the bare value of
a lone output, ``[[name]]\\nvalue`` sections for several) followed by the chat template's end of
turn, so that the model learns to stop. The loss is taken on the target tokens only.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pliable.data.example import Example
from pliable.errors import UsageError
from pliable.lm.soft_prompt import chat_text
from pliable.lm.types import Message
from pliable.programs.module import Module
from pliable.programs.predict import Predict

__all__ = [
    "IGNORE",
    "Encoded",
    "batches",
    "check_outputs",
    "collate",
    "encode",
    "encode_all",
    "single_predictor",
]

IGNORE = -100  # the label of a token that takes no loss


@dataclass(frozen=True)
class Encoded:
    """One training example: token ids, labels (IGNORE on the prompt) and its task."""

    input_ids: tuple[int, ...]
    labels: tuple[int, ...]
    task_id: int = 0
    truncated: bool = False


def single_predictor(program: Module, who: str) -> tuple[str, Predict]:
    """The one predictor of ``program``; a UsageError for a program with several or none."""
    named = program.named_predictors()
    if len(named) != 1:
        raise UsageError(
            f"{who} trains a soft prompt for one predictor; {type(program).__name__} has "
            f"{len(named)} ({', '.join(n for n, _ in named) or 'none'}). Compile a program with "
            "a single Predict (or a module holding one), e.g. pl.Predict('question -> answer')."
        )
    return named[0]


def check_outputs(predictor: Predict, examples: Sequence[Example], where: str) -> None:
    """A UsageError unless every example holds every output of ``predictor``."""
    signature = predictor.signature
    for i, example in enumerate(examples):
        missing = [n for n in signature.output_fields if n not in example]
        if missing:
            raise UsageError(
                f"{where}[{i}] = {dict(example)!r} lacks the output(s) {missing} of "
                f"{signature.signature_string()!r}. A soft prompt is trained on complete "
                "replies: give every output (a ChainOfThought needs its 'reasoning'; use "
                "pl.Predict)."
            )


def _reply_text(tokenizer: Any, messages: list[Message], reply: str) -> str:
    """The reply as the chat template writes it after the generation prompt (with the end of
    turn; trailing whitespace after it is dropped, since generation stops before it)."""
    prompt = chat_text(tokenizer, messages, generation_prompt=True)
    full = chat_text(
        tokenizer, [*messages, {"role": "assistant", "content": reply}], generation_prompt=False
    )
    if full.startswith(prompt) and reply in full[len(prompt) :]:
        return full[len(prompt) :].rstrip()
    eos = tokenizer.eos_token or ""
    return reply + eos  # a template that rewrites earlier turns: the reply and end of text


def encode(
    predictor: Predict,
    example: Example,
    tokenizer: Any,
    *,
    max_length: int,
    task_id: int = 0,
    where: str = "trainset",
) -> Encoded:
    """The prompt and target tokens of ``example`` (which holds every output) for
    ``predictor``."""
    signature = predictor.signature
    inputs = {k: example[k] for k in signature.input_fields if k in example}
    messages = predictor.messages(**inputs)
    adapter = predictor.resolved_adapter()
    reply = adapter.format_outputs(signature, {k: example[k] for k in signature.output_fields})
    prompt = chat_text(tokenizer, messages, generation_prompt=True)
    prompt_ids = list(tokenizer(prompt, add_special_tokens=False)["input_ids"])
    reply_text = _reply_text(tokenizer, messages, reply)
    target_ids = list(tokenizer(reply_text, add_special_tokens=False)["input_ids"])
    truncated = False
    room = max_length - len(target_ids)
    if room < 1:
        raise UsageError(
            f"{where}: the reply alone is {len(target_ids)} tokens, more than "
            f"max_length={max_length}. Raise max_length."
        )
    if len(prompt_ids) > room:  # keep the end of the prompt: the inputs and the question
        prompt_ids, truncated = prompt_ids[-room:], True
    return Encoded(
        tuple(prompt_ids + target_ids),
        tuple([IGNORE] * len(prompt_ids) + target_ids),
        task_id,
        truncated,
    )


def encode_all(
    predictor: Predict,
    examples: Sequence[Example],
    tokenizer: Any,
    *,
    max_length: int,
    task_id: int = 0,
    where: str = "trainset",
) -> list[Encoded]:
    check_outputs(predictor, examples, where)
    return [
        encode(
            predictor, ex, tokenizer, max_length=max_length, task_id=task_id, where=f"{where}[{i}]"
        )
        for i, ex in enumerate(examples)
    ]


def batches(n: int, batch_size: int, seed: int, epoch: int) -> list[list[int]]:
    """The batches of one epoch: indices shuffled by ``(seed, epoch)``, so a resumed run
    draws exactly the batches the interrupted one would have."""
    order = list(range(n))
    random.Random(seed * 1_000_003 + epoch).shuffle(order)
    return [order[i : i + batch_size] for i in range(0, n, batch_size)]


def collate(items: Sequence[Encoded], pad_id: int) -> dict[str, Any]:
    """A right-padded batch: input_ids, attention_mask, labels (and task_ids) as tensors."""
    from pliable.lm import torch_deps as _deps

    torch = _deps.torch()
    width = max(len(e.input_ids) for e in items)
    ids, mask, labels = [], [], []
    for e in items:
        pad = width - len(e.input_ids)
        ids.append([*e.input_ids, *([pad_id] * pad)])
        mask.append([1] * len(e.input_ids) + [0] * pad)
        labels.append([*e.labels, *([IGNORE] * pad)])
    return {
        "input_ids": torch.tensor(ids, dtype=torch.long),
        "attention_mask": torch.tensor(mask, dtype=torch.long),
        "labels": torch.tensor(labels, dtype=torch.long),
        "task_ids": torch.tensor([e.task_id for e in items], dtype=torch.long),
    }
