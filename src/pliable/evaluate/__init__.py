"""Evaluation: score a program on a dev set, compare two programs, ready-made metrics.

::

    result = pl.evaluate(program, devset, pl.metrics.exact_match("answer"))
    print(result.summary())          # score ± bootstrap CI, errors, LM calls, tokens, cost
    pl.compare(baseline, result).verdict

Modules: :mod:`~pliable.evaluate.runner` (``evaluate``), :mod:`~pliable.evaluate.result`
(``EvaluationResult``), :mod:`~pliable.evaluate.compare` (``compare``),
:mod:`~pliable.evaluate.floor` (``majority_floor``: always the most common answer, 0 LM calls),
:mod:`~pliable.evaluate.stats` (bootstrap), :mod:`~pliable.evaluate.score` (``Score``),
:mod:`~pliable.evaluate.metrics` (metric factories), :mod:`~pliable.evaluate.judge`
(``llm_judge``), :mod:`~pliable.evaluate.text` (answer normalisation).
"""

from pliable.evaluate import metrics
from pliable.evaluate.compare import Comparison, compare
from pliable.evaluate.floor import Floor, FloorComparison, majority_floor
from pliable.evaluate.metric_base import Metric
from pliable.evaluate.result import EvaluationResult, EvaluationRow
from pliable.evaluate.runner import EvaluationError, evaluate
from pliable.evaluate.score import Score

__all__ = [
    "Comparison",
    "EvaluationError",
    "EvaluationResult",
    "EvaluationRow",
    "Floor",
    "FloorComparison",
    "Metric",
    "Score",
    "compare",
    "evaluate",
    "majority_floor",
    "metrics",
]
