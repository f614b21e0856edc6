import json

import pytest

import pliable as pl
from pliable.evaluation import compare, evaluate
from pliable.evaluation.stats import bootstrap_mean_ci, paired_bootstrap


def examples(n):
    return [pl.Example(question=f"q{i}", answer="yes").with_inputs("question") for i in range(n)]


def scored(devset, right):
    """An evaluation where the examples whose index is in ``right`` score 1, the rest 0."""
    lm = pl.FunctionLM(lambda messages: "[[answer]]\nok")
    program = pl.Predict("question -> answer", lm=lm)

    def metric(example, prediction):
        return int(example.question[1:]) in right

    return evaluate(program, devset, metric, progress=False)


def test_a_real_improvement_is_detected():
    devset = examples(60)
    a = scored(devset, set(range(0, 60, 3)))  # 20 of 60
    b = scored(devset, set(range(0, 60, 3)) | set(range(1, 60, 3)))  # 40 of 60
    c = compare(a, b)
    assert c.difference == pytest.approx(1 / 3)
    assert c.ci_low > 0
    assert c.p_value < 0.01
    assert c.verdict == "b is better"
    assert (c.b_wins, c.a_wins, c.ties) == (20, 0, 40)
    assert compare(b, a).verdict == "a is better"
    assert compare(b, a).difference == pytest.approx(-1 / 3)
    assert c.summary().startswith("b is better: b − a = +33.3 points (95% CI +")


def test_identical_results_show_no_difference():
    devset = examples(30)
    a = scored(devset, set(range(0, 30, 2)))
    c = compare(a, scored(devset, set(range(0, 30, 2))))
    assert (c.difference, c.ci_low, c.ci_high, c.p_value) == (0.0, 0.0, 0.0, 1.0)
    assert c.verdict == "no significant difference"
    assert json.loads(json.dumps(c.to_dict()))["verdict"] == "no significant difference"


def test_a_small_noisy_difference_is_not_significant():
    devset = examples(10)
    a = scored(devset, {0, 1, 2, 3, 4})
    b = scored(devset, {0, 1, 2, 3, 5, 6})
    c = compare(a, b)
    assert c.ci_low < 0 < c.ci_high
    assert c.verdict == "no significant difference"
    assert c.p_value > 0.05


def test_comparison_is_deterministic_with_a_seed():
    devset = examples(20)
    a, b = scored(devset, set(range(8))), scored(devset, set(range(3, 14)))
    assert compare(a, b) == compare(a, b)
    assert compare(a, b, seed=1).difference == compare(a, b).difference


def test_different_devsets_are_refused():
    a = scored(examples(5), {0})
    with pytest.raises(pl.UsageError, match="same devset"):
        compare(a, scored(examples(6), {0}))
    other = [e.copy(answer="no") for e in examples(5)]
    with pytest.raises(pl.UsageError, match="example 0 differs"):
        compare(a, scored(other, {0}))


def test_bootstrap_interval_of_a_constant_is_that_constant():
    assert bootstrap_mean_ci([0.3]) == pytest.approx((0.3, 0.3))
    assert bootstrap_mean_ci([0.5, 0.5, 0.5]) == pytest.approx((0.5, 0.5))


def test_pass_fail_scores_get_the_wilson_interval_even_at_zero_and_all():
    low, high = bootstrap_mean_ci([0.0] * 50)
    assert low == 0.0
    assert high == pytest.approx(0.0713, abs=1e-3)  # not [0, 0]: 0/50 is not certainty
    low, high = bootstrap_mean_ci([1.0] * 3)
    assert high == 1.0
    assert low == pytest.approx(0.4385, abs=1e-3)
    low, high = bootstrap_mean_ci([1.0] * 7 + [0.0] * 3)
    assert (round(low, 3), round(high, 3)) == (0.397, 0.892)


def test_bootstrap_interval_matches_the_normal_approximation_on_a_large_sample():
    values = [1.0] * 700 + [0.0] * 300
    low, high = bootstrap_mean_ci(values, n_resamples=4000)
    half_width = 1.96 * (0.7 * 0.3 / 1000) ** 0.5
    assert low == pytest.approx(0.7 - half_width, abs=0.006)
    assert high == pytest.approx(0.7 + half_width, abs=0.006)


def test_bootstrap_arguments_are_checked():
    with pytest.raises(pl.UsageError, match="confidence"):
        bootstrap_mean_ci([1.0], confidence=1.0)
    with pytest.raises(pl.UsageError, match="n_resamples"):
        bootstrap_mean_ci([1.0], n_resamples=0)
    with pytest.raises(pl.UsageError, match="no values"):
        bootstrap_mean_ci([])
    with pytest.raises(pl.UsageError, match="differ in size"):
        paired_bootstrap([1.0], [1.0, 0.0])
