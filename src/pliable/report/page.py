"""The compile report as one self-contained HTML page (``pliable report RUN_DIR``).

Everything comes from a run dir (``run.jsonl``, ``best.json``, ``final.json``): the header
(baseline vs final with their confidence intervals, the majority-answer floor beside them and
whether the final program beats it, and the selection verdict), a plot of
score against LM calls for every scored candidate (an inline SVG), the candidates table, the
best program's prompts as the LM sees them, a word-level diff of each predictor's
instructions, per-example wins and losses against the baseline, and the cost. A crashed run
(no ``end`` event, maybe no ``final.json``) renders from what is there.

The page has no external resources; every value from the run (instructions and demos come
from LMs and users) is HTML-escaped.
"""

from __future__ import annotations

import difflib
import math
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import Any

from pliable.data.example import Example
from pliable.errors import UsageError
from pliable.optimizers.runlog import LOG_NAME, RunLog, logged_spend
from pliable.optimizers.state import example_key
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

__all__ = ["render_report", "write_report"]


@dataclass
class _Run:
    """What a run dir holds, read once."""

    dir: Path
    start: dict[str, Any]
    candidates: list[dict[str, Any]]
    rows: dict[str, dict[str, tuple[float, str | None]]]  # state -> example key -> row
    end: dict[str, Any] | None
    spent: dict[str, Any]
    logged_floor: dict[str, Any] | None = None

    @property
    def report(self) -> dict[str, Any]:
        return dict(self.end.get("report") or {}) if self.end else {}

    @property
    def floor(self) -> dict[str, Any] | None:
        """The majority-answer floor: the report's, else the one logged at the start."""
        found = self.report.get("floor") or self.logged_floor
        return found if isinstance(found, dict) and found.get("score") is not None else None

    @property
    def best(self) -> dict[str, Any] | None:
        """The candidate with the best full-valset score (the earlier one on ties)."""
        scored = [c for c in self.candidates if c.get("score") is not None]
        return max(scored, key=lambda c: float(c["score"]), default=None)

    @property
    def initial(self) -> dict[str, Any] | None:
        """The candidate that is the program passed in, else the first one."""
        same = [c for c in self.candidates if c.get("state") == self.start.get("program")]
        return next(iter(same or self.candidates), None)


def _read(run_dir: Path) -> _Run:
    path = run_dir / LOG_NAME
    if not path.is_file():
        raise UsageError(f"{str(run_dir)!r} is not a run dir: it has no {LOG_NAME}.")
    events = RunLog.read(path)
    if not events or events[0].get("event") != "start":
        raise UsageError(f"{path} is not a pliable run log (no start event).")
    run = _Run(run_dir, events[0], [], {}, None, {})
    seen: set[tuple[Any, Any]] = set()
    for event in events[1:]:
        kind = event.get("event")
        if kind == "row":
            row = (event["score"], event.get("error"))
            run.rows.setdefault(event["state"], {})[event["example"]] = row
        elif kind == "candidate" and (event.get("name"), event.get("state")) not in seen:
            seen.add((event.get("name"), event.get("state")))  # a resumed run records again
            run.candidates.append(event)
        elif kind == "floor" and isinstance(event.get("floor"), dict):
            run.logged_floor = event["floor"]
        elif kind == "end":
            run.end = event
    run.spent = logged_spend(events)[1].to_dict()  # every request journaled, answered or not
    return run


def _summary(s: dict[str, Any] | None) -> str:
    if not s:
        return '<span class="muted">not measured</span>'
    ci = f"95% CI [{_num(s.get('ci_low'))}, {_num(s.get('ci_high'))}], n={_num(s.get('n'))}"
    errors = f", {_num(s.get('errors'))} errors" if s.get("errors") else ""
    return f'<b>{_num(s.get("score"))}</b> <span class="muted">{ci}{errors}</span>'


def _measured(values: Sequence[float]) -> dict[str, Any] | None:
    if not values:
        return None
    from pliable.evaluation.stats import bootstrap_mean_ci

    low, high = bootstrap_mean_ci(values)
    return {"score": sum(values) / len(values), "ci_low": low, "ci_high": high, "n": len(values)}


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


