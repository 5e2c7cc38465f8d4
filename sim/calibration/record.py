"""The observed record as summary statistics, from the sourced tables in ``sim/data``.

The model's two years stand for two calendar years of the record: year 1 for 2023 and year
2 for 2024 (the Balochistan monitors, PICSS 2023 and PIPS 2024, are the only consecutive pair
that counts attacks). Attacks on Chinese targets are too rare to count by year: their
statistics are yearly rates over 2021-24 (the rows of ``attacks_on_chinese_in_pakistan.csv``),
compared with the model's two-year rate.

Two windows:

* ``full`` – every statistic, both years: the calibration whose posterior scenarios use;
* ``hindcast`` – only what was known by the end of 2023 (year 1 and the Chinese rates of
  2021-23); 2024 is held out and forecast as the model's year 2 (:data:`HELD_OUT`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from sim.data import rows as data_rows

Window = Literal["full", "hindcast"]
WINDOWS: tuple[str, ...] = ("full", "hindcast")


@dataclass(frozen=True)
class Observed:
    """One observed summary statistic: its value, what it is and where it comes from."""

    name: str
    label: str
    unit: str
    value: float
    source: str
    half_width: float = 0.0  # > 0: known only as value +/- half_width (zero distance inside)


#: The counts of militants killed in 2024 (all of Pakistan, and Balochistan's fatalities).
MILITANTS_KILLED_FILE = "militants_killed_pakistan.csv"
#: Balochistan's share of the militants killed in all of Pakistan: an estimate, not a count
#: (most were killed in KP; CRSS put 31% of 2024's violence-linked fatalities in Balochistan).
BALOCHISTAN_SHARE = (1 / 6, 2 / 5)


def militants_killed_estimate(rows: list[dict[str, str]] | None = None) -> tuple[float, float]:
    """Militants killed a year in Balochistan, as a range: :data:`BALOCHISTAN_SHARE` of the
    smallest and the largest count for all of Pakistan (``militants_killed_pakistan.csv``),
    rounded out to 50. Used as a range: the distance is zero anywhere inside it."""
    rows = data_rows(MILITANTS_KILLED_FILE) if rows is None else rows
    counts = [float(r["killed"]) for r in rows if r["scope"] == "Pakistan"]
    low, high = BALOCHISTAN_SHARE[0] * min(counts), BALOCHISTAN_SHARE[1] * max(counts)
    return 50.0 * math.floor(low / 50), 50.0 * math.ceil(high / 50)


def annual_violence(column: str) -> dict[int, float]:
    """Balochistan attacks or deaths by year: the first listed monitor of each year."""
    out: dict[int, float] = {}
    for r in data_rows("balochistan_annual_violence.csv"):
        if r[column]:
            out.setdefault(int(r["year"]), float(r[column]))
    return out


def _monitor(year: int, column: str) -> str:
    for r in data_rows("balochistan_annual_violence.csv"):
        if int(r["year"]) == year and r[column]:
            return f"{r['source']} {year}"
    return str(year)


def chinese_by_year(first: int, last: int) -> tuple[dict[int, int], dict[int, int]]:
    """Attacks on Chinese targets and Chinese killed in each year ``first..last``."""
    attacks = dict.fromkeys(range(first, last + 1), 0)
    killed = dict.fromkeys(range(first, last + 1), 0)
    for r in data_rows("attacks_on_chinese_in_pakistan.csv"):
        year = int(r["date"][:4])
        if first <= year <= last:
            attacks[year] += 1
            killed[year] += int(r["chinese_killed"])
    return attacks, killed


def deadliest(year: int) -> float:
    """Deaths in the deadliest attack in Balochistan of ``year`` (midpoint of the counts)."""
    for r in data_rows("deadliest_attacks_balochistan.csv"):
        if int(r["year"]) == year:
            return (float(r["killed_low"]) + float(r["killed_high"])) / 2
    raise KeyError(year)


def observed(window: Window = "full") -> tuple[Observed, ...]:
    """The observed statistics of a window (see the module docstring)."""
    if window not in WINDOWS:
        raise ValueError(f"unknown window {window!r}: choose one of {', '.join(WINDOWS)}")
    attacks, deaths = annual_violence("attacks"), annual_violence("killed")
    last = 2024 if window == "full" else 2023
    ch_attacks, ch_killed = chinese_by_year(2021, last)
    years = last - 2021 + 1
    chinese_src = f"attacks_on_chinese_in_pakistan.csv, 2021-{last % 100:02d}"
    out = [
        Observed(
            "attacks_balochistan_y1", "Attacks in Balochistan, year 1 (2023)", "attacks",
            attacks[2023], f"balochistan_annual_violence.csv ({_monitor(2023, 'attacks')})",
        ),
        Observed(
            "killed_balochistan_y1", "Deaths in attacks, Balochistan, year 1 (2023)", "killed",
            deaths[2023], f"balochistan_annual_violence.csv ({_monitor(2023, 'killed')})",
        ),
        Observed(
            "largest_attack_y1", "Deadliest attack, year 1 (2023)", "killed",
            deadliest(2023), "deadliest_attacks_balochistan.csv (midpoint of the counts)",
        ),
        Observed(
            "attacks_on_chinese_per_year", "Attacks on Chinese targets a year", "attacks/yr",
            sum(ch_attacks.values()) / years, chinese_src,
        ),
        Observed(
            "chinese_killed_per_year", "Chinese nationals killed a year", "killed/yr",
            sum(ch_killed.values()) / years, chinese_src,
        ),
    ]  # fmt: skip
    if window == "full":
        low, high = militants_killed_estimate()
        out += [
            Observed(
                "attacks_balochistan_y2", "Attacks in Balochistan, year 2 (2024)", "attacks",
                attacks[2024], f"balochistan_annual_violence.csv ({_monitor(2024, 'attacks')})",
            ),
            Observed(
                "killed_balochistan_y2", "Deaths in attacks, Balochistan, year 2 (2024)",
                "killed", deaths[2024],
                f"balochistan_annual_violence.csv ({_monitor(2024, 'killed')})",
            ),
            Observed(
                "largest_attack_y2", "Deadliest attack, year 2 (2024)", "killed",
                deadliest(2024), "deadliest_attacks_balochistan.csv (midpoint of the counts)",
            ),
            Observed(
                "militants_killed_per_year", "Militants killed a year (estimate)", "killed/yr",
                (low + high) / 2,
                f"estimate {low:g}-{high:g}: Balochistan's share of CRSS/ISPR 2024 (a range; "
                f"{MILITANTS_KILLED_FILE})",
                half_width=(high - low) / 2,
            ),
        ]  # fmt: skip
    return tuple(out)


def observed_values(window: Window = "full") -> dict[str, float]:
    """``{statistic: observed value}`` of a window."""
    return {o.name: o.value for o in observed(window)}


@dataclass(frozen=True)
class HeldOut:
    """A 2024 quantity forecast by the hindcast: the model's year-2 statistic and history."""

    name: str
    label: str
    statistic: str
    value: float
    history: dict[int, float]  # the years before, for the naive baselines
    year1: str = ""  # the model's year-1 statistic: its own "no dynamics" baseline


