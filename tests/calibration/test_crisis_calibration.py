"""The crisis model's calibration: a synthetic record at known parameters is recovered, the
outputs are complete and checksummed, the shipped defaults reproduce the real record, and
bad input gets one line."""

from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import replace
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from sim.calibration.diagnostics import record_check
from sim.calibration.pipeline import FAST, FAST_PREDICTIVE, CalibrationError, calibrate
from sim.calibration.record import observed
from sim.calibration.simulator import CrisisSimulator
from sim.calibration.space import CalibrationSpace, load_space
from sim.cli import main
from tests.conftest import unwritable_folder

#: The quantities the record identifies best ("Identifiability" in docs/calibration.md), their
#: priors widened and their truths near opposite ends (fractions of the prior's range): at the
#: shipped ranges a one-replicate record barely tells the ends apart at the fast settings (truths
#: at 5% or 95% of them moved the posterior means 0.14-0.17 of the range), so a check there could
#: not fail. The other quantities keep their ranges and sit at 30% of them.
RECOVERED = {"baloch_attack_rate": (0.4, 2.4, 0.1), "attrition": (0.001, 0.016, 0.9)}
ELSEWHERE = 0.3


def recovery_space() -> CalibrationSpace:
    """The shipped calibration space with :data:`RECOVERED`'s priors widened."""
    space = load_space()
    priors = tuple(
        replace(p, low=RECOVERED[p.name][0], high=RECOVERED[p.name][1])
        if p.name in RECOVERED
        else p
        for p in space.priors
    )
    return replace(space, priors=priors)


def recovery_truth(space: CalibrationSpace) -> dict[str, float]:
    """The known parameters of the synthetic record (:data:`RECOVERED`, :data:`ELSEWHERE`)."""
    at = {name: where for name, (*_, where) in RECOVERED.items()}
    return {p.name: p.low + at.get(p.name, ELSEWHERE) * p.width for p in space.priors}


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory: pytest.TempPathFactory):
    """A fast calibration on a record simulated at known parameters away from the defaults."""
    space = recovery_space()
    truth = recovery_truth(space)
    stats = CrisisSimulator(space)(truth, seed=12345)
    record = {o.name: stats[o.name] for o in observed("full")}
    out = tmp_path_factory.mktemp("calibration") / "synthetic"
    result = calibrate(
        fast=True, jobs=2, out_dir=out, space=space, record=record, progress=lambda _: None
    )
    return space, truth, record, result


def _in_prior_units(space: CalibrationSpace, table: pd.DataFrame, name: str) -> pd.Series:
    """``name``'s posterior quantiles as fractions of its prior's range (0: low, 1: high)."""
    p = next(p for p in space.priors if p.name == name)
    columns = ["posterior_q05", "posterior_median", "posterior_q95"]
    return (table.loc[name, columns] - p.low) / p.width


def test_a_synthetic_record_is_recovered_where_the_record_has_signal(synthetic) -> None:
    """The attack rate's truth at 10% of its prior, attrition's at 90%. In seven calibrations
    (five record seeds, three calibration seeds) the attack rate's posterior median was
    0.13-0.22 of its range and its 95% quantile 0.42-0.69; attrition's median 0.57-0.87. A
    calibration that ignores the record (a constant distance) gave medians 0.46 and 0.48 and a
    95% quantile of 0.94, and fails; one fitted to a record simulated at the mirrored truths
    gave the attack rate a median of 0.79.

    A re-check over 13 record seeds found the median (0.29 at one seed) and attrition's side
    (0.44-0.45 at two) too close to call, and attrition barely apart from an ignored record
    (0.48): the test asserts what separates a working calibration from one that ignores the
    record with a margin, the attack rate's 95% quantile (0.42-0.69 against 0.94)."""
    space, truth, _, result = synthetic
    table = result.parameters.set_index("parameter")
    rate = _in_prior_units(space, table, "baloch_attack_rate")
    assert rate["posterior_q95"] < 0.8, rate  # the far part of the prior excluded
    assert rate["posterior_median"] < 0.4, rate  # and the centre towards the truth at 0.1
    inside = [
        table.loc[name, "posterior_q05"] <= value <= table.loc[name, "posterior_q95"]
        for name, value in truth.items()
    ]
    # ten 90% intervals: at most two misses is the binomial 93% range
    assert sum(inside) >= 8, table[["posterior_q05", "posterior_q95"]]
    # the synthetic record itself lies inside most 90% posterior predictive intervals
    assert result.predictive["inside_90"].sum() >= len(result.predictive) - 2
    # shrinkage is judged against the null of the same weights, and says how many there are
    assert (table["ess"] > 1).all() and (table["null_sd_ratio_low"] < 1).all()


