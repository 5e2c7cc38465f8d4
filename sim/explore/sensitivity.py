"""Global sensitivity analysis with SALib: Sobol indices (with confidence intervals) and Morris.

* **Sobol** (Saltelli's scheme on a scrambled Sobol' sequence; Saltelli et al. 2010): ``N``
  base samples give ``N (D + 2)`` points; the first-order index S1 is the share of the
  outcome's variance explained by one parameter alone, the total index ST includes all its
  interactions. Bootstrap confidence intervals (``*_conf``: 1.96 bootstrap standard errors,
  SALib's normal approximation). The design is SALib's layout, with the sequence's
  dimensions in an order drawn from the seed and dependent ones shuffled
  (:func:`saltelli_design`).
* **Morris** (elementary effects; Morris 1991, Campolongo et al. 2007): ``N`` trajectories give
  ``N (D + 1)`` points, a cheap screen. ``mu_star`` is the mean absolute change of the outcome
  when the parameter moves by one step, expressed per full range of the parameter (so in the
  outcome's units, comparable across parameters); ``sigma`` measures non-linearity and
  interactions.

Samplers work on the unit hypercube; :class:`sim.explore.space.Space` maps it to the declared
ranges (whole-number parameters are rounded down to the ``high - low + 1`` values). With
replicates, each point's outcome is its replicates' mean, so replicate noise is part of the
variance that the indices share out; use enough replicates that it stays small.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from sim.analysis import style
from sim.explore.evaluate import Evaluation, PointFunction, evaluate
from sim.explore.execution import DEFAULT_EXECUTION, Execution
from sim.explore.space import Space, StudyError

if TYPE_CHECKING:
    from matplotlib.figure import Figure

METHODS = ("sobol", "morris")
#: Per parameter, the index replicate noise alone would give it on average.
NOISE_COLUMNS = {"sobol": "ST_noise", "morris": "mu_star_noise"}
#: Per parameter, the 5% critical value of the sign-flip test of no effect (:func:`noise_line`).
LINE_COLUMNS = {"sobol": "ST_noise_line", "morris": "mu_star_noise_line"}
#: The noise line's level: an index above it is resolved from no effect at 5%.
NOISE_LEVEL = 0.95
#: Fewer replicates than this: no noise line (the sign-flip test cannot reach 5% at 5: a
#: pattern and its negation give one value, so 32 patterns give 16 and the smallest p is 1/16).
MIN_REPLICATES_FOR_NOISE_LINE = 6
#: Sign patterns the noise line draws when there are more than this (2^R, R replicates).
MAX_SIGN_PATTERNS = 2048
MORRIS_LEVELS = 4
#: Sobol base samples a design needs at least (helper-185: at 2 and 4 the indices came out
#: impossible, ST = 1.41 counted as resolved).
MIN_SOBOL_SAMPLES = 8
#: Fewer Sobol base samples than this earn a caution: the intervals resample them.
MIN_SAMPLES_FOR_INTERVALS = 16
COLUMNS = {
    "sobol": ("S1", "S1_conf", "ST", "ST_conf"),
    "morris": ("mu", "mu_star", "mu_star_conf", "sigma"),
}


def n_points(method: str, samples: int, dims: int) -> int:
    """Points a design of ``samples`` base samples (Sobol) or trajectories (Morris) has."""
    return samples * (dims + 2) if method == "sobol" else samples * (dims + 1)


def unit_design(space: Space, method: str, samples: int, seed: int) -> np.ndarray:
    """The design on the unit hypercube (``n_points x D``), reproducible from ``seed``."""
    problem = space.salib_problem()
    if method == "sobol":
        if samples < MIN_SOBOL_SAMPLES or samples & (samples - 1):
            raise StudyError(
                f"samples={samples} is not allowed for Sobol: a power of two, at least "
                f"{MIN_SOBOL_SAMPLES} (e.g. 64)"
            )
        return saltelli_design(len(space), samples, seed)
    if method == "morris":
        if samples < 2:
            raise StudyError(f"samples={samples} is not allowed for Morris: need at least 2")
        from SALib.sample import morris as morris_sample

        return np.asarray(
            morris_sample.sample(problem, samples, num_levels=MORRIS_LEVELS, seed=seed)
        )
    raise StudyError(f"unknown method {method!r}: choose one of {', '.join(METHODS)}")


def saltelli_design(dims: int, samples: int, seed: int) -> np.ndarray:
    """Saltelli's design without second order, laid out as SALib's ``sobol.sample`` lays it
    out: per base sample k, the rows A_k, then A_k with column j taken from B_k (j = 1..D),
    then B_k, where A and B are 2D dimensions of one scrambled Sobol' sequence.

    Two changes, because at small N relative to D some pairs of the sequence's dimensions
    are structurally dependent whatever the seed (|r| 0.45-0.85 for several pairs at N = 32;
    non-linear ones, such as cos(2 pi x) of two dimensions, at N = 64-128 too), and the
    parameters in those slots read indices far off: in SALib's design (A the first D
    dimensions, B the next D), with 10 parameters at N = 32, x1 + x2 gave x1's S1 from 0.04
    to 1.05 over 20 seeds, and at N = 64 cos(2 pi x5) + cos(2 pi x9) gave x9's ST from 0.09
    to 1.70; a study's ranking depended on the order of its file's lines.

    * The dimensions are assigned to A's and B's columns in an order drawn from the seed,
      so no line of a study file sits in a slot of its own: which parameter meets a poor
      pair is chance, as Monte Carlo's errors are.
    * A dimension that correlates with another more than the worst of as many pairs of
      independent random columns would is shuffled among the rows (:func:`unstructured`):
      it keeps its strata and is paired with the others at random.
    """
    from scipy.stats import qmc

    base = qmc.Sobol(d=2 * dims, scramble=True, seed=seed).random(samples)
    base = base[:, np.random.default_rng([seed, 2]).permutation(2 * dims)]  # slots by seed
    base = unstructured(base, np.random.default_rng([seed, 1]))
    a, b = base[:, :dims], base[:, dims:]
    blocks = np.repeat(a[:, None, :], dims + 2, axis=1)
    for j in range(dims):
        blocks[:, 1 + j, j] = b[:, j]
    blocks[:, -1, :] = b
    return blocks.reshape(samples * (dims + 2), dims)


def unstructured(base: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """``base`` with its columns shuffled among the rows, one at a time, while some pair of
    columns correlates beyond :func:`chance_limit`: each time the column in most such pairs
    (the first of equals), at most three times the number of columns in all (a shuffled
    column can cross the limit by chance, as random columns do). Columns in no such pair
    are left as they are."""
    out = base.copy()
    limit = chance_limit(*out.shape)
    for _ in range(3 * out.shape[1]):
        r = np.abs(np.corrcoef(out.T))
        np.fill_diagonal(r, 0.0)
        flagged = (r > limit).sum(axis=0)
        if not flagged.any():
            break
        column = int(np.argmax(flagged))
        out[:, column] = rng.permutation(out[:, column])
    return out


def chance_limit(n: int, k: int) -> float:
    """About the largest correlation among the ``k (k - 1) / 2`` pairs of ``k`` independent
    random columns of ``n`` values (``sqrt(2 ln K / (n - 1))``); no limit below 3 values."""
    if n < 3 or k < 2:
        return math.inf
    return math.sqrt(2 * math.log(max(k * (k - 1) // 2, 2)) / (n - 1))


def analyze(
    space: Space,
    method: str,
    unit: np.ndarray,
    y: np.ndarray,
    seed: int = 0,
    conf_level: float = 0.95,
    num_resamples: int = 1000,
) -> pd.DataFrame:
    """Indices of one outcome: one row per parameter (columns of :data:`COLUMNS`)."""
    problem = space.salib_problem()
    y = np.asarray(y, dtype=float)
    boot_seed = seed + 1  # SALib's Sobol analysis ignores a seed of 0 (random intervals)
    constant = bool(y.size) and np.ptp(y) == 0
    if constant or (y.size and method == "sobol" and base_variance(y, len(space)) == 0):
        # a constant outcome: Morris effects are exactly 0; there is no variance to share out.
        # Sobol divides by the variance over A and B only: none there, and SALib gave every
        # index 0 ± 0 though the mixed points varied (a rare 0/1 outcome at small N).
        fill = 0.0 if method == "morris" and constant else np.nan
        table = pd.DataFrame({c: np.full(len(space), fill) for c in COLUMNS[method]})
        table.insert(0, "parameter", space.names)
        return table
    if method == "sobol":
        from SALib.analyze import sobol

        res = sobol.analyze(
            problem,
            y,
            calc_second_order=False,
            num_resamples=num_resamples,
            conf_level=conf_level,
            seed=boot_seed,
        )
    else:
        res = morris_indices(space, unit, y, conf_level, num_resamples, boot_seed)
    table = pd.DataFrame({c: np.asarray(res[c], dtype=float) for c in COLUMNS[method]})
    table.insert(0, "parameter", space.names)
    return table


def base_variance(y: np.ndarray, dims: int) -> float:
    """The variance of a Saltelli design's outcome over its base samples A and B, which
    Sobol's estimators divide by (the mixed points AB_i are left out)."""
    blocks = np.asarray(y, dtype=float).reshape(-1, dims + 2)
    return float(np.var(np.concatenate([blocks[:, 0], blocks[:, -1]])))


