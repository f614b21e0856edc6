"""The pieces of batched local decoding (:mod:`pliable.lm.local_batch`): a llama.cpp context
holding several sequences over an already loaded model, its sequence slots (each remembers the
tokens whose KV it holds, for prefix reuse), the prompt tokens of a chat exactly as
llama-cpp-python's chat handler makes them, and a request's sampler chain, built as ``Llama``
builds its own."""

from __future__ import annotations

import ctypes
import importlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pliable.errors import ConfigurationError, LMError

__all__ = ["BatchContext", "ChatPrompt", "Slots", "chat_prompt", "common_prefix", "sampler_chain"]

logger = logging.getLogger(__name__)


def common_prefix(a: Sequence[int], b: Sequence[int]) -> int:
    """The length of the common prefix of two token sequences."""
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


def _llama_cpp() -> Any:
    return importlib.import_module("llama_cpp")  # imported by pliable.lm.local already


class _PromptOnly:
    """A stand-in for a ``Llama`` handed to a chat handler: it tokenizes with the real model,
    and records the ``create_completion`` call instead of running it (answering nothing)."""

    def __init__(self, llama: Any) -> None:
        self._llama = llama
        self.calls: list[dict[str, Any]] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._llama, name)

    def create_completion(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(kwargs)
        empty = {"text": "", "index": 0, "logprobs": None, "finish_reason": "stop"}
        usage = {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}
        return {"id": "-", "object": "text_completion", "created": 0, "model": "-",
                "choices": [empty], "usage": usage}  # fmt: skip


@dataclass(frozen=True)
class ChatPrompt:
    """A chat laid out for the model: its prompt tokens, the stop strings (the caller's, then
    the chat format's) and the chat format's stopping criteria (or None)."""

    tokens: tuple[int, ...]
    stop: tuple[str, ...]
    stopping_criteria: Any


def chat_prompt(llama: Any, messages: list[dict[str, str]], stop: Sequence[str]) -> ChatPrompt:
    """What ``llama.create_chat_completion(messages, stop=stop)`` would evaluate: the model's
    own chat handler (as that method picks it) runs on a stand-in that records its call."""
    llama_cpp = _llama_cpp()
    handler = (
        llama.chat_handler
        or llama._chat_handlers.get(llama.chat_format)
        or llama_cpp.llama_chat_format.get_chat_completion_handler(llama.chat_format)
    )
    recorder = _PromptOnly(llama)
    try:
        handler(llama=recorder, messages=messages, stop=list(stop))
    except ValueError as exc:  # e.g. a chat template's raise_exception
        raise LMError(f"llama.cpp refused the request: {exc}") from exc
    kwargs = recorder.calls[0] if len(recorder.calls) == 1 else {}
    prompt = kwargs.get("prompt")
    if not isinstance(prompt, list) or not prompt:
        raise ConfigurationError(
            f"LocalLM(parallel > 1) needs a chat format that hands llama.cpp prompt tokens; "
            f"this model's ({llama.chat_format!r}) does not. Use parallel=1."
        )
    stops = kwargs.get("stop") or []
    stops = [stops] if isinstance(stops, str) else list(stops)
    return ChatPrompt(tuple(int(t) for t in prompt), tuple(stops), kwargs.get("stopping_criteria"))


def sampler_chain(
    llama: Any,
    *,
    temperature: float,
    top_p: float,
    repeat_penalty: float,
    seed: int,
    gbnf: str | None,
) -> Any:
    """A ``llama_cpp`` sampler chain for one answer, as ``Llama._init_sampler`` builds it for
    ``create_chat_completion``'s defaults (top_k 40, min_p 0.05, typical_p 1): penalties,
    the grammar (GBNF text, already checked, or None), then greedy, or the filters,
    temperature and a seeded draw. The closing bias is applied to the logits row before."""
    llama_cpp = _llama_cpp()
    chain = importlib.import_module("llama_cpp._internals").LlamaSampler()
    chain.add_penalties(
        n_vocab=llama.n_vocab(),
        penalty_last_n=llama.last_n_tokens_size,
        penalty_repeat=repeat_penalty,
        penalty_freq=0.0,
        penalty_present=0.0,
    )
    if gbnf is not None:
        grammar = llama_cpp.llama_sampler_init_grammar(llama._model.vocab, gbnf.encode(), b"root")
        if not grammar:
            chain.close()
            raise LMError("llama.cpp could not parse the grammar made from response_format")
        llama_cpp.llama_sampler_chain_add(chain.sampler, grammar)
    if temperature < 0.0:
        chain.add_dist(seed)
    elif temperature == 0.0:
        chain.add_greedy()
    else:
        chain.add_top_k(40)
        chain.add_typical(1.0, 1)
        chain.add_top_p(top_p, 1)
        chain.add_min_p(0.05, 1)
        chain.add_temp(temperature)
        chain.add_dist(seed)
    return chain


class BatchContext:
    """A second llama.cpp context over ``llama``'s model: ``n_seq`` sequences sharing one
    unified KV cache of ``n_ctx`` cells, and a batch as large as the cache. Use it from one
    thread at a time."""

    def __init__(self, llama: Any, n_seq: int, n_ctx: int) -> None:
        import numpy as np

        llama_cpp = _llama_cpp()
        self._np = np
        self.low = llama_cpp
        most = int(llama_cpp.llama_max_parallel_sequences())
        base = llama.context_params
        if n_seq > most or not hasattr(base, "kv_unified"):
            raise ConfigurationError(
                f"LocalLM(parallel={n_seq}): this llama.cpp decodes at most {most} sequences "
                "at once"
                + ("" if hasattr(base, "kv_unified") else " and has no unified KV")
                + ". Lower parallel (or upgrade llama-cpp-python)."
            )
        params = type(base).from_buffer_copy(base)  # the sequential context's settings
        params.n_ctx = n_ctx
        params.n_batch = n_ctx
        params.n_ubatch = min(int(base.n_ubatch), n_ctx)
        params.n_seq_max = n_seq
        params.kv_unified = True
        self.ctx = llama_cpp.llama_init_from_model(llama._model.model, params)
        if not self.ctx:
            raise LMError(
                f"llama.cpp could not make a context for {n_seq} sequences with n_ctx={n_ctx}. "
                "Lower parallel or n_ctx."
            )
        self.memory = llama_cpp.llama_get_memory(self.ctx)
        self.vocab = llama._model.vocab
        self.n_vocab = int(llama.n_vocab())
        self.capacity = int(llama_cpp.llama_n_ctx(self.ctx))
        self.limit = min(self.capacity, int(llama_cpp.llama_n_ctx_seq(self.ctx)))
        self._size = self.capacity
        self.batch = llama_cpp.llama_batch_init(self._size, 0, 1)

    def close(self) -> None:
        self.low.llama_batch_free(self.batch)
        self.low.llama_free(self.ctx)

    def keep(self, seq: int, length: int) -> int:
        """Drop sequence ``seq``'s KV after its first ``length`` tokens; how many are kept
        (0 when llama.cpp cannot cut it there, e.g. a sliding-window cache already pruned)."""
        low = self.low
        cut = length > 0 and low.llama_memory_seq_rm(self.memory, seq, length, -1)
        if cut and int(low.llama_memory_seq_pos_min(self.memory, seq)) <= 0:
            return length
        self.drop(seq)
        return 0

    def share(self, src: int, dst: int, length: int) -> int:
        """Make sequence ``dst`` hold the KV of ``src``'s first ``length`` tokens (the cells
        are shared, not copied); how many it holds (0 if llama.cpp could not)."""
        low = self.low
        self.drop(dst)
        low.llama_memory_seq_cp(self.memory, src, dst, 0, length)
        first = int(low.llama_memory_seq_pos_min(self.memory, dst))
        if first == 0 and int(low.llama_memory_seq_pos_max(self.memory, dst)) == length - 1:
            return length
        self.drop(dst)
        return 0

    def drop(self, seq: int) -> None:
        """Forget all of sequence ``seq``'s KV."""
        self.low.llama_memory_seq_rm(self.memory, seq, 0, -1)

    def clear(self) -> None:
        self.low.llama_memory_clear(self.memory, True)

    def decode(self, items: Sequence[tuple[int, int, int, bool]]) -> int:
        """One ``llama_decode`` of (token, position, sequence, wants logits) items; returns
        llama.cpp's code (0: done)."""
        if len(items) > self._size:
            raise LMError(f"a batch of {len(items)} tokens exceeds the context's {self._size}")
        b = self.batch
        b.n_tokens = len(items)
        for i, (token, pos, seq, logits) in enumerate(items):
            b.token[i] = token
            b.pos[i] = pos
            b.n_seq_id[i] = 1
            b.seq_id[i][0] = seq
            b.logits[i] = logits
        return int(self.low.llama_decode(self.ctx, b))

    def logits(self, index: int) -> Any:
        """The logits row of batch item ``index`` (a numpy view: editing it steers sampling)."""
        pointer = self.low.llama_get_logits_ith(self.ctx, index)
        if not pointer:
            raise LMError(f"llama.cpp has no logits for batch item {index}")
        floats = ctypes.cast(pointer, ctypes.POINTER(ctypes.c_float))
        return self._np.ctypeslib.as_array(floats, shape=(self.n_vocab,))

    def sample(self, chain: Any, index: int) -> int:
        return int(self.low.llama_sampler_sample(chain.sampler, self.ctx, index))

    def is_eog(self, token: int) -> bool:
        return bool(self.low.llama_vocab_is_eog(self.vocab, token))


class Slots:
    """What each sequence of a :class:`BatchContext` holds: the tokens whose KV it keeps
    (positions 0..n-1), whether an answer is being decoded in it, and when it was last used."""

    def __init__(self, n: int) -> None:
        self.tokens: list[list[int]] = [[] for _ in range(n)]
        self.busy = [False] * n
        self._used = [0] * n
        self._clock = 0

    def free(self) -> list[int]:
        return [s for s, busy in enumerate(self.busy) if not busy]

    def choose(self, prompt: Sequence[int]) -> tuple[int, int]:
        """The free slot sharing the longest token prefix with ``prompt`` (the least recently
        used among equals) and the length of that prefix. Call only with a free slot."""
        best, best_len = -1, -1
        for s in sorted(self.free(), key=lambda s: self._used[s]):
            n = common_prefix(self.tokens[s], prompt)
            if n > best_len:
                best, best_len = s, n
        return best, best_len

    def donor(self, prompt: Sequence[int], but: int = -1) -> tuple[int, int]:
        """The slot (busy or not, never ``but``) whose KV shares the longest token prefix
        with ``prompt``, and that length (-1 and 0 if none does)."""
        best, best_len = -1, 0
        for s, tokens in enumerate(self.tokens):
            n = common_prefix(tokens, prompt) if s != but else 0
            if n > best_len:
                best, best_len = s, n
        return best, best_len

    def take(self, slot: int) -> None:
        self.busy[slot] = True
        self._clock += 1
        self._used[slot] = self._clock

    def idle_cells(self, but: int = -1) -> int:
        """KV cells held by free slots other than ``but``."""
        return sum(len(self.tokens[s]) for s in self.free() if s != but)

    def evict(self, ctx: BatchContext, cells: int, but: int = -1) -> int:
        """Forget free slots' KV (least recently used first, never ``but``) until ``cells``
        are released; returns how many were."""
        released = 0
        for s in sorted(self.free(), key=lambda s: self._used[s]):
            if released >= cells:
                break
            if s != but and self.tokens[s]:
                released += len(self.tokens[s])
                ctx.drop(s)
                self.tokens[s] = []
        return released
