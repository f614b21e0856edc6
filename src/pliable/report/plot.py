"""The report page's chart: score against LM calls, as an inline SVG.

One point per scored candidate (a circle for a full-valset score, a diamond for a minibatch
score, a larger circle for the best), the best-so-far line (the running maximum of the
full-valset scores in the order the candidates were tried), and the baseline and the
majority-answer floor as horizontal lines.
"""

from __future__ import annotations

import math
from html import escape
from typing import Any

from pliable.report.html import el, muted, section
from pliable.report.rundata import RunData

__all__ = ["best_so_far", "score_plot"]

_MARKS: dict[str, dict[str, Any]] = {
    "full": {"fill": "#2563eb", "stroke": "#1e3a8a"},
    "minibatch": {"fill": "#fff", "stroke": "#db2777", "stroke_width": 1.5},
    "best": {"fill": "#f59e0b", "stroke": "#7c2d12", "stroke_width": 2},
}
_BEST_LINE: dict[str, Any] = {"fill": "none", "stroke": "#16a34a", "stroke_width": 2}


def _ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    """Round tick values from at or below ``lo`` to at or above ``hi``."""
    raw = ((hi - lo) or 1.0) / count
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 5, 10) if m * mag >= raw)
    first, last = math.floor(lo / step + 1e-9), math.ceil(hi / step - 1e-9)
    return [i * step for i in range(first, max(last, first + 1) + 1)]


def _mark(kind: str, x: float, y: float, tip: str = "", cls: str | None = None) -> str:
    """A plot marker: a circle (a larger one for the best), a diamond for a minibatch."""
    if kind == "minibatch":
        return el("path", tip, class_=cls, d=f"M{x},{y - 5}l5 5l-5 5l-5 -5z", **_MARKS[kind])
    return el("circle", tip, class_=cls, cx=x, cy=y, r=7 if kind == "best" else 5, **_MARKS[kind])


def _y(candidate: dict[str, Any]) -> Any:
    """A candidate's full-valset score, else its minibatch score, else None."""
    full = candidate.get("score")
    return full if full is not None else candidate.get("minibatch_score")


def best_so_far(candidates: list[dict[str, Any]]) -> list[tuple[float, float]]:
    """(LM calls, best full-valset score so far) at each candidate scored on the full
    valset, in the order they were tried (the run log's)."""
    out: list[tuple[float, float]] = []
    for c in candidates:
        if c.get("score") is None:
            continue
        score = float(c["score"])
        out.append((float(c.get("lm_calls") or 0), max(score, out[-1][1]) if out else score))
    return out


def _step_path(steps: list[tuple[float, float]], x_end: float) -> str:
    """An SVG path through ``steps`` (already scaled): flat until the next step, then up,
    and on to ``x_end``."""
    x0, y0 = steps[0]
    parts = [f"M{x0},{y0}"]
    for x, y in steps[1:]:
        parts.append(f"H{x}V{y}")
    if x_end > steps[-1][0]:
        parts.append(f"H{x_end}")
    return "".join(parts)


def score_plot(run: RunData) -> str:
    title = "Score against LM calls"
    points = [c for c in run.candidates if _y(c) is not None]
    if not points:
        return section(
            title,
            muted(
                f"No scored candidates ({run.unscored})."
                if run.unscored
                else "No scored candidates yet."
            ),
        )
    w, h, left, right, top, bottom = 760, 330, 56, 130, 14, 44
    xs = [float(c.get("lm_calls") or 0) for c in points]
    ys = [float(_y(c)) for c in points]
    base: float | None = (run.baseline or {}).get("score")
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
    out = [el("title", f"score against LM calls: {len(points)} candidates")]
    for t in x_ticks:
        out.append(el("line", x1=sx(t), x2=sx(t), y1=top, y2=h - bottom, **grid))
        out.append(el("text", f"{t:g}", x=sx(t), y=h - bottom + 16, text_anchor="middle"))
    for t in y_ticks:
        out.append(el("line", x1=left, x2=w - right, y1=sy(t), y2=sy(t), **grid))
        out.append(el("text", f"{t:g}", x=left - 6, y=sy(t) + 4, text_anchor="end"))
    out.append(el("path", d=f"M{left},{top}V{h - bottom}H{w - right}", fill="none", stroke="#555"))
    mid_x, mid_y = (left + w - right) / 2, (top + h - bottom) / 2
    out.append(el("text", "LM calls spent", x=mid_x, y=h - 6, text_anchor="middle"))
    out.append(
        el("text", "score", transform=f"translate(14 {mid_y}) rotate(-90)", text_anchor="middle")
    )
    if base is not None:
        dashed = {"stroke": "#999", "stroke_dasharray": "5 4"}
        out.append(el("line", x1=left, x2=w - right, y1=sy(base), y2=sy(base), **dashed))
        out.append(el("text", "baseline", x=w - right + 4, y=sy(base) + 4, fill="#6b7280"))
    if floor is not None:
        dotted = {"stroke": "#dc2626", "stroke_dasharray": "2 3", "class_": "floor"}
        out.append(el("line", x1=left, x2=w - right, y1=sy(floor), y2=sy(floor), **dotted))
        dy = 14 if base is not None and abs(sy(floor) - sy(base)) < 12 else 4  # not on top
        out.append(el("text", "floor", x=w - right + 4, y=sy(floor) + dy, fill="#dc2626"))
    steps = best_so_far(points)
    if steps:
        tip = el("title", escape("best so far: " + ", ".join(f"{y:.3f}" for _, y in steps)))
        path = _step_path([(sx(x), sy(y)) for x, y in steps], sx(max(xs)))
        out.append(el("path", tip, class_="best-so-far", d=path, **_BEST_LINE))
    best = run.best
    for c, x, y in zip(points, xs, ys, strict=True):
        kind = "best" if c is best else "full" if c.get("score") is not None else "minibatch"
        what = (
            "minibatch of {}".format(c.get("minibatch_size")) if kind == "minibatch" else "valset"
        )
        tip = el("title", escape(f"{c.get('name')}: {y:.3f} ({what}) at {x:g} LM calls"))
        out.append(_mark(kind, sx(x), sy(y), tip, cls=f"pt {kind}"))
    legend = [("full", "full valset"), ("minibatch", "minibatch"), ("best", "best")]
    for i, (kind, label) in enumerate(legend):
        y = top + 10 + 20 * i
        out.append(_mark(kind, w - right + 34, y) + el("text", label, x=w - right + 46, y=y + 4))
    y = top + 10 + 20 * len(legend)
    key = el("path", d=f"M{w - right + 26},{y}H{w - right + 42}", **_BEST_LINE)
    out.append(key + el("text", "best so far", x=w - right + 46, y=y + 4))
    svg = {"xmlns": "http://www.w3.org/2000/svg", "viewBox": f"0 0 {w} {h}", "font_size": 11}
    return section(title, el("svg", "".join(out), role="img", **svg))
