"""The observed record as the calibration and validation read it from ``sim/data``."""

from __future__ import annotations

from sim import validation
from sim.calibration.record import (
    BALOCHISTAN_SHARE,
    MILITANTS_KILLED_FILE,
    militants_killed_estimate,
    observed,
)
from sim.data import rows as data_rows


def _row(scope: str, killed: int) -> dict[str, str]:
    return {"year": "2024", "source": "X", "scope": scope, "killed": str(killed)}


def test_the_militants_killed_range_is_the_share_of_the_pakistan_counts_rounded_out() -> None:
    rows = [_row("Pakistan", 600), _row("Pakistan", 1200), _row("Balochistan", 10_000)]
    # 600/6 = 100 (already a multiple of 50), 2/5 x 1,200 = 480 -> 500; Balochistan's row
    # (all fatalities there) is a bound, not a count of the whole country
    assert militants_killed_estimate(rows) == (100.0, 500.0)
    assert militants_killed_estimate([_row("Pakistan", 925)]) == (150.0, 400.0)  # 154, 370


def test_the_sourced_counts_give_the_range_the_calibration_and_validate_use() -> None:
    rows = data_rows(MILITANTS_KILLED_FILE)
    assert all(r["source_url"].startswith("https://") for r in rows)
    low, high = militants_killed_estimate()
    entry = next(o for o in observed("full") if o.name == "militants_killed_per_year")
    assert (entry.value - entry.half_width, entry.value + entry.half_width) == (low, high)
    target = next(t for t in validation.observed_targets() if t.key == "militants_killed_per_year")
    assert (target.low, target.high) == (low, high)
    counts = [float(r["killed"]) for r in rows if r["scope"] == "Pakistan"]
    assert low <= BALOCHISTAN_SHARE[0] * min(counts) and high >= BALOCHISTAN_SHARE[1] * max(counts)
    # the estimate cannot exceed every violence-linked death in Balochistan that year
    (bound,) = [float(r["killed"]) for r in rows if r["scope"] == "Balochistan"]
    assert high < bound
