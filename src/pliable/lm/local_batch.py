"""Batched decoding of concurrent calls to the embedded model: ``LocalLM(parallel=N)``.

Calls that arrive at the same time from several threads are decoded together, up to ``N`` at
once, in a second llama.cpp context over the already loaded model (``N`` sequences sharing
one unified KV cache of ``n_ctx`` cells): each ``llama_decode`` evaluates one token of every
live answer (plus the prompt of any answer just admitted), which on a CPU costs little more
than one token of one answer. Decoding is memory-bound, so 4 answers at once run about twice
as fast as one after another (``benchmarks/local_batching.py``).

Scheduling: requests wait in a queue. The caller that finds no batch running becomes the
leader: it admits queued requests between steps while a sequence slot and KV room are free
(continuous batching) and decodes steps until its own answers are done, then hands the lead
to a caller whose answers are still pending. Other callers sleep until their answers are done
or the lead is theirs. A call that arrives alone is decoded alone: nothing waits for company.

Each slot remembers the tokens whose KV it holds; a request takes the free slot sharing the
longest prefix with its prompt and prefills only the rest (at least its last two tokens, as
``parallel=1`` does). A longer prefix held by another slot, busy or not, is shared instead
(``llama_memory_seq_cp``: the KV cells get both sequences), and a request whose prompt shares
a long prefix with one admitted in the same step waits a step to share it.

Greedy answers can differ from ``parallel=1``'s after the first tokens: a matrix product over
several sequences rounds differently from one over a single sequence, and which calls share a
batch depends on timing.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from pliable.errors import LMError
from pliable.lm.local_slots import BatchContext, Slots, chat_prompt, common_prefix, sampler_chain

__all__ = ["Answer", "BatchStats", "Batcher", "Job"]

logger = logging.getLogger(__name__)

# A prompt prefix held by another sequence is shared (llama_memory_seq_cp) when it spares
# prefilling at least this many tokens; a request waits one step for a prompt admitted in the
# same step to be prefilled when that would spare as many.
_MIN_SHARE = 16


@dataclass(frozen=True)
class Job:
    """One answer to decode: the prompt tokens, when to stop and how to sample."""

    prompt: tuple[int, ...]
    stop: tuple[str, ...]
    stopping_criteria: Any  # the chat format's (llama-cpp-python's StoppingCriteriaList)
    max_tokens: int  # the cap on the answer's tokens (with the grammar's grace)
    temperature: float
    top_p: float
    repeat_penalty: float
    seed: int
    gbnf: str | None = None
    processor: Callable[[Any, Any], Any] | None = None  # edits the logits row, e.g. a bias

    @property
    def cells(self) -> int:
        """The most KV cells the answer can take (past max_tokens, llama-cpp-python's stop
        check may wait for the 3 bytes a UTF-8 character can still lack)."""
        return len(self.prompt) + self.max_tokens + 3


@dataclass(frozen=True)
class Answer:
    text: str
    finish_reason: str  # "stop" or "length"
    prompt_tokens: int
    completion_tokens: int
    evaluated: int  # prompt tokens prefilled (the rest came from the slot's KV)


@dataclass(frozen=True)
class BatchStats:
    """What a :class:`Batcher` decoded so far (only grows)."""

    answers: int = 0
    steps: int = 0  # llama_decode calls
    shared_steps: int = 0  # ... that decoded more than one answer
    most_live: int = 0  # the most answers decoded in one step


class _Call:
    """The answers one caller waits for."""

    def __init__(self, n: int) -> None:
        self.answers: list[Answer | None] = [None] * n
        self.errors: list[BaseException | None] = [None] * n
        self.left = n
        self.abandoned = False  # its caller left (e.g. KeyboardInterrupt while waiting)


class _Seq:
    """One job's decoding state (touched by the leader only)."""

    def __init__(self, call: _Call, index: int, job: Job) -> None:
        self.call, self.index, self.job = call, index, job
        self.slot = -1
        self.reuse = 0  # prompt tokens whose KV its slot holds
        self.sampler: Any = None
        self.feed: list[int] = []  # tokens to evaluate in the next step
        self.out: list[int] = []  # the answer's tokens
        self.evaluated = 0
        self.logits = -1  # the batch index of its logits in the last step
        self.multibyte = 0


