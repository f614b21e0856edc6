"""Optimizers: write demos and instructions into a program's predictors.

The HTML page of a compile run is :func:`pliable.report.page.write_report` (or
``pliable report RUN_DIR``); it is not imported here, to keep ``import pliable`` fast.

All share one interface, ``optimizer.compile(program, trainset=..., valset=...)``, return a
compiled copy, and attach a report (``compiled.report``) saved with ``compiled.save(path)``.
"""

from typing import TYPE_CHECKING

from pliable._lazy import attach

if TYPE_CHECKING:
    from pliable.optimizers.base import Optimizer
    from pliable.optimizers.bootstrap_few_shot import BootstrapFewShot
    from pliable.optimizers.bootstrap_random_search import BootstrapRandomSearch
    from pliable.optimizers.estimate import Estimate
    from pliable.optimizers.instruction_hill_climb import InstructionHillClimb
    from pliable.optimizers.instruction_proposer import InstructionProposer
    from pliable.optimizers.joint_search import JointSearch
    from pliable.optimizers.knn_few_shot import KNNFewShot, KNNProgram
    from pliable.optimizers.labeled_few_shot import LabeledFewShot
    from pliable.optimizers.reflective import Reflective
    from pliable.optimizers.report import CompileReport, ScoreSummary
    from pliable.optimizers.soft.multitask_prompt_tuning import MultitaskPromptTuning
    from pliable.optimizers.soft.p_tuning import PTuning
    from pliable.optimizers.soft.prefix_tuning import PrefixTuning
    from pliable.optimizers.soft.prompt_tuning import PromptTuning

__all__ = [
    "BootstrapFewShot",
    "BootstrapRandomSearch",
    "CompileReport",
    "Estimate",
    "InstructionHillClimb",
    "InstructionProposer",
    "JointSearch",
    "KNNFewShot",
    "KNNProgram",
    "LabeledFewShot",
    "MultitaskPromptTuning",
    "Optimizer",
    "PTuning",
    "PrefixTuning",
    "PromptTuning",
    "Reflective",
    "ScoreSummary",
]

_LAZY = {
    "BootstrapFewShot": "pliable.optimizers.bootstrap_few_shot",
    "BootstrapRandomSearch": "pliable.optimizers.bootstrap_random_search",
    "CompileReport": "pliable.optimizers.report",
    "Estimate": "pliable.optimizers.estimate",
    "InstructionHillClimb": "pliable.optimizers.instruction_hill_climb",
    "InstructionProposer": "pliable.optimizers.instruction_proposer",
    "JointSearch": "pliable.optimizers.joint_search",
    "KNNFewShot": "pliable.optimizers.knn_few_shot",
    "KNNProgram": "pliable.optimizers.knn_few_shot",
    "LabeledFewShot": "pliable.optimizers.labeled_few_shot",
    "MultitaskPromptTuning": "pliable.optimizers.soft.multitask_prompt_tuning",
    "Optimizer": "pliable.optimizers.base",
    "PTuning": "pliable.optimizers.soft.p_tuning",
    "PrefixTuning": "pliable.optimizers.soft.prefix_tuning",
    "PromptTuning": "pliable.optimizers.soft.prompt_tuning",
    "Reflective": "pliable.optimizers.reflective",
    "ScoreSummary": "pliable.optimizers.report",
}

if not TYPE_CHECKING:
    __getattr__, __dir__ = attach(__name__, _LAZY)

del TYPE_CHECKING, attach
