"""``SoftPromptLM``: a transformers causal LM (with a PEFT soft prompt, or without) as a pliable
language model.

    lm = SoftPromptLM(peft_model, tokenizer, name="soft/prompt_tuning:local/smollm2")
    qa = pl.Predict("question -> answer", lm=lm)      # runs with the soft prompt
    pl.evaluate(qa, dev, metric)                       # unchanged

The messages are rendered with the tokenizer's chat template (the same text the soft prompt
was trained on), and the answer is generated greedily by default. Options: ``max_tokens``,
``temperature`` (> 0 samples), ``top_p``, ``seed``, ``n``, ``stop``; ``response_format`` and
``repeat_penalty`` are accepted and ignored. Any other option raises ConfigurationError.
Calls count against ``pl.track_usage`` blocks and budgets like any LM's. One lock serializes
every soft-prompt model in the process (they share base weights and torch's threads).
"""

from __future__ import annotations

import hashlib
import inspect
import re
import threading
import time
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from pliable.errors import ConfigurationError
from pliable.lm import torch_deps as _deps
from pliable.lm.local_options import _LOCAL_OPTIONS, _checked_options
from pliable.lm.types import Completion, Message, Usage
from pliable.lm.usage import CallRecord, backend_accounts, record_call, reserve_call

__all__ = [
    "SUPPORTED_OPTIONS",
    "SoftPromptLM",
    "adapter_sha256",
    "chat_text",
    "hushed",
    "model_lock",
]

SUPPORTED_OPTIONS = _LOCAL_OPTIONS  # LocalLM's: a program runs on either model unchanged
#: Held while any soft-prompt model trains or generates.
model_lock = threading.RLock()
_QUIET = (
    "Position ids are not supported for parameter efficient tuning",
    "`past_key_values` is deprecated",
    "Both `past_key_values` and `cache` are set",
    "`is_gradient_checkpointing` is deprecated",
    "Could not find a config file in",
)


def chat_text(tokenizer: Any, messages: Sequence[Message], *, generation_prompt: bool) -> str:
    """``messages`` rendered with the tokenizer's chat template, as text."""
    chat = [{"role": m["role"], "content": m["content"]} for m in messages]
    text = tokenizer.apply_chat_template(
        chat, tokenize=False, add_generation_prompt=generation_prompt
    )
    return str(text)


@contextmanager
def hushed() -> Iterator[None]:
    """A block in which PEFT's and transformers' known, harmless warnings are hidden."""
    with warnings.catch_warnings():
        for text in _QUIET:
            warnings.filterwarnings("ignore", message=f".*{re.escape(text)}.*")
        yield


def _cache_argument(model: Any) -> str:
    """The name under which ``model.forward`` takes a KV cache (``cache`` in transformers 5,
    ``past_key_values`` before)."""
    return "cache" if "cache" in inspect.signature(model.forward).parameters else "past_key_values"


def _pick(torch: Any, logits: Any, temperature: float, top_p: float, generator: Any) -> int:
    """The next token: the most likely, or drawn at ``temperature`` from the top-``top_p``."""
    if temperature <= 0:
        return int(logits.argmax())
    probs = torch.softmax(logits.float() / temperature, dim=-1)
    if top_p < 1.0:
        ordered, order = torch.sort(probs, descending=True)
        keep = torch.cumsum(ordered, dim=-1) - ordered < top_p  # always keeps the first
        probs = torch.zeros_like(probs).scatter(0, order[keep], ordered[keep])
    return int(torch.multinomial(probs / probs.sum(), 1, generator=generator))


