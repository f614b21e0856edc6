"""``Passage`` (one retrieved hit: id, text, score, metadata) and the corpus normaliser.

A corpus can be given as any of::

    ["first text", "second text"]                          # ids "0", "1", ...
    {"doc-a": "first text", "doc-b": "second text"}        # id -> text
    [{"id": "doc-a", "text": "...", "url": "..."}, ...]    # other keys become metadata
    [pl.Example(id="doc-a", text="..."), ...]              # rows of data, as dicts
    [Passage(...), ...]                                    # passages (scores are dropped)

A row without an ``"id"`` gets its position as id. Ids are strings (an int id is turned into
one); two rows with the same id, or a row with no text, raise :class:`~pliable.errors.DataError`
naming the row.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pliable.errors import DataError

__all__ = ["Passage", "normalize_corpus", "passage_from_json", "passage_to_json"]

_SOURCE = "corpus"


@dataclass(frozen=True)
class Passage:
    """One passage of a corpus; a retriever's hit carries its ``score`` (higher is better).

    ``str(passage)`` is its text, so a passage reads naturally in an f-string or a prompt.
    """

    id: str
    text: str
    score: float = 0.0
    metadata: Mapping[str, Any] = field(default_factory=dict, hash=False)

    def __str__(self) -> str:
        return self.text

    def with_score(self, score: float) -> Passage:
        """This passage with ``score`` (a retriever's hit)."""
        return Passage(self.id, self.text, float(score), self.metadata)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict: ``{"id", "text", "score", "metadata"}``."""
        return {
            "id": self.id,
            "text": self.text,
            "score": self.score,
            "metadata": dict(self.metadata),
        }


def _row_error(message: str, row: int, field_name: str | None, value: object) -> DataError:
    return DataError(
        f"corpus row {row}: {message}", source=_SOURCE, line=row, field=field_name, value=value
    )


def _as_id(value: Any, row: int) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise _row_error(
            f"the id {value!r} is a {type(value).__name__}; give each passage a string id.",
            row,
            "id",
            value,
        )
    text = str(value)
    if not text.strip():
        raise _row_error("the id is empty; give each passage a non-empty id.", row, "id", value)
    return text


def _as_text(value: Any, row: int, pid: str) -> str:
    if not isinstance(value, str):
        raise _row_error(
            f"passage {pid!r} has text {value!r} of type {type(value).__name__}; "
            "the text must be a string.",
            row,
            "text",
            value,
        )
    if not value.strip():
        raise _row_error(
            f"passage {pid!r} has empty text ({value!r}); remove the row or give it text.",
            row,
            "text",
            value,
        )
    return value


def _from_mapping_row(item: Mapping[str, Any], index: int) -> Passage:
    row = index + 1
    if "text" not in item:
        raise _row_error(
            f"no 'text' key (keys: {', '.join(map(str, item)) or 'none'}); give each row a "
            "'text' (and optionally an 'id'; other keys become metadata).",
            row,
            "text",
            dict(item),
        )
    pid = _as_id(item.get("id", index), row)
    metadata = {str(k): v for k, v in item.items() if k not in ("id", "text")}
    return Passage(pid, _as_text(item["text"], row, pid), 0.0, metadata)


def _rows(corpus: Any) -> list[Passage]:
    if isinstance(corpus, (str, bytes)):
        raise DataError(
            f"The corpus is a single {type(corpus).__name__} ({corpus[:60]!r}...); pass a list "
            "of texts, a dict of id -> text, or a list of {'id', 'text'} dicts.",
            source=_SOURCE,
            value=corpus,
        )
    if isinstance(corpus, Mapping):
        return [
            Passage(_as_id(pid, i + 1), _as_text(text, i + 1, str(pid)), 0.0, {})
            for i, (pid, text) in enumerate(corpus.items())
        ]
    if not isinstance(corpus, Iterable):
        raise DataError(
            f"The corpus {corpus!r} is a {type(corpus).__name__}; pass a list of texts, a dict "
            "of id -> text, or a list of {'id', 'text'} dicts.",
            source=_SOURCE,
            value=corpus,
        )
    out: list[Passage] = []
    for index, item in enumerate(corpus):
        if isinstance(item, Passage):
            out.append(
                Passage(item.id, _as_text(item.text, index + 1, item.id), 0.0, item.metadata)
            )
        elif isinstance(item, str):
            out.append(Passage(str(index), _as_text(item, index + 1, str(index)), 0.0, {}))
        elif isinstance(item, Mapping):
            out.append(_from_mapping_row(item, index))
        else:
            raise _row_error(
                f"{item!r} is a {type(item).__name__}; a row is a text, a dict with a 'text' "
                "key, a pl.Example or a Passage.",
                index + 1,
                None,
                item,
            )
    return out


def normalize_corpus(corpus: Any) -> list[Passage]:
    """The passages of ``corpus`` (see the module docstring for the accepted forms), in order.

    Raises:
        DataError: an empty corpus, a row of the wrong kind, a missing or empty text, a
            non-string id, or an id used twice (naming both rows).
    """
    passages = _rows(corpus)
    if not passages:
        raise DataError(
            "The corpus is empty; a retriever needs at least one passage.", source=_SOURCE
        )
    first_row: dict[str, int] = {}
    for row, p in enumerate(passages, 1):
        if p.id in first_row:
            raise _row_error(
                f"the id {p.id!r} is already used by row {first_row[p.id]}; ids must be unique.",
                row,
                "id",
                p.id,
            )
        first_row[p.id] = row
    return passages


# --- the passages file (JSON lines) ------------------------------------------------------------


def passage_to_json(passage: Passage) -> str:
    """One line of ``passages.jsonl``: ``{"id", "text", "metadata"}`` (no score)."""
    try:
        return json.dumps(
            {"id": passage.id, "text": passage.text, "metadata": dict(passage.metadata)},
            ensure_ascii=False,
            sort_keys=True,
        )
    except (TypeError, ValueError) as exc:
        raise DataError(
            f"Passage {passage.id!r} has metadata that cannot be saved as JSON ({exc}): "
            f"{dict(passage.metadata)!r}. Keep metadata to strings, numbers, lists and dicts.",
            source=_SOURCE,
            field="metadata",
            value=dict(passage.metadata),
        ) from exc


def passage_from_json(line: str, *, source: str, line_number: int) -> Passage:
    """Read one line written by :func:`passage_to_json`; ``DataError`` names the file:line."""
    try:
        raw = json.loads(line)
    except ValueError as exc:
        raise DataError(
            f"{source}:{line_number} is not valid JSON ({exc}). The file is corrupt: save the "
            "retriever again.",
            source=source,
            line=line_number,
            value=line[:200],
        ) from exc
    ok = (
        isinstance(raw, dict)
        and isinstance(raw.get("id"), str)
        and isinstance(raw.get("text"), str)
        and isinstance(raw.get("metadata", {}), dict)
    )
    if not ok:
        raise DataError(
            f"{source}:{line_number} is not a passage (expected an object with string 'id' and "
            f"'text' and a 'metadata' object): {line[:200]!r}. Save the retriever again.",
            source=source,
            line=line_number,
            value=raw,
        )
    return Passage(raw["id"], raw["text"], 0.0, raw.get("metadata", {}))