def test_calibration_outputs_are_complete_and_checksummed(synthetic) -> None:
    space, _, record, result = synthetic
    out = result.out_dir
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "complete" and manifest["synthetic_record"] is True
    assert manifest["placebo"] == ["investors.risk_aversion"]  # runs over it leave it out
    for name, entry in manifest["files"].items():
        assert hashlib.sha256((out / name).read_bytes()).hexdigest() == entry["sha256"]
    posterior = pd.read_parquet(out / "posterior.parquet")
    keys = [k for p in space.priors for k in p.keys]
    assert list(posterior.columns) == ["draw", *keys] and len(posterior) == FAST.draws
    for p in space.priors:  # draws inside the prior; tied keys share one value
        assert posterior[p.keys[0]].between(p.low, p.high).all()
        for key in p.keys[1:]:
            assert (posterior[key] == posterior[p.keys[0]]).all()
    check = pd.read_csv(out / "predictive_check.csv")
    assert set(check["statistic"]) == set(record)
    assert {p.name for p in (out / "plots").iterdir()} >= {
        "posterior_marginals.png", "posterior_pairs.png", "predictive_checks.svg"
    }  # fmt: skip


def test_a_calibration_of_one_quantity_draws_its_figures_without_pairs(
    synthetic, tmp_path: Path
) -> None:
    """A review found a one-parameter calibration crashing after its tables were written
    (a pairs figure of 0 rows), its manifest left 'running'."""
    from sim.calibration.diagnostics import write_figures

    space, *_, result = synthetic
    one = replace(space, priors=space.priors[:1])
    table = pd.read_csv(result.out_dir / "parameters.csv")
    written = write_figures(
        tmp_path,
        one,
        pd.read_parquet(result.out_dir / "population.parquet"),
        table[table["parameter"] == one.priors[0].name],
        pd.read_parquet(result.out_dir / "predictive.parquet"),
        observed("full"),
    )
    names = {p.name for p in written}
    assert "posterior_marginals.png" in names and "predictive_checks.png" in names
    assert not any(n.startswith("posterior_pairs") for n in names)


def test_the_shipped_defaults_reproduce_the_record_and_a_mis_set_parameter_does_not() -> None:
    ok = record_check(replicates=150)
    assert ok["inside"].all(), ok.loc[~ok["inside"], ["statistic", "observed", "low", "high"]]
    assert ok.attrs["joint_p"] >= 0.02
    # twice the Baloch groups' attack rate: the record is no longer a typical replicate
    wrong = record_check({"groups.bla.attack_rate": 2.3, "groups.blf.attack_rate": 2.3}, 150)
    assert not wrong["inside"].all() or wrong.attrs["joint_p"] < 0.02


