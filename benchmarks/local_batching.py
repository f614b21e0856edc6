"""Can the embedded model decode several sequences at once faster than one after another?

A feasibility measurement for batched local decoding (issue 18, item 2), before any of it is
built into ``LocalLM``: the same greedy generations, on one llama.cpp context with several
sequences (``n_seq_max``), run two ways:

* ``sequential``: each prompt prefilled and decoded alone, one after another;
* ``batched``: all prompts prefilled in one ``llama_decode`` call (one sequence id each), then
  one token per live sequence per ``llama_decode`` call until each ends.

Decoding is memory-bound, so a step over N sequences should cost little more than a step
over one; prefill is compute-bound and gains little. Greedy choices are compared: batched
kernels may round differently, so a changed answer is reported, not hidden.

Run:  .venv/bin/python benchmarks/local_batching.py [--model local/smollm2] [--seqs 4]
      [--max-tokens 96] [--rounds 2]
Writes benchmarks/results/local_batching.json (``--out`` to change).

``--api``: the same question through pliable's public API, as built into ``LocalLM``:
``pl.LM(model, cache=False, parallel=P)`` (P = the largest ``--seqs``) called from N threads at
once, vs ``pl.LM(model, cache=False)`` (``parallel=1``: the calls are serialized) from N
threads, for N in ``--seqs``, on two workloads: short classification replies (a ``pl.Predict``
prompt rendered by ``pl.ChatAdapter``, ``--short-tokens`` 8) and chain-of-thought replies
(``--max-tokens`` 96). Both models' caches are reset before each timed run (not timed), so each
run prefills its prompts; runs alternate and the median of ``--rounds`` is reported, with the
answer tokens, tokens/s, the speedup and how many batched answers equal the sequential ones.

Run:  .venv/bin/python benchmarks/local_batching.py --api [--model local/smollm2]
      [--seqs 1 2 4 8] [--max-tokens 96] [--short-tokens 8] [--rounds 3] [--quick]
Writes benchmarks/results/local_batching_api.json (``--quick``: local_batching_api_quick.json,
a smoke run of 1 and 2 calls, 1 round, 16-token replies).
"""

from __future__ import annotations

import argparse
import ctypes
import os
import statistics
import sys
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

from _common import RESULTS_DIR, git_revision, machine_info, now_iso, table, write_json

QUESTIONS = [
    "A farmer has 17 sheep and buys 5 more, then sells 8. How many sheep are left?",
    "Tom reads 12 pages a day for 6 days. How many pages does he read?",
    "A box holds 24 apples. 9 are eaten and 7 more are added. How many apples now?",
    "There are 3 shelves with 14 books each. 10 books are taken away. How many remain?",
    "A train travels 60 km per hour for 3 hours. How far does it go?",
    "Anna has 45 coins and gives a third of them away. How many does she keep?",
    "A class of 28 splits into groups of 4. How many groups are there?",
    "Sam saves 15 dollars a week for 8 weeks. How much does he save?",
]


def prompts(llama: Any, n: int) -> list[list[int]]:
    """Chain-of-thought chat prompts, laid out by the model's own chat template."""
    from llama_cpp.llama_chat_format import Jinja2ChatFormatter

    formatter = Jinja2ChatFormatter(
        template=llama.metadata["tokenizer.chat_template"],
        eos_token=llama._model.token_get_text(llama.token_eos()),
        bos_token=llama._model.token_get_text(llama.token_bos()),
    )
    out = []
    for question in QUESTIONS[:n]:
        messages = [
            {"role": "system", "content": "Reason step by step, then give the number."},
            {"role": "user", "content": question},
        ]
        text = formatter(messages=messages).prompt
        out.append(llama.tokenize(text.encode(), add_bos=False, special=True))
    return out


class Context:
    """A llama.cpp context with ``n_seq`` sequences over a loaded model."""

    def __init__(self, llama: Any, n_seq: int, n_ctx: int, n_threads: int) -> None:
        import llama_cpp

        self.low = llama_cpp
        params = llama_cpp.llama_context_default_params()
        params.n_ctx = n_ctx
        params.n_batch = n_ctx
        params.n_ubatch = 512
        params.n_seq_max = n_seq
        params.n_threads = n_threads
        params.n_threads_batch = n_threads
        if hasattr(params, "kv_unified"):
            params.kv_unified = True
        self.ctx = llama_cpp.llama_init_from_model(llama._model.model, params)
        if not self.ctx:
            raise RuntimeError("llama.cpp could not make a context with several sequences")
        self.vocab = llama_cpp.llama_model_get_vocab(llama._model.model)
        self.n_vocab = llama.n_vocab()
        self.batch = llama_cpp.llama_batch_init(n_ctx, 0, n_seq)

    def close(self) -> None:
        self.low.llama_batch_free(self.batch)
        self.low.llama_free(self.ctx)

    def clear(self) -> None:
        self.low.llama_memory_clear(self.low.llama_get_memory(self.ctx), True)

    def decode(self, items: list[tuple[int, int, int, bool]]) -> None:
        """One ``llama_decode`` of (token, position, sequence, wants logits) items."""
        b = self.batch
        b.n_tokens = len(items)
        for i, (token, pos, seq, logits) in enumerate(items):
            b.token[i] = token
            b.pos[i] = pos
            b.n_seq_id[i] = 1
            b.seq_id[i][0] = seq
            b.logits[i] = logits
        if self.low.llama_decode(self.ctx, b) != 0:
            raise RuntimeError("llama_decode failed")

    def argmax(self, index: int) -> int:
        logits = self.low.llama_get_logits_ith(self.ctx, index)
        pointer = ctypes.cast(logits, ctypes.POINTER(ctypes.c_float))
        row = np.ctypeslib.as_array(pointer, shape=(self.n_vocab,))
        return int(row.argmax())

    def eog(self, token: int) -> bool:
        return bool(self.low.llama_vocab_is_eog(self.vocab, token))


