"""The report page's per-example wins and losses: the final program against the baseline on
every valset example both were scored on. Each example that changed is listed with its
inputs, its gold labels and both programs' predictions (or errors), as the run log holds
them; a long value shows its start, with the whole of it folded in a ``<details>``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from html import escape
from typing import Any

from pliable.data.example import Example
from pliable.optimizers.state import example_key
from pliable.report.html import cell, muted, section, table, tag
from pliable.report.rundata import Row, RunData

__all__ = ["clip", "wins_and_losses"]

CLIP = 80  # characters shown before a value is folded
CLIP_LINES = 3


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)


def _fields(values: Any) -> str:
    """A value of one field as it is; several as ``name: value`` lines."""
    if isinstance(values, dict):
        if len(values) == 1:
            return _text(next(iter(values.values())))
        return "\n".join(f"{k}: {_text(v)}" for k, v in values.items())
    return _text(values)


def clip(text: str, limit: int = CLIP) -> str:
    """``text``, escaped; past ``limit`` characters or ``CLIP_LINES`` lines, its start in a
    ``<details>`` summary that opens on the whole of it."""
    if len(text) <= limit and text.count("\n") < CLIP_LINES:
        return f'<span class="v">{escape(text)}</span>'
    start = " ".join(text.split())[:limit]
    more = f"{len(text)} characters"
    return (
        f'<details class="v"><summary>{escape(start)}… <span class="muted">({more})</span>'
        f"</summary><pre>{escape(text)}</pre></details>"
    )


def _outcome(row: Row | None) -> str:
    """A program's prediction on one example, or its error."""
    if row is None:
        return '<span class="muted">not scored</span>'
    if row.error:
        return tag("bad", "error") + " " + clip(row.error)
    if not row.logged:
        return '<span class="muted">not in the run log</span>'
    return clip(_fields(row.prediction))


def _example(run: RunData, key: str, given: dict[str, Example]) -> tuple[str, str]:
    """An example's inputs and gold labels as cells (its key where the log has neither)."""
    logged = run.examples.get(key)
    if logged is not None:
        inputs, labels = logged.get("inputs") or {}, logged.get("labels") or {}
    elif key in given:
        inputs, labels = dict(given[key].inputs()), dict(given[key].labels())
    else:
        unknown = f'<code title="example key">{escape(key)}</code>'
        return unknown, '<span class="muted">not in the run log</span>'
    return clip(_fields(inputs)), clip(_fields(labels))


def wins_and_losses(run: RunData, examples: Iterable[Example] | None = None) -> str:
    title = "Per-example wins and losses"
    final, base = run.final, run.baseline_rows
    if final is None or not base or not final.get("full"):
        why = "Needs the baseline and a candidate scored in full"
        return section(title, muted(f"{why} ({run.unscored})." if run.unscored else f"{why}."))
    mine = run.rows.get(str(final.get("state")), {})
    given = {example_key(ex): ex for ex in examples or ()}
    counts, rows = dict.fromkeys(("win", "loss", "same"), 0), []
    for key, new in zip(final["full_keys"], final["full"], strict=True):
        if key not in base:
            continue
        old = base[key].score
        kind = "win" if new > old else "loss" if new < old else "same"
        counts[kind] += 1
        if kind == "same":
            continue
        inputs, gold = _example(run, key, given)
        rows.append(
            f'<tr class="{kind}"><td>{tag("ok" if kind == "win" else "bad", kind)}</td>'
            f"<td>{inputs}</td><td>{gold}</td><td>{_outcome(base[key])}</td>"
            f"<td>{_outcome(mine.get(key))}</td>{cell(old)}{cell(new)}</tr>"
        )
    head = ["change", "inputs", "gold", "baseline's prediction", "final's prediction"]
    head += ["#baseline", "#final"]
    name = escape(str(final.get("name")))
    summary = (
        f"<p>Baseline vs <b>{name}</b> on {sum(counts.values())} examples: "
        f"{tag('ok', str(counts['win']) + ' wins')} "
        f"{tag('bad', str(counts['loss']) + ' losses')} "
        f"{tag('', str(counts['same']) + ' unchanged')}</p>"
    )
    if not rows:
        return section(title, summary, muted("No example changed."))
    note = muted("Each example whose score changed, with both predictions; click to unfold.")
    return section(title, summary, note, table(head, rows))
