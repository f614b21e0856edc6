"""The tables of ``compile_vs_dspy.py``: test-score summaries, the per-run table, the
aggregate over seeds, and the printing of both (a live run and ``--tables`` alike)."""

from __future__ import annotations

import statistics
import sys
from collections.abc import Sequence
from typing import Any

from _common import table

REFERENCE = "(reference)"  # after a reference's name in the tables

# --------------------------------------------------------------------------- statistics


def summarize(values: Sequence[float]) -> dict[str, Any]:
    from pliable.evaluation.stats import bootstrap_mean_ci

    low, high = bootstrap_mean_ci(list(values))
    return {
        "score": sum(values) / len(values),
        "ci_low": low,
        "ci_high": high,
        "n": len(values),
    }


def pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.1f}"


def score_cell(s: dict[str, Any] | None) -> str:
    if not s:
        return "-"
    return f"{pct(s['score'])} [{pct(s['ci_low'])}, {pct(s['ci_high'])}]"


def ratio(a: float | None, b: float | None) -> str:
    if a is None or b is None or b == 0:
        return "-"
    return f"{a / b:.2f}"


def strict_values(answers: Sequence[Any], golds: Sequence[Sequence[str]]) -> list[float]:
    """1.0 where the answer field *is* a gold answer (case, surrounding whitespace, quotes
    and a final period aside): the strict reading, next to the metric's lenient one, which
    also accepts an answer that merely names a choice (a letter, ``[k]``, "{'plausible': []}")
    or holds the gold number among other words. The gold answers of an example: its choice,
    or a number's word and digits ("twelve", "12")."""

    def bare(text: str) -> str:
        return text.strip().strip("\"'`").strip().removesuffix(".").strip().lower()

    return [
        float(a is not None and bare(str(a)) in {bare(str(x)) for x in g})
        for a, g in zip(answers, golds, strict=True)
    ]


def side_results(record: dict[str, Any]) -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    """(pair or reference name, DSPy's side, pliable's side) of a record: the references
    first, then the pairs."""
    refs = [(name, r["dspy"], r["pliable"]) for name, r in record.get("references", {}).items()]
    return [*refs, *((p["pair"], p["dspy"], p["pliable"]) for p in record["pairs"])]


def add_strict(result: dict[str, Any]) -> None:
    """Add ``strict`` / ``strict_values`` to every test result in ``result``, from the stored
    answers and the split's gold answers (rebuilt from the task, seed and sizes)."""
    from _cvd_common import Config, load_split
    from _cvd_metric import strict_golds

    cfg = Config(**result["config"])
    for record in result["runs"]:
        test = load_split(cfg, record["task"], record["seed"])[2]
        golds = [strict_golds(e) for e in test]
        tests = [*record.get("zero_shot", {}).values()]
        for ref in record.get("references", {}).values():
            tests += [ref["dspy"].get("test"), ref["pliable"].get("test")]
        for pair in record["pairs"]:
            for side in (pair["dspy"], pair["pliable"]):
                tests += [side.get("test"), (side.get("best_candidate") or {}).get("test")]
        for t in tests:
            if t and t.get("answers") is not None:
                t["strict_values"] = strict_values(t["answers"], golds)
                t["strict"] = summarize(t["strict_values"])


# --------------------------------------------------------------------------- tables


