"""`cpec-sim precision`: intervals with known coverage, replicate counts with known answers."""

from __future__ import annotations

import io
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.stats import t as t_dist

from sim.analysis import cli, precision, stats
from sim.analysis.numbers import fmt_number
from sim.analysis.style import EVENTS, OUTCOMES
from sim.analysis.survival import MEANING

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


def test_mean_half_width_is_students() -> None:
    x = np.random.default_rng(3).gamma(2.0, 3.0, 12)
    low, high = t_dist.interval(0.95, x.size - 1, loc=x.mean(), scale=x.std(ddof=1) / 12**0.5)
    assert precision.mean_half_width(x) == pytest.approx((high - low) / 2, rel=1e-12)
    assert precision.mean_half_width(x[:1]) != precision.mean_half_width(x[:1])  # NaN


def _fewest(sd: float, target: float) -> int:
    """The count by brute force: the first i from 2 whose t half-width reaches the target."""
    i = 2
    while t_dist.ppf(0.975, i - 1) * sd / i**0.5 > target:
        i += 1
    return i


def test_replicates_for_the_mean_known_answer() -> None:
    """Mean 10, sd 5, ±5% of the mean: the normal's (1.96 × 5 / 0.5)² = 384.1 would say 385;
    Student's t says 387. At ±50% (a half-width of 5): t(i - 1) <= sqrt(i) first at i = 7
    (t(5) = 2.57 > 2.45; t(6) = 2.45 < 2.65), where the normal would say 4."""
    x = _exact_sample(10.0, 5.0, 100)
    assert precision.replicates_for_mean(x, 0.05) == _fewest(5.0, 0.5) == 387
    assert precision.replicates_for_mean(x, 0.5) == _fewest(5.0, 5.0) == 7


def test_a_count_within_the_run_means_the_target_is_met() -> None:
    """Consistency that a row's "(met)" rests on: the count is at most the run's replicates
    exactly when the run's own t half-width is within the target."""
    rng = np.random.default_rng(5)
    for _ in range(300):
        n = int(rng.integers(2, 60))
        x = rng.gamma(float(rng.uniform(0.5, 20)), 1.0, n)
        within = float(rng.uniform(0.01, 0.5))
        needed = precision.replicates_for_mean(x, within)
        met = precision.mean_half_width(x) <= within * abs(x.mean())
        assert needed is not None and (needed <= n) == met


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
    """The fewest replicates whose Wilson interval is ±0.05 or less at the share seen."""
    assert precision.replicates_for_share(0, 100, 0.05) == 35
    low, high = stats.wilson_interval(0, 35)  # none in 35: [0, 0.099]
    assert (high - low) / 2 <= 0.05 < (lambda w: (w[1] - w[0]) / 2)(stats.wilson_interval(0, 34))
    assert precision.replicates_for_share(0, 10_000, 0.05) == 35  # whatever the run's size
    assert precision.replicates_for_share(50, 100, 0.05) == 381
    assert stats.wilson_half_width(0.5, 381) <= 0.05 < stats.wilson_half_width(0.5, 380)
    assert precision.replicates_for_share(50, 100, 0.1) < 100  # met by the run itself
    assert precision.replicates_for_share(0, 0, 0.05) is None


@pytest.mark.parametrize(
    ("needed", "shown"), [(7, 7), (99, 99), (100, 100), (101, 110), (2103, 2200), (1000, 1000)]
)
def test_projected_counts_are_rounded_up_to_two_digits(needed: int, shown: int) -> None:
    assert precision.shown_count(needed) == shown


