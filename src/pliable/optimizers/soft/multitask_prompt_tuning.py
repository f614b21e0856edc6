"""``MultitaskPromptTuning`` (Wang et al., 2023): a soft prompt shared by several tasks, then
adapted to the target task.

    mpt = MultitaskPromptTuning(
        metric,
        tasks={"sports": sports_train, "dates": (pl.Predict("question -> answer"), dates_train)},
    )
    compiled = mpt.compile(program, trainset=target_train, valset=target_dev)

Phase 1 ("shared") trains PEFT's multitask prompt on every task at once: a prompt shared by
all tasks, times a low-rank (``num_ranks``) matrix per task; each example is rendered with
its task's program (a task given as a plain list of examples uses the compiled program).
Phase 2 ("target") starts a one-task prompt from the average of the source tasks' and trains
it on the trainset, as :class:`~pliable.optimizers.soft.PromptTuning` would. Both phases
checkpoint to ``run_dir/soft/`` and resume; the time budget covers both.
"""

from __future__ import annotations

import copy
import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from pliable.data.example import Example
from pliable.errors import UsageError
from pliable.lm import torch_deps as _deps
from pliable.lm.soft_model import BaseModel
from pliable.lm.soft_prompt import hushed
from pliable.optimizers.report import fingerprint
from pliable.optimizers.run import Run
from pliable.optimizers.soft.base import SoftPromptOptimizer, check_int
from pliable.optimizers.soft.data import Encoded, single_predictor
from pliable.optimizers.soft.prompt_tuning import init_prompt
from pliable.programs.module import Module

__all__ = ["MultitaskPromptTuning"]

TaskData = Sequence[Example] | tuple[Module, Sequence[Example]]


class MultitaskPromptTuning(SoftPromptOptimizer):
    """Multitask prompt tuning: a shared prompt trained on ``tasks``, adapted to the trainset.

    Args:
        tasks: the source tasks, by name: a list of examples (rendered with the compiled
            program's predictor), or ``(program, examples)`` for a task with another
            signature (a program with one predictor).
        num_ranks: rank of each task's matrix.
        shared_epochs, shared_max_steps: the length of phase 1 (``epochs`` and ``max_steps``
            are phase 2's).
        init_text: start the shared prompt from this text's token embeddings (default:
            from random vocabulary tokens' embeddings, as PromptTuning).

    See :class:`~pliable.optimizers.soft.base.SoftPromptOptimizer` for the others.
    """

    method = "multitask_prompt_tuning"
    default_lr = 1e-2

    def __init__(
        self,
        metric: Callable[..., Any] | None = None,
        *,
        tasks: Mapping[str, TaskData],
        num_ranks: int = 1,
        shared_epochs: int = 3,
        shared_max_steps: int | None = None,
        init_text: str | None = None,
        **kw: Any,
    ) -> None:
        super().__init__(metric, **kw)
        check_int("num_ranks", num_ranks)
        check_int("shared_epochs", shared_epochs)
        check_int("shared_max_steps", shared_max_steps, none=True)
        if init_text is not None and (not isinstance(init_text, str) or not init_text.strip()):
            raise UsageError(f"init_text must be a non-empty string or None; got {init_text!r}.")
        self._tasks = _check_tasks(tasks)
        self.num_ranks = num_ranks
        self.shared_epochs = shared_epochs
        self.shared_max_steps = shared_max_steps
        self.init_text = init_text

    def settings(self) -> dict[str, Any]:
        tasks = {
            name: {
                "examples": len(examples),
                "fingerprint": fingerprint(examples),
                "program": "the compiled program"
                if program is None
                else single_predictor(program, "a task")[1].signature.signature_string(),
            }
            for name, program, examples in self._tasks
        }
        return {**super().settings(), "tasks": tasks}

    def _config(self, num_tasks: int, source: Path | None = None) -> Any:
        peft = _deps.peft()
        init = peft.MultitaskPromptTuningInit
        return peft.MultitaskPromptTuningConfig(
            task_type="CAUSAL_LM",
            num_virtual_tokens=self.num_virtual_tokens,
            num_tasks=num_tasks,
            num_ranks=self.num_ranks,
            prompt_tuning_init=init.AVERAGE_SOURCE_TASKS if source else init.RANDOM,
            prompt_tuning_init_state_dict_path=str(source) if source else None,
        )

    def _peft_config(self, base: BaseModel) -> Any:
        return self._config(len(self._tasks))

    def _init_prompt(self, network: Any, base: BaseModel) -> None:
        init_prompt(network, base, self.init_text, self.num_virtual_tokens, self.seed)

    def _compile(
        self,
        student: Module,
        trainset: list[Example],
        valset: list[Example] | None,
        run: Run,
    ) -> Module:
        name, predictor = single_predictor(student, self.name)
        base = self._base()
        shared_data: list[Encoded] = []
        for task_id, (task, program, examples) in enumerate(self._tasks):
            own = predictor
            if program is not None:  # on the student's LM, so its default adapter is the same
                own = copy.deepcopy(single_predictor(program, "a task")[1])
                own.lm = predictor.lm
            where = f"tasks[{task!r}]"
            shared_data += self._encode(own, examples, base, run, task_id=task_id, where=where)
        data = self._encode(predictor, trainset, base, run)
        shared = self._network(base, self._peft_config(base))
        settings = self._settings(self.shared_epochs, self.shared_max_steps)
        first = self._train(
            shared, shared_data, base, run, "shared", settings=settings, task_ids=True
        )
        with tempfile.TemporaryDirectory(prefix="pliable-mpt-") as tmp:
            folder = self._checkpoints(run, "shared-adapter") or Path(tmp)
            with hushed():
                shared.save_pretrained(str(folder))
            source = folder / "adapter_model.safetensors"
            target = self._network(base, self._config(1, source), init=False)
        config = target.peft_config["default"]  # saved with the adapter: load it from its own
        config.prompt_tuning_init = _deps.peft().MultitaskPromptTuningInit.RANDOM  # weights
        config.prompt_tuning_init_state_dict_path = None
        second = self._train(target, data, base, run, "target", task_ids=True)
        program = self._program(student, name, target, base, task_id=0)
        return self._finish(
            program,
            second,
            valset,
            run,
            shared_steps=first.steps,
            shared_loss_first=first.losses[0] if first.losses else None,
            shared_loss_last=first.losses[-1] if first.losses else None,
        )


def _check_tasks(tasks: Any) -> list[tuple[str, Module | None, list[Example]]]:
    if not isinstance(tasks, Mapping) or not tasks:
        raise UsageError(
            "MultitaskPromptTuning(tasks=...) takes a non-empty dict: task name -> examples, or "
            f"-> (program, examples); got {tasks!r}."
        )
    out: list[tuple[str, Module | None, list[Example]]] = []
    for name, value in tasks.items():
        program: Module | None = None
        if isinstance(value, tuple) and len(value) == 2 and isinstance(value[0], Module):
            program, value = value
            single_predictor(program, f"MultitaskPromptTuning task {name!r}")
        if isinstance(value, str | bytes) or not isinstance(value, Sequence) or not value:
            raise UsageError(
                f"MultitaskPromptTuning task {name!r}: expected a non-empty list of pl.Example, "
                f"or (program, examples); got {value!r}."
            )
        examples = list(value)
        for i, ex in enumerate(examples):
            if not isinstance(ex, Example) or ex.input_keys is None:
                raise UsageError(
                    f"MultitaskPromptTuning task {name!r}, example {i}: must be a pl.Example "
                    f"with its inputs marked (.with_inputs(...)); got {ex!r}."
                )
        out.append((str(name), program, examples))
    return out