def _baseline(run: _Run) -> dict[str, Any] | None:
    """The report's baseline, else the one measured from the log's rows (a crashed run)."""
    rows = run.rows.get(str(run.start.get("program")), {})
    return run.report.get("baseline") or _measured([v for v, _ in rows.values()])


def _header(run: _Run) -> str:
    start, report, best = run.start, run.report, run.best
    data = start.get("dataset") or {}
    status = _tag("ok", "finished") if run.end else _tag("bad", "incomplete: no end event")
    items = [
        ("dataset", f"{_num(data.get('train_size'))} train / {_num(data.get('val_size'))} val"),
        ("run dir", escape(str(run.dir))),
        ("settings", escape(", ".join(f"{k}={v}" for k, v in start.get("settings", {}).items()))),
        ("baseline", _summary(_baseline(run))),
        ("majority-answer floor", _floor_summary(run.floor)),
    ]
    if run.end and report.get("usable") is False:  # first, where it cannot be missed
        shown = str(report.get("unusable") or "the program returned is below the floor")
        items.insert(0, ("usable", _tag("bad", f"NO USABLE PROGRAM: {shown}")))
    if run.end:
        items.append(("final", _summary(report.get("final")) + _versus_floor(report)))
    elif best is not None:
        shown = _summary(_measured(best.get("full") or []))
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


def _ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    """Round tick values from at or below ``lo`` to at or above ``hi``."""
    raw = ((hi - lo) or 1.0) / count
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 5, 10) if m * mag >= raw)
    first, last = math.floor(lo / step + 1e-9), math.ceil(hi / step - 1e-9)
    return [i * step for i in range(first, max(last, first + 1) + 1)]


_MARKS: dict[str, dict[str, Any]] = {
    "full": {"fill": "#2563eb", "stroke": "#1e3a8a"},
    "minibatch": {"fill": "#fff", "stroke": "#db2777", "stroke_width": 1.5},
    "best": {"fill": "#f59e0b", "stroke": "#7c2d12", "stroke_width": 2},
}


def _mark(kind: str, x: float, y: float, tip: str = "", cls: str | None = None) -> str:
    """A plot marker: a circle (a larger one for the best), a diamond for a minibatch."""
    if kind == "minibatch":
        return _el("path", tip, class_=cls, d=f"M{x},{y - 5}l5 5l-5 5l-5 -5z", **_MARKS[kind])
    return _el("circle", tip, class_=cls, cx=x, cy=y, r=7 if kind == "best" else 5, **_MARKS[kind])


def _y(candidate: dict[str, Any]) -> Any:
    """A candidate's full-valset score, else its minibatch score, else None."""
    full = candidate.get("score")
    return full if full is not None else candidate.get("minibatch_score")


