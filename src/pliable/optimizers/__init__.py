"""Optimizers: write demos (and, later, instructions) into a program's predictors.

All share one interface, ``optimizer.compile(program, trainset=..., valset=...)``, return a
compiled copy, and attach a report (``compiled.report``) saved with ``compiled.save(path)``.
"""

from pliable.optimizers.base import Optimizer
from pliable.optimizers.fewshot import BootstrapFewShot, LabeledFewShot
from pliable.optimizers.knn import KNNFewShot, KNNProgram
from pliable.optimizers.random_search import BootstrapRandomSearch
from pliable.optimizers.report import CompileReport, ScoreSummary

__all__ = [
    "BootstrapFewShot",
    "BootstrapRandomSearch",
    "CompileReport",
    "KNNFewShot",
    "KNNProgram",
    "LabeledFewShot",
    "Optimizer",
    "ScoreSummary",
]
