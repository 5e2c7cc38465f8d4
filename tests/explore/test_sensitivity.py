"""Sensitivity analysis: Ishigami's known Sobol indices through the code path the model uses."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from sim.explore import sensitivity as sa
from sim.explore.evaluate import CrisisOutcomes, evaluate
from sim.explore.execution import Execution
from sim.explore.functions import constant, ishigami, ishigami_indices, ishigami_space
from sim.explore.sensitivity import format_indices, run_sensitivity, unit_design
from sim.explore.space import StudyError
from sim.runner import RunSpec, replicate_seed, run
from tests.conftest import CPEC, cpec

QUIET = Execution(progress=None)


@pytest.fixture(scope="module")
def ishigami_sobol(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    out = tmp_path_factory.mktemp("ishigami")
    return out, run_sensitivity(ishigami_space(), ishigami, out, samples=1024, execution=QUIET)


def test_ishigami_sobol_indices_match_the_analytic_values(ishigami_sobol) -> None:  # type: ignore[no-untyped-def]
    _, result = ishigami_sobol
    truth = ishigami_indices()
    table = result.indices.set_index("parameter")
    for name in ("x1", "x2", "x3"):
        assert table.loc[name, "S1"] == pytest.approx(truth["S1"][name], abs=0.04)
        assert table.loc[name, "ST"] == pytest.approx(truth["ST"][name], abs=0.04)
        # the bootstrap intervals are honest: the true value is within 2 half-widths
        for index in ("S1", "ST"):
            half = table.loc[name, f"{index}_conf"]
            assert 0 < half < 0.2
            assert abs(table.loc[name, index] - truth[index][name]) < 2 * half
    assert len(result.evaluation.points) == 1024 * 5


def test_sobol_indices_do_not_depend_on_where_a_parameter_sits_in_the_study_file() -> None:
    """Known answers over 20 seeds, 10 parameters (each index 0.5). In SALib's design some
    pairs of the sequence's dimensions are dependent whatever the seed, and the parameters
    in their slots read far off: at N = 32, y = x_k + x_l gave S1 errors of 0.35-0.41 (root
    mean square) for x1, x2 and x8 against 0.05 for others; at N = 64, y = cos(2 pi x5) +
    cos(2 pi x9) gave x9's ST from 0.09 to 1.70 (error 0.47). A stranger's swap of two lines
    of a study file swapped the ranking. Every slot now errs about as Monte Carlo would."""
    from sim.explore.sensitivity import analyze
    from sim.explore.space import Space, Uncertainty

    space = Space(tuple(Uncertainty(f"x{i + 1}") for i in range(10)))

    def worst_error(samples: int, k: int, m: int, f: Any) -> float:
        errors = []
        for seed in range(20):
            unit = unit_design(space, "sobol", samples, seed)
            t = analyze(space, "sobol", unit, f(unit[:, k]) + f(unit[:, m]), seed=seed)
            errors.append(np.r_[t["S1"].to_numpy()[[k, m]], t["ST"].to_numpy()[[k, m]]] - 0.5)
        return float(np.sqrt(np.mean(np.square(errors), axis=0)).max())

    for k, m in ((0, 1), (1, 9), (4, 5), (7, 8)):
        assert worst_error(32, k, m, lambda x: x) < 0.25, (k, m)
    assert worst_error(64, 4, 8, lambda x: np.cos(2 * np.pi * x)) < 0.3
    # the layout SALib's analysis reads: A, A with B's column j, B
    blocks = unit_design(space, "sobol", 32, 3).reshape(32, 12, 10)
    a, b = blocks[:, 0, :], blocks[:, -1, :]
    for j in range(10):
        assert np.array_equal(np.delete(blocks[:, 1 + j, :], j, 1), np.delete(a, j, 1))
        assert np.array_equal(blocks[:, 1 + j, j], b[:, j])


def test_an_impossible_first_order_index_earns_a_caution() -> None:
    """S1 = -0.61 +- 0.44 (entirely below 0) and S1 above ST went without a word."""
    from sim.explore.sensitivity import _impossible_first_order

    block = pd.DataFrame(
        {
            "parameter": ["a", "b", "c", "d"],
            "S1": [-0.61, 0.76, 0.30, -0.05],
            "S1_conf": [0.44, 0.05, 0.40, 0.10],
            "ST": [0.20, 0.62, 0.10, 0.01],
            "ST_conf": [0.05, 0.05, 0.05, 0.01],
        }
    )
    (line,) = _impossible_first_order(block)
    assert "S1 of a, b is impossible" in line  # c and d are within their intervals
    assert _impossible_first_order(block.iloc[2:]) == []


def test_ishigami_outputs_table_csv_and_plots(ishigami_sobol) -> None:  # type: ignore[no-untyped-def]
    out, result = ishigami_sobol
    text = format_indices(result)
    assert "S1_conf" in text and "ST_conf" in text and "x1" in text
    csv = pd.read_csv(out / "indices.csv")
    assert list(csv.columns) == [
        "outcome", "parameter", "S1", "S1_conf", "ST", "ST_conf", "noise_share", "ST_noise",
        "ST_noise_line",
    ]  # fmt: skip
    for ext in ("png", "svg"):
        assert (out / "plots" / f"sensitivity.{ext}").stat().st_size > 5000
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "complete" and manifest["method"] == "sobol"


def test_rerun_resumes_every_point_and_gives_the_same_indices(ishigami_sobol) -> None:  # type: ignore[no-untyped-def]
    out, first = ishigami_sobol
    again = run_sensitivity(ishigami_space(), ishigami, out, samples=1024, execution=QUIET)
    assert again.evaluation.resumed_points == 1024 * 5
    pd.testing.assert_frame_equal(again.indices, first.indices)


def test_another_design_in_the_same_directory_is_refused(ishigami_sobol) -> None:  # type: ignore[no-untyped-def]
    out, _ = ishigami_sobol
    with pytest.raises(StudyError, match="holds another study"):
        run_sensitivity(ishigami_space(), ishigami, out, samples=512, execution=QUIET)


def test_morris_screen_of_ishigami(tmp_path: Path) -> None:
    result = run_sensitivity(
        ishigami_space(), ishigami, tmp_path, method="morris", samples=100, execution=QUIET
    )
    table = result.indices.set_index("parameter")
    assert list(result.indices.columns) == [
        "outcome",
        "parameter",
        "mu",
        "mu_star",
        "mu_star_conf",
        "sigma",
        "noise_share",
        "mu_star_noise",
        "mu_star_noise_line",
    ]
    assert (table["mu_star"] > 0).all()
    # x2 acts alone (sin^2, no interaction): its effects vary less than x3's, which only
    # acts through its interaction with x1
    assert table.loc["x3", "sigma"] > table.loc["x3", "mu"] and abs(table.loc["x3", "mu"]) < 1.5
    assert (tmp_path / "plots" / "sensitivity.png").exists()


@pytest.mark.parametrize("method", ["sobol", "morris"])
def test_a_constant_outcome_is_reported_not_a_crash(tmp_path: Path, method: str) -> None:
    result = run_sensitivity(
        ishigami_space(), constant, tmp_path, method=method, samples=8, execution=QUIET
    )
    values = result.indices[
        ["mu", "mu_star", "mu_star_conf", "sigma"]
        if method == "morris"
        else ["S1", "S1_conf", "ST", "ST_conf"]
    ].to_numpy()
    assert np.isnan(values).all() if method == "sobol" else (values == 0).all()
    if method == "sobol":
        assert "constant over the design" in format_indices(result)
        assert "caution: 8 base samples: intervals bootstrapped from so few" in (
            format_indices(result)
        )
    assert (tmp_path / "plots/sensitivity.png").exists()


def test_an_outcome_constant_over_the_base_samples_gets_no_indices_not_zeros() -> None:
    """Sobol's estimators divide by the variance over the base samples A and B: a rare 0/1
    outcome that varied only at a mixed point got every index 0 ± 0 from SALib (which the
    guide reads as "can be fixed anywhere"). Its indices are undefined, and the text says
    why."""
    from SALib.analyze import sobol

    space = ishigami_space()
    unit = unit_design(space, "sobol", 8, 0)
    y = np.zeros(len(unit))
    y[1] = 1.0  # the first block's AB_1: neither A nor B
    with pytest.warns(UserWarning):
        salib = sobol.analyze(space.salib_problem(), y, calc_second_order=False, seed=1)
    assert (salib["ST"] == 0).all()  # what the command printed before
    table = sa.analyze(space, "sobol", unit, y)
    assert table[["S1", "S1_conf", "ST", "ST_conf"]].isna().all().all()
    assert "though not at the mixed points" in sa.undefined_reason(y)
    assert "constant over the design" in sa.undefined_reason(np.zeros(len(unit)))


def test_a_parameter_that_never_moved_an_outcome_is_not_called_unread() -> None:
    """'No effect at all (not read in this study)' was printed for parameters the model
    reads, whose moves happened to leave one outcome unchanged: it says that now."""
    block = pd.DataFrame(
        {"parameter": ["a", "b"], "mu_star": [0.0, 2.0], "mu_star_noise_line": [0.0, 0.5]}
    )
    text = "\n".join(sa._within_noise_lines(block, "morris"))
    assert "not read" not in text and "no effect at all" not in text
    assert "no change of this outcome in any replicate of any step that moved it: a" in text
    assert "1 of 2 parameters have mu_star at or below its sign-flip line" in text


def test_sobol_needs_a_power_of_two() -> None:
    with pytest.raises(StudyError, match="power of two"):
        unit_design(ishigami_space(), "sobol", 100, 0)


def test_points_run_the_replicates_of_cpec_sim_run(tmp_path: Path) -> None:
    """Replicate r of a point has seed replicate_seed(seed, r): the runner's replicates."""
    fn = CrisisOutcomes("iran_border", weeks=5)
    point = {"china.initial_patience": 0.31, "attacks.success_chinese": 0.7}
    design = pd.DataFrame([point, {"china.initial_patience": 0.5, "attacks.success_chinese": 0.5}])
    ev = evaluate(design, fn, tmp_path / "study", Execution(replicates=3, seed=11, progress=None))
    outcome = run(
        RunSpec(fn.params(point), scenario="iran_border", replicates=3, seed=11, weeks=5),
        tmp_path / "run",
        progress=None,
    )
    assert outcome.status == "complete"
    summary = pd.read_parquet(tmp_path / "run" / "summary.parquet")
    reps = pd.read_parquet(tmp_path / "study" / "replicates.parquet")
    mine = reps[reps["point"] == 0].reset_index(drop=True)
    assert list(mine["seed"]) == [replicate_seed(11, r) for r in range(3)] == list(summary["seed"])
    for col in ("chinese_killed", "attacks_total", "legitimacy_final", "investment_hold"):
        assert list(mine[col]) == list(summary[col])
    row = ev.points.iloc[0]
    assert row["attacks_total"] == pytest.approx(summary["attacks_total"].mean())
    assert row["investment_hold_share"] == pytest.approx(summary["investment_hold"].mean())


