"""Several prompt prefixes kept for the embedded model: KV states of llama.cpp's sequence 0,
saved and restored, in an LRU bounded in bytes.

llama.cpp keeps the KV cache of the last call only, so calls that alternate between the steps
of a program, or between candidate programs evaluated on threads, each re-evaluate their whole
prompt. With :class:`PrefixStates`, a call whose prompt shares a longer prefix with a saved
state than with the live one first restores that state (only the KV of the tokens, via
``llama_state_seq_get_data`` / ``set_data``: no logits, a few MB per thousand tokens), so
``Llama.generate`` evaluates only the new suffix. A call that evaluated most of its prompt
(a prompt family not seen yet) saves its state afterwards; calls served from a saved prefix
do not, so one state per family stays, refreshed as it is used.

Greedy answers can differ in rare cases from a run that evaluated the whole prompt: the KV of
a prefix computed in one batch and of the same tokens computed in two batches agree only up
to rounding. ``tests/lm/test_local_prefixes_integration.py`` measures how often on real models.
"""

from __future__ import annotations

import ctypes
import logging
import threading
from collections import OrderedDict
from dataclasses import astuple, dataclass
from typing import Any

__all__ = ["DEFAULT_CAPACITY_MB", "PrefillStats", "PrefixStates"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PrefillStats:
    """Prompt tokens of some generations: evaluated (prefilled) vs reused from the KV cache.

    ``lm.stats`` only grows; subtract two snapshots to see the calls in between.
    """

    generations: int = 0
    prompt_tokens: int = 0
    evaluated_tokens: int = 0
    reused_tokens: int = 0

    def __add__(self, other: PrefillStats) -> PrefillStats:
        return PrefillStats(*(a + b for a, b in zip(astuple(self), astuple(other), strict=True)))

    def __sub__(self, other: PrefillStats) -> PrefillStats:
        return PrefillStats(*(a - b for a, b in zip(astuple(self), astuple(other), strict=True)))


DEFAULT_CAPACITY_MB = 256
# Restoring costs a copy of the state; below this many reused tokens it is not worth it.
_MIN_GAIN = 16


@dataclass(frozen=True)
class _State:
    tokens: Any  # numpy array of token ids
    data: bytes


def _common(a: Any, b: Any) -> int:
    """The length of the common prefix of two token arrays."""
    import numpy as np

    n = min(len(a), len(b))
    if n == 0:
        return 0
    differ = np.flatnonzero(a[:n] != b[:n])
    return int(differ[0]) if differ.size else n


class PrefixStates:
    """Saved KV states of one ``llama_cpp.Llama`` (hold its lock to use this)."""

    def __init__(self, llama: Any, capacity_mb: int = DEFAULT_CAPACITY_MB) -> None:
        self.llama = llama
        self.capacity = capacity_mb << 20
        self._states: OrderedDict[int, _State] = OrderedDict()
        self._size = 0
        self._next = 0
        self.restores = 0
        self.saves = 0
        self._lock = threading.Lock()

    @property
    def size(self) -> int:
        """Bytes held."""
        return self._size

    def __len__(self) -> int:
        return len(self._states)

    def clear(self) -> None:
        with self._lock:
            self._states.clear()
            self._size = 0

    def restore(self, prompt: list[int]) -> int:
        """Before ``Llama.generate(prompt)``: load the saved state sharing the longest prefix
        with ``prompt``, if it beats the live one by enough. Returns the tokens it covers."""
        import numpy as np

        if self.capacity <= 0 or not self._states:
            return 0
        llama = self.llama
        tokens = np.asarray(prompt, dtype=np.intc)
        live = _common(llama.input_ids[: llama.n_tokens], tokens)
        best, best_len = None, live
        for key, state in self._states.items():
            length = _common(state.tokens, tokens)
            if length > best_len:
                best, best_len = key, length
        if best is None or best_len - live < _MIN_GAIN:
            return 0
        state = self._states[best]
        self._states.move_to_end(best)
        if not self._load(state):
            return 0
        self.restores += 1
        return best_len

    def _load(self, state: _State) -> bool:
        import llama_cpp

        llama = self.llama
        llama._ctx.kv_cache_seq_rm(-1, 0, -1)
        buffer = (ctypes.c_uint8 * len(state.data)).from_buffer_copy(state.data)
        loaded = llama_cpp.llama_state_seq_set_data(llama._ctx.ctx, buffer, len(state.data), 0)
        if loaded != len(state.data):
            logger.info("a saved prompt prefix did not load; evaluating the whole prompt")
            llama.reset()
            return False
        n = len(state.tokens)
        llama.input_ids[:n] = state.tokens
        llama.n_tokens = n
        llama._requires_eval = True
        return True

    def remember(self, prompt_tokens: int, evaluated: int) -> None:
        """After a call whose prompt was ``prompt_tokens`` long, of which it evaluated
        ``evaluated``: save the live state when the call evaluated most of its prompt (a
        prefix no saved or live state held), so the next call of that family can restore it."""
        if self.capacity <= 0 or evaluated * 2 <= prompt_tokens:
            return
        import llama_cpp

        llama = self.llama
        ctx = llama._ctx.ctx
        size = int(llama_cpp.llama_state_seq_get_size(ctx, 0))
        if size <= 0 or size > self.capacity:
            return
        buffer = (ctypes.c_uint8 * size)()
        written = int(llama_cpp.llama_state_seq_get_data(ctx, buffer, size, 0))
        if written <= 0:
            return
        state = _State(llama.input_ids[: llama.n_tokens].copy(), bytes(buffer)[:written])
        with self._lock:
            self._states[self._next] = state
            self._next += 1
            self._size += len(state.data)
            while self._size > self.capacity and self._states:
                _, dropped = self._states.popitem(last=False)
                self._size -= len(dropped.data)
        self.saves += 1
