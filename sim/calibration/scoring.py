"""Proper scoring rules for forecast distributions, and naive baselines to score against.

* CRPS (continuous ranked probability score; Gneiting & Raftery 2007): for an ensemble
  ``x_1..x_m`` and outcome ``y``, ``mean|x_i - y| - mean|x_i - x_j| / 2`` (``scoringrules``,
  quantile-decomposition estimator: the plain, not the "fair", form, so a one-member
  ensemble scores its absolute error and ensembles are O(m log m)).
  Lower is better; in the outcome's units.
* Interval score of a central ``(1 - alpha)`` interval ``[l, u]``:
  ``(u - l) + 2/alpha (l - y)[y < l] + 2/alpha (y - u)[y > u]``; lower is better.
* Skill against a baseline: ``1 - score / baseline score`` (> 0: better than the baseline).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import ArrayLike


def _scoringrules() -> Any:
    """``scoringrules``, imported after :mod:`sim.numba_cache`: importing it compiles its
    Numba functions, which builds Numba's runtime, and the runtime must be built the way
    :mod:`sim.refcounts` chose for this process (else the engine's replicates in this process
    count atomically, slower)."""
    import importlib

    importlib.import_module("sim.numba_cache")  # first (an import statement would be sorted after)
    import scoringrules

    return scoringrules


def crps_ensemble(samples: ArrayLike, observed: float) -> float:
    """CRPS of the empirical distribution of ``samples`` at ``observed``."""
    sr = _scoringrules()

    x = np.asarray(samples, dtype=float)
    if x.size == 0 or not np.all(np.isfinite(x)):
        raise ValueError("an ensemble needs at least one finite member")
    return float(sr.crps_ensemble(float(observed), x, estimator="qd"))


def crps_difference_interval(
    x: ArrayLike,
    y: ArrayLike,
    observed: float,
    *,
    paired: bool,
    level: float = 0.95,
    draws: int = 2000,
    seed: int = 0,
) -> tuple[float, float]:
    """Percentile bootstrap interval of ``crps(x) - crps(y)`` at ``observed``: how far the
    difference of two ensembles' scores could move with other replicates (Monte Carlo
    noise), not how it would move with another observed year.

    ``paired``: ``x[i]`` and ``y[i]`` come from one replicate (resampled together); otherwise
    the two ensembles are resampled apart. ``y`` empty: the interval of ``crps(x)`` alone.
    """
    sr = _scoringrules()

    a = np.asarray(x, dtype=float)
    b = np.asarray(y, dtype=float)
    if a.size == 0 or not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
        raise ValueError("an ensemble needs at least one finite member")
    if paired and b.size and a.size != b.size:
        raise ValueError("paired ensembles need as many members each")
    rng = np.random.default_rng([seed, 11])
    obs = np.full(draws, float(observed))
    ia = rng.integers(0, a.size, (draws, a.size))
    diff = np.asarray(sr.crps_ensemble(obs, a[ia], estimator="qd"), dtype=float)
    if b.size:
        ib = ia if paired else rng.integers(0, b.size, (draws, b.size))
        diff = diff - np.asarray(sr.crps_ensemble(obs, b[ib], estimator="qd"), dtype=float)
    tail = (1 - level) / 2
    low, high = np.quantile(diff, [tail, 1 - tail])
    return float(low), float(high)


def crps_normal(mean: float, sd: float, observed: float) -> float:
    """Closed-form CRPS of a normal forecast N(mean, sd^2) at ``observed``."""
    if sd <= 0:
        return abs(observed - mean)
    z = (observed - mean) / sd
    pdf = math.exp(-0.5 * z * z) / math.sqrt(2 * math.pi)
    cdf = 0.5 * (1 + math.erf(z / math.sqrt(2)))
    return sd * (z * (2 * cdf - 1) + 2 * pdf - 1 / math.sqrt(math.pi))


def interval_score(lower: float, upper: float, observed: float, alpha: float = 0.1) -> float:
    """Interval score of the central ``1 - alpha`` interval ``[lower, upper]``."""
    if not 0 < alpha < 1 or upper < lower:
        raise ValueError("need 0 < alpha < 1 and lower <= upper")
    penalty = 0.0
    if observed < lower:
        penalty = 2 / alpha * (lower - observed)
    elif observed > upper:
        penalty = 2 / alpha * (observed - upper)
    return (upper - lower) + penalty


def ensemble_interval_score(samples: ArrayLike, observed: float, alpha: float = 0.1) -> float:
    """Interval score of an ensemble's central ``1 - alpha`` interval (its quantiles)."""
    x = np.asarray(samples, dtype=float)
    lower, upper = np.quantile(x, [alpha / 2, 1 - alpha / 2])
    return interval_score(float(lower), float(upper), observed, alpha)


def normal_interval_score(mean: float, sd: float, observed: float, alpha: float = 0.1) -> float:
    """Interval score of a normal forecast's central ``1 - alpha`` interval."""
    from statistics import NormalDist

    z = NormalDist().inv_cdf(1 - alpha / 2)
    return interval_score(mean - z * sd, mean + z * sd, observed, alpha)


def skill(score: float, baseline: float) -> float:
    """``1 - score / baseline``: positive when the forecast beats the baseline."""
    if baseline == 0:
        return 0.0 if score == 0 else -math.inf
    return 1.0 - score / baseline