def test_a_study_of_a_changed_model_is_not_resumed(tmp_path: Path, monkeypatch) -> None:
    """A changed scenario file (or default, or rule) makes another study, not a resumable one:
    the reviewer's re-run after editing baseline.yaml silently printed the old indices."""
    from sim.explore import evaluate as evaluation

    fn = CrisisOutcomes("baseline", weeks=2)
    design = pd.DataFrame([{"china.initial_patience": 0.3}])
    quick = Execution(replicates=1, seed=1, progress=None)
    evaluate(design, fn, tmp_path / "study", quick)
    evaluate(design, fn, tmp_path / "study", quick)  # the same model resumes (nothing to do)
    edited = {**evaluation._scenario_data("baseline"), "attacks": {"lethality_security": 2.4}}
    monkeypatch.setattr(evaluation, "_scenario_data", lambda name: edited)
    with pytest.raises(StudyError, match="holds another study"):
        evaluate(design, fn, tmp_path / "study", quick)
    monkeypatch.undo()
    before = fn.fingerprint()
    monkeypatch.setattr("sim.fingerprint.rules_fingerprint", lambda: "other rules")
    assert fn.fingerprint() != before  # a rule changed: another model


def test_results_do_not_depend_on_workers_or_chunking(tmp_path: Path) -> None:
    fn = CrisisOutcomes("baseline", weeks=3)
    design = pd.DataFrame({"china.initial_patience": np.linspace(0.3, 0.6, 6)})
    one_worker = Execution(replicates=2, jobs=1, chunk_points=4, progress=None)
    two_workers = Execution(replicates=2, jobs=2, chunk_points=1, progress=None)
    a = evaluate(design, fn, tmp_path / "a", one_worker)
    b = evaluate(design, fn, tmp_path / "b", two_workers)
    pd.testing.assert_frame_equal(a.points, b.points)
    pd.testing.assert_frame_equal(
        pd.read_parquet(tmp_path / "a/replicates.parquet"),
        pd.read_parquet(tmp_path / "b/replicates.parquet"),
    )


