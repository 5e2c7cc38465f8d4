"""Validation: the statistics on synthetic data with known answers, and the command end to end."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.validation import (
    WEEKS_PER_YEAR,
    Target,
    burstiness,
    dispersion_index,
    escalation_fit,
    escalation_from_gaps,
    jittered_times,
    observed_targets,
    validate,
    validate_command,
    verdict,
)

# --- dispersion --------------------------------------------------------------------------------


def test_dispersion_of_poisson_counts_is_one() -> None:
    counts = np.random.default_rng(1).poisson(4.0, size=50_000)
    assert dispersion_index(counts) == pytest.approx(1.0, abs=0.03)


def test_dispersion_of_negative_binomial_counts_is_one_plus_mean_over_n() -> None:
    n, p = 2.0, 0.25  # mean n(1-p)/p = 6, variance/mean = 1/p = 4
    counts = np.random.default_rng(2).negative_binomial(n, p, size=50_000)
    assert dispersion_index(counts) == pytest.approx(4.0, rel=0.05)


def test_dispersion_of_degenerate_input_is_nan() -> None:
    assert math.isnan(dispersion_index([3]))
    assert math.isnan(dispersion_index([0, 0, 0]))
    assert dispersion_index([2, 2, 2, 2]) == 0.0


# --- burstiness --------------------------------------------------------------------------------


def test_burstiness_of_a_periodic_series_is_minus_one() -> None:
    assert burstiness(np.arange(0.0, 100.0, 2.5)) == pytest.approx(-1.0)


def test_burstiness_of_a_poisson_process_is_about_zero() -> None:
    times = np.cumsum(np.random.default_rng(3).exponential(1.0, size=100_000))
    assert burstiness(times) == pytest.approx(0.0, abs=0.01)


def test_burstiness_of_heavy_tailed_gaps_is_positive_and_order_does_not_matter() -> None:
    gaps = np.random.default_rng(4).lognormal(0.0, 2.0, size=20_000)
    times = np.cumsum(gaps)
    b = burstiness(times)
    assert b > 0.5
    assert burstiness(times[::-1]) == pytest.approx(b)


def test_weekly_counts_jittered_within_weeks_stay_poisson() -> None:
    """Poisson weekly counts, spread uniformly inside each week, are a Poisson process."""
    rng = np.random.default_rng(5)
    counts = rng.poisson(3.0, size=20_000)
    weeks = np.repeat(np.arange(1, counts.size + 1), counts)
    times = jittered_times(weeks, rng)
    assert np.all((times >= weeks - 1) & (times < weeks))
    assert burstiness(times) == pytest.approx(0.0, abs=0.015)


# --- escalation --------------------------------------------------------------------------------


def test_escalation_recovers_b_from_a_noiseless_progress_curve() -> None:
    n = np.arange(1, 60)
    fit = escalation_from_gaps(n, 30.0 * n**-0.7)
    assert fit is not None
    assert fit.b == pytest.approx(0.7)
    assert fit.tau1 == pytest.approx(30.0)
    assert fit.gaps == 59


@pytest.mark.parametrize("b", [-0.3, 0.0, 0.5, 1.0])
def test_escalation_recovers_b_from_a_noisy_series_of_event_times(b: float) -> None:
    rng = np.random.default_rng(6)
    n = np.arange(1, 400)
    gaps = 20.0 * n**-b * rng.exponential(1.0, size=n.size)  # tau_n with exponential noise
    times = np.concatenate([[0.0], np.cumsum(gaps)])
    fit = escalation_fit(times)
    assert fit is not None
    assert fit.b == pytest.approx(b, abs=0.12)
    assert fit.low < b < fit.high


def test_escalation_stacked_replicates_narrow_the_interval() -> None:
    rng = np.random.default_rng(7)
    n = np.arange(1, 100)
    one = escalation_from_gaps(n, 5.0 * n**-0.4 * rng.lognormal(0, 0.5, n.size))
    many_n = np.tile(n, 20)
    many = escalation_from_gaps(many_n, 5.0 * many_n**-0.4 * rng.lognormal(0, 0.5, many_n.size))
    assert one is not None and many is not None
    assert many.b == pytest.approx(0.4, abs=0.05)
    assert many.high - many.low < (one.high - one.low) / 3


def test_escalation_needs_enough_gaps() -> None:
    assert escalation_fit([1.0, 2.0, 3.0]) is None
    assert escalation_from_gaps([1, 1, 1, 1, 1, 1], [1, 2, 3, 4, 5, 6]) is None


# --- targets and verdicts ----------------------------------------------------------------------


def test_observed_ranges_come_from_the_data_files() -> None:
    targets = {t.key: t for t in observed_targets()}
    assert targets["attacks_on_chinese_per_year"].low == pytest.approx(2.0)  # 8 rows 2021-24
    assert targets["attacks_on_chinese_per_year"].high == pytest.approx(3.5)  # NACTA 14
    assert targets["chinese_killed_per_year"].low == pytest.approx(3.5)  # 7 in 2023-24
    assert targets["chinese_killed_per_year"].high == pytest.approx(6.5)  # 13 in 2021-22
    assert targets["attacks_balochistan_per_year"].low == 170
    assert targets["attacks_balochistan_per_year"].high == 202
    assert targets["killed_balochistan_per_year"].low == 285
    assert targets["killed_balochistan_per_year"].high == 322
    assert targets["severity_alpha"].low == pytest.approx(2.2)
    assert targets["severity_alpha"].high == pytest.approx(2.6)
    assert all(t.source for t in targets.values())


def test_verdict_and_distance() -> None:
    t = Target("x", "x", "u", 10.0, 20.0, "10-20", "src")
    assert verdict(15.0, t) == "inside"
    assert verdict(25.0, t) == "above by 5.00 (25%)"
    assert verdict(5.0, t) == "below by 5.00 (50%)"
    assert t.distance(15.0) == 0.0
    assert t.distance(25.0) == pytest.approx(1.0)  # half-width 5
    assert t.distance(0.0) == pytest.approx(-2.0)
    open_range = Target("y", "y", "u", 1.0, math.inf, "> 1", "src")
    assert verdict(3.0, open_range) == "inside"
    assert verdict(0.5, open_range).startswith("below by 0.50")
    assert verdict(math.nan, t) == "no estimate"


# --- end to end --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def fast_validation(tmp_path_factory: pytest.TempPathFactory) -> tuple[pd.DataFrame, Path]:
    out = tmp_path_factory.mktemp("validation")
    table = validate(replicates=8, seed=3, jobs=1, weeks=52, out_dir=out)
    return table, out


def _row(table: pd.DataFrame, key: str) -> pd.Series:
    return table.set_index("target").loc[key]


def _check(row: pd.Series, values: np.ndarray) -> None:
    q05, med, q95 = np.quantile(values, [0.05, 0.5, 0.95])
    assert row["model_median"] == pytest.approx(med)
    assert row["model_q05"] == pytest.approx(q05)
    assert row["model_q95"] == pytest.approx(q95)
    assert row["n"] == len(values)


def test_validate_writes_table_figure_and_run(fast_validation: tuple[pd.DataFrame, Path]) -> None:
    table, out = fast_validation
    for name in ("validation.csv", "validation.png", "validation.svg"):
        assert (out / name).stat().st_size > 0
    assert not list(out.glob(".*.tmp"))
    stored = pd.read_csv(out / "validation.csv")
    assert list(stored["target"]) == list(table["target"])
    np.testing.assert_allclose(stored["model_median"], table["model_median"], rtol=1e-5)
    assert set(table["target"]) == {t.key for t in observed_targets()}
    assert table["source"].str.len().min() > 0
    assert set(table["verdict"].str.split().str[0]) <= {"inside", "above", "below", "no"}


def test_validate_numbers_match_the_stored_parquet(
    fast_validation: tuple[pd.DataFrame, Path],
) -> None:
    table, out = fast_validation
    run = out / "baseline"
    summary = pd.read_parquet(run / "summary.parquet")
    events = pd.read_parquet(run / "events.parquet")
    weekly = pd.read_parquet(run / "timeseries.parquet")
    assert len(summary) == 8 and weekly["week"].max() == 52
    per_year = WEEKS_PER_YEAR / 52
    for key, column in (
        ("attacks_on_chinese_per_year", "attacks_on_chinese"),
        ("chinese_killed_per_year", "chinese_killed"),
        ("attacks_balochistan_per_year", "attacks_balochistan"),
        ("killed_balochistan_per_year", "killed_balochistan"),
    ):
        _check(_row(table, key), summary[column].to_numpy() * per_year)
    # one year per replicate: the deadliest attack of the year is the run's max_attack_killed
    _check(_row(table, "largest_attack_per_year"), summary["max_attack_killed"].to_numpy())
    worst = events.groupby("replicate")["killed"].max().reindex(summary["replicate"], fill_value=0)
    np.testing.assert_array_equal(np.sort(worst), np.sort(summary["max_attack_killed"]))
    ratios = weekly.groupby("replicate")["attacks"].agg(lambda x: x.var(ddof=1) / x.mean())
    _check(_row(table, "weekly_dispersion"), ratios.to_numpy())
    baloch = events[events["group"].isin(["bla", "majeed", "blf"])]
    killed = baloch.groupby("replicate")["chinese_killed"].sum()
    _check(
        _row(table, "baloch_chinese_killed_per_year"),
        killed.reindex(summary["replicate"], fill_value=0).to_numpy() * per_year,
    )


def test_validate_alpha_is_a_power_law_fit_of_fatal_attacks(
    fast_validation: tuple[pd.DataFrame, Path],
) -> None:
    from sim.analysis.stats import fit_power_law

    table, out = fast_validation
    events = pd.read_parquet(out / "baseline" / "events.parquet")
    alphas = []
    for _, ev in events.groupby("replicate"):
        fit = fit_power_law(ev["killed"][ev["killed"] >= 1])
        if fit:
            alphas.append(fit.alpha)
    _check(_row(table, "severity_alpha"), np.array(alphas))
    assert "pooled fit" in _row(table, "severity_alpha")["note"]


def test_validate_rerun_reuses_the_stored_run(fast_validation: tuple[pd.DataFrame, Path]) -> None:
    table, out = fast_validation
    again = validate(replicates=8, seed=3, jobs=1, weeks=52, out_dir=out, plots=False)
    pd.testing.assert_frame_equal(again, table)


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["--replicates", "0"], "--replicates"),
        (["--replicates", "many"], "--replicates"),
        (["--jobs", "-1"], "--jobs"),
        (["--seed", "-3"], "--seed"),
        (["--fast", "--replicates", "5"], "not both"),
        (["--colour", "red"], "unrecognized arguments"),
    ],
)
def test_validate_command_rejects_bad_input_with_one_line(
    argv: list[str], fragment: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code = validate_command([*argv, "--out", str(tmp_path / "v")])
    err = capsys.readouterr().err
    assert code == 2
    assert len(err.strip().splitlines()) == 1
    assert fragment in err and "Traceback" not in err
    assert not (tmp_path / "v").exists()


def test_validate_command_rejects_a_file_as_output(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    target = tmp_path / "file"
    target.write_text("x")
    assert validate_command(["--fast", "--out", str(target)]) == 2
    assert "is a file" in capsys.readouterr().err


def test_a_stale_validation_run_of_another_configuration_is_replaced(tmp_path: Path) -> None:
    import json

    from sim.validation import ValidationError, _prepare_run_dir

    run = tmp_path / "baseline"
    run.mkdir()
    (run / "manifest.json").write_text(json.dumps({"package": "cpec-sim", "config_hash": "old"}))
    _prepare_run_dir(run, "new")
    assert not run.exists()
    run.mkdir()
    (run / "manifest.json").write_text(json.dumps({"config_hash": "old"}))
    with pytest.raises(ValidationError):
        _prepare_run_dir(run, "new")  # not ours: never deleted
    assert run.exists()
