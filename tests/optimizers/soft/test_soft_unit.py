"""Soft-prompt optimizers without a model: arguments, the missing extra, light imports."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import pliable as pl
from pliable.lm import torch_deps as _deps


def _has_extra() -> bool:
    try:
        _deps.require()
    except pl.ConfigurationError:
        return False
    return True


# CI installs the soft extra with [dev]: there these tests run (and fail if it is missing)
needs_extra = pytest.mark.skipif(
    not _has_extra() and not os.environ.get("CI"), reason="needs pliable[soft]"
)


def test_import_pliable_and_the_soft_package_do_not_import_torch() -> None:
    code = (
        "import sys, pliable, pliable.optimizers.soft\n"
        "heavy = [m for m in ('torch', 'transformers', 'peft') if m in sys.modules]\n"
        "print(heavy)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"


def test_a_missing_dependency_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.import_module

    def hide_torch(name: str, package: str | None = None) -> Any:
        if name == "torch" or name.startswith("torch."):
            raise ImportError("No module named 'torch'")
        return real(name, package)

    monkeypatch.setattr(_deps.importlib, "import_module", hide_torch)
    from pliable.optimizers.soft import MultitaskPromptTuning, PrefixTuning, PromptTuning, PTuning

    for make in (
        PromptTuning,
        PrefixTuning,
        PTuning,
        lambda: MultitaskPromptTuning(tasks={"a": []}),
    ):
        with pytest.raises(pl.ConfigurationError, match=r'pip install "pliable\[soft\]"'):
            make()


@needs_extra
@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"num_virtual_tokens": 0}, "num_virtual_tokens"),
        ({"epochs": 0}, "epochs"),
        ({"max_steps": 0}, "max_steps"),
        ({"batch_size": 1.5}, "batch_size"),
        ({"lr": -1}, "lr"),
        ({"lr": True}, "lr"),
        ({"seed": -1}, "seed"),
        ({"max_tokens": 0}, "max_tokens"),
        ({"init_text": "  "}, "init_text"),
    ],
)
def test_prompt_tuning_checks_its_arguments(kwargs: dict[str, Any], match: str) -> None:
    from pliable.optimizers.soft import PromptTuning

    with pytest.raises(pl.UsageError, match=match):
        PromptTuning(**kwargs)


@needs_extra
def test_other_methods_check_their_arguments() -> None:
    from pliable.optimizers.soft import MultitaskPromptTuning, PrefixTuning, PTuning

    with pytest.raises(pl.UsageError, match="'mlp' or 'lstm'"):
        PTuning(encoder="gru")
    with pytest.raises(pl.UsageError, match="encoder_hidden_size"):
        PrefixTuning(encoder_hidden_size=0)
    with pytest.raises(pl.UsageError, match="non-empty dict"):
        MultitaskPromptTuning(tasks={})
    with pytest.raises(pl.UsageError, match="non-empty list"):
        MultitaskPromptTuning(tasks={"a": []})
    with pytest.raises(pl.UsageError, match="inputs marked"):
        MultitaskPromptTuning(tasks={"a": [pl.Example(text="x", label="y")]})
    ex = pl.Example(text="x", label="y").with_inputs("text")
    with pytest.raises(pl.UsageError, match="num_ranks"):
        MultitaskPromptTuning(tasks={"a": [ex]}, num_ranks=0)


@needs_extra
def test_compile_refuses_programs_it_cannot_train_before_loading_a_model() -> None:
    from pliable.optimizers.soft import PromptTuning

    class TwoSteps(pl.Module):
        def __init__(self) -> None:
            self.a = pl.Predict("text -> label")
            self.b = pl.Predict("label -> text")

    train = [pl.Example(text="x", label="y").with_inputs("text")]
    tuner = PromptTuning(base_model="/nonexistent/model")  # never loaded below
    with pytest.raises(pl.UsageError, match="one predictor; TwoSteps has 2"):
        tuner.compile(TwoSteps(), trainset=train)
    with pytest.raises(pl.UsageError, match="non-empty trainset"):
        tuner.compile(pl.Predict("text -> label"), trainset=[])
    with pytest.raises(pl.UsageError, match="lacks the output"):
        tuner.compile(pl.ChainOfThought("text -> label"), trainset=train)


def test_soft_prompt_lm_checks_its_options() -> None:
    from pliable.optimizers.soft import SoftPromptLM

    lm = SoftPromptLM(object(), object(), name="soft/test")
    with pytest.raises(pl.ConfigurationError, match="logprobs"):
        lm.complete([{"role": "user", "content": "hi"}], logprobs=True)
    with pytest.raises(pl.ConfigurationError, match="stop"):
        lm.complete([{"role": "user", "content": "hi"}], stop=[""])
    with pytest.raises(pl.ConfigurationError, match="max_tokens"):
        SoftPromptLM(object(), object(), name="soft/test", max_tokens=0)


def test_load_soft_refuses_files_without_a_valid_section(tmp_path: Path) -> None:
    from pliable.optimizers.soft import load_soft

    plain = pl.Predict("text -> label").save(tmp_path / "plain.json")
    with pytest.raises(pl.CompiledFileError, match="not a SoftPromptProgram"):
        load_soft(plain)
    data = json.loads(plain.read_text())
    data["program"] = "pliable.SoftPromptProgram"
    data["soft_prompt"] = {"method": "lora", "adapter_dir": "x"}
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(data))
    with pytest.raises(pl.CompiledFileError, match="bad 'soft_prompt' section"):
        load_soft(bad)
    data["soft_prompt"] = {
        "program": "pliable.Predict",
        "method": "prompt_tuning",
        "adapter_dir": "missing.adapter",
        "adapter_sha256": "0",
        "base_model": "local/smollm2",
        "base_sha256": "0",
    }
    bad.write_text(json.dumps(data))
    with pytest.raises(pl.CompiledFileError, match="missing or incomplete"):
        load_soft(bad)


def test_an_unknown_base_model_is_refused_without_downloading() -> None:
    from pliable.lm.soft_model import resolve_base

    with pytest.raises(pl.ConfigurationError, match="never downloaded"):
        resolve_base("HuggingFaceTB/SmolLM2-135M-Instruct")
    spec, path, files = resolve_base(None)
    assert spec == "local/smollm2"
    assert files == (path,)
    assert path.name == "SmolLM2-135M-Instruct.Q4_1.gguf"
