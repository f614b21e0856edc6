"""Optimizers: write demos and instructions into a program's predictors.

The HTML page of a compile run is :func:`pliable.report.page.write_report` (or
``pliable report RUN_DIR``); it is not imported here, to keep ``import pliable`` fast.

All share one interface, ``optimizer.compile(program, trainset=..., valset=...)``, return a
compiled copy, and attach a report (``compiled.report``) saved with ``compiled.save(path)``.
"""

from pliable.optimizers.base import Optimizer
from pliable.optimizers.bootstrap_random_search import BootstrapRandomSearch
from pliable.optimizers.estimate import Estimate
from pliable.optimizers.fewshot import BootstrapFewShot, LabeledFewShot
from pliable.optimizers.instruction_hill_climb import InstructionHillClimb
from pliable.optimizers.instruction_proposer import InstructionProposer
from pliable.optimizers.joint_search import JointSearch
from pliable.optimizers.knn_few_shot import KNNFewShot, KNNProgram
from pliable.optimizers.reflective import Reflective
from pliable.optimizers.report import CompileReport, ScoreSummary
from pliable.optimizers.soft import MultitaskPromptTuning, PrefixTuning, PromptTuning, PTuning

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