class SoftPromptLM:
    """A local transformers model, with a soft prompt when ``network`` is a PEFT model.

    Args:
        network: a transformers causal LM or a ``peft.PeftModel`` around one.
        tokenizer: its tokenizer (with a chat template).
        name: the name reported in completions and usage (the ``model`` attribute, as for
            every pliable LM).
        max_tokens: the default cap on an answer's tokens.
        task_id: for multitask prompt tuning, the task whose prompt is used.
    """

    supports_response_schema = False

    def __init__(
        self,
        network: Any,
        tokenizer: Any,
        *,
        name: str,
        max_tokens: int = 128,
        task_id: int | None = None,
    ) -> None:
        if isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 1:
            raise ConfigurationError(f"max_tokens must be an integer >= 1; got {max_tokens!r}.")
        self.model = name
        self.network = network
        self.tokenizer = tokenizer
        self.max_tokens = max_tokens
        self.task_id = task_id

    def __repr__(self) -> str:
        return f"SoftPromptLM({self.model!r})"

    def __deepcopy__(self, memo: dict[int, Any]) -> SoftPromptLM:
        return self  # a model is a shared resource, never copied with a program

    def _options(self, options: dict[str, Any]) -> tuple[int, int, int, float, float, list[str]]:
        n, seed, max_tokens, stop, opts = _checked_options(
            f"SoftPromptLM ({self.model})", options, seed=0, max_tokens=self.max_tokens
        )
        temperature, top_p = float(opts.get("temperature", 0.0)), float(opts.get("top_p", 1.0))
        return n, seed, max_tokens, temperature, top_p, stop

    def _eos_ids(self) -> list[int]:
        ids: set[int] = set()
        config = getattr(self.network, "generation_config", None)
        for value in (getattr(config, "eos_token_id", None), self.tokenizer.eos_token_id):
            if isinstance(value, int):
                ids.add(value)
            elif isinstance(value, list | tuple):
                ids.update(int(v) for v in value)
        return sorted(ids)

    def prompt_ids(self, messages: Sequence[Message]) -> list[int]:
        """The token ids of the prompt for ``messages`` (chat template, generation prompt)."""
        text = chat_text(self.tokenizer, messages, generation_prompt=True)
        return list(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    def generate_ids(
        self,
        prompt: list[int],
        *,
        max_tokens: int,
        temperature: float = 0.0,
        top_p: float = 1.0,
        seed: int = 0,
    ) -> list[int]:
        """The new token ids generated after ``prompt`` (greedy unless ``temperature > 0``).

        The first pass is the network's own forward, the very computation the soft prompt
        was trained with (PEFT prepends the virtual tokens or the prefix), with the KV cache
        kept; each further token runs the base model on that cache. (transformers'
        ``generate`` is not used: with PEFT's prompt-learning models it does not reproduce
        the training forward, e.g. it drops the prefix of prefix tuning.)
        """
        torch = _deps.torch()
        network = self.network
        base = network.get_base_model() if hasattr(network, "get_base_model") else network
        cache_arg = _cache_argument(base)
        ids = torch.tensor([prompt], dtype=torch.long)
        first: dict[str, Any] = {"attention_mask": torch.ones_like(ids), "use_cache": True}
        if self.task_id is not None:
            first["task_ids"] = torch.tensor([self.task_id], dtype=torch.long)
        eos = set(self._eos_ids())
        generator = torch.Generator().manual_seed(seed)
        new: list[int] = []
        with model_lock, torch.no_grad(), hushed():
            network.eval()
            out = network(input_ids=ids, **first)
            while len(new) < max_tokens:
                token = _pick(torch, out.logits[0, -1], temperature, top_p, generator)
                if token in eos:
                    break
                new.append(token)
                if len(new) == max_tokens:
                    break
                cache = getattr(out, "cache", None) or getattr(out, "past_key_values", None)
                step = torch.tensor([[token]], dtype=torch.long)
                out = base(input_ids=step, use_cache=True, **{cache_arg: cache})
        return new

    def complete(self, messages: Sequence[Message], **options: Any) -> Completion:
        """Answer ``messages`` with ``n`` choices (see the class docstring for the options)."""
        n, seed, max_tokens, temperature, top_p, stop = self._options(options)
        counts = backend_accounts()
        if counts:
            reserve_call()
        start = time.perf_counter()
        prompt = self.prompt_ids(messages)
        texts: list[str] = []
        completion_tokens = 0
        for i in range(n):
            new = self.generate_ids(
                prompt, max_tokens=max_tokens, temperature=temperature, top_p=top_p, seed=seed + i
            )
            completion_tokens += len(new)
            text = str(self.tokenizer.decode(new, skip_special_tokens=True))
            for s in stop:
                text = text.split(s, 1)[0]
            texts.append(text)
        usage = Usage(len(prompt), completion_tokens, 0.0)
        if counts:
            latency = time.perf_counter() - start
            record_call(CallRecord(self.model, len(prompt), completion_tokens, 0.0, latency, False))
        return Completion(tuple(texts), self.model, usage)


def adapter_sha256(network: Any) -> str:
    """A sha256 of a PEFT model's adapter tensors (names and bytes, as PEFT saves them)."""
    peft = _deps.peft()
    with hushed():
        state = peft.get_peft_model_state_dict(network)
    digest = hashlib.sha256()
    for name in sorted(state):
        tensor = state[name].detach().contiguous().cpu()
        digest.update(f"{name}:{tuple(tensor.shape)}:{tensor.dtype}\n".encode())
        digest.update(tensor.numpy().tobytes())
    return digest.hexdigest()