def _plot(run: _Run) -> str:
    title = "Score against LM calls"
    points = [c for c in run.candidates if _y(c) is not None]
    if not points:
        return _section(title, _muted("No scored candidates yet."))
    w, h, left, right, top, bottom = 760, 330, 56, 130, 14, 44
    xs = [float(c.get("lm_calls") or 0) for c in points]
    ys = [float(_y(c)) for c in points]
    base: float | None = (_baseline(run) or {}).get("score")
    floor: float | None = (run.floor or {}).get("score")
    lines = [v for v in (base, floor) if v is not None]
    y_lo, y_hi = min([*ys, *lines]), max([*ys, *lines])
    if y_lo >= 0 and y_hi <= 1:
        y_lo, y_hi = 0.0, 1.0
    x_ticks, y_ticks = _ticks(0, max(xs)), _ticks(y_lo, y_hi)
    x_hi, y_lo, y_hi = x_ticks[-1], y_ticks[0], y_ticks[-1]

    def sx(x: float) -> float:
        return round(left + (w - left - right) * x / x_hi, 1)

    def sy(y: float) -> float:
        return round(top + (h - top - bottom) * (1 - (y - y_lo) / (y_hi - y_lo)), 1)

    grid = {"stroke": "#eef0f3"}
    out = [_el("title", f"score against LM calls: {len(points)} candidates")]
    for t in x_ticks:
        out.append(_el("line", x1=sx(t), x2=sx(t), y1=top, y2=h - bottom, **grid))
        out.append(_el("text", f"{t:g}", x=sx(t), y=h - bottom + 16, text_anchor="middle"))
    for t in y_ticks:
        out.append(_el("line", x1=left, x2=w - right, y1=sy(t), y2=sy(t), **grid))
        out.append(_el("text", f"{t:g}", x=left - 6, y=sy(t) + 4, text_anchor="end"))
    out.append(_el("path", d=f"M{left},{top}V{h - bottom}H{w - right}", fill="none", stroke="#555"))
    mid_x, mid_y = (left + w - right) / 2, (top + h - bottom) / 2
    out.append(_el("text", "LM calls spent", x=mid_x, y=h - 6, text_anchor="middle"))
    out.append(
        _el("text", "score", transform=f"translate(14 {mid_y}) rotate(-90)", text_anchor="middle")
    )
    if base is not None:
        dashed = {"stroke": "#999", "stroke_dasharray": "5 4"}
        out.append(_el("line", x1=left, x2=w - right, y1=sy(base), y2=sy(base), **dashed))
        out.append(_el("text", "baseline", x=w - right + 4, y=sy(base) + 4, fill="#6b7280"))
    if floor is not None:
        dotted = {"stroke": "#dc2626", "stroke_dasharray": "2 3", "class_": "floor"}
        out.append(_el("line", x1=left, x2=w - right, y1=sy(floor), y2=sy(floor), **dotted))
        dy = 14 if base is not None and abs(sy(floor) - sy(base)) < 12 else 4  # not on top
        out.append(_el("text", "floor", x=w - right + 4, y=sy(floor) + dy, fill="#dc2626"))
    best = run.best
    for c, x, y in zip(points, xs, ys, strict=True):
        kind = "best" if c is best else "full" if c.get("score") is not None else "minibatch"
        what = (
            "minibatch of {}".format(c.get("minibatch_size")) if kind == "minibatch" else "valset"
        )
        tip = _el("title", escape(f"{c.get('name')}: {y:.3f} ({what}) at {x:g} LM calls"))
        out.append(_mark(kind, sx(x), sy(y), tip, cls=f"pt {kind}"))
    for i, (kind, label) in enumerate(
        [("full", "full valset"), ("minibatch", "minibatch"), ("best", "best")]
    ):
        y = top + 10 + 20 * i
        out.append(_mark(kind, w - right + 34, y) + _el("text", label, x=w - right + 46, y=y + 4))
    svg = {"xmlns": "http://www.w3.org/2000/svg", "viewBox": f"0 0 {w} {h}", "font_size": 11}
    return _section(title, _el("svg", "".join(out), role="img", **svg))


def _candidates(run: _Run) -> str:
    if not run.candidates:
        return _section("Candidates", _muted("None recorded yet."))
    first = (run.initial or {}).get("instructions") or {}
    best, rows = run.best, []
    for c in run.candidates:
        mb = c.get("minibatch_score")
        changed = {k: v for k, v in (c.get("instructions") or {}).items() if first.get(k) != v}
        text = "; ".join(f"{k}: {v}" for k, v in changed.items())
        shown = escape(text[:90] + ("…" if len(text) > 90 else "")) if changed else "as before"
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
    return _section("Candidates", note, _table(head, rows))


def _prompts(run: _Run) -> str:
    from pliable.compiled.render import (
        file_models,
        per_call_parts,
        read_predictors,
        render_messages,
    )

    title = "The best program's prompts, as the LM sees them"
    files = [run.dir / n for n in ("best.json", "final.json") if (run.dir / n).is_file()]
    if not files:
        return _section(title, _muted("No best.json or final.json yet."))
    try:  # from the file alone: no tools, retriever or program class needed
        parsed, predictors = read_predictors(files[0])
        prompts = render_messages(predictors, models=file_models(parsed))
    except Exception as exc:  # a file this page cannot read must not hide the rest
        return _section(title, _el("pre", escape(f"cannot read {files[0]}: {exc!r}")))
    out = [_muted(f"From {files[0].name}; the inputs are {{field}} placeholders.")]
    if run.report.get("selected") == "baseline":
        out.append(_muted("The run kept the baseline (final.json); this is the best candidate."))
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


