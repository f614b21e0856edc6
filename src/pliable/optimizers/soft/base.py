"""``SoftPromptOptimizer``: what the soft-prompt optimizers share (the methods are in
:mod:`~pliable.optimizers.soft.prompt_tuning`, ``prefix_tuning``, ``p_tuning`` and
``multitask_prompt_tuning``).

The program must have one predictor. Each trainset example is rendered as that predictor's
prompt (instructions, demos and inputs, through its adapter and the model's chat template)
followed by the reply the adapter parses, and the soft prompt learns to make that reply likely
(loss on the reply's tokens only). The base model stays frozen. Compiling works like any
optimizer's: ``budget=pl.Budget(seconds=...)`` stops training cleanly, ``run_dir`` keeps
checkpoints to resume from, and with a metric and a valset the soft-prompted program is kept
only if it beats the baseline beyond the noise. The baseline is the program's own (hard)
prompt on the same base model with no soft prompt; when it is kept, ``compile`` returns the
program passed in, unchanged.
"""

from __future__ import annotations

import os
from abc import abstractmethod
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, ClassVar

from pliable.data.example import Example
from pliable.errors import BudgetExceededError, UsageError
from pliable.lm import torch_deps as _deps
from pliable.lm.budget import Budget
from pliable.lm.soft_model import BaseModel, load_base_model
from pliable.lm.soft_prompt import SoftPromptLM, adapter_sha256, hushed
from pliable.optimizers.base import Optimizer
from pliable.optimizers.run import Run
from pliable.optimizers.soft.data import Encoded, check_outputs, encode_all, single_predictor
from pliable.optimizers.soft.train import TrainResult, TrainSettings, loss_curve, train
from pliable.programs.module import Module
from pliable.programs.predict import Predict
from pliable.programs.soft_prompt import SoftPromptInfo, SoftPromptProgram

__all__ = ["SoftPromptOptimizer", "adapter_sha256", "check_int"]


def check_int(name: str, value: Any, *, low: int = 1, none: bool = False) -> None:
    if value is None and none:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise UsageError(f"{name} must be an integer >= {low}; got {value!r}.")


