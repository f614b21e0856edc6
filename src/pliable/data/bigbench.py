"""BIG-bench tasks as examples.

    dev = load_bigbench("date_understanding", limit=50, seed=0)
    dev[0].question, dev[0].choices, dev[0].answer

A task file is BIG-bench's ``task.json``: an object with ``examples``, each an ``input`` and
either ``target_scores`` (multiple choice) or ``target`` (free text). Each example becomes an
:class:`~pliable.data.example.Example`:

- ``question``: the input, made to stand alone: the task's ``task_prefix`` first (unless
  ``include_task_prefix=False``), then the ``example_input_prefix`` label (``Statement:``) and
  the input, then the ``example_output_prefix`` when it is a question (``Plausible/implausible?``;
  answer labels such as ``Sorted:`` are dropped);
- multiple choice: ``choices`` (the options, in the file's order) and ``answer`` (the option
  with the highest score); inputs ``("question", "choices")``;
- free text: ``answer`` (the first acceptable target) and ``answers`` (all of them, a list);
  input ``("question",)``.

**Where names are found.** ``load_bigbench("anachronisms")`` reads ``anachronisms.json`` (or
``anachronisms/task.json``) in the folder named by the environment variable
``PLIABLE_BIGBENCH_DIR`` when it is set. Otherwise it uses the first ``shared/data/bigbench``
folder found in the current directory or any folder above it, then in pliable's own folder
or any folder above it. For a checkout at ``<work>/main`` with the data at
``<work>/shared/data/bigbench`` this finds the data from anywhere inside the checkout, and
from the package itself (an editable install, or a virtualenv inside the checkout), with no
git call. A path (anything with a ``/``, or an existing file) is read directly.
"""

from __future__ import annotations

import contextlib
import difflib
import os
import random
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from pliable.data.example import Example
from pliable.data.loaders import Examples, _collect
from pliable.data.readers import BadRow, DataError, Row, Rows, kind, read_json_document, show
from pliable.errors import UsageError

__all__ = ["ENV_VAR", "BigBenchExamples", "bigbench_dir", "bigbench_row", "load_bigbench"]

ENV_VAR = "PLIABLE_BIGBENCH_DIR"
_HINT = (
    "What to do: fix the task file, or load it with "
    "load_examples(path, inputs=[...], skip_bad_rows=True) to skip bad examples."
)


class BigBenchExamples(Examples):
    """The examples of one BIG-bench task, with the task's ``name``, ``description``,
    ``task_prefix`` (its instructions, ``""`` if none) and ``metric`` (its preferred score,
    e.g. ``"multiple_choice_grade"`` or ``"exact_str_match"``)."""

    name: str
    description: str
    task_prefix: str
    metric: str

    def __init__(self, examples: Iterable[Example] = (), *, task: Mapping[str, Any]) -> None:
        super().__init__(examples)
        self.name = str(task.get("name") or "")
        self.description = str(task.get("description") or "")
        self.task_prefix = str(task.get("task_prefix") or "").strip()
        self.metric = str(task.get("preferred_score") or "")


def _question(text: str, task: Mapping[str, Any], include_task_prefix: bool) -> str:
    prefix = str(task.get("task_prefix") or "").strip() if include_task_prefix else ""
    label = str(task.get("example_input_prefix") or "").strip()
    cue = str(task.get("example_output_prefix") or "").strip()
    body = f"{label} {text}" if label else text
    if cue.endswith("?"):
        body = f"{body}\n{cue}"
    return f"{prefix}\n\n{body}" if prefix else body


def bigbench_row(
    example: Any, task: Mapping[str, Any], *, include_task_prefix: bool = True
) -> dict[str, Any]:
    """One BIG-bench example as a row: ``question``, ``answer`` and ``choices`` (multiple
    choice) or ``answers`` (free text). Raises ``BadRow`` saying what is wrong with it."""
    if not isinstance(example, Mapping):
        raise BadRow(f"expected a BIG-bench example object, got {kind(example)}: {show(example)}")
    text = example.get("input")
    if not isinstance(text, str):
        what = f"expected a string, got {show(text)}" if "input" in example else "missing"
        raise BadRow(f"field 'input': {what}; the example is {show(example)}", field="input")
    row: dict[str, Any] = {"question": _question(text, task, include_task_prefix)}
    if "target_scores" in example:
        scores = example["target_scores"]
        numbers = isinstance(scores, Mapping) and all(
            isinstance(s, (int, float)) and not isinstance(s, bool) for s in scores.values()
        )
        if not (numbers and scores):
            raise BadRow(
                f"field 'target_scores': expected an object of choice -> score, got {show(scores)}",
                field="target_scores",
                value=scores,
            )
        best = max(scores.values())
        if best <= 0:
            raise BadRow(
                f"field 'target_scores': no choice scores above 0, so none is the answer: "
                f"{show(scores)}",
                field="target_scores",
                value=scores,
            )
        row["answer"] = next(str(choice) for choice, score in scores.items() if score == best)
        row["choices"] = [str(choice) for choice in scores]
        return row
    if "target" not in example:
        raise BadRow(
            "field 'target': missing; an example needs 'target_scores' (multiple choice) or "
            f"'target' (free text). The example is {show(example)}",
            field="target",
        )
    target = example["target"]
    targets = [target] if isinstance(target, str) else target
    if not (isinstance(targets, list) and targets and all(isinstance(t, str) for t in targets)):
        raise BadRow(
            f"field 'target': expected a string or a list of strings, got {show(target)}",
            field="target",
            value=target,
        )
    row["answer"] = targets[0]
    row["answers"] = list(targets)
    return row