def test_bad_input_gets_one_line_and_exit_two(tmp_path: Path, capsys) -> None:
    assert main(["calibrate", "--population", "5"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--population" in err and "10 to 100000" in err
    assert main(["calibrate", "--file", str(tmp_path / "missing.yaml")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no calibration file" in err
    bad = tmp_path / "bad.yaml"
    bad.write_text("parameters:\n  x:\n    keys: [attacks.nope]\n    range: [0, 1]\n")
    assert main(["calibrate", "--file", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "attacks.nope" in err and "Traceback" not in err
    out = tmp_path / "never"
    assert main(["calibrate", "--scheduler", "tcp://127.0.0.1:9", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "cannot reach the Dask scheduler" in err
    assert not out.exists()


def test_a_directory_holding_another_calibration_is_not_overwritten(synthetic, capsys) -> None:
    *_, result = synthetic
    before = (result.out_dir / "posterior.parquet").read_bytes()
    code = main(["calibrate", "--fast", "--seed", "7", "--out", str(result.out_dir)])
    assert code == 2 and "holds a different calibration" in capsys.readouterr().err
    assert (result.out_dir / "posterior.parquet").read_bytes() == before


# --- where it writes, how much it resumes, what it prints ------------------------------------
def _calibrate_cli(out: Path, *extra: str) -> int:
    return main(["calibrate", "--fast", "--out", str(out), *extra])


@pytest.mark.parametrize(
    ("where", "fragment"),
    [
        ("file", "is a file"),
        ("/proc/cpec-sim-calibration", "is a system or home folder"),
        ("notes", "holds files that are not a calibration"),
    ],
)
def test_an_out_folder_that_is_not_ours_is_refused_before_anything_is_written(
    where: str, fragment: str, tmp_path: Path, capsys
) -> None:
    out = Path(where) if where.startswith("/") else tmp_path / where
    if where == "file":
        out.write_text("someone's file\n")
    elif where == "notes":
        out.mkdir()
        (out / "notes.txt").write_text("someone's notes\n")
    before = sorted(tmp_path.rglob("*"))
    assert _calibrate_cli(out) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"--out {out}" in err and fragment in err, err
    assert sorted(tmp_path.rglob("*")) == before  # nothing written, nothing left over


def test_an_out_folder_that_cannot_be_written_is_refused_in_one_line(
    tmp_path: Path, capsys
) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    with unwritable_folder(locked):
        for out in (locked, locked / "calibration"):
            assert _calibrate_cli(out) == 2
            err = capsys.readouterr().err
            assert err.count("\n") == 1 and f"--out {out}" in err and "cannot write" in err, err
    assert list(locked.iterdir()) == []


def _copy(synthetic: Any, tmp_path: Path) -> Path:
    """A copy of the synthetic fixture's calibration (so that no test changes the original)."""
    *_, result = synthetic
    return Path(shutil.copytree(result.out_dir, tmp_path / "copy"))


def test_fewer_generations_than_a_folder_holds_are_refused_not_ignored(
    synthetic, tmp_path: Path, capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A folder of 3 generations asked for 2 would resume "after generation 3 of 2" and
    return the 3-generation posterior under settings saying 2."""
    import sim.calibration.pipeline as pipeline

    space, _, record, _ = synthetic
    out = _copy(synthetic, tmp_path)
    manifest = (out / "manifest.json").read_bytes()
    with pytest.raises(CalibrationError, match="holds a calibration of 3 generations, more"):
        calibrate(
            settings=replace(FAST, generations=2),
            out_dir=out,
            space=space,
            record=record,
            progress=lambda _: None,
        )
    assert (out / "manifest.json").read_bytes() == manifest
    assert pipeline.stored_generations(out) == FAST.generations == 3
    # the command: one line naming what to do, exit code 2 (its record and space made the
    # synthetic ones)
    synthetic_record = [replace(o, value=record[o.name]) for o in observed("full")]
    monkeypatch.setattr(pipeline, "_observations", lambda window, given: synthetic_record)
    monkeypatch.setattr("sim.calibration.space.load_space", lambda path=None: space)
    assert _calibrate_cli(out, "--generations", "2") == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--generations 3 or more" in err and "new --out" in err
    assert (out / "manifest.json").read_bytes() == manifest


def test_a_resumed_calibration_counts_only_this_sessions_simulations(
    synthetic, tmp_path: Path
) -> None:
    space, _, record, first = synthetic
    assert first.session_simulations == first.simulations  # the first session ran them all
    # the parts add up (helper-173: the printed pilot, generations and predictive sample
    # came 60 short of the total: pyabc's first sample from the prior)
    generations = pd.read_csv(first.out_dir / "generations.csv")
    assert first.parts["generations"] == int(generations["simulations"].sum())
    assert first.parts["first tolerance"] > 0
    assert sum(first.parts.values()) == first.simulations
    stored = json.loads((first.out_dir / "manifest.json").read_text())
    assert stored["simulations_by_part"] == first.parts
    out = _copy(synthetic, tmp_path)
    again = calibrate(fast=True, out_dir=out, space=space, record=record, progress=lambda _: None)
    assert again.simulations == first.simulations
    assert again.session_simulations == FAST_PREDICTIVE  # only the predictive sample again
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["simulations_this_session"] == FAST_PREDICTIVE


def test_the_summary_shows_ranges_this_sessions_count_and_the_fast_caveat(
    synthetic, capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sim.calibration.pipeline as pipeline

    *_, result = synthetic
    check = result.predictive.set_index("statistic")
    check.loc["attacks_balochistan_y1", ["observed", "observed_half_width"]] = (170.0, 0.0)
    check.loc["militants_killed_per_year", ["observed", "observed_half_width"]] = (275.0, 125.0)
    parts = {"pilot": 100, "first tolerance": 60, "generations": 839, "posterior predictive": 60}
    resumed = replace(
        result,
        predictive=check.reset_index(),
        simulations=1059,
        session_simulations=60,
        parts=parts,
    )
    monkeypatch.setattr(pipeline, "calibrate", lambda **_: resumed)
    assert main(["calibrate", "--fast"]) == 0
    captured = capsys.readouterr()
    lines = {line.split()[0]: line for line in captured.out.splitlines() if "observed" in line}
    # an estimate known only as 150-400 is printed as that range, not as its midpoint 275
    assert "observed 150-400 " in lines["militants_killed_per_year"]
    assert "observed     170 " in lines["attacks_balochistan_y1"]
    assert (
        "1,059 simulations in the calibration (pilot 100; first tolerance 60; generations 839; "
        "posterior predictive 60), 60 of them this session"
    ) in captured.out
    assert "the 60 draws from the prior that pyabc simulates" in captured.out
    notes = [line for line in captured.err.splitlines() if line.startswith("note:")]
    assert len(notes) == 1 and "over-confident" in notes[0] and "--fast" in notes[0]
    monkeypatch.setattr(pipeline, "calibrate", lambda **_: replace(resumed, out_dir=Path("x")))
    assert main(["calibrate"]) == 0
    assert "note:" not in capsys.readouterr().err  # the documented settings: no caveat