def undefined_outcome(y: np.ndarray) -> tuple[str, str]:
    """What made an outcome's indices all undefined, and what that means: constant over the
    design, or (Sobol) constant over the base samples only."""
    if np.ptp(y) == 0:
        return "constant over the design", "no variance to share out"
    return (
        "constant over the base samples (A and B), though not at the mixed points",
        "the indices are undefined (a rare outcome: raise --samples)",
    )


def undefined_reason(y: np.ndarray) -> str:
    """:func:`undefined_outcome` as one line."""
    return ": ".join(undefined_outcome(y))


def morris_steps(space: Space, unit: np.ndarray) -> list[tuple[int, int, float]]:
    """The steps of a Morris design: ``(k, i, step)`` for each move from point ``k`` to
    ``k + 1``, which changes parameter ``i`` by ``step`` of its full range as *realised*.

    A whole-number parameter moves by the values it rounds to, not by the design's nominal
    step (2/3 of the range at four levels): [8, 12] steps 8 -> 11, 3/4 of the range, and
    [1, 3] steps 1 -> 3 or 2 -> 3, the whole range or half of it. A step that rounding
    collapsed moves nothing and is left out.
    """
    d = len(space)
    values = space.table(unit).to_numpy(dtype=float)
    spans = np.array([u.high - u.low for u in space.uncertainties], dtype=float)
    steps = []
    for start in range(0, len(unit) - d, d + 1):
        for k in range(start, start + d):
            moved = np.flatnonzero(unit[k + 1] != unit[k])
            if moved.size != 1:
                raise StudyError("not a Morris design: a step moves more than one parameter")
            i = int(moved[0])
            step = float((values[k + 1, i] - values[k, i]) / spans[i])
            if step != 0:
                steps.append((k, i, step))
    return steps


