"""The numeric core of the analysis: small pure functions, each testable on known answers."""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

FloatArray = NDArray[np.float64]

#: The published severity exponent of terrorist attacks, alpha = 2.4 +/- 0.2 (Clauset & Wiegel
#: 2010; 2.5 for insurgencies, Bohorquez et al. 2009): validate's range, the severity figure's band.
PUBLISHED_ALPHA: tuple[float, float] = (2.2, 2.6)

#: Quantiles drawn in a fan chart: 90% band, 50% band, median.
FAN_QUANTILES: tuple[float, ...] = (0.05, 0.25, 0.5, 0.75, 0.95)


def finite(values: ArrayLike) -> FloatArray:
    """Values as a 1-D float array with NaN and infinities removed."""
    arr = np.asarray(values, dtype=float).ravel()
    return arr[np.isfinite(arr)]


@dataclass(frozen=True)
class Summary:
    """Location and spread of a sample."""

    n: int
    mean: float
    median: float
    q05: float
    q95: float


#: Summary columns and weekly metrics that are amounts, indices or shares, not counts: where
#: every replicate happens to hold a whole value (capital left at a round sum under a freeze)
#: that is chance, so their percentiles are interpolated as any other amount's
#: (:func:`median_and_interval`). Every other outcome of the model is a count. (Here, not in
#: ``sim/record.py``: that file is one of the rules' sources, whose hash names the model.)
NOT_COUNTS: frozenset[str] = frozenset(
    {
        "capital_deployed_final",
        "grievance_final",
        "legitimacy_final",
        "china_patience_final",
        "capital_deployed",
        "grievance",
        "legitimacy",
        "china_patience",
        "operation_intensity",
        "iran_posture",
        "share_chinese_target",
    }
)


def summarise(values: ArrayLike, counts: bool = True) -> Summary:
    """n, mean, median and the 5% and 95% quantiles (NaN-free values only), the quantiles as
    :func:`median_and_interval` takes them."""
    x = finite(values)
    if x.size == 0:
        return Summary(0, math.nan, math.nan, math.nan, math.nan)
    q05, med, q95 = median_and_interval(x, counts=counts)
    return Summary(int(x.size), float(x.mean()), float(med), float(q05), float(q95))


def median_and_interval(
    values: ArrayLike, tail: float = 0.05, counts: bool = True, unit: float = 1.0
) -> tuple[float, float, float]:
    """(the ``tail`` quantile, the median, the ``1 - tail`` quantile) of the finite values.

    Of counts (people killed, attacks, investors: whole multiples of ``unit``, such as a
    count over two years per year, ``unit`` 0.5) each end of the interval is a value some
    replicate took (the inverse of the empirical CDF, as the fan charts' band edges), not an
    interpolation between two: no interval ending at 34.1 people. ``counts=False`` says the
    values are an amount or an index (:data:`NOT_COUNTS`), interpolated even where
    every one is whole by chance. The median stays the usual one (the mean of the two middle
    values). NaN for no finite value.
    """
    x = finite(values)
    if x.size == 0:
        return math.nan, math.nan, math.nan
    whole = counts and is_whole(x / unit)
    method: Literal["inverted_cdf", "linear"] = "inverted_cdf" if whole else "linear"
    low, high = np.quantile(x, [tail, 1 - tail], method=method)
    return float(low), float(np.quantile(x, 0.5)), float(high)


def is_whole(values: ArrayLike) -> bool:
    """Whether every finite value is a whole number, to a few units in the last place (a count
    scaled per year and back, 3.0000000000000004, still is)."""
    x = finite(values)
    return bool(np.all(np.abs(x - np.round(x)) <= 1e-9 * np.maximum(1.0, np.abs(x))))


def quantile_bands(
    matrix: ArrayLike, quantiles: tuple[float, ...] = FAN_QUANTILES, whole: bool = False
) -> dict[float, FloatArray]:
    """Quantiles across replicates, week by week.

    ``matrix`` has one row per replicate and one column per week; NaN (a replicate that
    stopped early) is ignored. Returns ``{q: array over weeks}``. With ``whole`` (counts)
    each band edge is a value some replicate took (the inverse of the empirical CDF), not an
    interpolation between two: no band edge at 1.05 investors or 0.05 people. The median
    stays the usual one (the mean of the two middle values), as in the tables.
    """
    m = np.asarray(matrix, dtype=float)
    if m.ndim != 2:
        raise ValueError("matrix must be 2-D (replicates x weeks)")
    out: dict[float, FloatArray] = {}
    if m.shape[0] == 0:
        return {q: np.full(m.shape[1], np.nan) for q in quantiles}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN weeks give NaN
        values = np.nanquantile(m, quantiles, axis=0)
        if whole:  # band edges at values taken; the median as everywhere else (tables)
            edges = np.nanquantile(m, quantiles, axis=0, method="inverted_cdf")
            values = np.where(np.asarray(quantiles)[:, None] == 0.5, values, edges)
    for q, row in zip(quantiles, values, strict=True):
        out[q] = np.asarray(row, dtype=float)
    return out