# --- the command ------------------------------------------------------------------------------
def test_cli_fast_sobol_prints_indices_and_writes_outputs(workdir: Path) -> None:
    out = cpec(
        "sensitivity",
        "--fast",
        "--jobs",
        "2",
        "--outcome",
        "chinese_killed",
        "investment_hold",
        cwd=workdir,
    )
    assert out.returncode == 0, out.stderr
    assert "S1_conf" in out.stdout and "investment_hold_share" in out.stdout
    study = next((workdir / "results/sensitivity/sensitivity").iterdir())
    assert study.name == "sobol-n8-r2-w8-s0"
    csv = pd.read_csv(study / "indices.csv")
    assert set(csv["outcome"]) == {"chinese_killed", "investment_hold_share"}
    assert len(csv) == 2 * 10
    assert (study / "plots/sensitivity.png").exists() and (study / "plots/sensitivity.svg").exists()


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--samples", "6"], "power of two"),
        (["--samples", "4"], "samples=4 is not allowed for Sobol: a power of two, at least 8"),
        (["--samples", "1"], "at least 8"),  # 1 is 2**0: the minimum is the reason
        (["--outcome", "nope"], "unknown outcome 'nope'"),
        (["--outcome", "weeks_to_first_pause"], "undefined in replicates where"),
        (["--method", "fast99"], "invalid choice"),
        (["--jobs", "0"], "--jobs=0 is not allowed"),
        (["--jobs", "100000"], "--jobs=100000 is not allowed: give 1 to 256"),  # as run allows
        (["--engine", "local", "--scheduler", "tcp://x:1"], "--scheduler needs --engine dask"),
        # a stranger: these printed the study's banner first (two lines)
        (["--scheduler", "garbage"], "is not a scheduler address"),
        (["--out", "/etc"], "is a system or home folder"),
        (["--weeks", "abc"], "--weeks: expected a whole number, got 'abc'"),  # as calibrate says
    ],
)
def test_cli_bad_options_fail_in_one_line_and_write_nothing(
    workdir: Path, args: list[str], needle: str
) -> None:
    out = cpec("sensitivity", "--fast", *args, cwd=workdir)
    assert out.returncode == 2
    assert needle in out.stderr and len(out.stderr.strip().splitlines()) == 1
    assert "Traceback" not in out.stderr
    assert not (workdir / "results").exists()
    if "unknown outcome" in needle:  # the choices offered are ones the command accepts
        assert "investment_hold_share" in out.stderr and "first_pause" not in out.stderr


