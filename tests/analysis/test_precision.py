"""`cpec-sim precision`: intervals with known coverage, replicate counts with known answers."""

from __future__ import annotations

import io
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.analysis import cli, precision
from sim.analysis.style import EVENTS, OUTCOMES

TRIALS = 4_000  # Monte Carlo error of a coverage near 0.95: sqrt(0.95 * 0.05 / 4000) = 0.0034


@pytest.mark.parametrize(
    ("n", "ranks"),
    [(6, (1, 6)), (10, (2, 9)), (20, (6, 15)), (50, (18, 33)), (100, (40, 61))],
)
def test_median_ranks_match_the_binomial_table(n: int, ranks: tuple[int, int]) -> None:
    """The classic table of the median's 95% interval (e.g. Conover 1999, Table A3; n = 100:
    the 40th and 61st values): the tightest pair that still covers 95%."""
    assert precision.median_ranks(n) == ranks
    j = ranks[0]
    assert precision.median_coverage(n, j) >= 0.95
    assert precision.median_coverage(n, j + 1) < 0.95  # one rank tighter falls short


def test_too_few_values_give_no_median_interval() -> None:
    assert precision.median_ranks(5) is None  # even [min, max] covers only 94%
    assert precision.median_ranks(5, level=0.9) == (1, 5)
    low, high = precision.median_interval(np.arange(5.0))
    assert math.isnan(low) and math.isnan(high)


def test_median_interval_covers_as_the_binomial_says_on_a_skewed_distribution() -> None:
    rng = np.random.default_rng(11)
    n = 30
    j, _ = precision.median_ranks(n)
    samples = rng.exponential(1.0, size=(TRIALS, n))
    true_median = math.log(2)
    covered = [lo <= true_median <= hi for lo, hi in map(precision.median_interval, samples)]
    expected = precision.median_coverage(n, j)
    assert abs(np.mean(covered) - expected) < 3 * math.sqrt(expected * (1 - expected) / TRIALS)


def test_median_interval_keeps_its_level_with_ties() -> None:
    """Counts with many ties (a Poisson of mean 3): the interval is conservative, not short."""
    rng = np.random.default_rng(12)
    samples = rng.poisson(3.0, size=(TRIALS, 40))
    covered = [lo <= 3 <= hi for lo, hi in map(precision.median_interval, samples)]
    assert np.mean(covered) >= 0.95 - 3 * math.sqrt(0.95 * 0.05 / TRIALS)


def test_mean_interval_covers_95_percent_of_normal_samples() -> None:
    rng = np.random.default_rng(13)
    samples = rng.normal(10.0, 5.0, size=(TRIALS, 15))
    half = np.array([precision.mean_half_width(s) for s in samples])
    covered = np.abs(samples.mean(axis=1) - 10.0) <= half
    assert abs(covered.mean() - 0.95) < 3 * math.sqrt(0.95 * 0.05 / TRIALS)


def _exact_sample(mean: float, sd: float, n: int) -> np.ndarray:
    z = np.random.default_rng(0).normal(size=n)
    return mean + sd * (z - z.mean()) / z.std(ddof=1)


def test_replicates_for_the_mean_known_answer() -> None:
    """Mean 10, sd 5, ±5% of the mean at 95%: (1.96 × 5 / 0.5)² = 384.1, so 385."""
    assert precision.replicates_for_mean(_exact_sample(10.0, 5.0, 100), 0.05) == 385
    # a tenfold target: a hundredfold count (up to rounding)
    assert precision.replicates_for_mean(_exact_sample(10.0, 5.0, 100), 0.5) == 4


def test_that_many_replicates_reach_the_target_half_width() -> None:
    """The projection's consequence: runs of the projected size have half-widths near the
    target (the median over repeated runs within a few percent of it)."""
    rng = np.random.default_rng(14)
    needed = precision.replicates_for_mean(rng.gamma(2.0, 3.0, 400), 0.05)
    assert needed is not None and 300 < needed < 800  # gamma(2, 3): sd/mean = 0.71 -> ~780
    runs = rng.gamma(2.0, 3.0, size=(300, needed))
    relative = [precision.mean_half_width(r) / r.mean() for r in runs]
    assert 0.045 < np.median(relative) < 0.056