@pytest.mark.parametrize("value", [3.0, 0.4189, 0.5])
def test_constant_outcome_has_a_point_median_interval(value: float) -> None:
    """0.4189 in every replicate: numpy's sd is 5.6e-17, not 0 (a reviewer saw
    0.418899999999999939 ± 0.000000000000000011 and "2 (met)")."""
    p = precision.outcome_precision("legitimacy_final", np.full(20, value))
    assert (p.median_low, p.median_high, p.half_width, p.needed) == (value, value, 0.0, None)
    _, rows = precision.precision_rows(pd.DataFrame({"legitimacy_final": [value] * 20}))
    shown = fmt_number(value)  # as compare shows a number: 0.419
    assert rows[0][1:4] == [shown, "± 0", "0.0%"] and rows[0][-1] == "–"


def test_a_row_shows_the_mean_to_its_uncertainty() -> None:
    x = _exact_sample(10.5123, 10.0, 100)  # half-width t(99) × 10 / 10 = 1.98: "10.5 ± 2.0"
    _, rows = precision.precision_rows(pd.DataFrame({"attacks_total": x}), 0.05)
    assert rows[0][1:4] == ["10.5", "± 2.0", "19%"]  # 1.98 / 10.5123 of the mean
    assert rows[0][-1] == f"{precision.shown_count(_fewest(10.0, 0.05 * 10.5123)):,}"
    _, rows = precision.precision_rows(pd.DataFrame({"attacks_total": x}), 0.2)
    assert rows[0][-1].endswith("(met)")  # 19% is within ±20%


def test_values_near_the_float_limit_give_no_count() -> None:
    x = np.array([1e300, -1e300, 5e299, 2e299])
    assert precision.replicates_for_mean(x, 0.05) is None


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
    assert f"note: {MEANING}" in out  # what the weeks to the first pause are
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
    half = precision.mean_half_width(values)
    assert (row["low"], row["high"]) == pytest.approx((values.mean() - half, values.mean() + half))
    assert (row["median_low"], row["median_high"]) == precision.median_interval(values)
    hold = frame.set_index("name").loc["investment_hold"]
    assert hold["estimate"] == pytest.approx(summary["investment_hold"].mean())
    assert hold["target"] == 0.05  # the default, as --share-within was not given
    k = int(summary["investment_hold"].sum())
    assert hold["replicates_needed"] == precision.replicates_for_share(k, 40, 0.05)
    assert cli.precision_command([str(run), "--csv", "--share-within", "0.2"]) == 0
    hold = (
        pd.read_csv(io.StringIO(capsys.readouterr().out)).set_index("name").loc["investment_hold"]
    )
    assert hold["replicates_needed"] == precision.replicates_for_share(k, 40, 0.2)
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
        ("--mean-within", "5", "from 0.001 to 1"),
        ("--mean-within", "1e-160", "from 0.001 to 1"),
        ("--mean-within", "nan", "--mean-within=nan"),
        ("--share-within", "abc", "expected a number"),
        ("--share-within", "0.6", "to 0.5"),
        ("--share-within", "1e-170", "from 0.001"),
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
    assert precision.replicates_for_half_width(100, 0.0, 1.0) == 2  # runs that agree: met
    assert precision.replicates_for_half_width(100, 1.0, 0.0) is None  # a reference mean of 0


def test_a_count_equal_to_the_run_is_met() -> None:
    assert precision._needed_text(100, 100) == "100 (met)"
    assert precision._needed_text(101, 100) == "110"  # rounded up, and not met


def _row(label: str, outcome: str, kind: str, mean: float, **diff: object) -> dict[str, object]:
    row = {"label": label, "reference": "Base", "outcome": outcome, "kind": kind, "n": 50}
    row.update({"weeks": 104, "mean": mean, "diff_mean": np.nan, "paired": False})
    row.update(diff)
    return row


def _table(*rows: dict[str, object], **attrs: object) -> pd.DataFrame:
    table = pd.DataFrame(list(rows))
    table.attrs.update(attrs)
    return table