def _diff(run: _Run) -> str:
    title = "Instructions: before → after"
    best = run.best
    before = dict((run.initial or {}).get("instructions") or {})
    after = dict((best or {}).get("instructions") or {})
    if best is None or not before:
        return _section(title, _muted("Needs a candidate scored on the full valset."))
    out = [_muted(f"The program passed in against the best candidate ({best.get('name')}).")]
    for name in dict.fromkeys([*before, *after]):
        old, new = str(before.get(name, "")), str(after.get(name, ""))
        same = ' <span class="muted">(unchanged)</span>' if old == new else ""
        out.append(f"<h3>{escape(name)}{same}</h3>" + _el("pre", _diff_words(old, new)))
    return _section(title, *out)


def _wins(run: _Run, examples: Iterable[Example] | None) -> str:
    title = "Per-example wins and losses"
    best = run.best
    base = run.rows.get(str(run.start.get("program")), {})
    if best is None or not base or not best.get("full"):
        return _section(title, _muted("Needs the baseline and a candidate scored in full."))
    mine = run.rows.get(str(best.get("state")), {})
    known = {
        example_key(ex): ", ".join(f"{k}={v!r}" for k, v in ex.inputs().items())
        for ex in examples or ()
    }
    counts, rows = dict.fromkeys(("win", "loss", "same"), 0), []
    for key, new in zip(best["full_keys"], best["full"], strict=True):
        if key not in base:
            continue
        old, error = base[key][0], mine.get(key, (0.0, None))[1] or base[key][1] or ""
        kind = "win" if new > old else "loss" if new < old else "same"
        counts[kind] += 1
        if kind != "same":
            rows.append(
                f"<tr><td>{_tag('ok' if kind == 'win' else 'bad', kind)}</td><td><code>"
                f"{escape(key)}</code> {escape(known.get(key, ''))}</td>{_cell(old)}{_cell(new)}"
                f"<td>{escape(str(error))}</td></tr>"
            )
    head = ["change", "example", "#baseline", "#best", "error"]
    summary = (
        f"<p>Baseline vs <b>{escape(str(best.get('name')))}</b> on {sum(counts.values())} "
        f"examples: {_tag('ok', str(counts['win']) + ' wins')} "
        f"{_tag('bad', str(counts['loss']) + ' losses')} "
        f"{_tag('', str(counts['same']) + ' unchanged')}</p>"
    )
    return _section(title, summary, _table(head, rows) if rows else _muted("No example changed."))


def _cost(run: _Run) -> str:
    r, s = run.report, run.spent
    tokens = (
        f"{_num(r.get('prompt_tokens'))} prompt + {_num(r.get('completion_tokens'))} completion"
    )
    items = [
        ("LM calls", _num(r.get("lm_calls", s.get("lm_calls")))),
        ("cache hits", _num(r["cache_hits"]) if r else "unknown: the run did not finish"),
        ("tokens", tokens if r else _num(s.get("tokens"))),
        ("cost", f"${float(r.get('cost', s.get('usd')) or 0):.4f}"),
        ("wall time", f"{float(r.get('wall_time', s.get('seconds')) or 0):.1f}s"),
    ]
    budget = {k: v for k, v in (r.get("budget") or {}).items() if v is not None}
    if budget:
        items.append(("budget", escape(", ".join(f"{k}={v}" for k, v in budget.items()))))
    return _section("Cost", _kv(items))


def render_report(
    run_dir: str | os.PathLike[str], *, examples: Iterable[Example] | None = None
) -> str:
    """The report page of the run in ``run_dir``, as HTML text.

    Args:
        examples: optionally the valset: wins and losses then show each example's inputs
            next to its key (the run log keeps only keys).
    """
    run = _read(Path(run_dir))
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
