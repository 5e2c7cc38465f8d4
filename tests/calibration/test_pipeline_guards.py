"""What a calibration folder guards against: another model or code, a second session, a lost
or damaged manifest, a posterior changed after it was written, the shipped posterior as --out
(a reviewer's findings, 2 December 2026)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from sim.calibration import pipeline
from sim.calibration.pipeline import CalibrationError, calibrate
from sim.calibration.settings import SHIPPED_FILE, Settings, resume_command
from sim.calibration.shipped import calibration_problems
from sim.posterior import SHIPPED_POSTERIOR_DIR

TINY = Settings(population=10, generations=1, pilot=10, draws=10)


def _calibrate(out: Path, settings: Settings = TINY) -> None:
    calibrate(settings=settings, predictive=10, out_dir=out, progress=lambda _: None)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("tiny") / "calibration"
    _calibrate(out)
    return out


@pytest.fixture
def copy(tiny: Path, tmp_path: Path) -> Path:
    out = tmp_path / "calibration"
    shutil.copytree(tiny, out)
    return out


def _manifest(folder: Path) -> dict:
    return json.loads((folder / "manifest.json").read_text())


def test_a_calibration_of_another_model_or_calibration_code_is_not_resumed(
    copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only the rules were hashed: a resumed calibration after a change of the model's data
    stamped the old posterior with the new model's fingerprint."""
    import sim.fingerprint

    _calibrate(copy)  # the same: resumed, nothing to do
    monkeypatch.setattr(sim.fingerprint, "model_fingerprint", lambda: "another model")
    with pytest.raises(CalibrationError, match="model's rules, data or code"):
        _calibrate(copy)
    monkeypatch.undo()
    monkeypatch.setattr(pipeline, "calibration_code_fingerprint", lambda: "other code")
    with pytest.raises(CalibrationError, match="changed since"):
        _calibrate(copy)


def test_a_refused_calibration_says_what_differs(copy: Path) -> None:
    with pytest.raises(CalibrationError, match=r"settings \(seed, population"):
        _calibrate(copy, Settings(population=10, generations=1, pilot=10, draws=10, seed=1))


def test_a_second_session_on_the_same_folder_is_refused(copy: Path) -> None:
    from sim.runner import exclusive

    before = {p.name: p.read_bytes() for p in copy.iterdir() if p.is_file()}
    with exclusive(copy), pytest.raises(CalibrationError, match="another cpec-sim process"):
        _calibrate(copy)
    assert {p.name: p.read_bytes() for p in copy.iterdir() if p.is_file()} == before


def test_a_database_without_its_manifest_is_not_overwritten(copy: Path) -> None:
    (copy / "manifest.json").unlink()
    db = (copy / pipeline.DB_FILE).read_bytes()
    with pytest.raises(CalibrationError, match="without its manifest"):
        _calibrate(copy, Settings(population=10, generations=1, pilot=10, draws=10, seed=7))
    assert (copy / pipeline.DB_FILE).read_bytes() == db


def test_damaged_scales_are_one_line(copy: Path) -> None:
    manifest = _manifest(copy)
    manifest["scales"] = {"not_a_statistic": 1.0}
    (copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(CalibrationError, match="distance scales are damaged"):
        _calibrate(copy)


def test_a_posterior_changed_after_it_was_written_is_named(tmp_path: Path) -> None:
    """Rows 3 onward of the shipped posterior could be changed unnoticed: the behaviour
    fingerprint reads draws 0-2 only."""
    folder = tmp_path / "posterior"
    shutil.copytree(SHIPPED_POSTERIOR_DIR, folder)
    assert calibration_problems(folder, fingerprint=False) == []
    draws = pd.read_parquet(folder / "posterior.parquet")
    column = draws.columns[1]
    draws.loc[5, column] = draws.loc[6, column]
    draws.to_parquet(folder / "posterior.parquet", index=False)
    problems = calibration_problems(folder)
    assert any("posterior.parquet is not the file the calibration wrote" in p for p in problems)


def test_another_models_calibration_says_so_whatever_else_is_wrong(tmp_path: Path) -> None:
    """The fingerprint was checked only when nothing else was wrong, so an old --fast
    calibration was only 'not at the documented settings'."""
    folder = tmp_path / "posterior"
    shutil.copytree(SHIPPED_POSTERIOR_DIR, folder)
    manifest = _manifest(folder)
    manifest["settings"]["population"] = 20
    manifest["behaviour_fingerprint"] = "0123456789abcdef"
    (folder / "manifest.json").write_text(json.dumps(manifest))
    problems = calibration_problems(folder)
    assert any("settings are not the documented ones" in p for p in problems)
    assert any("model's results, statistics or distance have changed" in p for p in problems)


def test_the_shipped_posterior_is_not_an_output_folder() -> None:
    with pytest.raises(CalibrationError, match="the posterior shipped with cpec-sim"):
        pipeline.check_out_dir(SHIPPED_POSTERIOR_DIR)


def test_the_resume_line_names_the_calibrations_own_options(tmp_path: Path) -> None:
    fast = {"pilot": 100, "draws": 200, "population": 60, "generations": 3, "seed": 3}
    manifest = {"window": "hindcast", "settings": fast, "space_file": "mine.yaml"}
    line = resume_command(manifest, tmp_path)
    assert (
        line == f"cpec-sim calibrate --hindcast --fast --seed 3 --file mine.yaml --out {tmp_path}"
    )
    full = {"pilot": 400, "draws": 1000, "population": 400, "generations": 6, "seed": 0}
    documented = {"window": "full", "settings": full, "space_file": SHIPPED_FILE}
    assert resume_command(documented, tmp_path) == f"cpec-sim calibrate --out {tmp_path}"
    beside = {**documented, "space_file": "experiments/uncertainty/mine.yaml"}  # not shipped
    assert resume_command(beside, tmp_path) == (
        f"cpec-sim calibrate --file experiments/uncertainty/mine.yaml --out {tmp_path}"
    )
    from_python = {**documented, "settings": {**full, "pilot": 10, "draws": 10}}
    assert resume_command(from_python, tmp_path) is None  # no command line makes it


def test_the_hash_covers_each_ranges_width(copy: Path) -> None:
    """A re-check: a record range widened about the same midpoint resumed the calibration."""
    from sim.calibration.space import load_space

    space, obs = load_space(), {"militants_killed_per_year": 275.0}
    narrow = pipeline.config_hash(space, "full", TINY, obs, {"militants_killed_per_year": 125.0})
    wide = pipeline.config_hash(space, "full", TINY, obs, {"militants_killed_per_year": 175.0})
    assert narrow != wide


def test_a_lock_that_is_not_a_file_is_named_not_taken_for_another_session(copy: Path) -> None:
    import os

    (copy / ".lock").unlink()
    os.mkfifo(copy / ".lock")
    with pytest.raises(CalibrationError, match="not a lock file"):
        _calibrate(copy)


def test_only_generations_differing_is_not_called_other_settings(copy: Path) -> None:
    earlier = _manifest(copy)
    now = {k: earlier[k] for k in ("window", "space", "observed")}
    now["settings"] = {**earlier["settings"], "generations": 9}
    with pytest.raises(CalibrationError) as refused:
        pipeline._refuse_another(copy, earlier, now)
    assert "settings (" not in str(refused.value)
    assert "an earlier version of cpec-sim made it" in str(refused.value)
