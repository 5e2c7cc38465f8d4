"""How every table, summary and figure title shows numbers: medians, intervals, estimates.

Without pandas or Matplotlib, so that a run's summary in the terminal imports neither.
"""

from __future__ import annotations

import math
from typing import Any

#: Fewer replicates than this in a run or its reference: intervals, but no p-value or star
#: (a reviewer's A/A comparisons starred chance in 27% of tables at 5 against 5).
MIN_REPLICATES_TO_TEST = 20


def fmt_number(x: Any) -> str:
    """Compact number for tables: integers exact, else about three significant digits
    (without trailing zeros: a number shown alone need not match another's decimals)."""
    text = fmt_numbers(x)[0]
    return text.rstrip("0").rstrip(".") if "." in text else text


def fmt_numbers(*values: Any, decimals: int | None = None) -> list[str]:
    """Numbers shown together (an estimate and its interval) with the same decimals: the
    ``decimals`` given, else :func:`shared_decimals`; ``–`` if missing. A number those
    decimals would show as 0 but is not (beyond rounding noise, :data:`NOISE`) gets one
    significant digit, so that its sign says whether an interval holds 0 (helper-182:
    ``[-0.4, 3,100]`` and ``[0.4, 3,100]`` both printed ``[0, 3,100]``); beyond
    :data:`MAX_DECIMALS` it is shown as ``-3e-14``. No number is shown as ``-0``."""
    numbers = [float(v) for v in values if is_number(v)]
    if decimals is None:
        decimals = shared_decimals(numbers)
    noise = NOISE * max((abs(v) for v in numbers), default=0.0)
    out = []
    for v in values:
        if not is_number(v):
            out.append("–")
            continue
        x = float(v)
        if _nonzero_at(x, decimals):
            out.append(f"{x:,.{decimals}f}")
        elif abs(x) <= noise:  # 0, or rounding noise beside the others
            out.append(f"{x:,.{decimals}f}".lstrip("-"))
        else:
            digits = -math.floor(math.log10(abs(x)))
            out.append(f"{x:.{digits}f}" if digits <= MAX_DECIMALS else f"{x:.0e}")
    return out


def _nonzero_at(x: float, decimals: int) -> bool:
    """Whether ``x`` shows a digit other than 0 at ``decimals`` decimals."""
    return bool(f"{x:.{decimals}f}".strip("-0."))


#: A number this small beside the largest shown with it is rounding noise (a difference of
#: 5e-13 is 0), shown as 0 with the others' decimals.
NOISE = 1e-9
#: The most decimals a number near 0 is shown with.
MAX_DECIMALS = 12


def shared_decimals(values: list[float]) -> int:
    """The decimals of numbers shown together: none when all are whole, else about three
    significant digits of the largest, less the trailing zeros they all share (``[0, 29]``,
    not ``[0.0, 29.0]``)."""
    if all(v == round(v) and abs(v) < 1e9 for v in values):
        return 0
    largest = max(abs(v) for v in values)
    decimals = (
        0
        if largest >= 1000
        else 1
        if largest >= 100
        else 2 - math.floor(math.log10(largest) if largest > 0 else 0)
    )
    decimals = min(max(decimals, 0), 6)
    while decimals > 0 and all(f"{v:.{decimals}f}".endswith("0") for v in values):
        decimals -= 1
    return decimals


def is_number(v: Any) -> bool:
    """Whether ``v`` is a finite number (not None, not pandas' NA, not NaN or infinite)."""
    return v is not None and type(v).__name__ != "NAType" and math.isfinite(float(v))


def fmt_median_interval(median: Any, q05: Any, q95: Any) -> tuple[str, str, str]:
    """(median, low, high) as every table, summary and figure title shows them: the median
    alone (:func:`fmt_number`), the interval's two ends with the same decimals."""
    lo, hi = fmt_numbers(q05, q95)
    return fmt_number(median), lo, hi