def generate(ctx: Context, batch: list[list[int]], max_tokens: int) -> tuple[list[list[int]], int]:
    """Greedy generations of every prompt in ``batch`` together (one sequence each); returns
    the tokens and the number of ``llama_decode`` calls."""
    ctx.clear()
    items = []
    last_index: dict[int, int] = {}
    for seq, tokens in enumerate(batch):
        for pos, token in enumerate(tokens):
            wants = pos == len(tokens) - 1
            if wants:
                last_index[seq] = len(items)
            items.append((token, pos, seq, wants))
    ctx.decode(items)
    calls = 1
    out: list[list[int]] = [[] for _ in batch]
    live = {seq: ctx.argmax(last_index[seq]) for seq in range(len(batch))}
    positions = {seq: len(tokens) for seq, tokens in enumerate(batch)}
    while live:
        step = []
        for seq, token in list(live.items()):
            if ctx.eog(token) or len(out[seq]) >= max_tokens:
                del live[seq]
                continue
            out[seq].append(token)
            step.append((token, positions[seq], seq, True))
            positions[seq] += 1
        if not step:
            break
        ctx.decode(step)
        calls += 1
        for i, (_, _, seq, _) in enumerate(step):
            live[seq] = ctx.argmax(i)
    return out, calls


REVIEWS = [
    "I loved every minute of this film.",
    "The food was cold and the waiter was rude.",
    "Best purchase I have made all year.",
    "It broke after two days. Waste of money.",
    "Terrible service, I will never come back.",
    "What a wonderful, heartwarming story.",
    "The plot was boring and far too long.",
    "Absolutely fantastic, highly recommended!",
]


def workloads(max_tokens: int, short_tokens: int) -> dict[str, tuple[list[Any], int]]:
    """Name -> (the chats of up to 8 concurrent calls, max_tokens)."""
    import pliable as pl

    sig = pl.Signature(
        "review -> sentiment", "Classify the sentiment of the review: positive or negative."
    )
    classify = [pl.ChatAdapter().format(sig, {"review": r}) for r in REVIEWS]
    system = {"role": "system", "content": "Reason step by step, then give the number."}
    cot = [[system, {"role": "user", "content": q}] for q in QUESTIONS]
    return {"classify": (classify, short_tokens), "chain-of-thought": (cot, max_tokens)}


def concurrent(lm: Any, chats: list[Any], max_tokens: int) -> tuple[float, list[Any]]:
    """Wall time of ``lm.complete`` on every chat, one thread each, released at once."""
    results: list[Any] = [None] * len(chats)
    barrier = threading.Barrier(len(chats) + 1)

    def call(i: int) -> None:
        barrier.wait()
        results[i] = lm.complete(chats[i], max_tokens=max_tokens, temperature=0.0)

    threads = [threading.Thread(target=call, args=(i,)) for i in range(len(chats))]
    for thread in threads:
        thread.start()
    barrier.wait()
    start = time.perf_counter()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - start
    if any(r is None for r in results):
        raise RuntimeError("a call failed (see its thread's traceback above)")
    return elapsed, results


