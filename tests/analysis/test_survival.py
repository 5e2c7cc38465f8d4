"""Weeks to the first investor pause: an outcome cut off by the horizon (known answers)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.analysis import compare as cmp
from sim.analysis import precision, survival
from sim.analysis.runs import load_run, load_runs


def test_the_horizon_stands_in_for_no_pause() -> None:
    first = pd.Series([4.0, np.nan, 8.0, 104.0, 130.0])
    until = survival.weeks_until_first_pause(first, 104)
    assert until.tolist() == [4.0, 104.0, 8.0, 104.0, 104.0]
    assert until.name == survival.PAUSE_FREE


def test_the_curve_on_a_small_known_sample() -> None:
    t, share = survival.no_pause_curve(np.array([4.0, 4.0, 8.0, np.nan]), 10)
    assert t.tolist() == list(range(11))
    # no pause yet after weeks 0-3; half paused in week 4, a quarter more in week 8
    assert share.tolist() == [1.0] * 4 + [0.5] * 4 + [0.25] * 3
    assert np.isnan(survival.no_pause_curve(np.array([]), 3)[1]).all()


def test_the_mean_is_the_area_under_the_curve() -> None:
    """The restricted mean time: mean of min(T, W) = sum over weeks 0..W-1 of S(t)."""
    rng = np.random.default_rng(3)
    first = np.where(rng.random(500) < 0.3, np.nan, rng.integers(1, 60, 500)).astype(float)
    for weeks in (20, 52, 104):
        until = survival.weeks_until_first_pause(pd.Series(first), weeks)
        _, share = survival.no_pause_curve(first, weeks)
        assert until.mean() == pytest.approx(share[:-1].sum(), rel=1e-12)


def test_the_restricted_mean_of_geometric_times() -> None:
    """T geometric on 1, 2, ... with weekly hazard p: E min(T, W) = (1 - (1-p)^W) / p."""
    rng = np.random.default_rng(11)
    p, weeks, n = 0.04, 52, 200_000
    first = rng.geometric(p, n).astype(float)
    first[first > weeks] = np.nan  # not seen within the horizon
    until = survival.weeks_until_first_pause(pd.Series(first), weeks)
    exact = (1 - (1 - p) ** weeks) / p
    assert until.mean() == pytest.approx(exact, abs=4 * until.std() / math.sqrt(n))
    _, share = survival.no_pause_curve(first, weeks)
    assert share[weeks] == pytest.approx((1 - p) ** weeks, abs=0.005)


def test_the_band_half_width() -> None:
    assert survival.band_half_width(100) == pytest.approx(math.sqrt(math.log(40) / 200))
    assert survival.band_half_width(100) == pytest.approx(0.1358, abs=1e-4)
    assert survival.band_half_width(400) == pytest.approx(survival.band_half_width(100) / 2)
    assert math.isnan(survival.band_half_width(0))


def _covered(rng: np.random.Generator, p: float, weeks: int, n: int, h: float) -> bool:
    first = rng.geometric(p, n).astype(float)
    first[first > weeks] = np.nan
    t, share = survival.no_pause_curve(first, weeks)
    return bool(np.all(np.abs(share - (1 - p) ** t) <= h))


@pytest.mark.parametrize("n", [30, 200])
def test_the_band_holds_the_whole_true_curve_at_least_95_percent_of_the_time(n: int) -> None:
    """Simultaneous coverage on geometric times; half the width covers far less (the test
    can fail)."""
    rng = np.random.default_rng(n)
    h = survival.band_half_width(n)
    trials = 2000
    full = sum(_covered(rng, 0.05, 60, n, h) for _ in range(trials)) / trials
    half = sum(_covered(rng, 0.05, 60, n, h / 2) for _ in range(trials)) / trials
    assert full >= 0.94  # nominal 0.95, less three Monte Carlo standard errors (0.005)
    assert half < 0.75


def test_derived_only_with_a_horizon_and_the_column() -> None:
    summary = pd.DataFrame({"weeks_to_first_pause": [4.0, np.nan]})
    assert survival.with_derived(summary, 10)[survival.PAUSE_FREE].tolist() == [4.0, 10.0]
    assert survival.PAUSE_FREE not in survival.with_derived(summary, None)
    no_column = pd.DataFrame({"chinese_killed": [1, 2]})
    assert survival.with_derived(no_column, 10) is no_column
    assert survival.PAUSE_FREE not in summary  # the stored summary is left as it is


def _runs_with_pauses(tmp_path: Path, make_frames, save_run, firsts: dict[str, np.ndarray]):
    paths = []
    for i, (name, first) in enumerate(firsts.items()):
        summary, ts, ev = make_frames(n=first.size, weeks=20, seed=i)
        summary["weeks_to_first_pause"] = first
        paths.append(save_run(tmp_path / name, summary, ts, ev, scenario=name, seed=i))
    return paths


def test_compare_and_precision_read_the_weeks_to_the_first_pause(
    tmp_path: Path, make_frames, save_run
) -> None:
    """Half of the baseline's replicates pause in week 4, the rest never (20 weeks): mean
    12, not the 4 of the replicates that paused."""
    base = np.where(np.arange(40) % 2 == 0, 4.0, np.nan)
    later = np.where(np.arange(40) % 4 == 0, 8.0, np.nan)  # a quarter pause, in week 8
    paths = _runs_with_pauses(
        tmp_path, make_frames, save_run, {"baseline": base, "reform_and_development": later}
    )
    table = cmp.compare(paths)
    rows = table[table["outcome"] == survival.PAUSE_FREE].set_index("scenario")
    assert rows.loc["baseline", "mean"] == pytest.approx(12.0)
    assert rows.loc["reform_and_development", "mean"] == pytest.approx(0.25 * 8 + 0.75 * 20)
    assert rows.loc["reform_and_development", "diff_mean"] == pytest.approx(17.0 - 12.0)
    text = cmp.format_table(table)
    assert "Weeks to the first investor pause (weeks)" in text
    assert "restricted mean time to the first pause" in text
    run = load_run(paths[0])
    assert survival.PAUSE_FREE not in run.summary and survival.PAUSE_FREE in run.outcomes
    outcomes, _ = precision.run_precision(run.outcomes)
    row = next(o for o in outcomes if o.name == survival.PAUSE_FREE)
    assert row.mean == pytest.approx(12.0) and row.n == 40


def test_the_first_pause_figure_draws_each_runs_curve(
    tmp_path: Path, make_frames, save_run
) -> None:
    base = np.where(np.arange(40) % 2 == 0, 4.0, np.nan)
    later = np.where(np.arange(40) % 4 == 0, 8.0, np.nan)
    paths = _runs_with_pauses(tmp_path, make_frames, save_run, {"baseline": base, "x": later})
    runs = load_runs(paths)
    fig = cmp.figure_first_pause(runs)
    assert fig is not None
    (ax,) = fig.axes
    curves = {line.get_label(): np.asarray(line.get_ydata()) for line in ax.lines}
    assert curves["Baseline"].tolist() == [1.0] * 4 + [0.5] * 18  # weeks 0..20, then held
    assert curves["X"][8] == 0.75 and curves["X"][7] == 1.0
    assert len(ax.collections) == 2  # two runs: each curve's band shaded
    assert "shaded" in fig.get_suptitle()
    many = _runs_with_pauses(
        tmp_path / "many", make_frames, save_run, {f"s{k}": base + k for k in range(4)}
    )
    fig = cmp.figure_first_pause(load_runs(many))
    assert fig is not None and not fig.axes[0].collections
    assert "band: ±0.21" in fig.get_suptitle()  # 40 replicates: sqrt(ln 40 / 80)


def test_runs_with_the_same_curve_are_drawn_once_and_named(
    tmp_path: Path, make_frames, save_run
) -> None:
    """A reviewer: full_pressure's curve lay hidden under investment_freeze's (both all in
    week 4) while the legend listed both. The band is drawn at ± the DKW half-width, and the
    last value is held one week past the horizon (a drop in week W shows)."""
    base = np.where(np.arange(40) % 2 == 0, 4.0, np.nan)
    same = base.copy()
    last = np.where(np.arange(40) % 4 == 0, 20.0, np.nan)  # a quarter pause in week 20 = W
    paths = _runs_with_pauses(
        tmp_path, make_frames, save_run, {"baseline": base, "full_pressure": same, "w": last}
    )
    runs = load_runs(paths)
    assert not cmp.identical_runs(runs)  # the summaries differ: only the curves agree
    fig = cmp.figure_first_pause(runs)
    assert fig is not None
    (ax,) = fig.axes
    labels = [line.get_label() for line in ax.lines]
    assert labels == ["Baseline (= Full pressure: the same curve)", "W"]
    w_line = ax.lines[1]
    assert w_line.get_xdata()[-1] == 21 and w_line.get_ydata()[-1] == 0.75
    assert ax.get_xlim() == (0, 21)
    h = survival.band_half_width(40)
    band = ax.collections[0].get_paths()[0].vertices[:, 1]  # Baseline's band
    assert band.max() == pytest.approx(1.0)  # clipped at 1 before week 4
    assert np.isclose(band, 0.5 + h).any() and np.isclose(band, 0.5 - h).any()
    assert not np.isclose(band, 0.5 + 2 * h).any()


def test_every_comparison_figure_has_a_caption() -> None:
    from sim.analysis import report
    from sim.analysis.outputs import COMPARISON_FIGURES

    assert all(report.CAPTIONS.get(name) for name in COMPARISON_FIGURES)


def test_the_forced_hold_fixes_the_first_pause_only_from_week_4(
    tmp_path: Path, make_frames, save_run
) -> None:
    """A reviewer: over 3 weeks no investor decides, so both runs show the horizon, and the
    note "the first pause comes in week 4" was false there."""
    for weeks, marked in ((3, False), (4, True), (8, True)):
        summary, ts, ev = make_frames(n=10, weeks=weeks, seed=1)
        path = save_run(tmp_path / f"w{weeks}", summary, ts, ev, scenario="investment_freeze")
        (path / "config.yaml").write_text("china:\n  force_investment_hold: true\n")
        claims = load_run(path).by_construction
        assert "investment_hold" in claims
        assert (survival.PAUSE_FREE in claims) is marked


def test_the_box_and_ecdf_figures_leave_the_curve_to_its_own_figure(
    tmp_path: Path, make_frames, save_run
) -> None:
    base = np.where(np.arange(20) % 2 == 0, 4.0, np.nan)
    runs = load_runs(_runs_with_pauses(tmp_path, make_frames, save_run, {"baseline": base}))
    for fig in (cmp.figure_ecdfs(runs), cmp.figure_boxes(runs)):
        assert fig is not None
        titles = {ax.get_title() for ax in fig.axes if ax.get_visible()}
        assert "Chinese nationals killed" in titles
        assert not any("first investor pause" in t for t in titles)


def test_one_runs_curve_is_titled_as_one(tmp_path: Path, make_frames, save_run) -> None:
    base = np.where(np.arange(20) % 2 == 0, 4.0, np.nan)
    runs = load_runs(_runs_with_pauses(tmp_path, make_frames, save_run, {"baseline": base}))
    fig = cmp.figure_first_pause(runs)
    assert fig is not None and "1 run, 20 replicates" in fig.get_suptitle()
