"""mkdocs hooks: guide pages take their text from README.md (the README stays the one source),
and the reST of pliable's docstrings reads well in the API reference.

A page line ``<!-- readme: Title -->`` becomes the README section headed ``Title`` (at any
level): the text under that heading, through its subsections, up to the next heading of the
same or a higher level. The heading line itself is left out (the page has its own title) and
the subsections move up so that they sit right under the page title (``###`` becomes ``##``).
``<!-- readme: -->`` (no title) is the README's opening text, before its first ``##``, without
the ``#`` title. A title that the README does not have fails the build.

pliable's docstrings are Google style with reST roles (``:class:`~pliable.Budget```) and
literal blocks introduced by ``::``. mkdocstrings renders them as Markdown, which would show the
role names and the colons; :func:`on_page_content` turns each role into a cross-reference to the
object when the reference documents it (else plain code; ``~`` keeps only the last name) and
drops the ``::`` markers.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from mkdocs.exceptions import PluginError

DIRECTIVE = re.compile(r"^<!--\s*readme:\s*(.*?)\s*-->\s*$", re.MULTILINE)
HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
FENCE = re.compile(r"^\s*(```+|~~~+)")
ROLE = re.compile(
    r":(?:py:)?(?:class|func|meth|mod|attr|data|exc|obj):\s*<code>(~?)([\w.]+?)(\(\))?</code>"
)


def headings(lines: list[str]) -> list[tuple[int, int, str]]:
    """(line index, level, title) of every Markdown heading outside fenced code blocks."""
    found = []
    fence = ""
    for index, line in enumerate(lines):
        opening = FENCE.match(line)
        if fence:
            if opening and opening.group(1)[0] == fence[0] and len(opening.group(1)) >= len(fence):
                fence = ""
        elif opening:
            fence = opening.group(1)
        elif match := HEADING.match(line):
            found.append((index, len(match.group(1)), match.group(2)))
    return found


def section(readme: str, title: str) -> str:
    lines = readme.splitlines()
    marks = headings(lines)
    if not title:  # the opening text, before the first section
        start = marks[0][0] + 1 if marks and marks[0][1] == 1 else 0
        end = next((index for index, level, _ in marks if level > 1), len(lines))
        return "\n".join(lines[start:end]).strip() + "\n"
    found = [position for position, (_, _, heading) in enumerate(marks) if heading == title]
    if not found:
        known = ", ".join(repr(heading) for _, _, heading in marks)
        raise PluginError(f"README.md has no section {title!r}; its headings: {known}")
    position = found[0]
    index, level, _ = marks[position]
    end = next((i for i, lvl, _ in marks[position + 1 :] if lvl <= level), len(lines))
    inside = {i: lvl for i, lvl, _ in marks[position + 1 :] if i < end}
    shift = level - 1
    body = [
        line[shift:] if number in inside else line
        for number, line in enumerate(lines[index + 1 : end], start=index + 1)
    ]
    return "\n".join(body).strip() + "\n"


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    if not DIRECTIVE.search(markdown):
        return markdown
    readme_path = Path(config["config_file_path"]).parent / "README.md"
    readme = readme_path.read_text(encoding="utf-8")
    return DIRECTIVE.sub(lambda match: section(readme, match.group(1)), markdown)


def cross_reference(match: re.Match[str]) -> str:
    short, target, call = match.group(1), match.group(2), match.group(3) or ""
    title = f"<code>{target.rpartition('.')[2] if short else target}{call}</code>"
    if target.startswith("pliable."):
        return f'<autoref identifier="{target}" optional>{title}</autoref>'
    # As given, else relative to pliable (``Budget`` is documented as ``pliable.Budget``).
    return f'<autoref identifier="{target}" slug="pliable.{target}" optional>{title}</autoref>'


def on_page_content(html: str, page: Any, config: Any, files: Any) -> str:
    html = ROLE.sub(cross_reference, html)
    html = html.replace("<p>::</p>", "")  # a literal block introduced on a line of its own
    return re.sub(r"(?<=[\w)])::</p>", ":</p>", html)  # "...as follows::" ends with one colon
