"""The training loop of a soft prompt, with checkpoints to resume from and a time budget.

Only the soft prompt's parameters train (the base model is frozen), with AdamW and gradients
clipped to norm 1. Batches are drawn in an order fixed by ``(seed, epoch)``. Training stops
after ``epochs`` passes over the data or ``max_steps`` steps, whichever comes first, or
earlier when the compile's ``pl.Budget(seconds=...)`` runs out, or when the loss stops
being a finite number.

Checkpoints (``run_dir/soft/<phase>/``, every ``checkpoint_every`` steps and at the end) hold
no pickle: ``state-<step>.safetensors`` has the trainable parameters, AdamW's moments and
torch's RNG state; ``checkpoint.json`` has the step, the losses so far and AdamW's settings.
A compile with the same ``run_dir`` continues from the last checkpoint with the optimizer's
momentum intact, so the resumed run takes the same steps the interrupted one would have.
"""

from __future__ import annotations

import json
import math
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pliable.errors import UsageError
from pliable.lm import torch_deps as _deps
from pliable.lm.soft_prompt import hushed, model_lock
from pliable.optimizers.soft.data import Encoded, batches, collate

if TYPE_CHECKING:
    from pliable.optimizers.run import Run

__all__ = ["TrainResult", "TrainSettings", "loss_curve", "train"]

CHECKPOINT = "checkpoint.json"


@dataclass(frozen=True)
class TrainSettings:
    lr: float
    epochs: int
    max_steps: int | None
    batch_size: int
    seed: int
    checkpoint_every: int


@dataclass
class TrainResult:
    """What one training phase did: steps (counting those before a resume) and losses."""

    steps: int
    total_steps: int
    losses: list[float] = field(default_factory=list)
    resumed_from: int = 0
    stopped: str | None = None  # why training ended before total_steps


def loss_curve(losses: list[float], points: int = 20) -> list[float]:
    """The mean loss over at most ``points`` equal runs of steps, rounded."""
    if not losses:
        return []
    size = math.ceil(len(losses) / points)
    return [
        round(sum(chunk) / len(chunk), 4)
        for chunk in (losses[i : i + size] for i in range(0, len(losses), size))
    ]


def _trainable(network: Any) -> list[tuple[str, Any]]:
    return [(n, p) for n, p in network.named_parameters() if p.requires_grad]


def _time_left(run: Run) -> str | None:
    """The reason to stop now, if the compile's time budget is spent."""
    budget = run.usage.budget
    if budget is None or budget.seconds is None:
        return None
    spent = run.usage.spent().seconds
    return f"{budget.seconds:g} s (ran {spent:.1f} s)" if spent >= budget.seconds else None


def _save(folder: Path, step: int, total: int, network: Any, opt: Any, losses: list[float]) -> None:
    torch, st = _deps.torch(), _deps.safetensors_torch()
    folder.mkdir(parents=True, exist_ok=True)
    tensors = {f"param/{n}": p.detach().clone().contiguous() for n, p in _trainable(network)}
    state = opt.state_dict()
    scalars: dict[str, Any] = {}
    for index, values in state["state"].items():
        for key, value in values.items():
            if torch.is_tensor(value):
                tensors[f"opt/{index}/{key}"] = value.detach().clone().contiguous()
            else:
                scalars[f"{index}/{key}"] = value
    tensors["rng/torch"] = torch.get_rng_state()
    name = f"state-{step:08d}.safetensors"
    st.save_file(tensors, str(folder / (name + ".tmp")))
    (folder / (name + ".tmp")).replace(folder / name)
    meta = {
        "format": 1,
        "step": step,
        "total_steps": total,
        "file": name,
        "losses": losses,
        "param_groups": state["param_groups"],
        "scalars": scalars,
        "shapes": {n: list(p.shape) for n, p in _trainable(network)},
    }
    tmp = folder / (CHECKPOINT + ".tmp")
    tmp.write_text(json.dumps(meta), "utf-8")
    tmp.replace(folder / CHECKPOINT)  # the checkpoint counts from here on
    for old in folder.glob("state-*.safetensors"):
        if old.name != name:
            old.unlink()


