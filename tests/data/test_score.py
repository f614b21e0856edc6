import numpy as np
import pytest

import pliable as pl
from pliable.data.score import to_score
from pliable.evaluation import Score
from pliable.evaluation.metric_base import metric_caller


def test_score_is_a_frozen_number_with_feedback():
    s = Score(True, "good")
    assert (s.value, s.feedback, float(s)) == (1.0, "good", 1.0)
    assert Score(0.5) == Score(0.5, "")
    with pytest.raises(AttributeError):
        s.value = 0.0  # type: ignore[misc]
    with pytest.raises(pl.UsageError, match="finite number"):
        Score("high")
    with pytest.raises(pl.UsageError, match="finite number"):
        Score(float("inf"))
    with pytest.raises(pl.UsageError, match="feedback"):
        Score(1.0, feedback=3)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (True, 1.0),
        (False, 0.0),
        (3, 3.0),
        (0.25, 0.25),
        (np.float64(0.5), 0.5),
        (np.bool_(True), 1.0),
        (np.int64(2), 2.0),
        (Score(0.1, "x"), 0.1),
    ],
)
def test_to_score_reads_numbers_bools_and_scores(value, expected):
    assert to_score(value, metric=None).value == expected


def test_metric_caller_passes_the_trace_only_when_wanted():
    two, takes = metric_caller(lambda ex, pred: (ex, pred))
    assert (two(1, 2, "t"), takes) == ((1, 2), False)
    three, takes = metric_caller(lambda ex, pred, trace=None: trace)
    assert (three(1, 2, "t"), takes) == ("t", True)
    star, takes = metric_caller(lambda *args: args)
    assert (star(1, 2, "t"), takes) == ((1, 2, "t"), True)
    with pytest.raises(pl.UsageError, match="takes 1 positional"):
        metric_caller(lambda pred: 1.0)
    with pytest.raises(pl.UsageError, match="callable"):
        metric_caller("exact_match")
