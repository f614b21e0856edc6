"""The summary lines of ``compile_vs_dspy.py``, after the aggregate tables: per pair,
pliable - DSPy over all tasks and seeds; the best optimizer of each side against the other's;
and on how many tasks each compiled optimizer beats both zero-shot and the majority floor.

Every interval is a 95% paired bootstrap (``pliable.evaluation.stats.paired_bootstrap``) over
the test examples pooled: each task and seed contributes its test examples, paired by task,
seed and index. A run in which a side failed is left out of the comparisons it is part of
(and counted as left out)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from _cvd_tables import REFERENCE, pct

SIDES = {"pliable": "pliable", "dspy": "DSPy"}


def _interval(a: Sequence[float], b: Sequence[float]) -> dict[str, Any]:
    """``b - a`` over paired examples, with its 95% interval."""
    from pliable.evaluation.stats import paired_bootstrap

    diff = paired_bootstrap(list(a), list(b))
    return {
        "difference": diff.difference,
        "ci_low": diff.ci_low,
        "ci_high": diff.ci_high,
        "p_value": diff.p_value,
        "n": len(a),
    }


def _points(d: dict[str, Any]) -> str:
    return (
        f"{100 * d['difference']:+.1f} points [{100 * d['ci_low']:+.1f}, {100 * d['ci_high']:+.1f}]"
    )


def _ok(side: dict[str, Any]) -> bool:
    return side.get("status") == "ok" and bool(side.get("test"))


def _over(runs: Sequence[dict[str, Any]]) -> str:
    """ "5 tasks x 3 seeds", or "14 runs of 5 tasks" when the grid is not full."""
    tasks = {r["task"] for r in runs}
    seeds = {r["seed"] for r in runs}
    t = f"{len(tasks)} task{'s' if len(tasks) != 1 else ''}"
    if len(runs) == len(tasks) * len(seeds):
        return f"{t} x {len(seeds)} seed{'s' if len(seeds) != 1 else ''}"
    return f"{len(runs)} task/seed runs of {t}"


def _sides(record: dict[str, Any], name: str) -> dict[str, Any] | None:
    """A record's pair (or reference) ``name``: ``{"dspy": ..., "pliable": ...}``."""
    if name in record.get("references", {}):
        return record["references"][name]
    return next((p for p in record["pairs"] if p["pair"] == name), None)


def pair_differences(records: list[dict[str, Any]], pairs: list[str]) -> dict[str, Any]:
    """Per pair: pliable - DSPy over all the runs where both sides compiled."""
    out: dict[str, Any] = {}
    for name in pairs:
        found = [(r, s) for r in records if (s := _sides(r, name))]
        both = [(r, s) for r, s in found if _ok(s["dspy"]) and _ok(s["pliable"])]
        if not both:
            out[name] = {"runs": len(found), "runs_both_ok": 0}
            continue
        a = [v for _, s in both for v in s["dspy"]["test"]["values"]]
        b = [v for _, s in both for v in s["pliable"]["test"]["values"]]
        out[name] = {
            **_interval(a, b),
            "dspy_mean": sum(a) / len(a),
            "pliable_mean": sum(b) / len(b),
            "runs": len(found),
            "runs_both_ok": len(both),
            "over": _over([r for r, _ in both]),
        }
    return out


def best_vs_best(records: list[dict[str, Any]], pairs: list[str]) -> dict[str, Any] | None:
    """Each side's compiled optimizer with the highest mean test score over all its runs (the
    pairs run on every task and seed; not the references), and pliable's best - DSPy's best,
    paired by task, seed and test example over the runs where both compiled."""
    everywhere = [n for n in pairs if all(_sides(r, n) for r in records)]
    if not everywhere or not records:
        return None
    best: dict[str, Any] = {}
    for who in SIDES:
        means = {}
        for name in everywhere:
            values = [
                v for r in records if _ok(s := _sides(r, name)[who]) for v in s["test"]["values"]
            ]
            if values:
                means[name] = sum(values) / len(values)
        if not means:
            return None
        top = max(means, key=lambda n: means[n])  # the first of a tie, in the pairs' order
        best[who] = {
            "pair": top,
            "optimizer": _sides(records[0], top)[who]["optimizer"],
            "mean": means[top],  # over the runs in which it compiled
            "runs_failed": sum(1 for r in records if not _ok(_sides(r, top)[who])),
            "means": means,
        }
    both = [
        r
        for r in records
        if _ok(_sides(r, best["dspy"]["pair"])["dspy"])
        and _ok(_sides(r, best["pliable"]["pair"])["pliable"])
    ]
    if not both:
        return {**best, "runs_both_ok": 0}
    a = [v for r in both for v in _sides(r, best["dspy"]["pair"])["dspy"]["test"]["values"]]
    b = [v for r in both for v in _sides(r, best["pliable"]["pair"])["pliable"]["test"]["values"]]
    return {
        **best,
        "pliable_minus_dspy": _interval(a, b),
        "runs_both_ok": len(both),
        "over": _over(both),
    }