def test_difference_precision_reads_compares_table() -> None:
    """Known answer on a hand-made table: the reference's mean 20, a difference of means with
    the interval [-1, 3] (half-width 2) from 50 replicates; ±5% of 20 is ±1: 50 × 2² = 200.
    A share's difference [-0.1, 0.1] from 50: 50 × (0.1 / 0.05)² = 200 as well."""
    table = _table(
        _row("Base", "attacks_total", "continuous", 20.0),
        _row("Other", "attacks_total", "continuous", 21.0, diff_mean=1.0, diff_mean_lo=-1.0,
             diff_mean_hi=3.0, paired=True),
        _row("Base", "investment_hold", "event", 0.4),
        _row("Other", "investment_hold", "event", 0.4, diff_mean=0.0, diff_mean_lo=-0.1,
             diff_mean_hi=0.1),
        paired_runs=["Other"],
    )  # fmt: skip
    diffs = precision.difference_precision(table, 0.05, 0.05)
    assert [(d.name, d.needed, d.paired, d.why) for d in diffs] == [
        ("attacks_total", 200, True, ""),
        ("investment_hold", None, False, "few pairs"),  # the run pairs; this row did not
    ]
    assert diffs[0].relative == pytest.approx(0.1)  # half-width 2 of a mean of 20
    assert math.isnan(diffs[1].relative)
    diffs = precision.difference_precision(table, 0.1, 0.2)  # the targets given are used
    assert diffs[0].needed == 50


@pytest.mark.parametrize(
    ("change", "attrs", "why"),
    [
        ({"n": 40}, {}, "sizes"),  # compared apart, runs of 40 and 50 replicates
        ({"weeks": 52}, {}, "horizon"),
        ({}, {"other_source": ["Other"]}, "source"),
        ({"kind": "event", "mean": 0.0}, {}, "edge"),
        (
            {},
            {"by_construction": {"Other": {"chinese_killed": "set by a value"}}},
            "by construction",
        ),  # a reviewer: the freeze's capital projected a count
    ],
)
def test_no_count_where_the_interval_would_not_narrow_as_assumed(
    change: dict[str, object], attrs: dict[str, object], why: str
) -> None:
    """A reviewer: runs of 10,000 and 100 replicates projected 220,000; an apart row of a
    paired run projected 6,100 where 50 would do; other horizons projected without a word."""
    kind = str(change.get("kind", "continuous"))
    name = "investment_hold" if kind == "event" else "chinese_killed"
    table = _table(
        _row("Base", name, kind, 0.5 if kind == "event" else 9.0),
        {**_row("Other", name, kind, 8.0, diff_mean=-1.0, diff_mean_lo=-3.0,
                diff_mean_hi=1.0), **change},
        **attrs,
    )  # fmt: skip
    (d,) = precision.difference_precision(table)
    assert (d.needed, d.why) == (None, why)
    (_, _, rows) = precision.difference_tables([d])[0]
    assert rows[0][-1] == f"– ({why})" and rows[0][2] == "no"
    assert rows[0][3] == ("" if kind == "event" else "22%")  # 2 of the reference's 9


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
    assert cli.precision_command([str(a), str(b), "--csv", "--mean-within", "0.2"]) == 0
    wider = pd.read_csv(io.StringIO(capsys.readouterr().out))
    wider = wider[wider["kind"] == "difference"].set_index("name")
    expected = math.ceil(30 * (half / (0.2 * float(ref_mean.iloc[0]))) ** 2)
    assert wider.loc["attacks_total", "replicates_needed"] == max(2, expected)
    assert cli.precision_command([str(a), str(b)]) == 0
    assert "Full pressure minus Baseline (30 replicates)" in capsys.readouterr().out


def test_reference_errors_get_one_line(tmp_path: Path, make_run, capsys) -> None:
    a = make_run(tmp_path / "a", scenario="baseline", n=10)
    b = make_run(tmp_path / "b", scenario="full_pressure", n=10)
    assert cli.precision_command([str(a), "--reference", "baseline"]) == 2
    _one_line_error(capsys, "--reference needs two runs")
    assert cli.precision_command([str(a), str(b), "--reference", "nope"]) == 2
    _one_line_error(capsys, "unknown reference 'nope'")
