"""The local models a benchmark runs on: ``--model`` (the student: the task model being
compiled) and ``--teacher`` (alias ``--prompt-model``: the LM that writes instructions,
reflects and, where both frameworks take one, bootstraps demos). Shared by
``compile_vs_dspy.py``, ``bigbench_compile.py`` and ``instruction_optimizers.py``.

Names are pliable's local model names (``pliable.lm.local.resolve_local_model``):
``local/smollm2`` (the default), ``local/gemma3-270m``, ``local/qwen2.5-coder-0.5b``,
``local/qwen2.5-coder-1.5b`` or ``local/<path>.gguf``. Both are resolved to their GGUF files
before any work, and a name that does not resolve stops the script with a one-line error.
Without ``--teacher`` (or with the student's own name) the teacher is the student, and each
script behaves, and writes to the same default results file, as before these flags existed;
with another model or teacher the default results file gets the model names in its name.
"""

from __future__ import annotations

import argparse
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DEFAULT_MODEL = "local/smollm2"
# name -> GGUF path, set by a parent that resolved them (e.g. before re-running itself with
# another ref's src/ on PYTHONPATH, whose resolver may not know every name)
RESOLVED_ENV = "PLIABLE_BENCH_RESOLVED_MODELS"


def add_model_args(ap: argparse.ArgumentParser) -> None:
    ap.add_argument(
        "--model",
        default=DEFAULT_MODEL,
        metavar="local/NAME",
        help=(
            "the student (task) model: local/smollm2 (default), local/gemma3-270m, "
            "local/qwen2.5-coder-0.5b, local/qwen2.5-coder-1.5b or local/<path>.gguf"
        ),
    )
    ap.add_argument(
        "--teacher",
        "--prompt-model",
        dest="teacher",
        metavar="local/NAME",
        help="the LM that writes instructions, reflects and bootstraps (default: the student)",
    )


def canonical(name: str) -> str:
    name = name.strip()
    return DEFAULT_MODEL if name in ("local", "local/") else name


def slug(name: str) -> str:
    """A short file- and alias-safe name: ``local/qwen2.5-coder-0.5b`` -> ``qwen2.5-coder-0.5b``,
    ``local/models/my.gguf`` -> ``my``."""
    rest = canonical(name).removeprefix("local/")
    if rest.lower().endswith(".gguf"):
        rest = Path(rest).stem
    return re.sub(r"[^A-Za-z0-9._-]+", "-", rest).strip("-") or "model"


def _resolve(flag: str, name: str) -> Path:
    known = json.loads(os.environ.get(RESOLVED_ENV) or "{}")
    if name in known:
        return Path(known[name])
    if not name.startswith("local/"):
        raise SystemExit(
            f"error: {flag} {name!r}: not a local model name (use local/smollm2, "
            "local/gemma3-270m, local/qwen2.5-coder-0.5b, local/qwen2.5-coder-1.5b or "
            "local/<path>.gguf)"
        )
    from pliable.lm.local import resolve_local_model

    try:
        return Path(resolve_local_model(name))
    except Exception as exc:  # ConfigurationError and whatever assembling a file raises
        first = next((ln.strip() for ln in str(exc).splitlines() if ln.strip()), repr(exc))
        raise SystemExit(f"error: {flag} {name!r}: {first}") from None


@dataclass(frozen=True)
class Models:
    """The student and the teacher, by name and GGUF file."""

    student: str
    teacher: str  # the student's name when there is no separate teacher
    student_path: Path
    teacher_path: Path

    @property
    def has_teacher(self) -> bool:
        """A teacher other than the student."""
        return self.teacher != self.student

    @property
    def is_default(self) -> bool:
        return self.student == DEFAULT_MODEL and not self.has_teacher

    def file_suffix(self) -> str:
        """``""`` for the default models, else ``-<student>[-teacher-<teacher>]``."""
        if self.is_default:
            return ""
        return f"-{slug(self.student)}" + (
            f"-teacher-{slug(self.teacher)}" if self.has_teacher else ""
        )

    def env(self) -> dict[str, str]:
        """The environment entry that lets a child process skip resolving again."""
        paths = {self.student: str(self.student_path), self.teacher: str(self.teacher_path)}
        return {RESOLVED_ENV: json.dumps(paths)}

    def to_dict(self) -> dict[str, Any]:
        def info(name: str, path: Path) -> dict[str, Any]:
            try:
                size: int | None = path.stat().st_size
            except OSError:
                size = None
            return {"name": name, "gguf": str(path), "gguf_bytes": size}

        return {
            "student": info(self.student, self.student_path),
            "teacher": info(self.teacher, self.teacher_path),
            "teacher_is_student": not self.has_teacher,
        }


def resolve_models(args: argparse.Namespace) -> Models:
    """``args.model`` and ``args.teacher`` resolved to GGUF files, or a one-line exit."""
    student = canonical(args.model)
    teacher = canonical(args.teacher) if args.teacher else student
    student_path = _resolve("--model", student)
    teacher_path = student_path if teacher == student else _resolve("--teacher", teacher)
    return Models(student, teacher, student_path, teacher_path)


def models_of(record: dict[str, Any]) -> tuple[str, str]:
    """(student, teacher) of a results JSON written by one of the scripts; files from before
    ``--model`` existed ran SmolLM2 alone."""
    models = record.get("models")
    if isinstance(models, dict) and "student" in models:
        return models["student"]["name"], models["teacher"]["name"]
    return DEFAULT_MODEL, DEFAULT_MODEL
