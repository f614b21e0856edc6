"""The HTML building blocks of the report page: its style and script, and small escaping
element helpers (every value passed in as text is HTML-escaped)."""

from __future__ import annotations

from html import escape
from typing import Any

__all__ = [
    "CSS",
    "JS",
    "cell",
    "el",
    "kv",
    "muted",
    "num",
    "section",
    "table",
    "tag",
]

CSS = """
body{font:15px/1.45 system-ui,sans-serif;margin:0;color:#1d2330;background:#f5f6f8}
main{max-width:1000px;margin:0 auto;padding:24px}section{background:#fff;margin:16px 0;
border:1px solid #dde1e7;border-radius:8px;padding:16px 20px}h1{font-size:22px;margin:0 0 8px}
h2{font-size:17px;margin:0 0 10px}h3{font-size:15px;margin:14px 0 6px}
table{border-collapse:collapse;width:100%;font-size:13px}th,td{text-align:left;padding:4px 8px;
border-bottom:1px solid #eceff3;vertical-align:top}th{background:#f0f2f5;cursor:pointer}
.n{text-align:right;font-variant-numeric:tabular-nums}pre{white-space:pre-wrap;margin:4px 0 10px;
word-break:break-word;background:#f7f8fa;border:1px solid #e3e6eb;border-radius:6px;
padding:8px 10px;font:12.5px/1.4 ui-monospace,Menlo,Consolas,monospace}
.role{font:600 11px ui-monospace,monospace;text-transform:uppercase;color:#5b6475}
.muted{color:#6b7280}.tag{display:inline-block;padding:1px 8px;border-radius:10px;
font-size:12px;font-weight:600;background:#e5e7eb}.ok{background:#dcfce7;color:#166534}
.warn{background:#fef3c7;color:#92400e}.bad{background:#fee2e2;color:#991b1b}
tr.best td{background:#fff7d6}ins{background:#ccf5d6;text-decoration:none}
del{background:#fbd3d3;color:#7f1d1d}.kv{display:grid;grid-template-columns:max-content 1fr;
gap:2px 16px}.kv dt{color:#5b6475}.kv dd{margin:0}svg{max-width:100%;height:auto}
.pt:hover{stroke-width:3}.v{white-space:pre-wrap;word-break:break-word}
details.v summary{cursor:pointer}details.v pre{margin:4px 0}
"""

JS = """
document.querySelectorAll("table.sortable th").forEach(function (th) {
  th.addEventListener("click", function () {
    var i = th.cellIndex, body = th.closest("table").tBodies[0], asc = th.dataset.asc !== "1";
    var key = function (r) {
      var c = r.cells[i]; return "v" in c.dataset ? +c.dataset.v : c.textContent; };
    th.dataset.asc = asc ? "1" : "0";
    Array.from(body.rows).sort(function (a, b) {
      var x = key(a), y = key(b); return (x < y ? -1 : x > y ? 1 : 0) * (asc ? 1 : -1);
    }).forEach(function (r) { body.appendChild(r); });
  });
});
"""


def num(value: Any, digits: int = 3) -> str:
    if value is None:
        return "—"
    return f"{value:.{digits}f}" if isinstance(value, float) else escape(str(value))


def tag(kind: str, text: str) -> str:
    return f'<span class="tag {kind}">{escape(text)}</span>'


def muted(text: str) -> str:
    return f'<p class="muted">{escape(text)}</p>'


def section(title: str, *parts: str) -> str:
    return f"<section><h2>{escape(title)}</h2>{''.join(parts)}</section>"


def kv(items: list[tuple[str, str]]) -> str:
    return '<dl class="kv">' + "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in items) + "</dl>"


def el(tag: str, content: str = "", **attrs: Any) -> str:
    """An element; attribute names lose a trailing ``_`` and use ``-`` for ``_``; ``None``
    values are left out."""
    shown = "".join(
        f' {k.rstrip("_").replace("_", "-")}="{escape(str(v))}"'
        for k, v in attrs.items()
        if v is not None
    )
    return f"<{tag}{shown}>{content}</{tag}>"


def cell(value: Any, text: str | None = None) -> str:
    """A numeric table cell, sortable by ``value``."""
    sort = -1e308 if value is None else value
    return el("td", num(value) if text is None else text, class_="n", data_v=sort)


def table(head: list[str], rows: list[str]) -> str:
    cells = "".join(
        f'<th class="n">{escape(h[1:])}</th>' if h.startswith("#") else f"<th>{escape(h)}</th>"
        for h in head
    )
    body = "".join(rows)
    return f'<table class="sortable"><thead><tr>{cells}</tr></thead><tbody>{body}</tbody></table>'