def _multibyte(text: bytes, pending: int) -> int:
    """llama-cpp-python's count of bytes still missing from a UTF-8 character at the end of
    ``text`` (its stop-string check waits for them)."""
    for k, char in enumerate(text[-3:]):
        k = 3 - k
        for num, pattern in ((2, 192), (3, 224), (4, 240)):
            if num > k and pattern & char == pattern:
                pending = num - k
    return pending


class Batcher:
    """Decodes the jobs of concurrent callers together; see the module docstring."""

    def __init__(self, llama: Any, parallel: int, n_ctx: int) -> None:
        self.llama = llama
        self.parallel = parallel
        self._ctx = BatchContext(llama, parallel, n_ctx)
        self._slots = Slots(parallel)
        self._cond = threading.Condition()
        self._queue: deque[_Seq] = deque()
        self._live: list[_Seq] = []
        self._leader: _Call | None = None
        self._clear = False
        self._stats = BatchStats()

    @property
    def limit(self) -> int:
        """The most tokens (prompt plus answer) one job may take."""
        return self._ctx.limit

    @property
    def stats(self) -> BatchStats:
        return self._stats

    def clear(self) -> None:
        """Forget the KV of the slots not decoding (now, or at the next step if a batch runs)."""
        with self._cond:
            if self._leader is None:
                self._slots.evict(self._ctx, self._ctx.capacity)
            else:
                self._clear = True

    def answer(
        self,
        chat: list[dict[str, str]],
        *,
        n: int,
        seed: int,
        max_tokens: int,
        stop: list[str],
        temperature: float,
        top_p: float,
        repeat_penalty: float,
        gbnf: str | None,
        grace: int,
        bias: Callable[[], Callable[[Any, Any], Any]] | None,
        owner: str,
    ) -> list[Answer]:
        """``n`` answers to ``chat`` (choice ``i`` sampled with ``seed + i``), laid out as
        ``Llama.create_chat_completion`` lays it out. ``grace`` more tokens are allowed past
        ``max_tokens``; ``bias()`` makes a logits processor for each answer."""
        prompt = chat_prompt(self.llama, chat, stop)
        cap = max_tokens + grace
        jobs = [
            Job(
                prompt.tokens,
                prompt.stop,
                prompt.stopping_criteria,
                cap,
                temperature,
                top_p,
                repeat_penalty,
                seed + i,
                gbnf,
                bias() if bias is not None else None,
            )
            for i in range(n)
        ]
        if jobs[0].cells > self.limit:
            raise LMError(
                f"{owner}: the prompt ({len(prompt.tokens)} tokens) plus max_tokens ({cap}) "
                f"exceed the {self.limit} tokens of the context. Lower max_tokens, raise n_ctx, "
                "or use parallel=1 (which cuts the answer where the context ends)."
            )
        return self.run(jobs)

    def run(self, jobs: Sequence[Job]) -> list[Answer]:
        """Decode ``jobs`` (along with other callers' jobs) and return their answers; the
        first failure of one of them is raised."""
        if any(job.cells > self.limit for job in jobs):
            raise LMError(f"a job needs more than the {self.limit} tokens of the context")
        call = _Call(len(jobs))
        with self._cond:
            self._queue.extend(_Seq(call, i, job) for i, job in enumerate(jobs))
            if self._leader is None:
                self._leader = call
        while True:
            with self._cond:
                try:
                    while self._leader is not call and call.left:
                        self._cond.wait()
                except BaseException:
                    self._abandon(call)
                    raise
                if not call.left:
                    break
            self._lead(call)
        for error in call.errors:
            if error is not None:
                raise error
        return [a for a in call.answers if a is not None]

    def _abandon(self, call: _Call) -> None:
        """The caller of ``call`` stopped waiting (hold ``_cond``): its queued jobs go, its
        live ones are dropped at the next step, and the lead passes on if it was its."""
        call.abandoned = True
        for seq in [s for s in self._queue if s.call is call]:
            self._queue.remove(seq)
        if self._leader is call:
            self._leader = self._next_leader()
            self._cond.notify_all()

    def _next_leader(self) -> _Call | None:
        """A call whose caller waits for answers not done yet (hold ``_cond``)."""
        for seq in [*self._live, *self._queue]:
            if not seq.call.abandoned:
                return seq.call
        return None

    # --- the leader's side ------------------------------------------------------------------
    def _lead(self, call: _Call) -> None:
        try:
            while call.left:
                self._step()
        except Exception as exc:  # a bug: fail everything rather than leave anyone waiting
            logger.exception("batched local decoding failed")
            self._abort(exc, everything=True, own=call)
        except BaseException as exc:  # KeyboardInterrupt, ...: this caller leaves
            self._abort(exc, everything=False, own=call)
            raise
        finally:
            with self._cond:
                self._leader = self._next_leader()
                self._cond.notify_all()

    def _abort(self, exc: BaseException, *, everything: bool, own: _Call) -> None:
        """Fail the live jobs (their state may be torn), and the queued ones of ``own`` (or
        all of them)."""
        with self._cond:
            queued = [s for s in self._queue if everything or s.call is own]
            for seq in queued:
                self._queue.remove(seq)
        for seq in [*self._live, *queued]:
            self._fail(seq, exc)

    def _finish(self, seq: _Seq, answer: Answer | None, error: BaseException | None) -> None:
        if seq in self._live:
            self._live.remove(seq)
        if seq.sampler is not None:
            seq.sampler.close()
            seq.sampler = None
        if seq.slot >= 0:
            if error is not None:  # what its KV holds is not known for sure
                self._ctx.drop(seq.slot)
                self._slots.tokens[seq.slot] = []
            self._slots.busy[seq.slot] = False
        with self._cond:
            seq.call.answers[seq.index] = answer
            seq.call.errors[seq.index] = error
            seq.call.left -= 1
            self._cond.notify_all()

    def _fail(self, seq: _Seq, exc: BaseException) -> None:
        cause = str(exc) if isinstance(exc, LMError) else repr(exc)
        error = LMError(f"batched local decoding failed: {cause}")
        error.__cause__ = exc
        self._finish(seq, None, error)

    def _admit(self) -> list[_Seq]:
        """Take queued jobs (first come, first served) while a slot and KV room are free;
        hold ``_cond``."""
        slots, ctx = self._slots, self._ctx
        if self._clear:
            slots.evict(ctx, ctx.capacity)
            self._clear = False
        reserved = sum(s.job.cells for s in self._live)
        admitted: list[_Seq] = []
        while self._queue and slots.free():
            seq = self._queue[0]
            prompt = seq.job.prompt
            slot, common = slots.choose(prompt)
            held = max(common, slots.donor(prompt)[1])
            coming = max((common_prefix(prompt, a.job.prompt) for a in admitted), default=0)
            if min(coming, len(prompt) - 2) >= held + _MIN_SHARE:
                break  # next step, it shares that prompt's prefix instead of prefilling it
            over = reserved + seq.job.cells + slots.idle_cells(but=slot) - ctx.capacity
            if over > 0 and slots.evict(ctx, over, but=slot) < over:
                break  # it waits for live answers to end
            self._queue.popleft()
            slots.take(slot)
            # at least 2 tokens evaluated, as parallel=1 does: 1-token batches round otherwise
            seq.slot, seq.reuse = slot, max(0, min(common, len(prompt) - 2))
            reserved += seq.job.cells
            admitted.append(seq)
        return admitted

    def _start(self, seq: _Seq) -> None:
        """Cut the slot's KV to the reused prefix (or share a longer one another slot holds);
        the prompt's rest is the first feed."""
        job, slots = seq.job, self._slots
        kept = self._ctx.keep(seq.slot, seq.reuse)
        donor, shared = slots.donor(job.prompt, but=seq.slot)
        shared = min(shared, len(job.prompt) - 2)
        if shared >= kept + _MIN_SHARE:
            kept = self._ctx.share(donor, seq.slot, shared)
        slots.tokens[seq.slot] = list(job.prompt[:kept])
        seq.feed = list(job.prompt[kept:])
        seq.evaluated = len(seq.feed)
        seq.sampler = sampler_chain(
            self.llama,
            temperature=job.temperature,
            top_p=job.top_p,
            repeat_penalty=job.repeat_penalty,
            seed=job.seed,
            gbnf=job.gbnf,
        )
        self._live.append(seq)

    def _step(self) -> None:
        """Admit what fits, evaluate one feed of every live job, sample their next tokens."""
        for seq in [s for s in self._live if s.call.abandoned]:
            self._fail(seq, LMError("its caller stopped waiting"))
        with self._cond:
            admitted = self._admit()
        for seq in admitted:
            try:
                self._start(seq)
            except Exception as exc:
                self._fail(seq, exc)
        if not self._live:
            if self._queue and not admitted:
                raise RuntimeError("a queued job fits no slot of an idle batch")
            return
        items: list[tuple[int, int, int, bool]] = []
        for seq in self._live:
            tokens = self._slots.tokens[seq.slot]
            for i, token in enumerate(seq.feed):
                items.append((token, len(tokens) + i, seq.slot, i == len(seq.feed) - 1))
            tokens.extend(seq.feed)
            seq.feed = []
            seq.logits = len(items) - 1
        code = self._ctx.decode(items)
        live = len(self._live)
        s = self._stats
        self._stats = replace(
            s,
            steps=s.steps + 1,
            shared_steps=s.shared_steps + (live > 1),
            most_live=max(s.most_live, live),
        )
        if code != 0:
            for seq in list(self._live):
                cause = LMError(
                    f"llama.cpp could not decode a batch of {len(items)} tokens for {live} "
                    f"answers (llama_decode returned {code})"
                )
                self._fail(seq, cause)
            return
        for seq in list(self._live):
            try:
                answer = self._next_token(seq)
            except Exception as exc:
                self._fail(seq, exc)
            else:
                if answer is not None:
                    self._stats = replace(self._stats, answers=self._stats.answers + 1)
                    self._finish(seq, answer, None)

    def _next_token(self, seq: _Seq) -> Answer | None:
        """Sample the job's next token; its answer once it ends (as llama-cpp-python's
        ``_create_completion`` ends it: end of generation, a stop string, max_tokens or the
        chat format's stopping criteria), else None (the token is fed next step)."""
        import numpy as np

        job, ctx, llama = seq.job, self._ctx, self.llama
        row = ctx.logits(seq.logits)
        if job.processor is not None:
            ids = np.asarray([*job.prompt, *seq.out], dtype=np.intc)
            scores = job.processor(ids, row)
            if scores is not row:
                row[:] = scores
        token = ctx.sample(seq.sampler, seq.logits)
        prompt = list(job.prompt)
        if ctx.is_eog(token):
            return self._answer(seq, llama.detokenize(seq.out, prev_tokens=prompt), "stop")
        seq.out.append(token)
        text: bytes = llama.detokenize(seq.out, prev_tokens=prompt)
        seq.multibyte = _multibyte(text, seq.multibyte)
        if seq.multibyte > 0:
            seq.multibyte -= 1
        else:
            hits = [s for s in (s.encode() for s in job.stop) if s in text]
            if hits:
                return self._answer(seq, text[: text.index(hits[0])], "stop")
            if len(seq.out) >= job.max_tokens:
                return self._answer(seq, text, "length")
        criteria = job.stopping_criteria
        if criteria is not None and criteria(np.asarray([*prompt, *seq.out], np.intc), row):
            return self._answer(seq, text, "stop")
        seq.feed = [token]
        return None

    def _answer(self, seq: _Seq, text: bytes, reason: str) -> Answer:
        prompt = len(seq.job.prompt)
        return Answer(
            text.decode("utf-8", errors="ignore"), reason, prompt, len(seq.out), seq.evaluated
        )
