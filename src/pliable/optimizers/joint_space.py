"""The search space of :class:`~pliable.optimizers.joint_search.JointSearch`: per predictor,
instruction candidates and demo-set candidates, and the programs built from a choice of one
of each (a :data:`Config`)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from pliable.data.example import Example
from pliable.optimizers.state import set_instruction
from pliable.programs.module import Module

if TYPE_CHECKING:
    import optuna

__all__ = ["Config", "Space", "demos_key"]

Config = tuple[tuple[int, int], ...]  # per predictor: (instruction index, demo-set index)


def demos_key(demos: Sequence[Example]) -> str:
    from pliable.adapters.values import to_jsonable

    rows = [[to_jsonable(dict(d)), sorted(d.input_keys or ())] for d in demos]
    return json.dumps(rows, sort_keys=True, default=str)


class Space:
    """The candidates of every predictor, and programs built from a configuration."""

    def __init__(
        self, instructions: dict[str, list[str]], demos: dict[str, list[list[Example]]]
    ) -> None:
        self.names = list(instructions)
        self.instructions = instructions
        self.demos = demos
        shape = {n: [instructions[n], [demos_key(d) for d in demos[n]]] for n in self.names}
        text = json.dumps(shape, sort_keys=True)
        self.key = hashlib.sha256(text.encode()).hexdigest()[:16]

    def build(self, student: Module, config: Config) -> Module:
        program = student.deepcopy()
        predictors = dict(program.named_predictors())
        for name, (i, d) in zip(self.names, config, strict=True):
            if i != 0:  # 0 is the current instruction: left as it is, so the state (and
                # the scores remembered for it) stay the program's own
                set_instruction(predictors[name], self.instructions[name][i])
            predictors[name].demos = list(self.demos[name][d])
        return program

    def describe(self, config: Config) -> dict[str, dict[str, int]]:
        return {
            n: {"instruction": i, "demos": d} for n, (i, d) in zip(self.names, config, strict=True)
        }

    def suggest(self, trial: optuna.Trial) -> Config:
        """The trial's choice of an instruction and a demo set for every predictor."""
        picked = {
            key: trial.suggest_categorical(key, list(range(n)))
            for name in self.names
            for key, n in (
                (f"{name}.instruction", len(self.instructions[name])),
                (f"{name}.demos", len(self.demos[name])),
            )
        }
        config = self.config_of(picked)
        assert config is not None
        return config

    def config_of(self, params: Mapping[str, Any]) -> Config | None:
        try:
            return tuple(
                (int(params[f"{n}.instruction"]), int(params[f"{n}.demos"])) for n in self.names
            )
        except KeyError:
            return None