def elementary_effects(space: Space, unit: np.ndarray, y: np.ndarray) -> list[np.ndarray]:
    """Each parameter's elementary effects along Morris trajectories: the outcome's change
    over the parameter's change, both as realised (:func:`morris_steps`), per full range
    (Morris 1991); of a points x replicates ``y``, steps x replicates. SALib divides by the
    nominal step instead, which overstated a [8, 12] parameter's effects by an eighth."""
    effects: list[list[Any]] = [[] for _ in range(len(space))]
    for k, i, step in morris_steps(space, unit):
        effects[i].append((y[k + 1] - y[k]) / step)
    return [np.asarray(e, dtype=float) for e in effects]


def morris_noise(space: Space, unit: np.ndarray, table: np.ndarray) -> np.ndarray:
    """Per parameter, the ``mu_star`` that replicate noise alone would give it: the mean over
    its steps of E|N(0, v)| = sqrt(2 v / pi), where v is the variance of its elementary
    effect's mean over the ``R`` replicates of a points x replicates ``table``, read from the
    replicates' own effects (var_r(d_r) / R). Replicate r of both points of a step shares its
    seed, so this is the noise that reaches the effect: none for a parameter the model
    ignores. NaN with fewer than two replicates."""
    replicates = table.shape[1]
    if replicates < 2:
        return np.full(len(space), math.nan)
    c4 = _c4(replicates)  # a sample sd runs low by this factor: 0.80 at 2 replicates
    floors = []
    for effects in elementary_effects(space, unit, table):  # steps x replicates
        if not effects.size:  # every step collapsed by rounding
            floors.append(math.nan)
            continue
        sd = np.std(effects, axis=1, ddof=1) / c4
        floors.append(float(np.mean(math.sqrt(2 / math.pi) * sd / math.sqrt(replicates))))
    return np.array(floors)


def sobol_noise(space: Space, table: np.ndarray) -> np.ndarray:
    """Per parameter, the total index ``ST`` that replicate noise alone would give it, in a
    Saltelli design's points x replicates ``table`` (blocks of A, AB_1..AB_D, B).

    Jansen's ``ST_i = mean_j (f(A_j) - f(AB_ij))^2 / 2V`` on the replicates' means ``f``;
    the square of a mean difference carries its variance over the replicates, ``var_r(d_r)
    / R``, whatever the parameter does. Replicate r of both points shares its seed, so a
    parameter the model ignores has none; a parameter that only reshuffles the random
    stream has all of it. NaN with fewer than two replicates."""
    pairs = _sobol_pairs(space, table)
    if pairs is None:
        return np.full(len(space), math.nan)
    diffs, total = pairs
    noise = np.var(diffs, axis=2, ddof=1).mean(axis=0) / diffs.shape[2]
    return np.asarray(noise / (2 * total), dtype=float)


