"""Scenario comparison: statistics, bootstrap differences, Wilson intervals, CSV and sweeps."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.analysis import compare as cmp
from sim.analysis import stats
from sim.analysis.runs import ResultsError, load_runs


def _two_scenarios(tmp_path: Path, make_frames, save_run) -> tuple[Path, Path]:
    rng = np.random.default_rng(11)
    base, ts, ev = make_frames(n=60, weeks=3, seed=1)
    other, ts2, ev2 = make_frames(n=60, weeks=3, seed=2)
    base["attacks_total"] = rng.normal(200.0, 10.0, 60)
    other["attacks_total"] = rng.normal(230.0, 10.0, 60)  # true difference in means: +30
    base["investment_hold"] = np.arange(60) < 21  # 21 of 60
    other["investment_hold"] = np.arange(60) < 45  # 45 of 60
    base["investors_withdrawn"] = np.where(np.arange(60) < 6, 2, 0)  # any withdrawal: 6 of 60
    a = save_run(tmp_path / "baseline", base, ts, ev, scenario="baseline")
    b = save_run(
        tmp_path / "troops",
        other,
        ts2,
        ev2,
        scenario="chinese_troops",
        overrides=["china.patience_loss_per_death=0.05"],
    )
    return a, b


def test_known_difference_in_means_is_covered_and_excludes_zero(
    tmp_path: Path, make_frames, save_run
) -> None:
    a, b = _two_scenarios(tmp_path, make_frames, save_run)
    table = cmp.compare([a, b], reference="baseline")
    assert table.attrs["reference"] == "Baseline"
    row = table[(table["outcome"] == "attacks_total") & (table["scenario"] == "chinese_troops")]
    assert len(row) == 1
    r = row.iloc[0]
    assert r["label"] == "Chinese troops [patience_loss_per_death=0.05]"
    assert r["diff_mean_lo"] < 30 < r["diff_mean_hi"]
    assert r["diff_mean_lo"] > 0
    assert r["diff_median_lo"] > 0
    ref_row = table[(table["outcome"] == "attacks_total") & (table["scenario"] == "baseline")]
    assert ref_row["diff_mean"].isna().all()  # no difference of the reference from itself


def test_statistics_equal_direct_computation(tmp_path: Path, make_frames, save_run) -> None:
    a, b = _two_scenarios(tmp_path, make_frames, save_run)
    table = cmp.compare([a, b])
    x = pd.read_parquet(b / "summary.parquet")["attacks_total"].to_numpy()
    y = pd.read_parquet(a / "summary.parquet")["attacks_total"].to_numpy()
    r = table[(table["outcome"] == "attacks_total") & (table["scenario"] == "chinese_troops")]
    r = r.iloc[0]
    assert r["n"] == 60
    assert r["mean"] == pytest.approx(x.mean())
    assert r["median"] == pytest.approx(np.median(x))
    assert r["q05"] == pytest.approx(np.quantile(x, 0.05))
    assert r["q95"] == pytest.approx(np.quantile(x, 0.95))
    ci = stats.bootstrap_diff_ci(x, y, "mean", cmp.N_BOOT, seed=cmp.BOOT_SEED)
    assert (r["diff_mean"], r["diff_mean_lo"], r["diff_mean_hi"]) == pytest.approx(
        (ci.estimate, ci.low, ci.high)
    )
    assert r["diff_mean"] == pytest.approx(x.mean() - y.mean())
    assert r["diff_median"] == pytest.approx(np.median(x) - np.median(y))


def test_event_probabilities_with_wilson_intervals(tmp_path: Path, make_frames, save_run) -> None:
    a, b = _two_scenarios(tmp_path, make_frames, save_run)
    table = cmp.compare([a, b])
    ev = table[table["kind"] == "event"].set_index(["scenario", "outcome"])
    hold = ev.loc[("baseline", "investment_hold")]
    assert hold["successes"] == 21 and hold["n"] == 60
    assert hold["probability"] == pytest.approx(0.35)
    # Wilson 95% for 21/60 by hand: centre (p + z²/2n)/(1 + z²/n), half width likewise
    z, n, p = 1.959963984540054, 60, 0.35
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    assert (hold["prob_lo"], hold["prob_hi"]) == pytest.approx((centre - half, centre + half))
    withdraw = ev.loc[("baseline", "any_withdrawal")]
    assert withdraw["successes"] == 6 and withdraw["probability"] == pytest.approx(0.1)
    other = ev.loc[("chinese_troops", "investment_hold")]
    assert other["diff_mean"] == pytest.approx(0.75 - 0.35)
    assert other["diff_mean_lo"] > 0


def test_comparison_csv_holds_the_computed_numbers(tmp_path: Path, make_frames, save_run) -> None:
    a, b = _two_scenarios(tmp_path, make_frames, save_run)
    runs = load_runs([a, b])
    table, paths = cmp.write_comparison(runs, tmp_path / "out", "baseline", plots=False)
    assert paths == [tmp_path / "out" / "comparison.csv"]
    back = pd.read_csv(paths[0])
    assert list(back.columns) == list(cmp.COLUMNS)
    assert back["label"].tolist() == table["label"].tolist()
    for col in ("n", "median", "mean", "q05", "q95", "diff_mean", "diff_mean_lo", "prob_lo"):
        np.testing.assert_allclose(
            back[col].to_numpy(dtype=float), table[col].to_numpy(dtype=float), rtol=1e-9
        )


def test_reference_resolution(tmp_path: Path, make_frames, save_run) -> None:
    a, b = _two_scenarios(tmp_path, make_frames, save_run)
    by_dir = cmp.compare([a, b], reference="troops")
    assert by_dir.attrs["reference"].startswith("Chinese troops")
    none = cmp.compare([a, b], reference=None)
    assert none["diff_mean"].isna().all() and none.attrs["reference"] is None
    with pytest.raises(ResultsError, match="unknown reference 'nope': choose one of"):
        cmp.compare([a, b], reference="nope")


def test_text_table(tmp_path: Path, make_frames, save_run) -> None:
    a, b = _two_scenarios(tmp_path, make_frames, save_run)
    text = cmp.format_table(cmp.compare([a, b]))
    assert text.startswith("Reference: Baseline.")
    assert "Attacks in total (attacks)" in text
    block = text.split("Attacks in total (attacks)\n", 1)[1].split("\n\n", 1)[0]
    line = next(ln for ln in block.splitlines() if ln.strip().startswith("Chinese troops"))
    assert line.rstrip().endswith("*")  # the +30 difference is flagged as excluding 0
    assert "(reference)" in next(ln for ln in block.splitlines() if "Baseline" in ln)
    assert "China's investment hold" in text and "0.35" in text


def test_two_dimensional_sweep(tmp_path: Path, make_sweep, monkeypatch) -> None:
    sweep = make_sweep(
        tmp_path / "sweep",
        {
            "attacks.chinese_troop_protection": [0.2, 0.8],
            "legitimacy.public_trust_in_china": [0.1, 0.5, 0.9],
        },
        n=5,
    )
    runs = load_runs([sweep])
    assert runs.sweep is not None and len(runs.runs) == 6
    assert (
        runs.runs[1].label
        == "Chinese troops [chinese_troop_protection=0.2, public_trust_in_china=0.5]"
    )
    assert cmp.plot_labels(runs)[1] == "0.2, 0.5"
    grid = cmp.sweep_grid(runs, "chinese_killed")
    assert grid is not None
    assert grid.columns.tolist() == [0.2, 0.8] and grid.index.tolist() == [0.1, 0.5, 0.9]
    for x in (0.2, 0.8):
        for y in (0.1, 0.5, 0.9):
            assert grid.loc[y, x] == pytest.approx(100 * x + 10 * y)
    fig = cmp.figure_heatmap(runs, outcomes=("chinese_killed",))
    assert fig is not None
    cells = sorted(float(t.get_text()) for t in fig.axes[0].texts)
    assert cells == pytest.approx(
        sorted(100 * x + 10 * y for x in (0.2, 0.8) for y in (0.1, 0.5, 0.9))
    )
    # writing: the many-panel figures are exercised elsewhere; keep this test fast
    for name in ("figure_boxes", "figure_ecdfs", "figure_differences"):
        monkeypatch.setattr(cmp, name, lambda *args, **kw: None)
    table, paths = cmp.write_comparison(runs, sweep, reference="0")
    names = {p.name for p in paths}
    assert names == {
        "comparison.csv",
        "sweep_heatmap.png",
        "sweep_heatmap.svg",
        "compare_events.png",
        "compare_events.svg",
    }
    assert table.attrs["reference"] == runs.runs[0].label
    assert "Chinese troops" in (sweep / "sweep_heatmap.svg").read_text()


def test_sweep_jobs_without_summary_are_skipped(tmp_path: Path, make_sweep, capsys) -> None:
    sweep = make_sweep(tmp_path / "sweep", {"a.x": [1, 2], "b.y": [3]}, n=3)
    (sweep / "1" / "summary.parquet").unlink()
    runs = load_runs([sweep])
    assert [r.path.name for r in runs.runs] == ["0"]
    assert "skipping sweep job" in capsys.readouterr().err


def test_every_comparison_figure_is_named_where_the_run_command_looks() -> None:
    from sim.analysis.outputs import COMPARISON_FIGURES

    assert tuple(cmp.COMPARISON_BUILDERS) == COMPARISON_FIGURES