def api_main(args: argparse.Namespace) -> None:
    import pliable as pl

    if args.quick:
        args.seqs, args.rounds, args.max_tokens = [1, 2], 1, 16
    most = max(args.seqs)
    settings = {"cache": False, "n_ctx": args.n_ctx, "n_threads": args.threads}
    sequential = pl.LM(args.model, **settings)
    batched = pl.LM(args.model, parallel=most, **settings)
    load = [os.getloadavg()[0]]
    rows, records = [], []
    for name, (chats, max_tokens) in workloads(args.max_tokens, args.short_tokens).items():
        for lm in (sequential, batched):  # load the model and make the contexts, not timed
            concurrent(lm, chats[:1], 1)
        for n in args.seqs:
            group = chats[:n]
            times: dict[str, list[float]] = {"sequential": [], "batched": []}
            answers: dict[str, list[Any]] = {}
            for _ in range(args.rounds):
                for mode, lm in (("sequential", sequential), ("batched", batched)):
                    lm.backend.reset_cache()
                    elapsed, answers[mode] = concurrent(lm, group, max_tokens)
                    times[mode].append(elapsed)
            seq_s, batch_s = (
                statistics.median(times["sequential"]),
                statistics.median(times["batched"]),
            )
            texts = {mode: [a.texts[0] for a in out] for mode, out in answers.items()}
            same = sum(a == b for a, b in zip(texts["sequential"], texts["batched"], strict=True))
            tokens = {m: sum(a.usage.completion_tokens for a in out) for m, out in answers.items()}
            records.append(
                {
                    "workload": name,
                    "concurrent_calls": n,
                    "parallel": most,
                    "max_tokens": max_tokens,
                    "sequential_s": seq_s,
                    "batched_s": batch_s,
                    "sequential_times": times["sequential"],
                    "batched_times": times["batched"],
                    "answer_tokens": tokens,
                    "same_answers": same,
                    "texts": texts,
                }
            )
            rows.append(
                [
                    name,
                    n,
                    f"{tokens['sequential']}/{tokens['batched']}",
                    f"{seq_s:.2f}",
                    f"{batch_s:.2f}",
                    f"{tokens['sequential'] / seq_s:.1f}",
                    f"{tokens['batched'] / batch_s:.1f}",
                    f"{seq_s / batch_s:.2f}x",
                    f"{same} of {n}",
                ]
            )
    load.append(os.getloadavg()[0])
    headers = [
        "workload",
        "calls",
        "tokens seq/batched",
        "parallel=1 s",
        f"parallel={most} s",
        "tok/s parallel=1",
        f"tok/s parallel={most}",
        "speedup",
        "same answer",
    ]
    print(table(headers, rows))
    name = "local_batching_api_quick.json" if args.quick else "local_batching_api.json"
    write_json(
        args.out or RESULTS_DIR / name,
        {
            "benchmark": "local_batching_api",
            "command": "python benchmarks/local_batching.py " + " ".join(sys.argv[1:]),
            "started": now_iso(),
            "git": git_revision(),
            "machine": machine_info(),
            "model": args.model,
            "parallel": most,
            "n_ctx": args.n_ctx,
            "threads": args.threads,
            "rounds": args.rounds,
            "load_avg": load,
            "results": records,
        },
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="local/smollm2")
    parser.add_argument("--seqs", type=int, nargs="+", default=[1, 2, 4, 8])
    parser.add_argument("--max-tokens", type=int, default=96)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--api", action="store_true", help="measure pl.LM(parallel=N)")
    parser.add_argument("--short-tokens", type=int, default=8, help="--api: classify replies")
    parser.add_argument("--n-ctx", type=int, default=2048, help="--api: the models' n_ctx")
    parser.add_argument("--quick", action="store_true", help="--api: a smoke run")
    args = parser.parse_args()
    if args.api:
        api_main(args)
        return
    args.out = args.out or RESULTS_DIR / "local_batching.json"

    from pliable.lm.local import LocalLM

    lm = LocalLM(args.model, n_ctx=512).load()
    llama = lm._loaded().llama
    most = max(args.seqs)
    ctx = Context(llama, most, n_ctx=most * 512, n_threads=args.threads)
    load = [os.getloadavg()[0]]
    rows, records = [], []
    try:
        all_prompts = prompts(llama, most)
        for n in args.seqs:
            group = all_prompts[:n]
            seq_times, batch_times = [], []
            for _ in range(args.rounds):
                start = time.perf_counter()
                alone = [generate(ctx, [p], args.max_tokens)[0][0] for p in group]
                seq_times.append(time.perf_counter() - start)
                start = time.perf_counter()
                together, calls = generate(ctx, group, args.max_tokens)
                batch_times.append(time.perf_counter() - start)
            same = sum(a == b for a, b in zip(alone, together, strict=True))
            tokens = sum(len(t) for t in together)
            seq_s, batch_s = statistics.median(seq_times), statistics.median(batch_times)
            records.append(
                {
                    "sequences": n,
                    "generated_tokens": tokens,
                    "sequential_s": seq_s,
                    "batched_s": batch_s,
                    "decode_calls_batched": calls,
                    "same_answers": same,
                    "texts": [llama.detokenize(t).decode("utf-8", "replace") for t in together],
                }
            )
            rows.append(
                [
                    n,
                    tokens,
                    f"{seq_s:.2f}",
                    f"{batch_s:.2f}",
                    f"{tokens / seq_s:.1f}",
                    f"{tokens / batch_s:.1f}",
                    f"{seq_s / batch_s:.2f}x",
                    f"{same} of {n}",
                ]
            )
    finally:
        ctx.close()
    load.append(os.getloadavg()[0])
    headers = [
        "sequences",
        "tokens",
        "sequential s",
        "batched s",
        "tok/s sequential",
        "tok/s batched",
        "speedup",
        "same greedy answer",
    ]
    print(table(headers, rows))
    write_json(
        args.out,
        {
            "benchmark": "local_batching",
            "command": "python benchmarks/local_batching.py " + " ".join(sys.argv[1:]),
            "started": now_iso(),
            "git": git_revision(),
            "machine": machine_info(),
            "model": args.model,
            "max_tokens": args.max_tokens,
            "threads": args.threads,
            "load_avg": load,
            "results": records,
        },
    )


if __name__ == "__main__":
    main()
