"""The compile report as one self-contained HTML page (``pliable report RUN_DIR``).

Everything comes from a run dir (``run.jsonl``, ``best.json``, ``final.json``): the header
(baseline vs final with their confidence intervals, the majority-answer floor beside them and
whether the final program beats it, and the selection verdict), a plot of score against LM
calls for every scored candidate with the best score so far (an inline SVG,
:mod:`pliable.report.plot`), the candidates table, the best program's prompts as the LM sees
them, a word-level diff of each predictor's instructions, per-example wins and losses against
the baseline with each example's inputs, gold labels and both predictions
(:mod:`pliable.report.wins`), and the cost of every invocation of the run. For an optimizer
that records no candidates (``BootstrapFewShot``, ``LabeledFewShot``) the compile logs the
program passed in and the compiled one as its candidates (:mod:`pliable.report.rundata`). A
crashed run (no ``end`` event, maybe no ``final.json``) renders from what is there.

The page has no external resources; every value from the run (instructions and demos come
from LMs and users) is HTML-escaped.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Iterable
from html import escape
from pathlib import Path
from typing import Any

from pliable.data.example import Example
from pliable.report.html import CSS as _CSS
from pliable.report.html import JS as _JS
from pliable.report.html import cell as _cell
from pliable.report.html import el as _el
from pliable.report.html import kv as _kv
from pliable.report.html import muted as _muted
from pliable.report.html import num as _num
from pliable.report.html import section as _section
from pliable.report.html import table as _table
from pliable.report.html import tag as _tag
from pliable.report.plot import score_plot as _plot
from pliable.report.rundata import RunData, measured, read_run
from pliable.report.wins import wins_and_losses as _wins

__all__ = ["render_report", "write_report"]


def _summary(s: dict[str, Any] | None, why: str | None = None) -> str:
    if not s:
        return f'<span class="muted">{escape(why or "not measured")}</span>'
    ci = f"95% CI [{_num(s.get('ci_low'))}, {_num(s.get('ci_high'))}], n={_num(s.get('n'))}"
    errors = f", {_num(s.get('errors'))} errors" if s.get("errors") else ""
    return f'<b>{_num(s.get("score"))}</b> <span class="muted">{ci}{errors}</span>'


def _floor_summary(floor: dict[str, Any] | None) -> str:
    if not floor:
        return '<span class="muted">none: free-text outputs, or a metric that needs an LM</span>'
    about = f"{floor.get('text', '')}, n={_num(floor.get('n'))}, 0 LM calls"
    return f'<b>{_num(floor.get("score"))}</b> <span class="muted">{escape(about)}</span>'


def _versus_floor(report: dict[str, Any]) -> str:
    """A tag saying whether the final program beats the floor ('' when not measured)."""
    c = report.get("floor_comparison")
    if not isinstance(c, dict):
        return ""
    level = f"{100 * float(c.get('confidence') or 0.95):g}% CI"
    ci = f" ({c['difference']:+.3f}, {level} [{c['ci_low']:+.3f}, {c['ci_high']:+.3f}])"
    kind = {"above": "ok", "at or below": "bad"}.get(c.get("verdict", ""), "warn")
    return " " + _tag(kind, f"{c.get('verdict')} the floor" + (ci if kind == "warn" else ""))


def _header(run: RunData) -> str:
    start, report, best = run.start, run.report, run.best
    data = start.get("dataset") or {}
    status = _tag("ok", "finished") if run.end else _tag("bad", "incomplete: no end event")
    items = [
        ("dataset", f"{_num(data.get('train_size'))} train / {_num(data.get('val_size'))} val"),
        ("run dir", escape(str(run.dir))),
        ("settings", escape(", ".join(f"{k}={v}" for k, v in start.get("settings", {}).items()))),
        ("baseline", _summary(run.baseline, run.unscored)),
        ("majority-answer floor", _floor_summary(run.floor)),
    ]
    if run.end and report.get("usable") is False:  # first, where it cannot be missed
        shown = str(report.get("unusable") or "the program returned is below the floor")
        items.insert(0, ("usable", _tag("bad", f"NO USABLE PROGRAM: {shown}")))
    if run.end:
        final = _summary(report.get("final"), run.unscored)
        items.append(("final", final + _versus_floor(report)))
    elif best is not None:
        shown = _summary(measured(best.get("full") or []))
        items.append(("best so far", f"{shown} ({escape(str(best.get('name')))})"))
        items.append(("status", "the run has not finished: crashed, stopped, or still running"))
    c = report.get("comparison")
    if c:
        diff = f"<b>{c['difference']:+.3f}</b> 95% CI [{c['ci_low']:+.3f}, {c['ci_high']:+.3f}]"
        items.append(("final − baseline", f"{diff}, p={c['p_value']:.3f}"))
    beaten = (report.get("floor_comparison") or {}).get("verdict", "above") == "above"
    if report.get("selected") == "compiled" and not beaten:
        items.append(("selected", _tag("warn", "kept the compiled program: not above the floor")))
    elif report.get("selected") == "compiled":
        items.append(("selected", _tag("ok", "kept the compiled program")))
    elif report.get("selected") == "unchanged":
        items.append(("selected", _tag("warn", "no change: the best program is the one passed in")))
    elif report.get("selected"):
        items.append(("selected", _tag("warn", "kept the baseline: the gain was inside the noise")))
    if report.get("stopped"):
        items.append(("stopped early", _tag("warn", str(report["stopped"]))))
    notes = "".join(f"<li>{escape(str(n))}</li>" for n in report.get("notes") or [])
    name = escape(str(start.get("optimizer", "compile")))
    return (
        f"<section><h1>{name} compile report {status}</h1>{_kv(items)}"
        + (f"<h3>Notes</h3><ul>{notes}</ul>" if notes else "")
        + "</section>"
    )


def _candidates(run: RunData) -> str:
    if not run.candidates:
        return _section("Candidates", _muted("None recorded yet."))
    first = (run.initial or {}).get("instructions") or {}
    best, rows = run.best, []
    for c in run.candidates:
        mb = c.get("minibatch_score")
        changed = {k: v for k, v in (c.get("instructions") or {}).items() if first.get(k) != v}
        text = "; ".join(f"{k}: {v}" for k, v in changed.items())
        shown = escape(text[:90] + ("…" if len(text) > 90 else "")) if changed else "as before"
        if c.get("instructions") is None:
            shown = '<span class="muted">not in the run log</span>'
        pruned = " " + _tag("warn", "pruned") if c.get("pruned") else ""
        size = f" (n={_num(c.get('minibatch_size'))})" if mb is not None else ""
        rows.append(
            f"<tr{' class=best' if c is best else ''}>{_cell(c.get('id'))}"
            f"<td>{escape(str(c.get('name')))}{pruned}</td>{_cell(c.get('score'))}"
            f"{_cell(mb, _num(mb) + size)}{_cell(c.get('demos'))}{_cell(c.get('lm_calls'))}"
            f"<td>{escape(str(c.get('parent') or ''))}</td>{_el('td', shown, title=text)}</tr>"
        )
    head = ["#id", "name", "#score", "#minibatch", "#demos", "#LM calls", "parent", "instructions"]
    note = _muted("Click a column to sort. The best candidate is highlighted.")
    if run.by_compile:
        name = str(run.start.get("optimizer", "The optimizer"))
        note += _muted(
            f"{name} records no candidates: these are the program passed in and the "
            "compiled program, as the compile scored them on the valset."
        )
    return _section("Candidates", note, _table(head, rows))


def _prompts(run: RunData) -> str:
    from pliable.compiled.render import (
        file_models,
        per_call_parts,
        read_predictors,
        render_messages,
    )

    files = [run.dir / n for n in ("best.json", "final.json") if (run.dir / n).is_file()]
    which = "best candidate" if files and files[0].name == "best.json" else "final program"
    title = f"The {which}'s prompts, as the LM sees them"
    if not files:
        return _section(title, _muted("No best.json or final.json yet."))
    try:  # from the file alone: no tools, retriever or program class needed
        parsed, predictors = read_predictors(files[0])
        prompts = render_messages(predictors, models=file_models(parsed))
    except Exception as exc:  # a file this page cannot read must not hide the rest
        return _section(title, _el("pre", escape(f"cannot read {files[0]}: {exc!r}")))
    out = [_muted(f"From {files[0].name}; the inputs are {{field}} placeholders.")]
    if run.report.get("selected") == "baseline" and files[0].name == "best.json":
        out.append(_muted("The run kept the baseline (final.json); this is the best candidate."))
    elif run.report.get("selected") == "baseline":
        out.append(_muted("The run kept the baseline: this is the program passed in."))
    missing = per_call_parts(parsed)
    if missing is not None:
        out.append(_muted(f"Not all of the prompt is shown: {missing}."))
    for name, predictor in predictors.items():
        about = f"{predictor.signature.signature_string()}, {len(predictor.demos)} demos"
        out.append(f'<h3>{escape(name)} <span class="muted">{escape(about)}</span></h3>')
        shown = [
            _el("div", escape(m["role"]), class_="role") + _el("pre", escape(m["content"]))
            for m in prompts[name]
        ]
        if len(shown) > 2:  # demo turns folded between the system prompt and the input
            demos = _el("summary", f"{len(shown) - 2} demo messages") + "".join(shown[1:-1])
            shown = [shown[0], _el("details", demos), shown[-1]]
        out += shown
    return _section(title, *out)


def _diff_words(before: str, after: str) -> str:
    """``after`` against ``before`` word by word, with ``<del>`` and ``<ins>``."""
    a, b = re.findall(r"\s+|\S+\s*", before), re.findall(r"\s+|\S+\s*", after)
    out = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        old, new = escape("".join(a[i1:i2])), escape("".join(b[j1:j2]))
        if op == "equal":
            out.append(old)
            continue
        out += [f"<del>{old}</del>" if old else "", f"<ins>{new}</ins>" if new else ""]
    return "".join(out)


def _diff(run: RunData) -> str:
    title = "Instructions: before → after"
    best = run.final
    before = dict((run.initial or {}).get("instructions") or {})
    after = dict((best or {}).get("instructions") or {})
    if best is None or not before:
        return _section(title, _muted("Needs a candidate scored on the full valset."))
    which = "compiled program" if best is run.compiled else "best candidate"
    named = f" ({best.get('name')})" if best.get("name") != which else ""
    out = [_muted(f"The program passed in against the {which}{named}.")]
    for name in dict.fromkeys([*before, *after]):
        old, new = str(before.get(name, "")), str(after.get(name, ""))
        same = ' <span class="muted">(unchanged)</span>' if old == new else ""
        out.append(f"<h3>{escape(name)}{same}</h3>" + _el("pre", _diff_words(old, new)))
    return _section(title, *out)


def _cost(run: RunData) -> str:
    r, s = run.report, run.spent
    tokens = (
        f"{_num(r.get('prompt_tokens'))} prompt + {_num(r.get('completion_tokens'))} completion"
    )
    hits = _num(r.get("cache_hits")) + (" in the last invocation" if run.resumed else "")
    items = [
        ("LM calls", _num(r.get("lm_calls", s.get("lm_calls")))),
        ("cache hits", hits if r else "unknown: the run did not finish"),
        ("tokens", tokens if r else _num(s.get("tokens"))),
        ("cost", f"${float(r.get('cost', s.get('usd')) or 0):.4f}"),
        ("wall time", f"{float(r.get('wall_time', s.get('seconds')) or 0):.1f}s"),
    ]
    budget = {k: v for k, v in (r.get("budget") or {}).items() if v is not None}
    if budget:
        items.append(("budget", escape(", ".join(f"{k}={v}" for k, v in budget.items()))))
    if run.resumed:
        items.append(("resumed", escape(run.resumed + "; the totals count every invocation")))
    return _section("Cost", _kv(items))


def render_report(
    run_dir: str | os.PathLike[str], *, examples: Iterable[Example] | None = None
) -> str:
    """The report page of the run in ``run_dir``, as HTML text.

    Args:
        examples: optionally the valset, for a run log written before pliable logged each
            example: wins and losses then show the inputs and labels of those examples.
    """
    run = read_run(Path(run_dir))
    title = escape(f"pliable report: {run.start.get('optimizer', 'compile')}")
    parts = [_header(run), _plot(run), _candidates(run), _prompts(run), _diff(run)]
    body = "".join([*parts, _wins(run, examples), _cost(run)])
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<style>{_CSS}</style></head><body><main>{body}</main><script>{_JS}</script>"
        "</body></html>\n"
    )


def write_report(
    run_dir: str | os.PathLike[str],
    out: str | os.PathLike[str] | None = None,
    *,
    examples: Iterable[Example] | None = None,
) -> Path:
    """Write :func:`render_report` to ``out`` (default ``run_dir/report.html``); its path."""
    path = Path(out) if out is not None else Path(run_dir) / "report.html"
    path.write_text(render_report(run_dir, examples=examples), encoding="utf-8")
    return path