def _load(folder: Path, network: Any, opt: Any) -> tuple[int, list[float]] | None:
    """Restore the last checkpoint in ``folder``; ``(step, losses)``, or None if there is none."""
    path = folder / CHECKPOINT
    if not path.is_file():
        return None
    torch, st = _deps.torch(), _deps.safetensors_torch()
    meta = json.loads(path.read_text("utf-8"))
    params = dict(_trainable(network))
    shapes = {n: list(p.shape) for n, p in params.items()}
    if meta.get("shapes") != shapes:
        raise UsageError(
            f"{path} is a checkpoint of another soft prompt (parameters {meta.get('shapes')}, "
            f"this one {shapes}). Pass a new run_dir, or delete {folder}."
        )
    tensors = st.load_file(str(folder / meta["file"]))
    state: dict[int, dict[str, Any]] = {}
    with torch.no_grad():
        for key, value in tensors.items():
            kind, _, rest = key.partition("/")
            if kind == "param":
                params[rest].copy_(value)
            elif kind == "opt":
                index, _, name = rest.partition("/")
                state.setdefault(int(index), {})[name] = value
    for key, value in meta["scalars"].items():
        index, _, name = key.partition("/")
        state.setdefault(int(index), {})[name] = value
    groups = meta["param_groups"]
    for group in groups:
        if isinstance(group.get("betas"), list):
            group["betas"] = tuple(group["betas"])
    opt.load_state_dict({"state": state, "param_groups": groups})
    torch.set_rng_state(tensors["rng/torch"])
    return int(meta["step"]), [float(x) for x in meta["losses"]]


def train(
    network: Any,
    data: list[Encoded],
    *,
    settings: TrainSettings,
    pad_id: int,
    run: Run,
    checkpoint_dir: Path | None,
    label: str,
    task_ids: bool = False,
) -> TrainResult:
    """Train ``network``'s soft prompt on ``data``; see the module docstring."""
    torch = _deps.torch()
    params = [p for _, p in _trainable(network)]
    opt = torch.optim.AdamW(params, lr=settings.lr, weight_decay=0.0)
    per_epoch = math.ceil(len(data) / settings.batch_size)
    total = per_epoch * settings.epochs
    if settings.max_steps is not None:
        total = min(total, settings.max_steps)
    step = 0
    losses: list[float] = []
    restored = _load(checkpoint_dir, network, opt) if checkpoint_dir is not None else None
    if restored is not None:
        step, losses = restored
        run.note(f"{label}: resumed from the checkpoint at step {step} of {total}")
    result = TrainResult(step, total, losses, resumed_from=step)
    show = sys.stderr.isatty() if run.progress is None else run.progress
    from tqdm import tqdm

    bar = tqdm(total=total, initial=step, desc=label, unit="step", leave=False, disable=not show)
    order: list[list[int]] = []
    try:
        while step < total:
            reason = _time_left(run)
            if reason is not None:
                result.stopped = f"Budget reached: {reason} allowed; stopped training"
                break
            epoch, offset = divmod(step, per_epoch)
            if offset == 0 or not order:
                order = batches(len(data), settings.batch_size, settings.seed, epoch)
            batch = collate([data[i] for i in order[offset]], pad_id)
            ids = batch.pop("task_ids")
            if task_ids:
                batch["task_ids"] = ids
            with model_lock, hushed():
                network.train()
                loss = network(**batch).loss
                value = float(loss.detach())
                if not math.isfinite(value):
                    result.stopped = f"the loss became {value} at step {step + 1}; lower lr"
                    break
                loss.backward()
                torch.nn.utils.clip_grad_norm_(params, 1.0)
                opt.step()
                opt.zero_grad(set_to_none=True)
            step += 1
            losses.append(value)
            if run.log is not None:
                run.log.append({"event": "soft_step", "phase": label, "step": step, "loss": value})
            bar.update(1)
            bar.set_postfix(loss=f"{value:.4f}")
            if checkpoint_dir is not None and step % settings.checkpoint_every == 0:
                _save(checkpoint_dir, step, total, network, opt, losses)
    finally:
        bar.close()
        network.eval()
    if checkpoint_dir is not None and step > result.resumed_from:
        _save(checkpoint_dir, step, total, network, opt, losses)
    result.steps, result.losses = step, losses
    return result