@pytest.mark.parametrize("values", [[4.0] * 10, [0.0, 0.0, 1.0, -1.0], [7.0]])
def test_no_count_where_none_is_defined(values: list[float]) -> None:
    """The same value every time, a mean of 0, or one replicate: no projection."""
    assert precision.replicates_for_mean(np.array(values), 0.05) is None


def test_replicates_for_a_share() -> None:
    assert precision.replicates_for_share(50, 100, 0.05) == 385  # 1.96² × 0.25 / 0.05²
    seen_never = precision.replicates_for_share(0, 100, 0.05)
    assert 0 < seen_never < 385  # Wilson's centre, not 0: a count, smaller than at 0.5
    assert precision.replicates_for_share(50, 100, 0.1) == 97


@pytest.mark.parametrize(
    ("needed", "shown"), [(7, 7), (99, 99), (100, 100), (101, 110), (2103, 2200), (1000, 1000)]
)
def test_projected_counts_are_rounded_up_to_two_digits(needed: int, shown: int) -> None:
    assert precision.shown_count(needed) == shown


def test_constant_outcome_has_a_point_median_interval() -> None:
    p = precision.outcome_precision("chinese_killed", np.full(20, 3.0))
    assert (p.median_low, p.median_high, p.half_width, p.needed) == (3.0, 3.0, 0.0, None)


# --- the command ----------------------------------------------------------------------------


def _one_line_error(capsys: pytest.CaptureFixture[str], *needles: str) -> None:
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    for needle in needles:
        assert needle in lines[0]


def test_command_prints_every_outcome_and_share(tmp_path: Path, make_run, capsys) -> None:
    run = make_run(tmp_path / "a", n=40)
    before = sorted(p.name for p in run.iterdir())
    assert cli.precision_command([str(run)]) == 0
    out = capsys.readouterr().out
    for name in OUTCOMES:
        assert OUTCOMES[name][0] in out
    for label in EVENTS.values():
        assert label in out
    assert "replicates for ±5%" in out and "median [95% CI]" in out
    assert sorted(p.name for p in run.iterdir()) == before  # writes nothing


def test_csv_holds_what_the_functions_compute(tmp_path: Path, make_run, capsys) -> None:
    run = make_run(tmp_path / "a", n=40)
    assert cli.precision_command([str(run), "--csv", "--mean-within", "0.1"]) == 0
    frame = pd.read_csv(io.StringIO(capsys.readouterr().out))
    summary = pd.read_parquet(run / "summary.parquet")
    row = frame.set_index("name").loc["attacks_total"]
    values = summary["attacks_total"].to_numpy(dtype=float)
    assert row["estimate"] == pytest.approx(values.mean())
    assert row["half_width"] == pytest.approx(precision.mean_half_width(values))
    assert row["replicates_needed"] == precision.replicates_for_mean(values, 0.1)
    assert (row["median_low"], row["median_high"]) == precision.median_interval(values)
    hold = frame.set_index("name").loc["investment_hold"]
    assert hold["estimate"] == pytest.approx(summary["investment_hold"].mean())
    assert set(frame["kind"]) == {"outcome", "share"}


def test_a_sweep_gives_one_table_per_job(tmp_path: Path, make_sweep, capsys) -> None:
    sweep = make_sweep(tmp_path / "sweep", {"x": [1, 2], "y": [3]}, n=12)
    assert cli.precision_command([str(sweep)]) == 0
    out = capsys.readouterr().out
    assert out.count("median [95% CI]") == 2  # one table per job
    assert out.count(" minus ") == 1  # and the second job's differences from the first


@pytest.mark.parametrize(
    ("option", "value", "needle"),
    [
        ("--mean-within", "0", "--mean-within=0"),
        ("--mean-within", "5", "at most 1"),
        ("--mean-within", "nan", "--mean-within=nan"),
        ("--share-within", "abc", "expected a number"),
        ("--share-within", "0.6", "at most 0.5"),
    ],
)
def test_bad_options_get_one_line(
    tmp_path: Path, make_run, capsys, option: str, value: str, needle: str
) -> None:
    run = make_run(tmp_path / "a", n=10)
    assert cli.precision_command([str(run), option, value]) == 2
    _one_line_error(capsys, option, needle)


