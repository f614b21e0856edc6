"""The on-disk form of a saved retriever: one directory, no pickle anywhere.

::

    my-index/
      retriever.json      the manifest: format, version, kind, count, kind-specific settings
      passages.jsonl      one {"id", "text", "metadata"} object per line, in corpus order
      bm25/               (kind "bm25") the bm25s index: .npy arrays + JSON vocab and params
      vectors.npy         (kind "embedding") float32 (count, dimension), unit rows

The manifest is written last, so a save that crashes half-way leaves a directory that
refuses to load instead of a half-written index. Loading reads and checks the manifest and
every file before anything is built; a problem raises :class:`~pliable.errors.DataError`
naming the file and saying what to do.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from pliable.errors import DataError, UsageError
from pliable.programs.retrieve.passage import Passage, passage_from_json, passage_to_json

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "MANIFEST",
    "PASSAGES",
    "prepare_dir",
    "read_manifest",
    "read_passages",
    "write_manifest",
    "write_passages",
]

FORMAT = "pliable-retriever"
FORMAT_VERSION = 1
MANIFEST = "retriever.json"
PASSAGES = "passages.jsonl"
KINDS = ("bm25", "embedding")
# Files a save may leave behind that a later save of another kind would make stale.
_OWNED_FILES = ("vectors.npy", PASSAGES)
_OWNED_BM25_FILES = (
    "data.csc.index.npy",
    "indices.csc.index.npy",
    "indptr.csc.index.npy",
    "vocab.index.json",
    "params.index.json",
    "nonoccurrence_array.index.npy",
)


def prepare_dir(path: str | os.PathLike[str]) -> Path:
    """The absolute directory to save into: new, empty, or a retriever saved before.

    An existing retriever's manifest and files are removed first (so a crash never leaves an
    old manifest over new files). Any other non-empty directory is refused.
    """
    target = Path(path).expanduser().resolve()
    if target.exists() and not target.is_dir():
        raise UsageError(
            f"Cannot save a retriever to {target}: it is a file. Give a directory path."
        )
    if target.is_dir() and any(target.iterdir()) and not (target / MANIFEST).is_file():
        raise UsageError(
            f"Cannot save a retriever to {target}: the directory is not empty and holds no "
            f"{MANIFEST}. Give a new or empty directory (an old retriever's is overwritten)."
        )
    target.mkdir(parents=True, exist_ok=True)
    (target / MANIFEST).unlink(missing_ok=True)
    for name in _OWNED_FILES:
        (target / name).unlink(missing_ok=True)
    bm25_dir = target / "bm25"
    if bm25_dir.is_dir():
        for name in _OWNED_BM25_FILES:
            (bm25_dir / name).unlink(missing_ok=True)
        if not any(bm25_dir.iterdir()):
            bm25_dir.rmdir()
    return target


def write_passages(directory: Path, passages: tuple[Passage, ...]) -> None:
    lines = [passage_to_json(p) for p in passages]  # fails on bad metadata before writing
    (directory / PASSAGES).write_text("\n".join(lines) + "\n", encoding="utf-8")


def write_manifest(directory: Path, kind: str, count: int, settings: dict[str, Any]) -> None:
    """Write ``retriever.json`` atomically (the last step of a save)."""
    from pliable._version import __version__

    manifest = {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "kind": kind,
        "count": count,
        "pliable_version": __version__,
        kind: settings,
    }
    tmp = directory / (MANIFEST + ".tmp")
    tmp.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    tmp.replace(directory / MANIFEST)


def _corrupt(path: Path, problem: str, value: object = None) -> DataError:
    return DataError(
        f"{path}: {problem}. The saved retriever is damaged or was not written by pliable: "
        "build the retriever again and save it.",
        source=str(path),
        value=value,
    )


def read_manifest(path: str | os.PathLike[str]) -> tuple[Path, dict[str, Any]]:
    """The resolved directory and its validated manifest (``kind``, ``count``, settings)."""
    directory = Path(path).expanduser().resolve()
    manifest_path = directory / MANIFEST
    if not directory.is_dir():
        raise DataError(
            f"No saved retriever at {directory}: the directory does not exist. Check the path, "
            "or build the retriever and call .save(path) first.",
            source=str(directory),
        )
    try:
        raw = json.loads(manifest_path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise DataError(
            f"No saved retriever at {directory}: {manifest_path} is missing (was the save "
            "interrupted?). Build the retriever again and call .save(path).",
            source=str(manifest_path),
        ) from exc
    except (OSError, ValueError) as exc:
        raise _corrupt(manifest_path, f"cannot be read as JSON ({exc})") from exc
    if not isinstance(raw, dict) or raw.get("format") != FORMAT:
        raise _corrupt(manifest_path, f"is not a retriever manifest (no format {FORMAT!r})", raw)
    version = raw.get("version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise _corrupt(manifest_path, f"has no valid 'version' ({version!r})", raw)
    if version > FORMAT_VERSION:
        raise DataError(
            f"{manifest_path} was written by a newer pliable (format version {version}; this "
            f"one reads {FORMAT_VERSION}). Upgrade pliable to load it.",
            source=str(manifest_path),
            field="version",
            value=version,
        )
    kind, count = raw.get("kind"), raw.get("count")
    if kind not in KINDS:
        raise _corrupt(manifest_path, f"has an unknown kind {kind!r} (known: {KINDS})", kind)
    if not isinstance(count, int) or isinstance(count, bool) or count < 1:
        raise _corrupt(manifest_path, f"has an invalid passage count {count!r}", count)
    if not isinstance(raw.get(kind), dict):
        raise _corrupt(manifest_path, f"has no {kind!r} settings object", raw)
    return directory, raw


def read_passages(directory: Path, count: int) -> tuple[Passage, ...]:
    """The passages of ``passages.jsonl``; exactly ``count`` of them, ids unique."""
    path = directory / PASSAGES
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise _corrupt(path, "is missing") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise _corrupt(path, f"cannot be read ({exc})") from exc
    passages = tuple(
        passage_from_json(line, source=str(path), line_number=n)
        for n, line in enumerate(text.splitlines(), 1)
        if line.strip()
    )
    if len(passages) != count:
        raise _corrupt(path, f"holds {len(passages)} passages but the manifest says {count}")
    if len({p.id for p in passages}) != count:
        raise _corrupt(path, "holds the same passage id twice")
    return passages