def test_cli_range_outside_bounds_fails_in_one_line(workdir: Path) -> None:
    spec = workdir / "bad.yaml"
    spec.write_text("uncertainties:\n  china.patience_loss_per_death: [0.01, 1.2]\n")
    out = cpec("sensitivity", "--spec", str(spec), "--fast", cwd=workdir)
    assert out.returncode == 2
    assert out.stderr.strip().count("\n") == 0
    assert "china.patience_loss_per_death: range [0.01, 1.2] is outside its bounds" in out.stderr
    assert not (workdir / "results").exists()


def test_a_study_files_bad_setting_is_named_as_the_files_not_an_option(workdir: Path) -> None:
    """A reviewer: a spec's `weeks: 99999` was reported as --weeks=99999, a flag not given."""
    spec = workdir / "long.yaml"
    spec.write_text("weeks: 99999\nuncertainties:\n  china.patience_loss_per_death: [0.01, 0.1]\n")
    out = cpec("sensitivity", "--spec", str(spec), "--method", "morris", cwd=workdir)
    assert out.returncode == 2 and out.stderr.strip().count("\n") == 0
    assert f"{spec}: weeks: 99999 is not allowed" in out.stderr and "--weeks" not in out.stderr
    given = cpec("sensitivity", "--spec", str(spec), "--weeks", "0", cwd=workdir)
    assert "--weeks=0 is not allowed" in given.stderr