def ecdf(values: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Empirical CDF as step points: sorted values and P(X <= x)."""
    x = np.sort(finite(values))
    return x, np.arange(1, x.size + 1, dtype=float) / max(x.size, 1)


def ccdf(values: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Complementary CDF P(X >= x) at each distinct value."""
    x = np.sort(finite(values))
    if x.size == 0:
        return x, x
    uniq, first = np.unique(x, return_index=True)
    return uniq.astype(float), 1.0 - first / x.size


def percentile_of(samples: ArrayLike, value: float) -> float:
    """Share of ``samples`` below ``value`` plus half the share equal to it (mid-rank), among
    the samples that are not NaN (an infinite one counts); NaN if none is, or ``value`` is."""
    x = np.asarray(samples, dtype=float)
    x = x[~np.isnan(x)]
    if x.size == 0 or math.isnan(value):
        return math.nan
    return float(np.mean(x < value) + 0.5 * np.mean(x == value))


def kde_curve(
    values: ArrayLike, grid: ArrayLike, lower: float | None = None, upper: float | None = None
) -> FloatArray | None:
    """Gaussian kernel density on ``grid`` (Scott's bandwidth, as ``scipy.stats.gaussian_kde``),
    or None if it cannot be estimated: fewer than two values or constant data (zero bandwidth).

    With ``lower`` (a bound no value can fall below, such as 0 for a count), the kernels'
    mass below it is reflected back above it (Silverman 1986, §2.10), so the density is zero
    below the bound and still integrates to one; ``grid`` points below it get 0. ``upper``
    does the same at a ceiling. Plain NumPy, so drawing a histogram does not import SciPy
    (about a second here).
    """
    x = finite(values)
    if x.size < 2 or np.ptp(x) == 0:
        return None
    h = float(np.std(x, ddof=1)) * x.size ** (-1 / 5)
    g = np.asarray(grid, dtype=float)
    dens = _gaussian_sum(g, x, h)
    if lower is not None:
        if x.min() < lower:
            raise ValueError(f"a value lies below the lower bound {lower}")
        dens = np.where(g < lower, 0.0, dens + _gaussian_sum(2 * lower - g, x, h))
    if upper is not None:
        if x.max() > upper:
            raise ValueError(f"a value lies above the upper bound {upper}")
        dens = np.where(g > upper, 0.0, dens + _gaussian_sum(2 * upper - g, x, h))
    return np.asarray(dens)


def _gaussian_sum(g: FloatArray, x: FloatArray, h: float) -> FloatArray:
    z = (g[:, None] - x[None, :]) / h
    return np.asarray(np.exp(-0.5 * z * z).sum(axis=1) / (x.size * h * math.sqrt(2 * math.pi)))


def wilson_half_width(share: float, n: int, level: float = 0.95) -> float:
    """Half the width of Wilson's score interval for ``share`` seen in ``n`` trials (before
    :func:`wilson_interval` clips it to [0, 1])."""
    from scipy.stats import norm

    z = float(norm.ppf(0.5 + level / 2))
    return z * math.sqrt(share * (1 - share) / n + z * z / (4 * n * n)) / (1 + z * z / n)


def wilson_interval(successes: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion (NaN, NaN if n == 0)."""
    from scipy.stats import norm

    if n <= 0:
        return (math.nan, math.nan)
    if not 0 <= successes <= n:
        raise ValueError("successes must lie in 0..n")
    z = float(norm.ppf(0.5 + level / 2))
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = wilson_half_width(p, n, level)
    low = 0.0 if successes == 0 else max(0.0, centre - half)
    high = 1.0 if successes == n else min(1.0, centre + half)
    return (low, high)


Statistic = Literal["mean", "median"]


@dataclass(frozen=True)
class DiffCI:
    """Difference of a statistic between two samples (``a - b``) with a bootstrap interval
    and a two-sided p-value for "no difference"."""

    estimate: float
    low: float
    high: float
    p: float = math.nan


def _stat_fn(stat: Statistic) -> Callable[..., Any]:
    if stat == "mean":
        return np.mean
    if stat == "median":
        return np.median
    raise ValueError(f"unknown statistic {stat!r}: choose mean or median")


def resampled(stat: Statistic, values: FloatArray, index: NDArray[np.intp]) -> FloatArray:
    """``stat`` of each bootstrap resample ``values[index[b]]`` (one per row of ``index``)."""
    if stat == "median":
        return resampled_medians(values, index)
    return np.asarray(_stat_fn(stat)(values[index], axis=1), dtype=float)


def resampled_medians(values: FloatArray, index: NDArray[np.intp]) -> FloatArray:
    """``np.median(values[index], axis=1)``, the same numbers, from how often each resample
    draws each of the sample's distinct values rather than by partitioning every resample
    (half the time: the bootstrap's medians were a third of ``cpec-sim compare``'s
    statistics). ``values`` are finite float64 (as :func:`bootstrap_diff_ci` passes them)
    and each resample holds at least one; a zero comes out as 0.0."""
    distinct, code = np.unique(values + 0.0, return_inverse=True)  # -0.0 + 0.0 is 0.0
    rows, n = index.shape
    k = distinct.size
    cells = (code.ravel()[index] + k * np.arange(rows)[:, None]).ravel()
    drawn = np.cumsum(np.bincount(cells, minlength=rows * k).reshape(rows, k), axis=1)
    # the j-th smallest value of a resample is the distinct value where its count passes j
    lower = distinct[(drawn <= (n - 1) // 2).sum(axis=1)]
    if n % 2:
        return lower
    return (lower + distinct[(drawn <= n // 2).sum(axis=1)]) / 2


def bootstrap_diff_ci(
    a: ArrayLike,
    b: ArrayLike,
    stat: Statistic = "mean",
    n_boot: int = 2000,
    level: float = 0.95,
    seed: int = 20241118,
    paired: bool = False,
) -> DiffCI:
    """Percentile bootstrap CI of ``stat(a) - stat(b)``, with a two-sided p-value.

    Independent samples are resampled each on its own; ``paired`` samples (``a[i]`` and
    ``b[i]`` share their random numbers, as replicates with the same seed do) are resampled
    pair by pair, dropping pairs with a missing value. The p-value is Student's t for the
    estimate over the bootstrap standard error (Efron & Tibshirani 1993, §16; n - 1 degrees of
    freedom paired, Welch's unpaired), so that it resolves the small values a
    multiple-comparison correction needs; where the interval holds 0, never below what the
    bootstrap's own tail beyond 0 says (:func:`_boot_p`), for a median of independent samples,
    or of pairs of values with many ties, never below a rank test's (:func:`_rank_p`), and
    never below what an exact test of samples this small could give
    (:func:`_smallest_exact_p`). Vectorised (one ``n_boot x n`` index draw per sample); the
    fixed ``seed`` makes it reproducible. NaN where either sample is empty, and no interval or
    p-value where either has a single value.
    """
    if paired:
        x, y = finite_pairs(a, b)
    else:
        x, y = finite(a), finite(b)
    if x.size == 0 or y.size == 0:
        return DiffCI(math.nan, math.nan, math.nan, math.nan)
    fn = _stat_fn(stat)
    estimate = float(fn(x) - fn(y))
    if min(x.size, y.size) < 2:  # one value has no spread to resample: no interval
        return DiffCI(estimate, math.nan, math.nan, math.nan)
    rng = np.random.default_rng(seed)
    ix = rng.integers(0, x.size, size=(n_boot, x.size))
    iy = ix if paired else rng.integers(0, y.size, size=(n_boot, y.size))
    boot = resampled(stat, x, ix) - resampled(stat, y, iy)
    alpha = (1 - level) / 2
    low, high = np.quantile(boot, [alpha, 1 - alpha])
    n = min(x.size, y.size)
    se = float(np.std(boot)) * math.sqrt(n / (n - 1))  # the bootstrap's plug-in SE is low
    df = x.size - 1 if paired else _welch_df(x, y)
    p = _t_p(estimate, se, df)
    if low <= 0 <= high:  # the interval holds 0: so must the p-value
        p = max(p, _boot_p(boot))
    if stat == "median" and (not paired or _lumpy(x, y)):
        p = max(p, _rank_p(x, y, paired))
    return DiffCI(estimate, float(low), float(high), max(p, _smallest_exact_p(x, y, paired)))


def finite_pairs(a: ArrayLike, b: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Paired samples as floats, the pairs with a missing value dropped (ValueError if their
    lengths differ)."""
    x, y = np.asarray(a, dtype=float).ravel(), np.asarray(b, dtype=float).ravel()
    if x.size != y.size:
        raise ValueError("paired samples must have the same length")
    keep = np.isfinite(x) & np.isfinite(y)
    return x[keep], y[keep]


def _check_yes_no(x: FloatArray, y: FloatArray, what: str) -> None:
    """Raise ValueError unless both samples hold only yes/no values (1 or 0)."""
    if not np.isin(x, (0.0, 1.0)).all() or not np.isin(y, (0.0, 1.0)).all():
        raise ValueError(f"{what} need yes/no values (1 or 0)")


def paired_proportion_diff(a: ArrayLike, b: ArrayLike, level: float = 0.95) -> DiffCI:
    """Difference of two paired proportions, ``P(a) - P(b)``, of yes/no values (1/0) of the
    same replicates: Bonett & Price's (2012) adjusted Wald interval and McNemar's mid-p test
    (Fagerland, Lydersen & Laake 2013: the exact conditional test is too conservative).

    Only the pairs that disagree carry the difference: ``n10`` (yes in ``a``, no in ``b``)
    and ``n01``. The interval adds one to each before the Wald step, ``p10 = (n10 + 1) /
    (n + 2)``, ``p01 = (n01 + 1) / (n + 2)``, ``d = p10 - p01``, ``se = sqrt((p10 + p01 -
    d**2) / (n + 2))``: where few pairs or none disagree it stays wide enough (a paired
    bootstrap gives [0, 0] there: all its resamples agree). A reviewer's exact enumeration:
    99.9-100% coverage with 0-2 disagreeing pairs expected, 93.3-93.6% at its lowest (3-8
    expected, all one way), about 95-96% elsewhere. The p-value is the mid-p of the smaller
    binomial tail of the ``n10 + n01`` disagreeing pairs at 1/2 (1 when none disagrees): its
    false-positive rate stays at or just under 5% (0.0504 at most, where the exact test's
    was 0.018-0.047). The estimate is the plain ``(n10 - n01) / n``. Pairs with a missing value
    are dropped; NaN when no pair is left, no interval or p-value with a single one.
    """
    from scipy.stats import binom, norm

    x, y = finite_pairs(a, b)
    _check_yes_no(x, y, "paired proportions")
    n = int(x.size)
    if n == 0:
        return DiffCI(math.nan, math.nan, math.nan, math.nan)
    n10, n01 = int(np.sum((x == 1) & (y == 0))), int(np.sum((x == 0) & (y == 1)))
    estimate = (n10 - n01) / n
    if n < 2:
        return DiffCI(estimate, math.nan, math.nan, math.nan)
    p10, p01 = (n10 + 1) / (n + 2), (n01 + 1) / (n + 2)
    d = p10 - p01
    half = float(norm.ppf(0.5 + level / 2)) * math.sqrt((p10 + p01 - d * d) / (n + 2))
    m, k = n10 + n01, min(n10, n01)
    p = 1.0 if m == 0 else float(min(1.0, 2 * binom.cdf(k, m, 0.5) - binom.pmf(k, m, 0.5)))
    return DiffCI(estimate, max(-1.0, d - half), min(1.0, d + half), p)


#: The N - 1 chi-squared test gives way to Fisher's exact test (the larger p) below this
#: p-value or this smallest expected count: Campbell (2007) checked it at the 5% level, and a
#: reviewer's exact enumeration found it 2-3.8 times too liberal far in the tail Holm's
#: correction reads where run sizes differ (20 against 100-200 replicates; 4 of 20 against
#: 2 of 100: 7.9e-4, Fisher 7.0e-3), with the smallest expected count 1-2.
EXACT_BELOW_P = 0.01
EXACT_BELOW_EXPECTED = 5.0


def independent_proportion_diff(a: ArrayLike, b: ArrayLike, level: float = 0.95) -> DiffCI:
    """Difference of two independent proportions, ``P(a) - P(b)``, of yes/no values (1/0):
    Newcombe's (1998, method 10) hybrid score interval, built from each sample's Wilson
    interval, and a two-sided test (Campbell 2007: the N - 1 chi-squared test; Fisher's exact
    test, if larger, far in the tail or where an expected count is small:
    :data:`EXACT_BELOW_P`). A bootstrap gave [0, 0] where neither sample
    varies (no investment hold in 30 replicates of either run), as if the difference were
    known; this interval stays as wide as the samples allow ([-0.11, 0.11] there). Missing
    values are dropped; NaN for an empty sample, no interval or p-value for one of one value.
    """
    from scipy.stats import chi2, fisher_exact

    x, y = finite(a), finite(b)
    _check_yes_no(x, y, "proportions")
    if x.size == 0 or y.size == 0:
        return DiffCI(math.nan, math.nan, math.nan, math.nan)
    k1, n1, k2, n2 = int(x.sum()), int(x.size), int(y.sum()), int(y.size)
    p1, p2 = k1 / n1, k2 / n2
    estimate = p1 - p2
    if min(n1, n2) < 2:
        return DiffCI(estimate, math.nan, math.nan, math.nan)
    l1, u1 = wilson_interval(k1, n1, level)
    l2, u2 = wilson_interval(k2, n2, level)
    low = estimate - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    high = estimate + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    yes, no, n = k1 + k2, n1 + n2 - k1 - k2, n1 + n2
    if yes == 0 or no == 0:  # nobody, or everybody: nothing tells the samples apart
        return DiffCI(estimate, max(-1.0, low), min(1.0, high), 1.0)
    statistic = (k1 * (n2 - k2) - k2 * (n1 - k1)) ** 2 * (n - 1) / (yes * no * n1 * n2)
    p = float(chi2.sf(statistic, 1))
    if p < EXACT_BELOW_P or min(yes, no) * min(n1, n2) / n < EXACT_BELOW_EXPECTED:
        p = max(p, float(fisher_exact([[k1, n1 - k1], [k2, n2 - k2]]).pvalue))
    return DiffCI(estimate, max(-1.0, low), min(1.0, high), min(1.0, p))


def _boot_p(boot: FloatArray) -> float:
    """Twice the bootstrap's smaller tail beyond 0 (ties counted on both sides), at least
    0.05 when the 95% percentile interval holds 0: the floor under the t p-value there. The
    bootstrap of a count's median is lumpy and its SE tiny: a reviewer found the t p-value
    under 0.05 in 12% of comparisons of two samples of one population, one at 5e-5 with an
    interval of [-1, 0]."""
    return float(min(1.0, 2 * min(np.mean(boot <= 0), np.mean(boot >= 0))))


#: Values with fewer distinct values than this share of them are lumpy (:func:`_lumpy`).
LUMPY_DISTINCT_SHARE = 0.9


def _lumpy(x: FloatArray, y: FloatArray) -> bool:
    """Whether the two samples together hold many ties (fewer distinct values than
    :data:`LUMPY_DISTINCT_SHARE` of them), as counts do: then the bootstrap of a median
    piles onto a few values."""
    values = np.concatenate([x, y])
    return bool(np.unique(values).size < LUMPY_DISTINCT_SHARE * values.size)


def _rank_p(x: FloatArray, y: FloatArray, paired: bool) -> float:
    """Wilcoxon's signed-rank test of the pairs (zero differences dropped) or Mann-Whitney's of
    two samples, two-sided: the floor under a median's p-value for independent samples, and
    for pairs of lumpy values (:func:`_lumpy`). Student's t on the bootstrap SE of a median is
    too small far in the tail that Holm's correction reads: comparisons of two samples of 100
    from one population (no difference) gave p < 0.05 / 54 in 1.1-6 times the nominal 0.093%
    for counts drawn from a run's replicates (chinese_killed, attacks_on_chinese,
    attacks_total: the bootstrap of their medians piles onto a few values), and in 1.4-2.6
    times for independent samples without ties (normal and heavy-tailed, n 60-200: a
    reviewer's check). A rank test holds its level whenever the two samples come from one
    distribution (0-0.03% there). It is no test of medians, and it costs power where a change
    moves a distribution's shape more than its middle; pairs of values without many ties,
    such as the indexes at the end of paired runs, keep the t p-value, which held its level
    there (0-1.1 times), and its power (a reviewer: a paired shift of legitimacy found 0.44 of
    the time with it, 0.17 with the rank floor)."""
    from scipy.stats import mannwhitneyu, wilcoxon

    if paired:
        if not np.any(x != y):
            return 1.0
        p = wilcoxon(x, y).pvalue
    else:
        p = mannwhitneyu(x, y, alternative="two-sided").pvalue
    return float(p) if math.isfinite(p) else 1.0


def _smallest_exact_p(x: FloatArray, y: FloatArray, paired: bool) -> float:
    """The smallest two-sided p-value an exact test could give samples this small: a sign
    flip of the ``n`` pairs that differ (a pair that does not has no sign), 2^(1 - n); a
    permutation of two samples, 2 / C(nx + ny, nx). Two replicates that differ by the same
    amount are not a p-value of 0 (a zero standard error gave one, and the workshop called
    such differences clear)."""
    if paired:
        return float(min(1.0, 2.0 ** (1 - int(np.count_nonzero(x != y)))))
    return float(min(1.0, 2 / math.comb(x.size + y.size, x.size)))


def _welch_df(x: FloatArray, y: FloatArray) -> float:
    """Welch-Satterthwaite degrees of freedom of a difference of two means."""
    a, b = np.var(x, ddof=1) / x.size, np.var(y, ddof=1) / y.size
    if a + b == 0:
        return float(x.size + y.size - 2)
    return float((a + b) ** 2 / (a**2 / (x.size - 1) + b**2 / (y.size - 1)))


def _t_p(estimate: float, se: float, df: float) -> float:
    """Two-sided p-value of ``estimate`` against 0 with standard error ``se`` on Student's t
    with ``df`` degrees of freedom (a normal reference was too light-tailed for the far tail
    a multiple-comparison correction reads, with few replicates); a zero standard error gives
    1 for a zero estimate, else 0."""
    from scipy.stats import t

    if se == 0 or not math.isfinite(se):
        return 1.0 if estimate == 0 else 0.0
    return float(2 * t.sf(abs(estimate) / se, df))


def holm(pvalues: ArrayLike, alpha: float = 0.05) -> NDArray[np.bool_]:
    """Which hypotheses Holm's step-down procedure rejects at family-wise level ``alpha``
    (Holm 1979): the k-th smallest p-value is compared with alpha / (m - k + 1), stopping at
    the first that fails. Valid under any dependence between the tests; NaN is never
    rejected and does not count in m."""
    p = np.asarray(pvalues, dtype=float).ravel()
    out = np.zeros(p.size, dtype=bool)
    known = np.flatnonzero(np.isfinite(p))
    m = known.size
    for k, i in enumerate(known[np.argsort(p[known], kind="stable")]):
        if p[i] > alpha / (m - k):
            break
        out[i] = True
    return out


@dataclass(frozen=True)
class PowerLawFit:
    """Clauset-Shalizi-Newman fit of the tail of a sample (via the ``powerlaw`` package)."""

    alpha: float
    sigma: float  # standard error of alpha
    xmin: float
    n_tail: int
    n: int
    discrete: bool
    #: Normalised log-likelihood ratio power law vs lognormal (> 0 favours the power law).
    R: float
    #: Significance of the sign of R (small: the sign is meaningful).
    p: float
    #: The nested test of the pure power law against one with an exponential cutoff
    #: (:func:`cutoff_test`): the cutoff's rate, the likelihood ratio and its p-value.
    cutoff_rate: float = math.nan
    cutoff_lr: float = math.nan
    cutoff_p: float = math.nan


def fit_power_law(
    values: ArrayLike,
    discrete: bool = True,
    xmin: float | None = None,
    min_tail: int = 10,
) -> PowerLawFit | None:
    """Fit a power law to the tail (x >= xmin, xmin chosen by KS distance unless given).

    Returns None if fewer than ``min_tail`` positive values are available, or if they take
    fewer than three distinct values (no tail to fit).
    """
    import powerlaw

    x = finite(values)
    x = x[x > 0]
    if x.size < min_tail or np.unique(x).size < 3:
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        np_err = np.seterr(all="ignore")
        try:
            fit = powerlaw.Fit(x, discrete=discrete, xmin=xmin, verbose=False)
            alpha = float(fit.power_law.alpha)
            if int(fit.n_tail) < min_tail:
                return None
            ratio, p = fit.distribution_compare("power_law", "lognormal", normalized_ratio=True)
            pl = fit.power_law
            sigma = float(getattr(pl, "standard_err", None) or pl.sigma)
        except ValueError:  # powerlaw: "No data points in defined range of the distribution"
            return None
        finally:
            np.seterr(**np_err)
    xmin_fit = float(fit.power_law.xmin)
    testable = discrete and int(fit.n_tail) >= MIN_CUTOFF_TAIL
    tail = x[x >= xmin_fit]
    rate, lr, p_cut = cutoff_test(tail, alpha, xmin_fit) if testable else (math.nan,) * 3
    return PowerLawFit(
        alpha=alpha,
        sigma=sigma,
        xmin=xmin_fit,
        n_tail=int(fit.n_tail),
        n=int(x.size),
        discrete=discrete,
        R=float(ratio),
        p=float(p),
        cutoff_rate=rate,
        cutoff_lr=lr,
        cutoff_p=p_cut,
    )


#: Tails shorter than this are not tested for a cutoff: on pure power laws of 500-1,000
#: values its p fell below 0.05 in 8-10% of samples. Longer tails do better but not well:
#: 6-9% at 2,000-10,000 values (a reviewer's simulations; α ≤ 3 has no finite variance, and
#: the chi-square mixture is only asymptotic), so a cutoff is claimed only below
#: :data:`CUTOFF_LEVEL`.
MIN_CUTOFF_TAIL = 2_000
#: The p-value below which the severity figure says the tail bends down.
CUTOFF_LEVEL = 0.01


def cutoff_test(
    tail: ArrayLike, alpha: float, xmin: float, terms: int = 2_000
) -> tuple[float, float, float]:
    """Does a discrete power law's tail bend down? The likelihood-ratio test of the pure
    power law (refitted; ``alpha`` starts the search) against the power law with an exponential
    cutoff, ``p(x) ~ x^-a exp(-rate x)`` for ``x >= xmin`` (Clauset, Shalizi & Newman 2009,
    §5.2: nested models). Returns the cutoff's rate, twice the log-likelihood gain and its
    p-value: the pure law is the boundary rate = 0, so the ratio is a half-half mixture of 0
    and chi-square(1) under it (Self & Liang 1987). The normalising sum runs over ``terms``
    values, with the rest bounded by a Hurwitz zeta.
    """
    from scipy.optimize import minimize, minimize_scalar
    from scipy.special import zeta

    x = finite(tail)
    values, counts = np.unique(x, return_counts=True)
    n, logs = float(x.size), float(np.sum(counts * np.log(values)))
    terms = max(terms, int(20 * values.max()))
    k = xmin + np.arange(terms, dtype=float)
    log_k = np.log(k)

    def loglik(a: float, rate: float) -> float:
        norm = float(np.exp(-a * log_k - rate * k).sum()) + math.exp(
            -rate * (xmin + terms)
        ) * float(zeta(a, xmin + terms))
        return -a * logs - rate * float(np.sum(counts * values)) - n * math.log(norm)

    pure = -minimize_scalar(
        lambda a: -loglik(a, 0.0), bounds=(1.0001, 10.0), method="bounded"
    ).fun  # the pure law's own fit, with the same normalising sum
    best = minimize(
        lambda v: -loglik(v[0], v[1]),
        x0=[alpha, 1.0 / (10 * float(values.max()))],
        bounds=[(1.0001, 10.0), (0.0, 10.0)],
        method="L-BFGS-B",
    )
    lr = max(0.0, 2 * (-float(best.fun) - pure))
    return float(best.x[1]), lr, 0.5 * math.erfc(math.sqrt(lr / 2)) if lr > 0 else 1.0


def power_law_ccdf(
    x: ArrayLike, alpha: float, xmin: float, tail_fraction: float = 1.0, discrete: bool = False
) -> FloatArray:
    """P(X >= x) of a power law above ``xmin``, scaled by the share of data in the tail.

    Continuous: ``(x / xmin) ** (1 - alpha)``; discrete: the ratio of Hurwitz zeta functions
    ``zeta(alpha, x) / zeta(alpha, xmin)``.
    """
    xs = np.asarray(x, dtype=float)
    if discrete:
        from scipy.special import zeta

        return np.asarray(tail_fraction * zeta(alpha, xs) / zeta(alpha, xmin), dtype=float)
    return np.asarray(tail_fraction * (xs / xmin) ** (1.0 - alpha), dtype=float)
