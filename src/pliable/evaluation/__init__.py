"""Evaluation: score a program on a dev set, compare two programs, ready-made metrics.

::

    result = pl.evaluate(program, devset, pl.metrics.exact_match("answer"))
    print(result.summary())          # score ± bootstrap CI, errors, LM calls, tokens, cost
    pl.compare(baseline, result).verdict

Modules: :mod:`~pliable.evaluation.runner` (``evaluate``), :mod:`~pliable.evaluation.result`
(``EvaluationResult``), :mod:`~pliable.evaluation.comparison` (``compare``),
:mod:`~pliable.evaluation.floor` (``majority_floor``: always the most common answer, 0 LM calls),
:mod:`~pliable.evaluation.stats` (bootstrap), ``Score`` (from :mod:`pliable.data.score`),
:mod:`~pliable.evaluation.metrics` (metric factories), :mod:`~pliable.evaluation.judge`
(``llm_judge``), :mod:`~pliable.evaluation.text` (answer normalisation).
"""

from typing import TYPE_CHECKING

from pliable._lazy import attach

if TYPE_CHECKING:
    from pliable.data.score import Score
    from pliable.errors import EvaluationError
    from pliable.evaluation import metrics as metrics
    from pliable.evaluation.comparison import Comparison, compare
    from pliable.evaluation.floor import Floor, FloorComparison, majority_floor
    from pliable.evaluation.metric_base import Metric
    from pliable.evaluation.result import EvaluationResult, EvaluationRow
    from pliable.evaluation.runner import evaluate

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

_LAZY = {
    "Comparison": "pliable.evaluation.comparison",
    "EvaluationError": "pliable.errors",
    "EvaluationResult": "pliable.evaluation.result",
    "EvaluationRow": "pliable.evaluation.result",
    "Floor": "pliable.evaluation.floor",
    "FloorComparison": "pliable.evaluation.floor",
    "Metric": "pliable.evaluation.metric_base",
    "Score": "pliable.data.score",
    "compare": "pliable.evaluation.comparison",
    "evaluate": "pliable.evaluation.runner",
    "majority_floor": "pliable.evaluation.floor",
    "metrics": "pliable.evaluation.metrics",
}

if not TYPE_CHECKING:
    __getattr__, __dir__ = attach(__name__, _LAZY)

del TYPE_CHECKING, attach