class SoftPromptOptimizer(Optimizer):
    """Base of the soft-prompt optimizers (their shared arguments).

    Args:
        metric: ``metric(example, prediction)``; with a valset, the soft-prompted program is
            scored and compared with the baseline (optional: without it, no selection).
        base_model: ``"local/smollm2"`` (default), ``"local/<file>.gguf"``, a ``.gguf`` path
            or a local Hugging Face model folder (never downloaded).
        num_virtual_tokens: length of the soft prompt.
        lr: AdamW's learning rate (default: the method's).
        epochs, max_steps: training stops after ``epochs`` passes over the trainset or
            ``max_steps`` steps, whichever comes first (``max_steps=None``: no step limit).
        batch_size: examples per step.
        max_length: tokens per training example; longer prompts lose their beginning.
        max_tokens: the default cap on an answer's tokens at inference.
        checkpoint_every: steps between checkpoints (with ``run_dir``).
        seed: the soft prompt's initialisation and the order of batches.
        num_threads: examples scored at once (calls to the model are serialized anyway).
    """

    pins_adapters = False  # its LM is the base model under transformers, set in _run

    method: ClassVar[str] = ""
    default_lr: ClassVar[float] = 1e-2

    def __init__(
        self,
        metric: Callable[..., Any] | None = None,
        *,
        base_model: str | os.PathLike[str] | None = None,
        num_virtual_tokens: int = 8,
        lr: float | None = None,
        epochs: int = 3,
        max_steps: int | None = None,
        batch_size: int = 4,
        max_length: int = 1024,
        max_tokens: int = 128,
        checkpoint_every: int = 25,
        seed: int = 0,
        num_threads: int = 1,
    ) -> None:
        _deps.require()
        if metric is not None:
            from pliable.evaluation.metric_base import metric_caller

            metric_caller(metric)  # refuses a metric that cannot be called
        for name, value in (
            ("num_virtual_tokens", num_virtual_tokens),
            ("epochs", epochs),
            ("batch_size", batch_size),
            ("max_length", max_length),
            ("max_tokens", max_tokens),
            ("checkpoint_every", checkpoint_every),
            ("num_threads", num_threads),
        ):
            check_int(name, value)
        check_int("max_steps", max_steps, none=True)
        check_int("seed", seed, low=0)
        lr = self.default_lr if lr is None else lr
        if isinstance(lr, bool) or not isinstance(lr, int | float) or not 0 < lr < 10:
            raise UsageError(f"lr must be a number in (0, 10); got {lr!r}.")
        self.metric = metric
        self.base_model = os.fspath(base_model) if base_model is not None else None
        self.num_virtual_tokens = num_virtual_tokens
        self.lr = float(lr)
        self.epochs = epochs
        self.max_steps = max_steps
        self.batch_size = batch_size
        self.max_length = max_length
        self.max_tokens = max_tokens
        self.checkpoint_every = checkpoint_every
        self.seed = seed
        self.num_threads = num_threads

    # -- what each method defines ------------------------------------------------------------

    @abstractmethod
    def _peft_config(self, base: BaseModel) -> Any:
        """The PEFT config of this method's soft prompt for ``base``."""

    def _init_prompt(self, network: Any, base: BaseModel) -> None:
        """Set the soft prompt's first values (default: PEFT's own initialisation)."""

    # -- shared machinery ---------------------------------------------------------------------

    def compile(
        self,
        program: Module,
        *,
        trainset: Sequence[Example],
        valset: Sequence[Example] | None = None,
        budget: Budget | None = None,
        run_dir: str | os.PathLike[str] | None = None,
        require_significance: bool = True,
        progress: bool | None = None,
    ) -> Module:
        """Train a soft prompt for ``program``'s predictor; see :meth:`Optimizer.compile`."""
        if isinstance(program, SoftPromptProgram):
            raise UsageError(f"{self.name}: the program already has a soft prompt.")
        _, predictor = single_predictor(program, self.name)
        if not list(trainset):
            raise UsageError(f"{self.name} needs a non-empty trainset to train on.")
        check_outputs(predictor, list(trainset), "trainset")
        return super().compile(
            program,
            trainset=trainset,
            valset=valset,
            budget=budget,
            run_dir=run_dir,
            require_significance=require_significance,
            progress=progress,
        )

    def _plan(self, n_predictors: int, n_train: int, n_val: int) -> dict[str, int]:
        return {"training the soft prompt (local, no LM calls)": 0}

    def _base(self) -> BaseModel:
        return load_base_model(self.base_model)

    def _run(
        self, program: Module, train: list[Example], val: list[Example] | None, run: Run
    ) -> Module:
        base = self._base()
        hard = program.deepcopy()
        plain = SoftPromptLM(
            base.model, base.tokenizer, name=f"transformers/{base.spec}", max_tokens=self.max_tokens
        )
        for predictor in hard.predictors():
            predictor.lm = plain
        if val and self.metric is not None:
            run.note(
                f"baseline: the program's own prompt on {base.spec} with no soft prompt "
                "(transformers, greedy)"
            )
        result = super()._run(hard, train, val, run)
        return result if isinstance(result, SoftPromptProgram) else program.deepcopy()

    def _network(self, base: BaseModel, config: Any, *, init: bool = True) -> Any:
        torch, peft = _deps.torch(), _deps.peft()
        torch.manual_seed(self.seed)
        with hushed():
            network = peft.get_peft_model(base.model, config)
        if init:
            self._init_prompt(network, base)
        network.eval()
        return network

    def _settings(self, epochs: int | None = None, max_steps: int | None = None) -> TrainSettings:
        return TrainSettings(
            self.lr,
            self.epochs if epochs is None else epochs,
            self.max_steps if epochs is None else max_steps,
            self.batch_size,
            self.seed,
            self.checkpoint_every,
        )

    def _checkpoints(self, run: Run, phase: str) -> Path | None:
        return run.log.dir / "soft" / phase if run.log is not None else None

    def _encode(
        self, predictor: Predict, examples: list[Example], base: BaseModel, run: Run, **kw: Any
    ) -> list[Encoded]:
        data = encode_all(predictor, examples, base.tokenizer, max_length=self.max_length, **kw)
        cut = sum(e.truncated for e in data)
        if cut:
            run.note(
                f"{cut} of {len(data)} training examples were longer than max_length="
                f"{self.max_length} tokens and lost the start of their prompt"
            )
        return data

    def _train(
        self, network: Any, data: list[Encoded], base: BaseModel, run: Run, phase: str, **kw: Any
    ) -> TrainResult:
        settings = kw.pop("settings", None) or self._settings()
        result = train(
            network,
            data,
            settings=settings,
            pad_id=int(base.tokenizer.pad_token_id),
            run=run,
            checkpoint_dir=self._checkpoints(run, phase),
            label=f"{self.method}:{phase}",
            **kw,
        )
        if result.losses:
            run.note(
                f"{self.method} ({phase}): {result.steps} of {result.total_steps} steps on "
                f"{len(data)} examples; loss {result.losses[0]:.4f} at step 1 -> "
                f"{result.losses[-1]:.4f} at step {len(result.losses)}"
            )
        if result.stopped:
            run.note(f"{self.method} ({phase}): {result.stopped}")
            if result.stopped.startswith("Budget"):
                run.report.stopped = run.report.stopped or result.stopped
        return result

    def _program(
        self,
        student: Module,
        name: str,
        network: Any,
        base: BaseModel,
        task_id: int | None = None,
    ) -> SoftPromptProgram:
        lm = SoftPromptLM(
            network,
            base.tokenizer,
            name=f"soft/{self.method}:{base.spec}",
            max_tokens=self.max_tokens,
            task_id=task_id,
        )
        info = SoftPromptInfo(
            self.method,
            base.spec,
            base.sha256,
            tuple(base.file_names),
            name,
            adapter_sha256(network),
            task_id,
        )
        return SoftPromptProgram(student, lm, info)

    def _finish(
        self,
        program: SoftPromptProgram,
        result: TrainResult,
        valset: list[Example] | None,
        run: Run,
        **extra: Any,
    ) -> SoftPromptProgram:
        """Score the trained program on the valset (if it can) and record it as a candidate."""
        full = None
        if valset and self.metric is not None:
            try:
                full = run.evaluate(program, valset, progress=run.progress)
            except BudgetExceededError as exc:
                run.report.stopped = run.report.stopped or str(exc)
                run.note("budget reached before the soft prompt was scored on the valset")
        run.candidate(
            f"{self.method} ({result.steps} steps)",
            program,
            full=full,
            steps=result.steps,
            total_steps=result.total_steps,
            loss_first=result.losses[0] if result.losses else None,
            loss_last=result.losses[-1] if result.losses else None,
            loss_curve=loss_curve(result.losses),
            **extra,
        )
        return program

    def _compile(
        self,
        student: Module,
        trainset: list[Example],
        valset: list[Example] | None,
        run: Run,
    ) -> Module:
        name, predictor = single_predictor(student, self.name)
        base = self._base()
        data = self._encode(predictor, trainset, base, run)
        network = self._network(base, self._peft_config(base))
        result = self._train(network, data, base, run, "train")
        return self._finish(self._program(student, name, network, base), result, valset, run)
