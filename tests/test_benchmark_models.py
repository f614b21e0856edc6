"""The benchmark harnesses' ``--model`` / ``--teacher`` handling (``benchmarks/_models.py``)
and ``compile_vs_dspy.py``'s ``--resume`` check, without a model or a server."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import pytest

BENCH = Path(__file__).resolve().parent.parent / "benchmarks"
sys.path.insert(0, str(BENCH))

import _models  # noqa: E402
from _cvd_common import Config, check_resumable  # noqa: E402


def parse(*argv: str) -> argparse.Namespace:
    ap = argparse.ArgumentParser()
    _models.add_model_args(ap)
    return ap.parse_args(list(argv))


def test_defaults_keep_the_old_meaning() -> None:
    args = parse()
    assert args.model == "local/smollm2"
    assert args.teacher is None
    models = _models.Models("local/smollm2", "local/smollm2", Path("a"), Path("a"))
    assert models.is_default
    assert not models.has_teacher
    assert models.file_suffix() == ""


def test_prompt_model_is_an_alias_of_teacher() -> None:
    assert parse("--prompt-model", "local/gemma3-270m").teacher == "local/gemma3-270m"


def test_file_suffix_names_both_models() -> None:
    models = _models.Models(
        "local/qwen2.5-coder-0.5b", "local/qwen2.5-coder-1.5b", Path("a"), Path("b")
    )
    assert models.file_suffix() == "-qwen2.5-coder-0.5b-teacher-qwen2.5-coder-1.5b"
    assert _models.slug("local/some dir/My Model.gguf") == "My-Model"


def test_a_teacher_equal_to_the_student_is_no_teacher(tmp_path: Path) -> None:
    gguf = tmp_path / "m.gguf"
    gguf.write_bytes(b"GGUF")
    name = f"local/{gguf}"
    models = _models.resolve_models(parse("--model", name, "--teacher", name))
    assert not models.has_teacher
    assert models.teacher_path == gguf
    assert models.to_dict()["teacher_is_student"] is True


@pytest.mark.parametrize(
    "argv",
    [
        ("--model", "local/no-such-model"),
        ("--teacher", "local/no-such-model"),
        ("--model", "openai/gpt-4o-mini"),
        ("--model", "local/missing/file.gguf"),
    ],
)
def test_a_name_that_does_not_resolve_stops_in_one_line(argv: tuple[str, str]) -> None:
    with pytest.raises(SystemExit) as info:
        _models.resolve_models(parse(*argv))
    message = str(info.value.code)
    assert message.startswith(f"error: {argv[0]} ")
    assert "\n" not in message


def test_models_of_a_file_from_before_the_flags() -> None:
    assert _models.models_of({}) == ("local/smollm2", "local/smollm2")
    record = {"models": {"student": {"name": "s"}, "teacher": {"name": "t"}}}
    assert _models.models_of(record) == ("s", "t")


def config(**changes: Any) -> Config:
    base: dict[str, Any] = {
        "quick": True,
        "tasks": ["sports_understanding"],
        "seeds": [0],
        "n_train": 4,
        "n_val": 4,
        "n_test": 8,
        "pairs": ["joint"],
        "max_tokens": 32,
        "prompt_max_tokens": 128,
        "num_threads": 4,
        "candidate_programs": 1,
        "gepa_max_metric_calls": 16,
        "mipro_trials": 2,
        "mipro_candidates": 2,
    }
    return Config(**{**base, **changes})


def test_resume_accepts_a_file_from_before_the_flags_with_the_default_models() -> None:
    old = config().to_dict()
    del old["model"], old["teacher"]
    check_resumable({"config": old}, config(), Path("r.json"))


def test_resume_refuses_another_model_or_teacher() -> None:
    previous = {"config": config(teacher="local/gemma3-270m").to_dict()}
    with pytest.raises(SystemExit, match="--teacher local/gemma3-270m, not"):
        check_resumable(previous, config(), Path("r.json"))
    with pytest.raises(SystemExit, match="was made with --model"):
        check_resumable(previous, config(model="local/x.gguf"), Path("r.json"))
    with pytest.raises(SystemExit, match="other settings"):
        check_resumable(previous, config(teacher="local/gemma3-270m", n_test=40), Path("r.json"))
