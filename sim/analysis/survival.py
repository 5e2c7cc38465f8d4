"""How soon investors start pausing: the week of the first pause, an outcome cut off by the
horizon.

``weeks_to_first_pause`` is the week in which an investor first paused, NaN in a replicate
where none paused within the run's horizon. Its mean over the replicates that paused answers
another question (a run whose replicates paused in 1 of 10 reads as one that paused in all),
so the analysis reads it as a time to an event observed up to the horizon ``W``:

* the share of replicates with **no pause yet** after each week ``t``, ``S(t) = P(T > t)``.
  Every replicate runs to the same horizon, so the only censoring is at ``W`` and the
  Kaplan-Meier estimate is the plain share of replicates whose first pause came after ``t``;
* **weeks to the first pause**, ``min(T, W)`` for each replicate (``W`` where none
  paused). Its mean is the restricted mean time to the first pause, the area under ``S`` up
  to ``W`` (Royston & Parmar 2013), which is defined whatever share of replicates paused; so
  it is compared between runs like any other outcome (its mean's and median's intervals);
* a 95% band around the whole curve (Dvoretzky, Kiefer & Wolfowitz 1956, with Massart's 1990
  constant): the true curve lies inside it at every week at once with probability at least
  95%, whatever the distribution.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

#: The summary column the analysis derives: weeks to the first pause, the horizon if none.
PAUSE_FREE = "pause_free_weeks"
#: The stored summary column it is derived from.
FIRST_PAUSE = "weeks_to_first_pause"
#: What :data:`PAUSE_FREE` is, for the notes under a table that shows it.
MEANING = (
    "Weeks to the first investor pause: the week in which an investor first paused, the "
    "horizon where none did; so its mean is the restricted mean time to the first pause, "
    "defined however many replicates paused (a mean over those that paused would not be)"
)


def pause_free(first_pause: Any, weeks: int) -> Any:
    """``min(T, weeks)``: the week of the first pause, ``weeks`` where none came within the
    horizon (NaN, or a week beyond it); for one value or an array of them."""
    return np.fmin(np.asarray(first_pause, dtype=float), float(weeks))


def weeks_until_first_pause(first_pause: pd.Series, weeks: int) -> pd.Series:
    """:func:`pause_free` of each replicate of a summary column."""
    t = pd.to_numeric(first_pause, errors="coerce")
    return pd.Series(pause_free(t, weeks), index=first_pause.index, name=PAUSE_FREE)


def with_derived(summary: pd.DataFrame, weeks: int | None) -> pd.DataFrame:
    """The summary with :data:`PAUSE_FREE` added (the same frame if it cannot be derived:
    no ``weeks_to_first_pause`` column or no known horizon)."""
    if FIRST_PAUSE not in summary.columns or not weeks or PAUSE_FREE in summary.columns:
        return summary
    return summary.assign(**{PAUSE_FREE: weeks_until_first_pause(summary[FIRST_PAUSE], weeks)})


def no_pause_curve(first_pause: np.ndarray, weeks: int) -> tuple[np.ndarray, np.ndarray]:
    """Weeks ``0..weeks`` and the share of replicates with no pause yet after each week:
    the share whose first pause (``first_pause``, one value per replicate, NaN where none
    came) came later. NaN counts as later than the horizon: every replicate ran to it."""
    t = np.asarray(first_pause, dtype=float)
    t = np.where(np.isnan(t), math.inf, t)
    weeks_axis = np.arange(weeks + 1, dtype=float)
    if t.size == 0:
        return weeks_axis, np.full(weeks_axis.size, math.nan)
    paused_by = np.searchsorted(np.sort(t), weeks_axis, side="right")
    return weeks_axis, 1.0 - paused_by / t.size


def band_half_width(n: int, level: float = 0.95) -> float:
    """Half-width of the simultaneous confidence band around an empirical distribution of
    ``n`` values (Dvoretzky-Kiefer-Wolfowitz with Massart's constant):
    ``sqrt(ln(2 / (1 - level)) / (2 n))``."""
    if n <= 0:
        return math.nan
    return math.sqrt(math.log(2.0 / (1.0 - level)) / (2.0 * n))