def test_missing_directory_gets_one_line(tmp_path: Path, capsys) -> None:
    assert cli.precision_command([str(tmp_path / "nope")]) == 2
    _one_line_error(capsys, "nope", "no such directory")


# --- differences ------------------------------------------------------------------------------


def test_replicates_for_a_half_width() -> None:
    assert precision.replicates_for_half_width(100, 2.0, 1.0) == 400  # half as wide: 4x
    assert precision.replicates_for_half_width(100, 0.5, 1.0) == 25
    assert precision.replicates_for_half_width(100, 0.0, 1.0) is None  # runs that agree
    assert precision.replicates_for_half_width(100, 1.0, 0.0) is None  # a reference mean of 0


def test_difference_precision_reads_compares_table() -> None:
    """Known answer on a hand-made table: the reference's mean 20, a difference of means with
    the interval [-1, 3] (half-width 2) from 50 replicates; ±5% of 20 is ±1: 50 × 2² = 200.
    A share's difference [-0.1, 0.1] from 50: 50 × (0.1 / 0.05)² = 200 as well."""
    table = pd.DataFrame(
        [
            {"label": "Base", "reference": "Base", "outcome": "attacks_total", "kind": "continuous",
             "n": 50, "mean": 20.0, "diff_mean": np.nan},
            {"label": "Other", "reference": "Base", "outcome": "attacks_total",
             "kind": "continuous", "n": 50, "mean": 21.0, "diff_mean": 1.0,
             "diff_mean_lo": -1.0, "diff_mean_hi": 3.0, "paired": True},
            {"label": "Base", "reference": "Base", "outcome": "investment_hold", "kind": "event",
             "n": 50, "mean": 0.4, "diff_mean": np.nan},
            {"label": "Other", "reference": "Base", "outcome": "investment_hold", "kind": "event",
             "n": 50, "mean": 0.4, "diff_mean": 0.0, "diff_mean_lo": -0.1,
             "diff_mean_hi": 0.1, "paired": False},
        ]
    )  # fmt: skip
    diffs = precision.difference_precision(table, 0.05, 0.05)
    assert [(d.name, d.needed, d.paired) for d in diffs] == [
        ("attacks_total", 200, True),
        ("investment_hold", 200, False),
    ]
    assert diffs[0].relative == pytest.approx(0.1)  # half-width 2 of a mean of 20
    assert math.isnan(diffs[1].relative)


def test_several_runs_add_the_differences(tmp_path: Path, make_run, capsys) -> None:
    a = make_run(tmp_path / "a", scenario="baseline", n=30)
    b = make_run(tmp_path / "b", scenario="full_pressure", n=30, shift=5.0)
    assert cli.precision_command([str(a), str(b), "--csv"]) == 0
    frame = pd.read_csv(io.StringIO(capsys.readouterr().out))
    diffs = frame[frame["kind"] == "difference"].set_index("name")
    from sim.analysis.compare import compare

    table = compare([a, b], "baseline")
    row = table[(table["outcome"] == "attacks_total") & table["diff_mean"].notna()].iloc[0]
    ref_mean = table[(table["outcome"] == "attacks_total") & table["diff_mean"].isna()]["mean"]
    half = (row["diff_mean_hi"] - row["diff_mean_lo"]) / 2
    expected = math.ceil(30 * (half / (0.05 * float(ref_mean.iloc[0]))) ** 2)
    assert diffs.loc["attacks_total", "estimate"] == pytest.approx(row["diff_mean"])
    assert diffs.loc["attacks_total", "replicates_needed"] == max(2, expected)
    assert set(frame["kind"]) == {"outcome", "share", "difference", "share_difference"}
    assert cli.precision_command([str(a), str(b)]) == 0
    assert "Full pressure minus Baseline (30 replicates" in capsys.readouterr().out


def test_reference_errors_get_one_line(tmp_path: Path, make_run, capsys) -> None:
    a = make_run(tmp_path / "a", scenario="baseline", n=10)
    b = make_run(tmp_path / "b", scenario="full_pressure", n=10)
    assert cli.precision_command([str(a), "--reference", "baseline"]) == 2
    _one_line_error(capsys, "--reference needs two runs")
    assert cli.precision_command([str(a), str(b), "--reference", "nope"]) == 2
    _one_line_error(capsys, "unknown reference 'nope'")
