"""Bootstrap statistics for scores: a confidence interval of a mean, and a paired test.

Both resample examples with replacement (``n_resamples`` times, from a seeded numpy
generator, so the same inputs always give the same interval). numpy is imported on first use,
keeping ``import pliable`` fast.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, NamedTuple

from pliable.errors import UsageError

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

__all__ = [
    "PairedBootstrap",
    "bootstrap_mean_ci",
    "check_bootstrap_args",
    "paired_bootstrap",
    "selection_bootstrap",
]

# Resampled index matrices are built in chunks of about this many cells, bounding memory.
_CHUNK_CELLS = 1_000_000


class PairedBootstrap(NamedTuple):
    """The mean of ``b - a`` over paired examples, its interval and a two-sided p-value."""

    difference: float
    ci_low: float
    ci_high: float
    p_value: float


def check_bootstrap_args(confidence: float, n_resamples: int) -> None:
    if not 0.0 < confidence < 1.0:
        raise UsageError(f"confidence must be between 0 and 1 (e.g. 0.95); got {confidence!r}.")
    if n_resamples < 1:
        raise UsageError(f"n_resamples must be at least 1; got {n_resamples!r}.")


def _resampled_means(
    values: npt.NDArray[np.float64], n_resamples: int, seed: int
) -> npt.NDArray[np.float64]:
    """The means of ``n_resamples`` resamples (with replacement) of ``values``."""
    import numpy as np

    rng = np.random.default_rng(seed)
    n = len(values)
    rows = max(1, _CHUNK_CELLS // max(n, 1))
    parts = []
    for start in range(0, n_resamples, rows):
        size = min(rows, n_resamples - start)
        picks = rng.integers(0, n, size=(size, n))
        parts.append(values[picks].mean(axis=1))
    return np.concatenate(parts)


def _interval(
    means: npt.NDArray[np.float64], confidence: float, point: float
) -> tuple[float, float]:
    import numpy as np

    alpha = (1.0 - confidence) / 2.0
    low, high = np.quantile(means, [alpha, 1.0 - alpha])
    # Guard against rounding putting a constant sample's point estimate outside its interval.
    return min(float(low), point), max(float(high), point)


def _wilson(successes: int, n: int, confidence: float) -> tuple[float, float]:
    from statistics import NormalDist

    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * ((p * (1 - p) / n + z * z / (4 * n * n)) ** 0.5) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def bootstrap_mean_ci(
    values: Sequence[float], *, confidence: float = 0.95, n_resamples: int = 2000, seed: int = 0
) -> tuple[float, float]:
    """The interval of the mean of ``values`` at level ``confidence``.

    Scores that are all 0 or 1 get the Wilson score interval, which stays honest at 0/n and
    n/n (a bootstrap would say [0, 0]); other scores get the percentile bootstrap.
    """
    import numpy as np

    check_bootstrap_args(confidence, n_resamples)
    data = np.asarray(values, dtype=np.float64)
    if data.size == 0:
        raise UsageError("Cannot bootstrap the mean of no values.")
    if bool(np.all((data == 0.0) | (data == 1.0))):
        return _wilson(int(data.sum()), int(data.size), confidence)
    return _interval(_resampled_means(data, n_resamples, seed), confidence, float(data.mean()))


def paired_bootstrap(
    a: Sequence[float],
    b: Sequence[float],
    *,
    confidence: float = 0.95,
    n_resamples: int = 10000,
    seed: int = 0,
) -> PairedBootstrap:
    """Resample paired examples: the mean of ``b - a``, its interval, and a p-value.

    The p-value is the share of resampled differences at least as far from the observed one
    as the observed one is from 0 (the bootstrap distribution shifted to the null
    hypothesis of no difference), with the usual +1 correction so it is never 0.
    """
    import numpy as np

    check_bootstrap_args(confidence, n_resamples)
    xa = np.asarray(a, dtype=np.float64)
    xb = np.asarray(b, dtype=np.float64)
    if xa.shape != xb.shape:
        raise UsageError(f"Paired samples differ in size: {xa.size} and {xb.size}.")
    if xa.size == 0:
        raise UsageError("Cannot compare samples of no values.")
    diffs = xb - xa
    observed = float(diffs.mean())
    means = _resampled_means(diffs, n_resamples, seed)
    low, high = _interval(means, confidence, observed)
    extreme = int(np.count_nonzero(np.abs(means - observed) >= abs(observed)))
    p_value = min(1.0, (extreme + 1) / (n_resamples + 1))
    return PairedBootstrap(observed, low, high, p_value)


def selection_bootstrap(
    baseline: Sequence[float],
    candidates: Sequence[Sequence[float]],
    chosen: int,
    *,
    confidence: float = 0.95,
    n_resamples: int = 10000,
    seed: int = 0,
) -> PairedBootstrap:
    """``candidates[chosen] - baseline`` when ``chosen`` was picked as the best of
    ``candidates`` on these same examples: its interval holds for every candidate at once.

    Each resample of the examples gives every candidate's resampled mean difference; the lower
    bound uses, per resample, the candidate whose resampled difference fell furthest below its
    observed one (a max-type correction for the pick, as in Westfall and Young's resampling
    methods). Candidates that often agree (the usual case: demo sets and instructions that
    share most answers) widen the interval little; unrelated ones widen it like a Bonferroni
    correction would. With one candidate it equals :func:`paired_bootstrap`'s percentile
    interval. The p-value is the share of resamples in which some candidate's difference
    moved at least as far from its observed one as the chosen one's observed difference is
    from 0 (with one candidate, :func:`paired_bootstrap`'s p-value).
    """
    import numpy as np

    check_bootstrap_args(confidence, n_resamples)
    base = np.asarray(baseline, dtype=np.float64)
    rows = [np.asarray(c, dtype=np.float64) for c in candidates]
    if not rows or not 0 <= chosen < len(rows):
        raise UsageError(
            f"selection_bootstrap(chosen={chosen!r}) must index one of {len(rows)} candidates."
        )
    if base.size == 0 or any(r.shape != base.shape for r in rows):
        raise UsageError(
            f"Paired samples differ in size or are empty: the baseline has {base.size} values, "
            f"the candidates {[r.size for r in rows]}."
        )
    diffs = np.stack(rows) - base  # candidates x examples
    observed = diffs.mean(axis=1)
    n = base.size
    rng = np.random.default_rng(seed)
    step = max(1, _CHUNK_CELLS // n)
    worst_parts, own_parts, far_parts = [], [], []
    for start in range(0, n_resamples, step):
        picks = rng.integers(0, n, size=(min(step, n_resamples - start), n))
        shifted = np.stack([d[picks].mean(axis=1) for d in diffs]) - observed[:, None]
        worst_parts.append(shifted.min(axis=0))
        own_parts.append(shifted[chosen])
        far_parts.append(np.abs(shifted).max(axis=0))
    worst, own = np.concatenate(worst_parts), np.concatenate(own_parts)
    alpha = (1.0 - confidence) / 2.0
    point = float(observed[chosen])
    low = min(point + float(np.quantile(worst, alpha)), point)
    high = max(point + float(np.quantile(own, 1.0 - alpha)), point)
    extreme = int(np.count_nonzero(np.concatenate(far_parts) >= abs(point)))
    p_value = min(1.0, (extreme + 1) / (n_resamples + 1))
    return PairedBootstrap(point, low, high, p_value)