def run_rows(record: dict[str, Any]) -> list[list[Any]]:
    """Rows of the per-task/seed table."""
    rows: list[list[Any]] = []
    for who in ("dspy", "pliable"):
        base = record["zero_shot"][who]
        label = "DSPy" if who == "dspy" else "pliable"
        rows.append(
            [
                "zero-shot",
                label,
                "(none)",
                score_cell(base),
                strict_cell(base),
                named_cell(base),
                "-",
                "-",
                "-",
                "-",
                "-",
                "0",
                "ok",
            ]
        )
    references = record.get("references", {})
    for name, *sides in side_results(record):
        shown = f"{name} {REFERENCE}" if name in references else name
        for side in sides:
            label = "DSPy" if side["side"] == "dspy" else "pliable"
            c = side.get("compile") or {}
            status = "ok" if side["status"] == "ok" else f"failed: {side['error'][:80]}"
            if name in references and side["status"] == "ok":
                status = "reference (no valset, no budget)"
            elif side["side"] == "pliable" and side["status"] == "ok":
                rep = side["report"]
                bits = [f"kept {rep['selected']}"]
                if rep.get("stopped"):
                    bits.append("budget stop")
                if not side["matched"]:
                    bits.append("unmatched")
                status = ", ".join(bits)
            zero = record["zero_shot"][side["side"]].get("program", {}).get("state")
            if side.get("program") and side["program"]["state"] == zero:
                status += " (= zero-shot program)"
            rows.append(
                [
                    shown,
                    label,
                    side["optimizer"],
                    score_cell(side.get("test")),
                    strict_cell(side.get("test")),
                    named_cell(side.get("test")),
                    c.get("lm_calls", "-"),
                    teacher_calls(c),
                    c.get("prompt_tokens", "-"),
                    c.get("completion_tokens", "-"),
                    f"{c['wall_seconds']:.0f}" if c else "-",
                    side["program"]["demos"] if side.get("program") else "-",
                    status,
                ]
            )
            best = side.get("best_candidate")
            if best and best.get("test"):
                rows.append(
                    [
                        shown,
                        "pliable",
                        f"{side['optimizer']} (best candidate)",
                        score_cell(best["test"]),
                        strict_cell(best["test"]),
                        named_cell(best["test"]),
                        "(same)",
                        "(same)",
                        "(same)",
                        "(same)",
                        "(same)",
                        best["program"]["demos"],
                        "the same compile's best candidate, kept without the significance test",
                    ]
                )
    return rows


def teacher_calls(compile_cost: dict[str, Any]) -> Any:
    """The teacher's share of a compile's LM calls (``-`` in results from before roles)."""
    return (compile_cost.get("by_role") or {}).get("teacher", {}).get("lm_calls", "-")


def trivial_line(b: dict[str, Any], shown: int = 6) -> str:
    """The trivial programs of one test set (the ``shown`` most common labels; a
    constant's score is its share of the labels)."""
    items = list(b["test_labels"].items())
    n = sum(b["test_labels"].values())
    more = f", ... ({len(items)} distinct)" if len(items) > shown else ""
    labels = ", ".join(f"{k} {c}" for k, c in items[:shown]) + more
    constants = ", ".join(f"always {k!r} {pct(c / n)}" for k, c in items[:shown]) + more
    chance = "" if b.get("chance") is None else f"; chance {pct(b['chance'])}"
    return (
        f"Trivial programs on this test set: always {b['train_majority_label']!r} (the train "
        f"set's most common answer) {score_cell(b['always_train_majority'])}; {constants}"
        f"{chance}. Test labels: {labels}."
    )


def strict_cell(test: dict[str, Any] | None) -> str:
    return pct(test["strict"]["score"]) if test and test.get("strict") else "-"


def named_cell(test: dict[str, Any] | None) -> str:
    """What the metric reads in the test answers (the choice named, or the number given),
    most common first: "plausible x38, (none) x2", "4 x3, 12 x2"."""
    if not test or "named_choices" not in test:
        return "-"
    return ", ".join(f"{k} x{n}" for k, n in list(test["named_choices"].items())[:3])


RUN_HEADERS = [
    "pair",
    "side",
    "optimizer",
    "test % [95% CI]",
    "strict %",
    "test answers name / give",
    "compile LM calls",
    "of which teacher",
    "prompt tok",
    "compl. tok",
    "compile s",
    "demos",
    "status",
]