def _sobol_pairs(space: Space, table: np.ndarray) -> tuple[np.ndarray, float] | None:
    """A Saltelli design's differences ``A - AB_i`` (block x parameter x replicate) and the
    variance of the points' means Jansen's estimator divides by (``V``, over A and B); None
    with fewer than two replicates, a table that is not the design's, or no variance."""
    points, replicates = table.shape
    d = len(space)
    if replicates < 2 or points % (d + 2):
        return None
    blocks = table.reshape(points // (d + 2), d + 2, replicates)
    means = blocks.mean(axis=2)
    total = float(np.var(np.concatenate([means[:, 0], means[:, -1]])))
    if total == 0:
        return None
    return blocks[:, :1, :] - blocks[:, 1:-1, :], total


def sign_patterns(replicates: int, seed: int = 0) -> np.ndarray:
    """Signs for the replicates (patterns x replicates): all 2^R patterns when there are at
    most :data:`MAX_SIGN_PATTERNS`, else that many drawn (reproducibly from ``seed``)."""
    if 2**replicates <= MAX_SIGN_PATTERNS:
        bits = (np.arange(2**replicates)[:, None] >> np.arange(replicates)[None, :]) & 1
        return np.asarray(1 - 2 * bits, dtype=float)
    rng = np.random.default_rng(seed)
    drawn = rng.choice([-1.0, 1.0], size=(MAX_SIGN_PATTERNS, replicates))
    drawn[0] = 1.0  # the observed pattern is one of them, as in an exact test
    return drawn


def critical_value(null: np.ndarray) -> np.ndarray:
    """Per column, the value an index must exceed to be resolved at 5% against the sign-flip
    ``null`` (patterns x parameters, the observed pattern among them): the (m + 1)-th largest,
    m = floor(5% of the patterns), so that an index above it has p = share of patterns at or
    above it <= 5%. An interpolated percentile let an index equal to a pattern's value, or one
    a rounding above it, through."""
    m = math.floor((1 - NOISE_LEVEL) * len(null) + 1e-9)
    return np.asarray(-np.sort(-null, axis=0)[m], dtype=float)


def sobol_noise_line(space: Space, table: np.ndarray, seed: int = 0) -> np.ndarray:
    """Per parameter, the 5% critical value of a sign-flip test of no effect on the total
    index ``ST``, a randomization over the replicates of a Saltelli design's points x
    replicates ``table``.

    With no effect, the difference ``d_r`` between replicate r of the two points of a pair is
    noise, symmetric about 0, and the signs of whole replicates can be flipped without changing
    its distribution. Flipping replicate r in **every** pair at once keeps what the replicates'
    shared seeds make of the noise: a parameter that only reshuffles the random stream draws
    the same difference of two streams in every pair that crosses its threshold, so its noise
    does not average out over the pairs (an independent-noise line passed such a placebo as
    an effect in a quarter of studies). Jansen's ``ST_i`` is ``mean_j mean_r(d_jr)^2 / 2V``;
    its null distribution is that of ``mean_j mean_r(s_r d_jr)^2 / 2V`` over sign patterns
    ``s``. The patterns flip the differences as observed, effect included: where a parameter
    acts the line rises with its own effect (by about the 95th percentile of the squared mean
    of R random signs, 0.36 of the index at 10 replicates, 0.09 at 40), so the test keeps its
    level and loses power; it is a test, not the size of the noise (that is
    :func:`sobol_noise`). NaN with fewer than two replicates."""
    pairs = _sobol_pairs(space, table)
    if pairs is None:
        return np.full(len(space), math.nan)
    diffs, total = pairs
    blocks, _, replicates = diffs.shape
    gram = np.einsum("jir,jis->irs", diffs, diffs)  # per parameter, R x R
    signs = sign_patterns(replicates, seed)
    squares = np.einsum("fr,irs,fs->fi", signs, gram, signs) / (blocks * replicates**2)
    return critical_value(squares / (2 * total))


def morris_noise_line(
    space: Space, unit: np.ndarray, table: np.ndarray, seed: int = 0
) -> np.ndarray:
    """Per parameter, the 5% critical value of a sign-flip test of no effect on ``mu_star``:
    the randomization of :func:`sobol_noise_line` applied to the replicates of each
    step's elementary effect (whole replicates flipped in every step at once, so noise shared
    by the steps through the replicates' seeds stays shared). NaN with fewer than two
    replicates."""
    replicates = table.shape[1]
    if replicates < 2:
        return np.full(len(space), math.nan)
    signs = sign_patterns(replicates, seed)
    lines = []
    for effects in elementary_effects(space, unit, table):  # steps x replicates
        if not effects.size:
            lines.append(math.nan)
            continue
        flipped = np.abs(signs @ effects.T) / replicates  # patterns x steps
        lines.append(float(critical_value(flipped.mean(axis=1)[:, None])[0]))
    return np.asarray(lines, dtype=float)


def noise_line(
    method: str, space: Space, unit: np.ndarray, table: np.ndarray | None, seed: int = 0
) -> np.ndarray | float:
    """The noise line of :func:`sobol_noise_line` or :func:`morris_noise_line`; NaN without
    replicates or with fewer than :data:`MIN_REPLICATES_FOR_NOISE_LINE` (no exact test)."""
    if table is None or table.shape[1] < MIN_REPLICATES_FOR_NOISE_LINE:
        return math.nan
    if method == "morris":
        return morris_noise_line(space, unit, table, seed)
    return sobol_noise_line(space, table, seed)


#: An index within this relative distance of its line ties with it: SALib's ST and the null's
#: observed pattern are summed in different orders, and on 0/1 or count outcomes, where many
#: patterns give exactly the line's value, an index one rounding above it was "resolved" (an
#: adversarial check: Sobol at 12 replicates, 9.8% of placebo designs, 8.7 of them by rounding).
TIE = 1e-9


def within_noise(block: pd.DataFrame, method: str) -> np.ndarray:
    """Which parameters' index is at or below its sign-flip line (:data:`LINE_COLUMNS`): not
    resolved from no effect. One whose moves never changed the outcome, index and line both
    0, is within."""
    index = "mu_star" if method == "morris" else "ST"
    line = block[LINE_COLUMNS[method]]
    return np.asarray(block[index] <= line + TIE * np.abs(line))


def morris_indices(
    space: Space,
    unit: np.ndarray,
    y: np.ndarray,
    conf_level: float = 0.95,
    num_resamples: int = 1000,
    seed: int = 1,
) -> dict[str, np.ndarray]:
    """``mu``, ``mu_star`` (mean |effect|), ``mu_star_conf`` (bootstrap half-width at
    ``conf_level``, as SALib's) and ``sigma`` of :func:`elementary_effects`."""
    from scipy.stats import norm

    rng = np.random.default_rng(seed)
    z = float(norm.ppf(0.5 + conf_level / 2))
    out: dict[str, list[float]] = {c: [] for c in COLUMNS["morris"]}
    for ee in elementary_effects(space, unit, y):
        if ee.size == 0:
            for c in out:
                out[c].append(math.nan)
            continue
        boot = np.abs(ee[rng.integers(0, ee.size, size=(num_resamples, ee.size))]).mean(axis=1)
        out["mu"].append(float(ee.mean()))
        out["mu_star"].append(float(np.abs(ee).mean()))
        out["mu_star_conf"].append(z * float(boot.std(ddof=1)))
        out["sigma"].append(float(ee.std(ddof=1)) if ee.size > 1 else math.nan)
    return {c: np.asarray(v) for c, v in out.items()}


def resolve_outcomes(requested: Sequence[str], columns: Sequence[str]) -> list[str]:
    """Aggregate columns for the requested outcomes (``investment_hold`` -> ``*_share``),
    each once: an outcome given twice, or under both its names, is analysed once."""
    reserved = {"point"}
    out: list[str] = []
    for name in requested:
        for candidate in (name, f"{name}_share"):
            if candidate in columns and candidate not in reserved:
                if candidate not in out:
                    out.append(candidate)
                break
        else:
            raise StudyError(f"unknown outcome {name!r}: choose from {', '.join(columns)}")
    return out


def _c4(n: int) -> float:
    """E[sample sd] / sd of ``n`` normal values (the sample sd's bias)."""
    return math.exp(math.lgamma(n / 2) - math.lgamma((n - 1) / 2)) * math.sqrt(2 / (n - 1))


def replicate_table(replicates: pd.DataFrame | None, outcome: str) -> np.ndarray | None:
    """A study's points x replicates table of one outcome, from its ``replicates.parquet``
    (None without one)."""
    if replicates is None:
        return None
    name = outcome if outcome in replicates.columns else outcome.removesuffix("_share")
    column = replicates[["point", "replicate", name]]
    return column.pivot(index="point", columns="replicate").to_numpy(dtype=float)


def _mean_noise(table: np.ndarray) -> float:
    """The variance of a point's mean that is noise not shared by all points; NaN if it
    cannot be told. Replicate r of every point draws the same random numbers
    (``replicate_seed(seed, r)``), so the part of the noise every point shares shifts all
    means alike and does not reach the indices. What does is the rest: the residual of a
    two-way analysis of variance of points x replicates without interaction, over ``R``."""
    points, replicates = table.shape
    if replicates < 2 or points < 2 or not np.all(np.isfinite(table)):
        return math.nan
    residual = table - table.mean(axis=1)[:, None] - table.mean(axis=0)[None, :] + table.mean()
    return float((residual**2).sum()) / ((points - 1) * (replicates - 1)) / replicates


def point_noise_share(table: np.ndarray) -> float:
    """The share of the variance of the points' means (a points x replicates table) that is
    replicate noise."""
    noise = _mean_noise(table)
    between = float(np.var(table.mean(axis=1), ddof=1)) if len(table) > 1 else 0.0
    return math.nan if between == 0 or not math.isfinite(noise) else min(noise / between, 1.0)


@dataclass
class SensitivityResult:
    """Indices (one row per outcome and parameter) and the evaluation they came from."""

    method: str
    indices: pd.DataFrame
    evaluation: Evaluation
    samples: int
    replicates: int
    #: The outcomes of the analysis ``indices.csv`` held before this one replaced it (none if
    #: it held these, or nothing).
    replaced: tuple[str, ...] = ()


def run_sensitivity(
    space: Space,
    fn: PointFunction,
    out_dir: Path,
    *,
    method: str = "sobol",
    samples: int = 64,
    outcomes: Sequence[str] = (),
    execution: Execution = DEFAULT_EXECUTION,
    check: Any = None,
    unit: np.ndarray | None = None,
) -> SensitivityResult:
    """Sample, evaluate (resumably, in parallel) and analyse; write ``indices.csv`` and plots.

    ``execution.seed`` seeds the sampler and the bootstrap as well as the replicates.
    ``check(point)`` may validate each point before anything runs (raise ParameterError).
    ``unit`` is the design ``unit_design(space, method, samples, execution.seed)`` if the
    caller has built it already (a large Sobol design takes a second to build and check).
    The returned indices are empty unless the evaluation completed.
    """
    from sim.explore.space import check_points

    seed = execution.seed
    if unit is None:
        unit = unit_design(space, method, samples, seed)
    design = space.table(unit)
    if check is not None:
        check_points(design, check)
    study = {
        "kind": "sensitivity",
        "method": method,
        "samples": samples,
        "uncertainties": space.as_dict(),
    }
    evaluation = evaluate(design, fn, out_dir, execution.with_meta(study))
    empty = pd.DataFrame(columns=["outcome", "parameter", *COLUMNS[method]])
    result = SensitivityResult(method, empty, evaluation, samples, execution.replicates)
    if evaluation.status != "complete":
        return result
    points = evaluation.points
    names = [c for c in points.columns if c not in ("point", *space.names)]
    chosen = resolve_outcomes(outcomes or names, names)
    tables = []
    path = evaluation.out_dir / "replicates.parquet"
    replicates = pd.read_parquet(path) if path.exists() else None  # read once, every outcome
    for outcome in chosen:
        y = points[outcome].to_numpy(dtype=float)
        if not np.all(np.isfinite(y)):
            raise StudyError(
                f"outcome {outcome!r} is undefined (NaN) at {int(np.sum(~np.isfinite(y)))} "
                "points: choose another --outcome"
            )
        t = analyze(space, method, unit, y, seed=seed)
        t.insert(0, "outcome", outcome)
        table = replicate_table(replicates, outcome)
        t["noise_share"] = math.nan if table is None else point_noise_share(table)
        if method == "morris":
            t["mu_star_noise"] = math.nan if table is None else morris_noise(space, unit, table)
        else:
            t["ST_noise"] = math.nan if table is None else sobol_noise(space, table)
        t[LINE_COLUMNS[method]] = noise_line(method, space, unit, table, seed)
        tables.append(t)
    result.indices = pd.concat(tables, ignore_index=True)
    earlier = analysed_outcomes(out_dir)
    result.replaced = earlier if set(earlier) != set(chosen) else ()
    write_outputs(out_dir, result)
    return result


def analysed_outcomes(out_dir: Path) -> tuple[str, ...]:
    """The outcomes a study folder's ``indices.csv`` holds (none if it holds no table)."""
    try:
        table = pd.read_csv(out_dir / "indices.csv", usecols=["outcome"])
    except (OSError, ValueError, pd.errors.ParserError):
        return ()
    return tuple(dict.fromkeys(table["outcome"].astype(str)))


# --- presentation -----------------------------------------------------------------------------
def _sort_key(method: str) -> str:
    return "ST" if method == "sobol" else "mu_star"


def format_indices(result: SensitivityResult) -> str:
    """The indices as aligned text, one block per outcome, most influential parameter first."""
    method, table = result.method, result.indices
    noise = (*NOISE_COLUMNS.values(), *LINE_COLUMNS.values())
    cols = (*COLUMNS[method], *(c for c in noise if c in table.columns))
    width = max([len("parameter"), *(len(p) for p in table["parameter"])])
    lines = []
    for outcome, block in table.groupby("outcome", sort=False):
        lines.append(f"\n{style.outcome_label(str(outcome))}  [{outcome}]")
        if block[list(cols)].isna().all().all():
            y = result.evaluation.points[outcome].to_numpy(dtype=float)
            lines.append(f"  {undefined_reason(y)}")
            continue
        lines.append(f"  {'parameter':{width}s} " + " ".join(f"{c:>12s}" for c in cols))
        for _, row in block.sort_values(_sort_key(method), ascending=False).iterrows():
            vals = " ".join(f"{row[c]:12.4g}" for c in cols)
            lines.append(f"  {row['parameter']:{width}s} {vals}")
        lines.extend(_noise_lines(method, block, result.replicates))
    n = len(result.evaluation.points)
    if method == "sobol":
        note = (
            "S1 first-order, ST total Sobol index; *_conf: 1.96 bootstrap standard errors "
            "over the base samples, for these replicates' seeds (half-width of a normal 95% "
            "interval): replicate noise is not in them, and ST, a mean of squares, is above 0 "
            "under noise alone, so an interval clear of 0 is no evidence of an effect: the "
            "sign-flip line is the test, and S1 has none (read it only where ST clears its line)"
        )
    else:
        note = "mu_star: mean |elementary effect| per full range (outcome units); sigma: spread"
    lines.append(f"\n{n} points x {result.replicates} replicates ({method}); {note}")
    if method == "sobol" and result.samples < MIN_SAMPLES_FOR_INTERVALS:
        lines.append(
            f"caution: {result.samples} base samples: intervals bootstrapped from so few are "
            "rough (raise --samples: at 64 they covered the known indices of a test function, "
            "docs/exploration.md)"
        )
    return "\n".join(lines).lstrip("\n")


#: Replicate noise above this share of the points' variance earns a caution.
NOISE_CAUTION = 0.1


def _noise_share_text(share: float) -> str:
    """Replicate noise's share of the points' variance, a caution from :data:`NOISE_CAUTION`
    (a Morris screen's with too few replicates too: a reviewer found it unmarked there)."""
    text = f"replicate noise: {share:.0%} of the variance of the points' means"
    if share < NOISE_CAUTION:
        return text
    return (
        f"caution: {text}; indices of about that size are noise, not effects (raise --replicates)"
    )


def _noise_lines(method: str, block: pd.DataFrame, replicates: int) -> list[str]:
    """How much of the outcome's variance over the design is replicate noise, with a caution
    when it is large or an index is impossible (a total index above 1), and which parameters
    stand clear of their sign-flip lines (:func:`_within_noise_lines`)."""
    share = float(block["noise_share"].iloc[0]) if "noise_share" in block else math.nan
    lines = []
    line = LINE_COLUMNS[method]
    measured = line in block and block[line].notna().all()
    if method == "morris" and replicates < MIN_REPLICATES_FOR_NOISE_LINE:
        if math.isfinite(share):
            lines.append(f"  {_noise_share_text(share)}")
        lines.append(_too_few(replicates))
    elif method == "morris" and measured:
        lines.extend(_within_noise_lines(block, method))
    elif math.isfinite(share):
        lines.append(f"  {_noise_share_text(share)}")
        if method == "sobol" and measured and replicates >= MIN_REPLICATES_FOR_NOISE_LINE:
            lines.extend(_within_noise_lines(block, method))
        elif method == "sobol" and replicates < MIN_REPLICATES_FOR_NOISE_LINE:
            lines.append(_too_few(replicates))
    if method == "sobol" and (block["ST"] > 1).any():
        lines.append(
            "  caution: a total index above 1 is impossible: too few samples or replicates "
            "(raise --samples or --replicates)"
        )
    if method == "sobol":
        lines.extend(_impossible_first_order(block))
    if method == "sobol" and line in block and (block[line] > 1).any():
        names = ", ".join(block.loc[block[line] > 1, "parameter"])
        lines.append(
            f"  caution: the sign-flip line is above 1 for {names}: beside each "
            "replicate's noise the points' means barely differ (raise --replicates)"
        )
    return lines


def _impossible_first_order(block: pd.DataFrame) -> list[str]:
    """A caution for first-order indices that are impossible beyond their intervals: below 0,
    or above the parameter's total index (S1 <= ST always)."""
    s1, s1_conf, st, st_conf = (block[c] for c in COLUMNS["sobol"])
    odd = (s1 + s1_conf < 0) | (s1 - s1_conf > st + st_conf)
    if not odd.any():
        return []
    names = ", ".join(block.loc[odd, "parameter"])
    return [
        f"  caution: S1 of {names} is impossible beyond its interval (below 0, or above ST): "
        "the estimates are further off than their intervals say (raise --samples)"
    ]


def _too_few(replicates: int) -> str:
    return (
        f"  {replicates} replicates: too few to tell each parameter's effect from noise "
        f"(give at least {MIN_REPLICATES_FOR_NOISE_LINE})"
    )


def _within_noise_lines(block: pd.DataFrame, method: str) -> list[str]:
    """How many parameters are at or below their sign-flip lines (:func:`within_noise`), and
    which never changed the outcome."""
    within = within_noise(block, method)
    index, line = ("mu_star" if method == "morris" else "ST"), LINE_COLUMNS[method]
    lines = [
        f"  {int(within.sum())} of {len(block)} parameters have {index} at or below its "
        f"sign-flip line ({line}: the 5% critical value of a test that flips the signs of "
        "whole replicates): not resolved from no effect"
        + (" (raise --replicates)" if within.any() else "")
    ]
    resolved = block.loc[~within, "parameter"].tolist()
    if resolved:  # a stranger had to work out which ones passed (helper-185)
        lines.append(f"  above their lines: {', '.join(resolved)}")
    unmoved = block.loc[(block[index] == 0) & (block[line] == 0), "parameter"].tolist()
    if unmoved:
        lines.append(
            f"  no change of this outcome in any replicate of any {_moves(method)}: "
            f"{', '.join(unmoved)} (it may act on other outcomes, or elsewhere in its range)"
        )
    return lines


def _moves(method: str) -> str:
    return "step that moved it" if method == "morris" else "pair of points that differ in it"


def figure_indices(result: SensitivityResult) -> Figure:
    """One panel per outcome: S1 and ST (Sobol) or mu* and sigma (Morris), with intervals."""
    from matplotlib.ticker import MaxNLocator

    method, table = result.method, result.indices
    outcomes = list(dict.fromkeys(table["outcome"]))
    ncols = 1 if len(outcomes) == 1 else 2
    nrows = -(-len(outcomes) // ncols)
    n_par = table["parameter"].nunique()
    fig = style.new_figure(figsize=(6.2 * ncols, 0.9 + nrows * (0.9 + 0.42 * n_par)))
    contrast = bool(_study_manifest(result).get("contrast"))
    axes = fig.subplots(nrows, ncols, squeeze=False)
    blue, orange = style.OKABE_ITO[0], style.OKABE_ITO[3]
    bars: tuple[tuple[str, str | None, str, str], ...]
    if method == "sobol":
        bars = (("S1", "S1_conf", "first order S1", blue), ("ST", "ST_conf", "total ST", orange))
        xlabel = "share of the outcome's variance"
    else:
        bars = (
            ("mu_star", "mu_star_conf", "μ* (mean |effect|)", blue),
            ("sigma", None, "σ", orange),
        )
        xlabel = "outcome change over the parameter's range"
    for k, outcome in enumerate(outcomes):
        ax = axes[k // ncols][k % ncols]
        block = table[table["outcome"] == outcome].sort_values(_sort_key(method))
        ypos = np.arange(len(block))
        h = 0.38
        for j, (col, conf, label, colour) in enumerate(bars):
            ax.barh(
                ypos + (0.5 - j) * h,
                block[col],
                height=h,
                color=colour,
                label=label,
                xerr=None if conf is None else _error_bars(block[col], block[conf], col),
                error_kw={"ecolor": "#333333", "elinewidth": 0.8, "capsize": 2},
            )
        noise = LINE_COLUMNS[method]
        if noise in block and block[noise].notna().any():
            ax.scatter(
                block[noise],
                ypos + (-0.5 if method == "sobol" else 0.5) * h,  # on ST, or on mu*
                marker="|",
                s=140,
                linewidths=2,
                color="#000000",
                zorder=3,
                label="sign-flip line (5% test)",
            )
        if block[[b[0] for b in bars]].isna().all().all():
            y = result.evaluation.points[outcome].to_numpy(dtype=float)
            reason = undefined_outcome(y)[0].replace(", though", ",\nthough")
            ax.text(0.5, 0.5, reason, transform=ax.transAxes, ha="center")
        ax.set_yticks(ypos, block["parameter"])
        ax.set_title(("Δ " if contrast else "") + style.outcome_label(str(outcome)))
        ax.set_xlabel(xlabel if method == "sobol" else f"{xlabel} ({_unit(str(outcome))})")
        ax.axvline(0, color="#333333", linewidth=0.6)
        ax.xaxis.set_major_locator(MaxNLocator(nbins=5))  # long tick labels must not touch
        ax.grid(axis="y", visible=False)
        if k == 0:  # below the panels: inside one it covered a parameter's bars
            handles, labels = ax.get_legend_handles_labels()
            fig.legend(handles, labels, loc="outside lower center", ncols=3, frameon=False)
    for k in range(len(outcomes), nrows * ncols):
        axes[k // ncols][k % ncols].set_visible(False)
    n = len(result.evaluation.points)
    what = (
        "Sobol indices (95% bootstrap intervals over the base samples)"
        if method == "sobol"
        else "Morris screening (μ* with 95% bootstrap intervals over the trajectories"
        + ("; μ* is unsigned: the table's mu gives the sign)" if contrast else ")")
    )
    reps = f"{result.replicates} replicate{'s' if result.replicates != 1 else ''}"
    rough = (
        f"\ncaution: {result.samples} base samples: rough intervals, not results to read"
        if method == "sobol" and result.samples < MIN_SAMPLES_FOR_INTERVALS
        else ""
    )  # the figure travels without the command's caution
    fig.suptitle(f"{what}: {n} points × {reps} each{_held_fixed(result)}{rough}")
    return fig


def _error_bars(value: pd.Series, conf: pd.Series, column: str) -> np.ndarray:
    """Lower and upper error lengths; μ*, a mean absolute effect, is drawn no lower than 0
    (its bootstrap interval is a normal approximation, which can reach below)."""
    lower = np.minimum(conf, value) if column == "mu_star" else conf
    return np.vstack([lower, conf])


def _study_manifest(result: SensitivityResult) -> dict[str, Any]:
    """The study's manifest ({} if it has none)."""
    from sim.files import read_json_object

    return read_json_object(result.evaluation.out_dir / "manifest.json") or {}


def _held_fixed(result: SensitivityResult) -> str:
    """What the study held fixed, from its manifest: scenario, overrides, weeks and seed."""
    m = _study_manifest(result)
    if "scenario" not in m:
        return ""
    fixed = ", ".join(f"{k}={v}" for k, v in sorted((m.get("overrides") or {}).items()))
    held = f" ({fixed})" if fixed else ""
    if m.get("contrast"):
        subject = f"differences, scenario {m['contrast']} minus {m['scenario']}{held}"
    else:
        subject = f"scenario {m['scenario']}{held}"
    return f"\n{subject}, {m.get('weeks', '?')} weeks, seed {m.get('seed', '?')}"


def _unit(outcome: str) -> str:
    if outcome.endswith("_share"):
        return "share of replicates"
    return style.OUTCOMES.get(outcome, ("", "outcome units"))[1] or "outcome units"


def write_outputs(out_dir: Path, result: SensitivityResult) -> list[Path]:
    """``indices.csv`` and ``plots/sensitivity.{png,svg}`` (each written atomically)."""
    from sim.files import atomic_write_text

    csv = atomic_write_text(out_dir / "indices.csv", result.indices.to_csv(index=False))
    with style.context():
        fig = figure_indices(result)
    return [csv, *style.write_rendered(out_dir / "plots", {"sensitivity": style.render(fig)})]