def beats_trivial(records: list[dict[str, Any]], names: list[str]) -> dict[str, Any]:
    """Per compiled optimizer and side: the tasks (seeds pooled) on which its test scores beat
    both that side's zero-shot program and the always-the-train-majority floor, each with a
    paired bootstrap interval whose lower bound is above 0."""
    out: dict[str, Any] = {}
    tasks = list(dict.fromkeys(r["task"] for r in records))
    for name in names:
        entry: dict[str, Any] = {}
        for who in SIDES:
            per_task: dict[str, Any] = {}
            for task in tasks:
                runs = [(r, s) for r in records if r["task"] == task and (s := _sides(r, name))]
                if not runs:
                    continue
                ok = [(r, s[who]) for r, s in runs if _ok(s[who]) and "zero_shot" in r]
                if not ok:
                    per_task[task] = {"beats": False, "seeds": 0, "failed": len(runs)}
                    continue
                mine = [v for _, s in ok for v in s["test"]["values"]]
                zero = [v for r, _ in ok for v in r["zero_shot"][who]["values"]]
                floor = [
                    v for r, _ in ok for v in r["label_baselines"]["always_train_majority_values"]
                ]
                vs_zero, vs_floor = _interval(zero, mine), _interval(floor, mine)
                per_task[task] = {
                    "beats": vs_zero["ci_low"] > 0 and vs_floor["ci_low"] > 0,
                    "seeds": len(ok),
                    "failed": len(runs) - len(ok),
                    "vs_zero_shot": vs_zero,
                    "vs_majority": vs_floor,
                }
            entry[who] = {
                "optimizer": next(s[who]["optimizer"] for r in records if (s := _sides(r, name))),
                "tasks": len(per_task),
                "beats_on": [t for t, v in per_task.items() if v["beats"]],
                "per_task": per_task,
            }
        out[name] = entry
    return out


def summary(records: list[dict[str, Any]]) -> dict[str, Any]:
    """All three, with the lines to print (``lines``)."""
    pairs = list(dict.fromkeys(p["pair"] for r in records for p in r["pairs"]))
    refs = list(dict.fromkeys(n for r in records for n in r.get("references", {})))
    result: dict[str, Any] = {
        "pairs": pair_differences(records, [*refs, *pairs]),
        "best_vs_best": best_vs_best(records, pairs),
        "beats_trivial": beats_trivial(records, [*refs, *pairs]),
    }
    result["lines"] = summary_lines(result, refs)
    return result


def summary_lines(s: dict[str, Any], refs: Sequence[str] = ()) -> list[str]:
    lines = ["pliable - DSPy per pair (all tasks and seeds; test examples pooled, 95% paired "]
    lines[0] += "bootstrap):"
    for name, d in s["pairs"].items():
        label = f"{name} {REFERENCE}" if name in refs else name
        if not d.get("runs_both_ok"):
            lines.append(f"  {label}: a side failed in each of its {d['runs']} run(s)")
            continue
        left = d["runs"] - d["runs_both_ok"]
        lines.append(
            f"  {label}: pliable - DSPy = {_points(d)} over {d['over']} ({d['n']} paired test "
            f"examples; DSPy {pct(d['dspy_mean'])}, pliable {pct(d['pliable_mean'])})"
            + (f"; {left} run(s) left out, a side failed" if left else "")
        )
    bvb = s.get("best_vs_best")
    if bvb:
        p, d = bvb["pliable"], bvb["dspy"]

        def failed(b: dict[str, Any]) -> str:
            n = b.get("runs_failed")
            return f", failed in {n} run(s) left out" if n else ""

        head = (
            f"Best vs best (each side's compiled optimizer with the highest mean test score): "
            f"pliable {p['optimizer']} ({p['pair']}{failed(p)}) {pct(p['mean'])} vs DSPy "
            f"{d['optimizer']} ({d['pair']}{failed(d)}) {pct(d['mean'])}"
        )
        diff = bvb.get("pliable_minus_dspy")
        lines.append(
            head
            + (
                f": pliable - DSPy = {_points(diff)} over {bvb['over']} ({diff['n']} paired "
                "test examples)"
                if diff
                else ": no run in which both compiled"
            )
        )
    lines.append(
        "Tasks (seeds pooled) on which a compiled program beats both its side's zero-shot "
        "program and the always-the-train-majority floor (95% paired interval above 0):"
    )
    for name, e in s["beats_trivial"].items():
        label = f"{name} {REFERENCE}" if name in refs else name
        p, d = e["pliable"], e["dspy"]
        lines.append(
            f"  {label}: pliable {p['optimizer']} on {len(p['beats_on'])} of {p['tasks']} "
            f"({', '.join(p['beats_on']) or 'none'}); DSPy {d['optimizer']} on "
            f"{len(d['beats_on'])} of {d['tasks']} ({', '.join(d['beats_on']) or 'none'})"
        )
    return lines


def print_summary(s: dict[str, Any]) -> None:
    print("\n## Summary\n")
    for line in s["lines"]:
        print(line)
