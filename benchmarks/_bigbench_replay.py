"""The answer analysis of ``bigbench_compile.py``: run as its ``_replay`` child, it replays
the baseline and the compiled program of one run on the same dev set from that run's cache
and describes the answers (how many name a choice, which, a lenient reading, the paired
difference compiled - baseline, and the trivial always-the-train-majority program)."""

from __future__ import annotations

import argparse
import json
import re
from collections import Counter
from typing import Any

_NUMBERED = re.compile(r"^\s*\[(\d+)\]\s*(.*)$", re.DOTALL)


def lenient_read(answer: Any, choices: list[str]) -> tuple[int | None, str]:
    """Which choice an answer means, read forgivingly, and what kind of answer it is.

    For explaining scores only: pliable's ``multiple_choice`` metric is what is reported.
    Kinds: "names a choice" (the metric reads it), "[k] text" / "[k]" (the adapter's own
    1-based list numbering echoed back, read by its text, else by k), "sentence, one choice"
    (the only choice mentioned as words in a sentence), "unreadable"."""
    from pliable.evaluation.metrics import choice_index
    from pliable.evaluation.text import normalize_answer

    if answer is None:
        return None, "error"
    index = choice_index(answer, choices)
    if index is not None:
        return index, "names a choice"
    text = str(answer)
    numbered = _NUMBERED.match(text)
    if numbered:
        rest = numbered.group(2).strip()
        first = rest.splitlines()[0] if rest else ""
        index = choice_index(first, choices) if first else None
        if index is not None:
            return index, "[k] text"
        k = int(numbered.group(1)) - 1
        if 0 <= k < len(choices):
            return k, "[k]"
    words = f" {normalize_answer(text)} "
    hits = {i for i, c in enumerate(choices) if f" {normalize_answer(c)} " in words}
    if len(hits) == 1:
        return hits.pop(), "sentence, one choice"
    return None, "unreadable"


def replay(args: argparse.Namespace) -> dict[str, Any]:
    """Re-run baseline and compiled on the dev set from the run's cache; describe the answers.

    Loads the data exactly as ``pliable compile --bigbench`` does (same seed and limit)."""
    import pliable as pl
    from pliable.compiled import load
    from pliable.data import load_bigbench, split
    from pliable.evaluation import compare, evaluate, metrics
    from pliable.evaluation.metrics import choice_index
    from pliable.evaluation.stats import bootstrap_mean_ci, paired_bootstrap

    examples = load_bigbench(args.task, seed=args.seed, limit=args.limit)
    train, dev = split(examples, train=0.5, seed=args.seed)
    dev = dev[: args.limit] if args.limit else dev
    multiple_choice = bool(dev) and "choices" in dev[0]
    metric = metrics.multiple_choice() if multiple_choice else metrics.exact_match()

    compiled = load(args.compiled)
    baseline = compiled.deepcopy()
    for p in baseline.predictors():
        p.demos = []
    options: dict[str, Any] = {"temperature": 0.0}
    if args.max_tokens:
        options["max_tokens"] = args.max_tokens
    # the compile's student (None: the CLI's default), on PLIABLE_CACHE_DIR: the run's own cache
    lm = pl.LM(args.model, cache=True, **options)
    with pl.using(lm=lm), pl.track_usage() as usage:
        base_res = evaluate(baseline, dev, metric, num_threads=1, progress=False)
        comp_res = evaluate(compiled, dev, metric, num_threads=1, progress=False)

    def answer_of(row: Any) -> Any:
        return None if row.error else getattr(row.prediction, "answer", None)

    def describe(result: Any) -> dict[str, Any]:
        rows = sorted(result.rows, key=lambda r: r.index)
        out: dict[str, Any] = {
            "score": result.score,
            "errors": sum(1 for r in rows if r.error),
            # a few of the model's answers, cut short (not the task's data)
            "sample_answers": [str(answer_of(r))[:60] for r in rows[:3]],
        }
        if multiple_choice:
            named = [
                None if answer_of(r) is None else choice_index(answer_of(r), r.example.choices)
                for r in rows
            ]
            labels = [
                r.example.choices[i] if i is not None else None
                for r, i in zip(rows, named, strict=True)
            ]
            out["names_a_choice"] = sum(1 for i in named if i is not None) / len(rows)
            out["named_choices"] = dict(Counter(str(x) for x in labels).most_common())
            lenient = [lenient_read(answer_of(r), r.example.choices) for r in rows]
            out["answer_kinds"] = dict(Counter(kind for _, kind in lenient).most_common())
            out["lenient_score"] = sum(
                1
                for r, (i, _) in zip(rows, lenient, strict=True)
                if i is not None and r.example.choices[i] == r.example.answer
            ) / len(rows)
            out["lenient_choices"] = dict(
                Counter(
                    str(r.example.choices[i]) if i is not None else "None"
                    for r, (i, _) in zip(rows, lenient, strict=True)
                ).most_common()
            )
        return out

    paired = compare(base_res, comp_res)
    report: dict[str, Any] = {
        "replay_lm_calls": usage.total.calls,
        "replay_cache_hits": usage.total.cache_hits,
        "n_train": len(train),
        "n_dev": len(dev),
        "baseline": describe(base_res),
        "compiled": describe(comp_res),
        "paired_compiled_minus_baseline": {
            "difference": paired.difference,
            "ci_low": paired.ci_low,
            "ci_high": paired.ci_high,
            "p_value": paired.p_value,
            "compiled_wins": paired.b_wins,
            "baseline_wins": paired.a_wins,
            "ties": paired.ties,
        },
    }
    if multiple_choice:
        train_majority = Counter(ex.answer for ex in train).most_common(1)[0][0]
        const = [float(ex.answer == train_majority) for ex in dev]
        comp_scores = [r.score for r in sorted(comp_res.rows, key=lambda r: r.index)]
        vs_const = paired_bootstrap(const, comp_scores, n_resamples=10000, seed=0)
        low, high = bootstrap_mean_ci(const)
        report["dev_labels"] = dict(Counter(ex.answer for ex in dev).most_common())
        report["train_labels"] = dict(Counter(ex.answer for ex in train).most_common())
        report["chance"] = sum(1 / len(ex.choices) for ex in dev) / len(dev)
        report["always_train_majority"] = {
            "label": train_majority,
            "score": sum(const) / len(const),
            "ci_low": low,
            "ci_high": high,
            "paired_compiled_minus_it": {
                "difference": vs_const.difference,
                "ci_low": vs_const.ci_low,
                "ci_high": vs_const.ci_high,
                "p_value": vs_const.p_value,
            },
        }
    return report


def main(argv: list[str]) -> int:
    """``bigbench_compile.py _replay ...``: print the analysis as one JSON line."""
    rp = argparse.ArgumentParser(prog="bigbench_compile.py _replay")
    rp.add_argument("--task", required=True)
    rp.add_argument("--limit", type=int, required=True)
    rp.add_argument("--seed", type=int, required=True)
    rp.add_argument("--max-tokens", type=int, default=0)
    rp.add_argument("--model", help="the compile's --model (default: the CLI's own default)")
    rp.add_argument("--compiled", required=True)
    print(json.dumps(replay(rp.parse_args(argv)), ensure_ascii=False))
    return 0
