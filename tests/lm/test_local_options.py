"""The in-process models' shared pieces, without a model: option checks, llama.cpp loading."""

from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

import pliable as pl
from pliable.lm import local
from pliable.lm.local import SUPPORTED_OPTIONS
from pliable.lm.local_options import _checked_options
from pliable.lm.soft_prompt import SoftPromptLM


def test_checked_options_defaults_and_stop() -> None:
    n, seed, max_tokens, stop, opts = _checked_options(
        "M", {"stop": "\n", "temperature": None, "top_p": 0.5}, seed=7, max_tokens=32
    )
    assert (n, seed, max_tokens, stop) == (1, 7, 32, ["\n"])
    assert opts == {"stop": "\n", "top_p": 0.5}  # None values dropped


def test_checked_options_errors() -> None:
    supported = ", ".join(SUPPORTED_OPTIONS)
    message = f"M (x) does not support the option(s) a, b. Supported: {supported}."
    with pytest.raises(pl.ConfigurationError, match=f"^{re.escape(message)}$"):
        _checked_options("M (x)", {"b": 1, "a": 2}, seed=0, max_tokens=1)
    with pytest.raises(pl.ConfigurationError, match=r"^n and max_tokens must be >= 1; got 0 and"):
        _checked_options("M", {"n": 0}, seed=0, max_tokens=1)
    with pytest.raises(pl.ConfigurationError, match=r"^stop must be a string or a list"):
        _checked_options("M", {"stop": ["", "x"]}, seed=0, max_tokens=1)


def test_soft_prompt_lm_takes_the_local_options() -> None:
    lm = SoftPromptLM(None, None, name="soft/x")
    supported = ", ".join(SUPPORTED_OPTIONS)
    message = (
        f"SoftPromptLM (soft/x) does not support the option(s) logprobs. Supported: {supported}."
    )
    with pytest.raises(pl.ConfigurationError, match=f"^{re.escape(message)}$"):
        lm._options({"logprobs": True})
    assert lm._options({"seed": 3, "stop": "!", "temperature": 0.5}) == (1, 3, 128, 0.5, 1.0, ["!"])


def _fake_llama_cpp(system_info: bytes, made: list[dict[str, Any]]) -> Any:
    low = SimpleNamespace(llama_model_default_params=lambda: SimpleNamespace(use_extra_bufts=None))
    fake = SimpleNamespace(
        llama_cpp=low,
        llama_log_callback=lambda fn: fn,
        llama_log_set=lambda callback, data: None,
        llama_print_system_info=lambda: system_info,
    )

    def llama(**kwargs: Any) -> str:
        params = low.llama_model_default_params()  # what llama.cpp starts loading from
        made.append({**kwargs, "use_extra_bufts": params.use_extra_bufts})
        return "model"

    fake.Llama = llama
    return fake


@pytest.mark.parametrize(
    ("info", "repack", "expected"),
    [(b"AVX2 = 1", None, True), (b"AMX_INT8 = 1", None, False), (b"AMX_INT8 = 1", True, True)],
)
def test_load_llama_settings_and_repacking(
    monkeypatch: pytest.MonkeyPatch, info: bytes, repack: bool | None, expected: bool
) -> None:
    made: list[dict[str, Any]] = []
    fake = _fake_llama_cpp(info, made)
    defaults = fake.llama_cpp.llama_model_default_params
    monkeypatch.setattr(local, "_import_llama_cpp", lambda: fake)
    monkeypatch.setattr(local, "_log_callback", None)
    assert local._load_llama(Path("m.gguf"), 3, repack, n_ctx=64, embedding=True) == "model"
    assert made == [
        {
            "model_path": "m.gguf",
            "n_threads": 3,
            "n_threads_batch": 3,
            "seed": 0,
            "verbose": False,
            "n_ctx": 64,
            "embedding": True,
            "use_extra_bufts": expected,
        }
    ]
    assert fake.llama_cpp.llama_model_default_params is defaults  # restored
    assert local._log_callback is local._forward_log
