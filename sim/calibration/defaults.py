"""The shipped defaults as a summary of the posterior: a rule, and its check.

How far a calibrated quantity's default must follow the posterior depends on what the record
says of it (the verdict of :func:`sim.calibration.diagnostics.identifiability`):

* **identified** -- the default *is* the posterior median (to :data:`DIGITS` significant
  figures);
* **partly identified** -- the default lies in the posterior's central 50% interval;
* a **borderline** verdict ("borderline (V here; another calibration would say W ...)") is
  a flag for the reader: the rule follows V, this calibration's verdict (a single calibration's
  rule moves with its seed whatever the flag does; verdicts pooled over seeds wait for the next
  calibration, ``docs/calibration.md``);
* **not identified** -- the default lies in its central 90% interval and keeps its sourced
  value: such a posterior is the prior again, and its median is the prior box's midpoint, a
  choice of ours, not something the record says.

Each quantity is judged on its own, so the rule also asks the defaults **jointly** to lie in the
posterior's central 90% region (:data:`JOINT`): fewer than 90% of the draws closer to the
posterior's mean than the defaults, by the draws' Mahalanobis distance. Every default at the edge
of its own interval is far out jointly. So the defaults are a point of the posterior's bulk, pinned
to the median exactly where the data pin the parameter. Percentiles are those of the
equal-weight draws (what ``parameters=posterior`` runs), which can differ in the second decimal
from ``parameters.csv``'s, computed on the weighted particles.

:func:`review_defaults` applies the rule to a posterior and the current defaults;
``cpec-sim calibrate`` writes its table (``defaults.csv``) and names any default that
breaks it, and ``tests/calibration/test_defaults.py`` holds the shipped defaults to the shipped
posterior (``docs/calibration.md``, "The defaults as a posterior summary").
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

#: Significant figures of a default set to a posterior median.
DIGITS = 3
#: The central interval a default must lie in, by verdict (its first word).
CENTRAL = {"identified": None, "partly": 0.50, "not": 0.90}
#: The central region of the posterior the defaults must lie in jointly.
JOINT = 0.90
#: The name of the review's joint row.
JOINT_ROW = "(all jointly)"


def rule_of(verdict: str) -> str:
    """The rule's name for an identifiability verdict (a borderline one's: its own
    calibration's verdict, "borderline (partly identified here; ..." -> partly)."""
    first = verdict.removeprefix("borderline (").split()[0]
    if first not in CENTRAL:
        raise ValueError(f"unknown identifiability verdict {verdict!r}")
    return first


def percentile(draws: np.ndarray, value: float) -> float:
    """Mid-rank percentile of ``value`` among equal-weight ``draws`` (0-1)."""
    draws = np.asarray(draws, dtype=float)
    below = np.count_nonzero(draws < value) + 0.5 * np.count_nonzero(draws == value)
    return float(below / draws.size)


def joint_percentile(draws: np.ndarray, point: np.ndarray) -> float:
    """Share of ``draws`` (rows) nearer their mean than ``point`` by Mahalanobis distance."""
    draws = np.asarray(draws, dtype=float)
    centre, spread = draws.mean(axis=0), draws.std(axis=0)
    spread[spread == 0] = 1.0
    z = (draws - centre) / spread
    inverse = np.linalg.pinv(np.atleast_2d(np.cov(z, rowvar=False)))
    x = (np.asarray(point, dtype=float) - centre) / spread
    d_draws = np.einsum("ij,jk,ik->i", z, inverse, z)
    return float(np.mean(d_draws < x @ inverse @ x))


def rounded(value: float, digits: int = DIGITS) -> float:
    """``value`` to ``digits`` significant figures."""
    return float(f"{value:.{digits}g}")


def review_defaults(
    posterior: pd.DataFrame, parameters: pd.DataFrame, defaults: Mapping[str, float]
) -> pd.DataFrame:
    """One row per calibrated quantity: its default, the posterior's median and central
    intervals, the default's percentile, the rule its verdict sets, whether the default keeps
    it (``holds``) and, where not, the value to set (``proposal``: the rounded median).

    ``posterior`` has one column per dotted key (equal-weight draws); ``parameters`` is the
    identifiability table (``parameter``, ``keys``, ``verdict``); ``defaults`` maps each
    quantity's name to its current default.
    """
    rows = []
    for q in parameters.itertuples(index=False):
        name = str(q.parameter)
        key = str(q.keys).split()[0]
        draws = posterior[key].to_numpy(dtype=float)
        default = float(defaults[name])
        rule = rule_of(str(q.verdict))
        median = float(np.median(draws))
        pct = percentile(draws, default)
        central = CENTRAL[rule]
        if central is None:
            holds = rounded(median) == rounded(default)
            wanted = f"the posterior median ({rounded(median):g})"
            proposal = rounded(median)
        else:
            tail = (1 - central) / 2
            holds = tail <= pct <= 1 - tail
            low, high = np.quantile(draws, [tail, 1 - tail])
            wanted = f"in the central {central:.0%} interval [{low:.3g}, {high:.3g}]"
            proposal = rounded(float(np.clip(default, low, high)))  # the least move, not the median
        rows.append(
            {
                "parameter": name,
                "keys": str(q.keys),
                "default": default,
                "posterior_median": median,
                "q05": float(np.quantile(draws, 0.05)),
                "q25": float(np.quantile(draws, 0.25)),
                "q75": float(np.quantile(draws, 0.75)),
                "q95": float(np.quantile(draws, 0.95)),
                "default_percentile": pct,
                "verdict": str(q.verdict),
                "rule": wanted,
                "holds": bool(holds),
                "proposal": float("nan") if holds else proposal,
            }
        )
    keys = [str(k).split()[0] for k in parameters["keys"]]
    point = np.array([float(defaults[str(n)]) for n in parameters["parameter"]])
    joint = joint_percentile(posterior[keys].to_numpy(dtype=float), point)
    rows.append(
        {
            "parameter": JOINT_ROW,
            "keys": " ".join(keys),
            "default_percentile": joint,
            "verdict": "",
            "rule": f"jointly in the central {JOINT:.0%} region (Mahalanobis)",
            "holds": joint <= JOINT,
            "proposal": float("nan"),
        }
    )
    return pd.DataFrame(rows)


def broken(review: pd.DataFrame) -> list[str]:
    """One line per default that breaks the rule (empty when all hold)."""
    lines = []
    for r in review.itertuples(index=False):
        if r.holds:
            continue
        if r.parameter == JOINT_ROW:
            lines.append(
                f"the defaults together should be {r.rule}: {r.default_percentile:.0%} of the "
                "draws are nearer the posterior's mean (move those at the edge of their "
                "intervals inwards)"
            )
            continue
        lines.append(
            f"{r.parameter} = {r.default:g} ({r.verdict}) should be {r.rule}: it is at the "
            f"posterior's {r.default_percentile:.0%} (e.g. {r.proposal:g}; change it in "
            "sim/params.py and say why in docs/calibration.md)"
        )
    return lines


__all__ = [
    "CENTRAL",
    "DIGITS",
    "JOINT",
    "broken",
    "joint_percentile",
    "percentile",
    "review_defaults",
    "rule_of",
]