def _upwards(start: Path) -> list[Path]:
    """``start`` and the folders above it, up to the root: where shared/data/bigbench is
    looked for."""
    return [start, *start.parents]


def bigbench_dir() -> Path:
    """The folder that BIG-bench task names are looked up in (see the module docstring)."""
    configured = os.environ.get(ENV_VAR)
    if configured:
        folder = Path(configured).expanduser()
        if not folder.is_dir():
            raise DataError(
                f"${ENV_VAR} is {configured!r}, which is not a folder. What to do: point it at "
                "the folder holding the BIG-bench <task>.json files, or unset it.",
                source=configured,
            )
        return folder
    starts = [Path(__file__).resolve().parent]
    with contextlib.suppress(OSError):  # the current directory may have been removed
        starts.insert(0, Path.cwd())
    for start in starts:
        for folder in _upwards(start):
            candidate = folder / "shared" / "data" / "bigbench"
            if candidate.is_dir():
                return candidate
    raise DataError(
        f"No BIG-bench folder: ${ENV_VAR} is not set, and no shared/data/bigbench folder is in "
        f"{' or '.join(str(s) for s in starts)} or any folder above. What to do: set "
        f"{ENV_VAR}=/path/to/folder, or pass the path of a task file.",
        source="shared/data/bigbench",
    )


def _task_path(path_or_name: str | os.PathLike[str]) -> Path:
    text = os.fspath(path_or_name)
    is_name = isinstance(path_or_name, str) and not any(sep in text for sep in "/\\")
    if is_name and not Path(text).is_file():
        folder = bigbench_dir()
        stem = text.removesuffix(".json")
        for candidate in (folder / f"{stem}.json", folder / stem / "task.json"):
            if candidate.is_file():
                return candidate
        names = sorted(
            {p.stem for p in folder.glob("*.json")}
            | {p.parent.name for p in folder.glob("*/task.json")}
        )
        close = difflib.get_close_matches(stem, names, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise DataError(
            f"No BIG-bench task {text!r} in {folder}; it has: {', '.join(names) or '(none)'}."
            f"{hint}",
            source=str(folder),
            value=text,
        )
    path = Path(text).expanduser()
    if path.is_dir() and (path / "task.json").is_file():
        return path / "task.json"
    if not path.is_file():
        raise DataError(
            f"{path}: no such BIG-bench task file (looked at {path.resolve()}).",
            source=str(path),
        )
    return path


def load_bigbench(
    path_or_name: str | os.PathLike[str],
    *,
    limit: int | None = None,
    seed: int | None = None,
    include_task_prefix: bool = True,
) -> BigBenchExamples:
    """Load a BIG-bench task (a name such as ``"sports_understanding"``, or a path).

    Examples come in the file's order, choices too. With a ``seed``, both are shuffled with
    ``random.Random(seed)`` (the examples, so that ``limit`` takes a random sample; each
    example's choices, since task files often list the right one first). ``limit`` keeps the
    first ``limit`` examples after that. ``include_task_prefix=False`` leaves the task's
    instructions out of each question; they stay on the result's ``task_prefix``.
    A malformed example raises :class:`~pliable.data.loaders.DataError` naming ``file:line``.
    """
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 0):
        raise UsageError(f"limit must be a whole number >= 0 or None, not {limit!r}.")
    path = _task_path(path_or_name)
    task, items = read_json_document(path)
    if not isinstance(task, dict):
        raise DataError(
            f"{path}: not a BIG-bench task: expected an object with an 'examples' list, got "
            f"{kind(task)}. What to do: load a plain list with load_examples(...).",
            source=str(path),
        )

    def rows() -> Rows:
        for line, item in items:
            try:
                data: Any = bigbench_row(item, task, include_task_prefix=include_task_prefix)
            except BadRow as bad:
                data = bad
            yield Row(f"{path}:{line}", line, data)

    def build(data: dict[str, Any]) -> Example:
        inputs = ("question", "choices") if "choices" in data else ("question",)
        return Example(data).with_inputs(*inputs)

    loaded = _collect(
        rows(),
        build,
        source=str(path),
        skip_bad_rows=False,
        limit=None if seed is not None else limit,
        hint=_HINT,
    )
    examples = list(loaded)
    if seed is not None:
        rng = random.Random(seed)
        for i, example in enumerate(examples):
            if "choices" in example:
                choices = example.choices
                examples[i] = example.copy(choices=rng.sample(choices, k=len(choices)))
        rng.shuffle(examples)
        examples = examples[:limit]
    return BigBenchExamples(examples, task=task)