def aggregate(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per task and pair (and over all tasks): scores over seeds, costs, ratios."""
    from pliable.evaluation.stats import paired_bootstrap

    out: list[dict[str, Any]] = []
    tasks = sorted({r["task"] for r in records})
    groups = [(t, [r for r in records if r["task"] == t]) for t in tasks]
    if len(tasks) > 1:
        groups.append(("all tasks", records))
    for task, recs in groups:
        # pairs in the order first seen; a seed still running has only some of them
        pair_names = list(dict.fromkeys(p["pair"] for r in recs for p in r["pairs"]))
        ref_names = list(dict.fromkeys(n for r in recs for n in r.get("references", {})))
        for label in ["zero-shot", *(f"{n} {REFERENCE}" for n in ref_names), *pair_names]:
            sides: dict[str, list[dict[str, Any]]] = {"dspy": [], "pliable": []}
            seeds = 0
            for r in recs:
                if label == "zero-shot":
                    if "zero_shot" not in r:
                        continue
                    for who in sides:
                        sides[who].append({"status": "ok", "test": r["zero_shot"][who]})
                elif label.endswith(REFERENCE):
                    ref = r.get("references", {}).get(label.removesuffix(REFERENCE).strip())
                    if ref is None:
                        continue
                    sides["dspy"].append(ref["dspy"])
                    sides["pliable"].append(ref["pliable"])
                else:
                    pair = next((p for p in r["pairs"] if p["pair"] == label), None)
                    if pair is None:
                        continue
                    sides["dspy"].append(pair["dspy"])
                    sides["pliable"].append(pair["pliable"])
                seeds += 1
            entry: dict[str, Any] = {"task": task, "pair": label, "seeds": seeds}
            for who, runs in sides.items():
                ok = [s for s in runs if s.get("status") == "ok" and s.get("test")]
                scores = [s["test"]["score"] for s in ok]
                pooled = [v for s in ok for v in s["test"]["values"]]
                strict = [v for s in ok for v in s["test"].get("strict_values", [])]
                # a failed compile's calls were spent too: they count in the cost columns
                costs = [s["compile"] for s in runs if s.get("compile")]
                by_role = [c for c in costs if c.get("by_role")]
                entry[who] = {
                    "runs_ok": len(ok),
                    "runs_failed": len(runs) - len(ok),
                    "mean": statistics.fmean(scores) if scores else None,
                    "sd": statistics.stdev(scores) if len(scores) > 1 else None,
                    "per_seed": scores,
                    "pooled": summarize(pooled) if pooled else None,
                    "strict_pooled": summarize(strict) if strict else None,
                    "lm_calls": statistics.fmean(c["lm_calls"] for c in costs) if costs else None,
                    "teacher_lm_calls": (
                        statistics.fmean(c["by_role"]["teacher"]["lm_calls"] for c in by_role)
                        if by_role
                        else None
                    ),
                    "prompt_tokens": (
                        statistics.fmean(c["prompt_tokens"] for c in costs) if costs else None
                    ),
                    "completion_tokens": (
                        statistics.fmean(c["completion_tokens"] for c in costs) if costs else None
                    ),
                    "wall_seconds": (
                        statistics.fmean(c["wall_seconds"] for c in costs) if costs else None
                    ),
                }
            both = [
                (d, p)
                for d, p in zip(sides["dspy"], sides["pliable"], strict=True)
                if d.get("status") == "ok" and p.get("status") == "ok"
            ]
            if both:
                a = [v for d, _ in both for v in d["test"]["values"]]
                b = [v for _, p in both for v in p["test"]["values"]]
                diff = paired_bootstrap(a, b)
                entry["pliable_minus_dspy"] = {
                    "difference": diff.difference,
                    "ci_low": diff.ci_low,
                    "ci_high": diff.ci_high,
                    "p_value": diff.p_value,
                    "n": len(a),
                    # the intervals above resample test examples of these programs; the
                    # optimizers' own seed-to-seed spread shows only here
                    "per_seed": [p["test"]["score"] - d["test"]["score"] for d, p in both],
                }
            out.append(entry)
    for task, recs in groups:
        pooled = [v for r in recs for v in r["label_baselines"]["always_train_majority_values"]]
        chances = [c for r in recs if (c := r["label_baselines"].get("chance")) is not None]
        out.append(
            {
                "task": task,
                "pair": "always train-majority (trivial)",
                "seeds": len(recs),
                "pooled": summarize(pooled),
                # none for a generative task; over the multiple-choice tasks of "all tasks"
                "chance": statistics.fmean(chances) if chances else None,
            }
        )
    return out


def mean_sd(side: dict[str, Any]) -> str:
    if side["mean"] is None:
        return f"failed x{side['runs_failed']}"
    sd = "" if side["sd"] is None else f" ± {100 * side['sd']:.1f}"
    failed = f" ({side['runs_failed']} failed)" if side["runs_failed"] else ""
    return f"{pct(side['mean'])}{sd}{failed}"


def aggregate_tables(agg: list[dict[str, Any]]) -> tuple[str, str]:
    score_rows, cost_rows = [], []
    for e in agg:
        if "dspy" not in e:  # the trivial program: the same on both sides
            chance = "" if e.get("chance") is None else f" (chance {pct(e['chance'])})"
            cell = f"{score_cell(e['pooled'])}{chance}"
            score_rows.append(
                [e["task"], e["pair"], e["seeds"], "-", "-", cell, cell, "-", "-", cell, cell]
            )
            continue
        d, p = e["dspy"], e["pliable"]
        diff = e.get("pliable_minus_dspy")
        diff_cell = (
            f"{100 * diff['difference']:+.1f} [{100 * diff['ci_low']:+.1f}, "
            f"{100 * diff['ci_high']:+.1f}]"
            if diff
            else "-"
        )
        per_seed = ", ".join(f"{100 * x:+.1f}" for x in diff["per_seed"]) if diff else "-"
        score_rows.append(
            [
                e["task"],
                e["pair"],
                e["seeds"],
                mean_sd(d),
                mean_sd(p),
                score_cell(d["pooled"]),
                score_cell(p["pooled"]),
                diff_cell,
                per_seed,
                score_cell(d.get("strict_pooled")),
                score_cell(p.get("strict_pooled")),
            ]
        )
        if e["pair"] != "zero-shot":

            def num(x: float | None) -> str:
                return "-" if x is None else f"{x:.0f}"

            cost_rows.append(
                [
                    e["task"],
                    e["pair"],
                    num(d["lm_calls"])
                    + (f" ({d['runs_failed']} failed)" if d["runs_failed"] else ""),
                    num(p["lm_calls"])
                    + (f" ({p['runs_failed']} failed)" if p["runs_failed"] else ""),
                    ratio(p["lm_calls"], d["lm_calls"]),
                    num(d.get("teacher_lm_calls")),
                    num(p.get("teacher_lm_calls")),
                    num(d["prompt_tokens"]),
                    num(p["prompt_tokens"]),
                    ratio(p["prompt_tokens"], d["prompt_tokens"]),
                    num(d["wall_seconds"]),
                    num(p["wall_seconds"]),
                    ratio(p["wall_seconds"], d["wall_seconds"]),
                ]
            )
    scores = table(
        [
            "task",
            "pair",
            "seeds",
            "DSPy test % (mean ± sd)",
            "pliable test % (mean ± sd)",
            "DSPy pooled [95% CI]",
            "pliable pooled [95% CI]",
            "pliable - DSPy, points [95% CI]",
            "per seed",
            "DSPy strict pooled",
            "pliable strict pooled",
        ],
        score_rows,
        left=2,
    )
    costs = table(
        [
            "task",
            "pair",
            "DSPy calls",
            "pliable calls",
            "calls pl/DSPy",
            "DSPy teacher calls",
            "pliable teacher calls",
            "DSPy prompt tok",
            "pliable prompt tok",
            "tok pl/DSPy",
            "DSPy s",
            "pliable s",
            "time pl/DSPy",
        ],
        cost_rows,
        left=2,
    )
    return scores, costs


def print_run(record: dict[str, Any], n_train: int, n_val: int, n_test: int) -> None:
    """The per-run table of one task and seed, and its trivial-program line, to stdout."""
    print(
        f"\n## {record['task']}, seed {record['seed']} (train/val/test {n_train}/{n_val}/"
        f"{n_test})\n"
    )
    print(table(RUN_HEADERS, run_rows(record), left=3))
    print(f"\n{trivial_line(record['label_baselines'])}")
    sys.stdout.flush()


def print_aggregate(scores: str, costs: str, seeds: int, models: str | None = None) -> None:
    """The tables of :func:`aggregate_tables` under their headings, to stdout."""
    if models:
        print(f"\nModels: {models}")
    print(f"\n## Test-set scores over {seeds} seed(s) (pooled: all test examples of all seeds)\n")
    print(scores)
    print(
        "\nThe bracketed intervals resample the test examples of these compiled programs; "
        "'per seed' shows the spread between compiles. 'strict': the answer field is exactly "
        "the gold choice (or the gold number's word or digits); the metric itself also accepts an "
        "answer that names a choice (or holds the gold number first among other words). "
        "Reference rows: compiled without a valset or budget on both sides."
    )
    print("\n## Compile cost per run (mean over seeds; LM calls and tokens at the proxies)\n")
    print(costs)
    print(
        "\nCalls and tokens are the student's and the teacher's together; the teacher columns "
        "show the teacher's share (instruction writing, reflection, bootstrapping). A failed "
        "compile's calls count in its side's mean (the calls were spent)."
    )