def held_out() -> tuple[HeldOut, ...]:
    """What the hindcast forecasts for 2024, with 2019-23 for the naive baselines.

    Earlier years come from different monitors with different definitions (the table's
    ``definition`` column), which is part of why a naive climatology is a weak baseline.
    """
    attacks, deaths = annual_violence("attacks"), annual_violence("killed")
    ch_attacks, ch_killed = chinese_by_year(2019, 2024)

    def before(series: dict[int, float] | dict[int, int]) -> dict[int, float]:
        return {y: float(v) for y, v in series.items() if 2019 <= y <= 2023}

    return (
        HeldOut("attacks_balochistan", "Attacks in Balochistan, 2024", "attacks_balochistan_y2",
                attacks[2024], before(attacks), "attacks_balochistan_y1"),
        HeldOut("killed_balochistan", "Deaths in attacks, Balochistan, 2024",
                "killed_balochistan_y2", deaths[2024], before(deaths), "killed_balochistan_y1"),
        HeldOut("attacks_on_chinese", "Attacks on Chinese targets, 2024", "attacks_on_chinese_y2",
                float(ch_attacks[2024]), before(ch_attacks), "attacks_on_chinese_y1"),
        HeldOut("chinese_killed", "Chinese nationals killed, 2024", "chinese_killed_y2",
                float(ch_killed[2024]), before(ch_killed), "chinese_killed_y1"),
    )  # fmt: skip
