"""The crisis model's calibration: a synthetic record at known parameters is recovered, the
outputs are complete and checksummed, the shipped defaults reproduce the real record, and
bad input gets one line."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pandas as pd
import pytest

from sim.calibration.diagnostics import record_check
from sim.calibration.pipeline import FAST, calibrate
from sim.calibration.record import observed
from sim.calibration.simulator import CrisisSimulator
from sim.calibration.space import load_space
from sim.cli import main


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory: pytest.TempPathFactory):
    """A fast calibration on a record simulated at known parameters away from the defaults."""
    space = load_space()
    truth = {p.name: p.low + 0.3 * p.width for p in space.priors}
    stats = CrisisSimulator(space)(truth, seed=12345)
    record = {o.name: stats[o.name] for o in observed("full")}
    out = tmp_path_factory.mktemp("calibration") / "synthetic"
    result = calibrate(
        fast=True, jobs=2, out_dir=out, space=space, record=record, progress=lambda _: None
    )
    return space, truth, record, result


def test_a_synthetic_record_is_recovered_inside_the_ninety_percent_region(synthetic) -> None:
    _, truth, _, result = synthetic
    table = result.parameters.set_index("parameter")
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
