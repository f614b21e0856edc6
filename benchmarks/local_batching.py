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
"""

from __future__ import annotations

import argparse
import ctypes
import os
import statistics
import sys
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="local/smollm2")
    parser.add_argument("--seqs", type=int, nargs="+", default=[1, 2, 4, 8])
    parser.add_argument("--max-tokens", type=int, default=96)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--out", type=Path, default=RESULTS_DIR / "local_batching.json")
    args = parser.parse_args()

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