def test_cli_interrupted_study_resumes_to_the_same_result(workdir: Path) -> None:
    args = [
        "sensitivity",
        "--fast",
        "--method",
        "morris",
        "--replicates",
        "4",
        "--jobs",
        "1",
        "--quiet",
    ]
    env = {**os.environ, "MPLBACKEND": "Agg"}
    proc = subprocess.Popen(
        [CPEC, *args, "--out", "study"],
        cwd=workdir,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.time() + 60
    while time.time() < deadline and not list((workdir / "study/chunks").glob("*.done.json")):
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "re-run the same command to resume" in err
    manifest = json.loads((workdir / "study/manifest.json").read_text())
    assert manifest["status"] == "interrupted"
    assert not list((workdir / "study/chunks").glob(".*.tmp"))
    assert list((workdir / "study/chunks").glob("*.done.json"))
    assert not (workdir / "study/points.parquet").exists()

    resumed = cpec(*args, "--out", "study", cwd=workdir)
    assert resumed.returncode == 0, resumed.stderr
    manifest = json.loads((workdir / "study/manifest.json").read_text())
    assert manifest["status"] == "complete" and 0 < manifest["resumed_points"] < 44
    clean = cpec(*args, "--out", "clean", cwd=workdir)
    assert clean.returncode == 0, clean.stderr
    for name in ("points.parquet", "replicates.parquet", "indices.csv"):
        assert (workdir / "study" / name).read_bytes() == (workdir / "clean" / name).read_bytes()


def test_a_study_without_outcomes_analyses_the_defined_ones() -> None:
    from sim.explore.cli import crisis_outcome_names

    every, defined = crisis_outcome_names(), crisis_outcome_names(defined=True)
    assert "weeks_to_first_pause" in every and "weeks_to_first_pause" not in defined
    assert set(every) - set(defined) == {"weeks_to_first_pause"}
    assert "pause_free_weeks" in defined  # its stand-in, defined in every replicate


def test_the_point_function_adds_the_weeks_to_the_first_pause() -> None:
    """pause_free_weeks = the week of the first pause, the horizon where none came: the
    baseline pauses in week 4 in most replicates; over 3 weeks none can pause (no monthly
    decision yet), so every replicate has the horizon."""
    from sim.explore.evaluate import CrisisOutcomes

    seen = set()
    for seed in range(12):
        out = CrisisOutcomes("baseline", weeks=30)({}, seed)
        first = out["weeks_to_first_pause"]
        assert out["pause_free_weeks"] == (30.0 if math.isnan(first) else first)
        seen.add(out["pause_free_weeks"])
        assert CrisisOutcomes("baseline", weeks=3)({}, seed)["pause_free_weeks"] == 3.0
    assert 4.0 in seen


def test_a_study_of_other_derived_outputs_is_another_study(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A reviewer: a study stored before pause_free_weeks existed was resumed into one that
    has it, and failed writing chunks of two schemas; the fingerprint counts what is derived."""
    from sim.explore import evaluate as ev
    from sim.explore.evaluate import ContrastOutcomes

    fn, contrast = CrisisOutcomes("baseline", weeks=8), ContrastOutcomes("baseline", weeks=8)
    before = fn.fingerprint(), contrast.fingerprint()
    monkeypatch.setattr(ev, "derived_fingerprint", lambda: "other outputs")
    assert fn.fingerprint() != before[0] and contrast.fingerprint() != before[1]


def test_morris_effects_of_whole_numbers_use_the_steps_they_take() -> None:
    """y = n + 2 f changes by 4 over n's range [8, 12] and by 2 over f's [0, 1]: mu* must be
    exactly that. SALib's nominal step (2/3 of the range) gave 4.5 for n: its steps are 8 -> 11
    and 9 -> 12 once rounded; [1, 3] steps 1 -> 3 or 2 -> 3 (the whole range or half)."""
    from SALib.analyze import morris

    from sim.explore.sensitivity import morris_indices, unit_design
    from sim.explore.space import Space, Uncertainty

    space = Space((Uncertainty("n", "int", 8, 12), Uncertainty("f"), Uncertainty("k", "int", 1, 3)))
    unit = unit_design(space, "morris", 40, 3)
    x = space.table(unit)
    y = (x["n"] + 2 * x["f"] + x["k"]).to_numpy(dtype=float)
    mine = morris_indices(space, unit, y)
    assert mine["mu_star"] == pytest.approx([4.0, 2.0, 2.0])
    assert mine["sigma"] == pytest.approx([0.0, 0.0, 0.0], abs=1e-9)
    nominal = morris.analyze(space.salib_problem(), unit, y, num_levels=4, seed=1)
    assert nominal["mu_star"][0] == pytest.approx(4.5)  # what the nominal step said


def test_the_noise_share_counts_only_noise_that_differs_between_points() -> None:
    """y[j, r] = m_j + c_r + e_jr: c_r is what replicate r's shared seed does to every point
    alike (it moves no index), e_jr the rest, whose variance over R replicates is the noise
    in a point's mean."""
    from sim.explore.sensitivity import point_noise_share

    rng = np.random.default_rng(8)
    points, reps = 400, 5
    m = rng.normal(0, 2, points)[:, None]  # variance 4
    common = rng.normal(0, 10, reps)[None, :]  # large, shared by every point
    table = m + common + rng.normal(0, 3, (points, reps))  # noise of a mean: 9 / 5 = 1.8
    expected = 1.8 / (4 + 1.8)
    assert point_noise_share(table) == pytest.approx(expected, rel=0.1)
    assert point_noise_share(m + common + 0 * table) == pytest.approx(0.0, abs=1e-12)
    assert math.isnan(point_noise_share(table[:, :1]))  # one replicate cannot tell


def test_morris_noise_is_each_parameters_own() -> None:
    """y = x1 (1 + c_r) + 0.05 x2 + noise_r(x3): replicate r's seed scales x1's effect, x2's
    effect is exact, and x3 stirs independent noise (sd 0.3) at every point. The mu_star that
    noise alone gives: about 0 for x2, and for x3 sqrt(2 / pi) sd(difference of two means) / step
    (a reviewer's case: one floor for all called x2's exact 0.05 unresolved)."""
    from sim.explore.sensitivity import morris_noise, unit_design
    from sim.explore.space import Space, Uncertainty

    space = Space((Uncertainty("x1"), Uncertainty("x2"), Uncertainty("x3")))
    unit = unit_design(space, "morris", 30, 2)
    x = space.table(unit).to_numpy()
    rng = np.random.default_rng(3)
    reps = 10
    common = rng.normal(0, 0.5, reps)[None, :]
    table = x[:, :1] * (1 + common) + 0.05 * x[:, 1:2] + rng.normal(0, 0.3, (len(x), reps))
    floors = morris_noise(space, unit, table)
    step = 2 / 3
    noise_of_mean_difference = math.sqrt(2 * 0.3**2 / reps) / step
    assert floors[2] == pytest.approx(math.sqrt(2 / math.pi) * noise_of_mean_difference, rel=0.15)
    exact = x[:, :1] * (1 + common) + 0.05 * x[:, 1:2]
    assert morris_noise(space, unit, exact)[1] == pytest.approx(0.0, abs=1e-9)  # x2: no noise
    assert math.isnan(morris_noise(space, unit, table[:, :1])[0])


def _stream_noise(x3: np.ndarray, reps: int, sd: float) -> np.ndarray:
    """Noise that changes only when x3 does, as a parameter that only reshuffles the model's
    random stream: replicate r of two points with the same x3 draws the same value."""
    keys = np.round(x3 * 2**32).astype(np.int64)
    return np.array(
        [[sd * np.random.default_rng([r, int(k)]).normal() for r in range(reps)] for k in keys]
    )


def test_sobol_noise_is_each_parameters_own_and_a_stream_placebo_is_within_it() -> None:
    """y = x1 + 0.3 x2 + noise(x3): x3 has no effect but stirs the random stream. Its total
    index is all noise, sd^2 / R / V by Jansen's estimator; x1's and x2's differences carry
    none (a reviewer's placebo read ST 0.075 +- 0.027 "significant" with no caution)."""
    from sim.explore.sensitivity import (
        analyze,
        sobol_noise,
        sobol_noise_line,
        unit_design,
        within_noise,
    )
    from sim.explore.space import Space, Uncertainty

    space = Space((Uncertainty("x1"), Uncertainty("x2"), Uncertainty("x3")))
    unit = unit_design(space, "sobol", 256, 4)
    x = space.table(unit).to_numpy()
    reps, sd = 10, 0.5
    table = x[:, :1] + 0.3 * x[:, 1:2] + _stream_noise(x[:, 2], reps, sd)
    noise = sobol_noise(space, table)
    total = 1.09 / 12 + sd**2 / reps  # the variance of the points' means
    assert noise[2] == pytest.approx(sd**2 / reps / total, rel=0.2)
    assert noise[:2] == pytest.approx([0.0, 0.0], abs=1e-12)  # same x3, same draws: no noise
    t = analyze(space, "sobol", unit, table.mean(axis=1), seed=1)
    t["ST_noise_line"] = sobol_noise_line(space, table)
    assert t["ST"][2] > t["ST_conf"][2]  # the raw interval excludes 0: noise read as effect
    assert within_noise(t, "sobol").tolist() == [False, False, True]
    assert math.isnan(sobol_noise(space, table[:, :1])[0])


def test_a_parameter_never_read_is_within_its_noise_not_resolved() -> None:
    """A reviewer's placebo: mu_star = mu_star_noise = 0 was counted as resolved (0 < 0)."""
    from sim.explore.sensitivity import within_noise

    block = pd.DataFrame(
        {
            "parameter": ["read", "unread"],
            "mu_star": [5.0, 0.0],
            "mu_star_noise_line": [1.0, 0.0],
            "ST": [0.5, 0.0],
            "ST_noise_line": [0.01, 0.0],
        }
    )
    assert within_noise(block, "morris").tolist() == [False, True]
    assert within_noise(block, "sobol").tolist() == [False, True]
    tie = pd.DataFrame(  # an adversarial check's 0/1 placebo: half the patterns gave 0.5
        {"mu_star": [0.5000000000000002, 0.51], "mu_star_noise_line": [0.5, 0.5]}
    )
    assert within_noise(tie, "morris").tolist() == [True, False]  # a rounding is a tie


def _switching_stream(x: np.ndarray, reps: int, seed: int, effect: float) -> np.ndarray:
    """y = x1 + effect [x3 > 0.5] + 0.3 noise: replicate r draws one of two values of the
    noise, which one set by whether x3 > 0.5 (a parameter that switches the random stream, as
    one that crosses a threshold of the model does), the same at every point; x2 is unread."""
    draws = np.random.default_rng(seed).normal(size=(2, reps))
    above = x[:, 2:3] > 0.5
    noise = np.where(above, draws[0][None, :], draws[1][None, :])
    return x[:, :1] + effect * above + 0.3 * noise


@pytest.mark.parametrize("method", ["sobol", "morris"])
def test_the_noise_line_passes_a_switched_stream_as_an_effect_in_about_5_percent(
    method: str,
) -> None:
    """Known answer, 100 designs of 10 replicates each way: x3 switches the random stream.
    Doing nothing else, its noise is the same in every pair that crosses 0.5, so it does not
    average out over the design: a line drawn for independent noise called it an effect in
    22-33% of studies (a reviewer's count); the sign-flip line holds it to about its 5%. With
    an effect of 1 beside the same noise (sd 0.3, so 0.13 in a mean of 10 differences of two
    draws) it is resolved; x1 always is, the unread x2 never."""
    from sim.explore.sensitivity import LINE_COLUMNS, analyze, noise_line, unit_design, within_noise
    from sim.explore.space import Space, Uncertainty

    space = Space((Uncertainty("x1"), Uncertainty("x2"), Uncertainty("x3")))
    designs = 100
    for effect, at_most, at_least in ((0.0, 0.1, 0.0), (1.0, 1.0, 0.9)):
        resolved = np.zeros(3)
        for seed in range(designs):
            unit = unit_design(space, method, 32 if method == "sobol" else 20, seed)
            table = _switching_stream(space.table(unit).to_numpy(), 10, seed, effect)
            t = analyze(space, method, unit, table.mean(axis=1), seed=seed)
            t[LINE_COLUMNS[method]] = noise_line(method, space, unit, table, seed)
            resolved += ~within_noise(t, method)
        assert resolved[0] == designs and resolved[1] == 0, (effect, resolved)
        assert at_least * designs <= resolved[2] <= at_most * designs, (effect, resolved)


def test_the_noise_line_is_an_exact_test_and_is_not_drawn_from_too_few_replicates() -> None:
    """The (m + 1)-th largest of the sign-flip values, m = floor(5% of them): an index equal
    to a pattern's value is not above it. At 5 replicates no line (the smallest exact p is
    1/16); at 6 the largest pair of values is resolved (p = 2/64)."""
    from sim.explore.sensitivity import critical_value, noise_line, sign_patterns, unit_design
    from sim.explore.space import Space, Uncertainty

    null = np.arange(40, dtype=float)[:, None]  # 40 patterns: m = 2, the 3rd largest
    assert critical_value(null)[0] == 37.0
    pairs = np.repeat(np.arange(32, dtype=float), 2)[:, None]  # 64 patterns in equal pairs
    assert critical_value(pairs)[0] == 30.0  # above it: only the top pair, p = 2/64
    assert sign_patterns(20, seed=1)[0].tolist() == [1.0] * 20  # the observed pattern is in
    space = Space((Uncertainty("x1"), Uncertainty("x2")))
    unit = unit_design(space, "sobol", 8, 0)
    table = np.random.default_rng(0).normal(size=(len(unit), 5))
    assert np.isnan(noise_line("sobol", space, unit, table))
    assert np.all(np.isfinite(noise_line("sobol", space, unit, np.c_[table, table[:, :1]])))


def test_sign_patterns_are_every_pattern_or_a_reproducible_draw() -> None:
    from sim.explore.sensitivity import MAX_SIGN_PATTERNS, sign_patterns

    few = sign_patterns(3)
    assert few.shape == (8, 3) and len({tuple(r) for r in few}) == 8
    many = sign_patterns(20, seed=4)
    assert many.shape == (MAX_SIGN_PATTERNS, 20) and set(np.unique(many)) == {-1.0, 1.0}
    assert np.array_equal(many, sign_patterns(20, seed=4))


def test_an_out_folder_that_cannot_be_written_is_refused_in_one_line(workdir: Path) -> None:
    from tests.conftest import unwritable_folder

    locked = workdir / "locked"
    locked.mkdir()
    with unwritable_folder(locked):
        out = cpec("sensitivity", "--fast", "--out", str(locked / "study"), cwd=workdir)
    assert out.returncode == 2, out.stderr
    assert f"--out {locked / 'study'}: cannot write in {locked}" in out.stderr
    assert "Traceback" not in out.stderr and list(locked.iterdir()) == []


def test_an_outcome_given_twice_or_under_both_names_is_analysed_once() -> None:
    from sim.explore.sensitivity import resolve_outcomes

    columns = ["point", "chinese_killed", "investment_hold_share"]
    requested = ["chinese_killed", "chinese_killed", "investment_hold", "investment_hold_share"]
    assert resolve_outcomes(requested, columns) == ["chinese_killed", "investment_hold_share"]
    with pytest.raises(StudyError, match="unknown outcome 'point'"):
        resolve_outcomes(["point"], columns)


def test_mu_star_error_bars_stop_at_zero_sobol_bars_do_not() -> None:
    """A stranger: a Morris figure drew μ* 0.19 ± 0.33 down to -0.14; μ* is a mean absolute
    effect and cannot be negative. A Sobol estimate can be, so its bars are left as computed."""
    value, conf = pd.Series([0.1875, 2.0, np.nan]), pd.Series([0.326, 0.5, 0.1])
    bars = sa._error_bars(value, conf, "mu_star")
    np.testing.assert_allclose(bars, [[0.1875, 0.5, np.nan], [0.326, 0.5, 0.1]])
    assert (value - bars[0]).min() >= 0.0
    sobol = sa._error_bars(pd.Series([-0.02, 0.4]), pd.Series([0.05, 0.1]), "S1")
    np.testing.assert_allclose(sobol, [[0.05, 0.1], [0.05, 0.1]])


# --- a scenario's effect as the outcome (--contrast) ------------------------------------------


def test_a_contrast_is_each_replicates_difference_between_the_two_scenarios() -> None:
    """A stranger subtracted two studies by hand to ask how the effect of joint operations
    depends on the assumptions; a contrast point is exactly that difference, seed by seed."""
    from sim.explore.evaluate import ContrastOutcomes, CrisisOutcomes

    point = {"china.initial_patience": 0.4, "recruitment.recruits_per_million_willing": 3.0}
    contrast = ContrastOutcomes("baseline", "joint_operation", weeks=26)
    for seed in (1, 2):
        base = CrisisOutcomes("baseline", 26)(point, seed)
        other = CrisisOutcomes("joint_operation", 26)(point, seed)
        got = contrast(point, seed)
        assert got["chinese_killed"] == other["chinese_killed"] - base["chinese_killed"]
        assert got["investment_hold_share"] == float(other["investment_hold"]) - float(
            base["investment_hold"]
        )
    assert (
        contrast.fingerprint()
        != ContrastOutcomes("baseline", "reform_and_development").fingerprint()
    )


def test_a_contrast_the_study_would_erase_is_refused(tmp_path: Path) -> None:
    from sim.explore.space import load_study

    spec = tmp_path / "s.yaml"
    spec.write_text(
        "scenario: baseline\ncontrast: joint_operation\n"
        "uncertainties:\n  china.joint_operations: [false, true]\n"
    )
    with pytest.raises(StudyError, match=r"china\.joint_operations is what joint_operation"):
        load_study(spec)
    spec.write_text(
        "scenario: baseline\ncontrast: baseline\n"
        "uncertainties:\n  china.initial_patience: [0.3, 0.6]\n"
    )
    with pytest.raises(StudyError, match="nothing to contrast"):
        load_study(spec)


def test_cli_fast_contrast_prints_differences(workdir: Path) -> None:
    out = cpec(
        "sensitivity", "--fast", "--contrast", "joint_operation", "--outcome", "chinese_killed",
        "investment_hold", cwd=workdir,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert "sensitivity of joint_operation - baseline" in out.stderr
    assert "= 384 runs" in out.stderr  # two runs a replicate
    assert "Each outcome is a difference, joint_operation minus baseline" in out.stdout
    study = next(
        (workdir / "results/sensitivity/sensitivity-joint_operation-minus-baseline").iterdir()
    )
    csv = pd.read_csv(study / "indices.csv")
    assert set(csv["outcome"]) == {"chinese_killed", "investment_hold_share"}
    assert json.loads((study / "manifest.json").read_text())["contrast"] == "joint_operation"


def test_a_contrast_with_ones_own_scenario_records_its_file(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A study's manifest names the file a scenario of $CPEC_SCENARIO_PATH came from, as a
    run's does (the shipped baseline has none)."""
    mine = workdir / "scenarios"
    mine.mkdir()
    (mine / "surge.yaml").write_text(
        "scenario: {name: surge, description: More SSD guards.}\npakistan: {ssd_troops: 45000}\n"
    )
    monkeypatch.setenv("CPEC_SCENARIO_PATH", str(mine))
    out = cpec(
        "sensitivity", "--fast", "--contrast", "surge", "--outcome", "chinese_killed",
        cwd=workdir,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    study = next((workdir / "results/sensitivity/sensitivity-surge-minus-baseline").iterdir())
    manifest = json.loads((study / "manifest.json").read_text())
    assert manifest["contrast_file"] == str((mine / "surge.yaml").resolve())
    assert "scenario_file" not in manifest


def test_morris_with_too_few_replicates_for_a_line_still_says_how_much_is_noise() -> None:
    """Below 6 replicates Morris drew no line and said nothing of the noise, which the
    analysis of variance measures from 2 (a reviewer)."""
    block = pd.DataFrame(
        {
            "parameter": ["a"],
            "mu_star": [1.0],
            "noise_share": [0.3],
            "mu_star_noise": [0.2],
            "mu_star_noise_line": [math.nan],
        }
    )
    lines = sa._noise_lines("morris", block, 2)
    # a stranger: Sobol's caution from 10% was missing here (43% read as a plain figure)
    assert lines[0] == (
        "  caution: replicate noise: 30% of the variance of the points' means; indices of "
        "about that size are noise, not effects (raise --replicates)"
    )
    assert "2 replicates: too few to tell each parameter's effect from noise" in lines[1]
    quiet = sa._noise_lines("morris", block.assign(noise_share=[0.05]), 2)
    assert quiet[0] == "  replicate noise: 5% of the variance of the points' means"


def two_outcomes(point: dict[str, Any], seed: int = 0) -> dict[str, float]:
    """Ishigami's y and its negation: two outcomes of one study."""
    y = ishigami(point, seed)["y"]
    return {"y": y, "minus_y": -y}


def test_a_study_read_again_keeps_its_evaluations_record_and_says_what_it_replaced(
    tmp_path: Path,
) -> None:
    """helper-185: analysing a finished study's other outcome rewrote its manifest's timings
    with the re-reading's 0.01 s and replaced ``indices.csv`` without a word."""
    space = ishigami_space()
    first = run_sensitivity(space, two_outcomes, tmp_path, samples=64, outcomes=["y"],
                            execution=QUIET)  # fmt: skip
    assert first.replaced == ()
    record = json.loads((tmp_path / "manifest.json").read_text())
    other = run_sensitivity(space, two_outcomes, tmp_path, samples=64, outcomes=["minus_y"],
                            execution=QUIET)  # fmt: skip
    assert other.replaced == ("y",) and other.evaluation.resumed_points == len(
        other.evaluation.points
    )
    assert json.loads((tmp_path / "manifest.json").read_text()) == record
    assert set(pd.read_csv(tmp_path / "indices.csv")["outcome"]) == {"minus_y"}
    same = run_sensitivity(space, two_outcomes, tmp_path, samples=64, outcomes=["minus_y"],
                           execution=QUIET)  # fmt: skip
    assert same.replaced == ()
    (tmp_path / "points.parquet").unlink()  # a hand's damage is repaired from the chunks
    again = run_sensitivity(space, two_outcomes, tmp_path, samples=64, outcomes=["y"],
                            execution=QUIET)  # fmt: skip
    pd.testing.assert_frame_equal(again.indices, first.indices)
    assert again.replaced == ("minus_y",)
    assert json.loads((tmp_path / "manifest.json").read_text()) == record


def test_a_figure_of_too_few_base_samples_says_so_in_its_title(
    tmp_path: Path, ishigami_sobol
) -> None:  # type: ignore[no-untyped-def]
    """A stranger reading a ``--fast`` study's figure alone saw total indices of 1.4 with no
    word that 8 base samples are not results to read (the command's caution stays behind)."""
    few = run_sensitivity(ishigami_space(), ishigami, tmp_path, samples=8, execution=QUIET)
    title = sa.figure_indices(few).get_suptitle()
    assert "caution: 8 base samples: rough intervals, not results to read" in title
    _, enough = ishigami_sobol
    assert "caution" not in sa.figure_indices(enough).get_suptitle()
