"""No command writes its --out inside a run or sweep folder (a reviewer, 2 December 2026: the
run could then never be re-run, "holds files that are not a run of cpec-sim")."""

from __future__ import annotations

from pathlib import Path

import pytest

from sim.params import ModelParams
from sim.runner import RunSpec, run


@pytest.fixture(scope="module")
def finished(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("runs") / "baseline"
    spec = RunSpec(params=ModelParams(), replicates=2, weeks=4, chunk_size=2)
    assert run(spec, folder, progress=None).status == "complete"
    return folder


def test_the_first_check_of_every_out_names_the_run_it_lies_in(finished: Path) -> None:
    from sim.files import not_a_folder_to_write

    assert f"lies in {finished}" in not_a_folder_to_write(finished / "sub" / "deeper")
    assert f"lies in {finished}" in not_a_folder_to_write(finished)
    assert not_a_folder_to_write(finished.parent / "elsewhere") == ""


def test_calibrate_validate_and_the_studies_refuse_an_out_inside_a_run(finished: Path) -> None:
    from sim.calibration.pipeline import CalibrationError, check_out_dir
    from sim.explore.evaluate import StudyError, prepare_out_dir
    from sim.validation import validate_command

    with pytest.raises(CalibrationError, match="lies in"):
        check_out_dir(finished / "cal")
    with pytest.raises(StudyError, match="lies in"):
        prepare_out_dir(finished / "study", "key")
    assert validate_command(["--fast", "--out", str(finished / "v")]) == 2
    assert not (finished / "cal").exists() and not (finished / "study").exists()
    assert not (finished / "v").exists()


def test_compare_writes_only_outside_a_run_or_into_a_folder_it_compares(
    finished: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from sim.analysis.cli import compare_command

    assert compare_command([str(finished), "--out", str(finished / "newdir"), "--no-plots"]) == 2
    assert "lies in" in capsys.readouterr().err and not (finished / "newdir").exists()
    assert compare_command([str(finished), "--out", str(finished), "--no-plots"]) == 0
    assert (finished / "comparison.csv").is_file()
    out = finished.parent / "comparison"
    assert compare_command([str(finished), "--out", str(out), "--no-plots"]) == 0


def test_plot_into_a_run_it_cannot_write_is_one_line(
    finished: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A read-only run gave a raw "[Errno 30] Read-only file system" and exit 1."""
    import sim.files
    from sim.analysis.cli import plot_command

    monkeypatch.setattr(sim.files, "unwritable", lambda f: f"cannot write in {f} (read-only)")
    assert plot_command([str(finished)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "its figures cannot be written" in err
    assert not (finished / "plots").exists()


def test_a_run_being_written_is_said_to_be_so_not_to_need_a_rerun(tmp_path: Path) -> None:
    import json

    from sim.analysis.runs import ResultsError, load_run
    from sim.files import being_written
    from sim.runner import exclusive

    folder = tmp_path / "run"
    folder.mkdir()
    (folder / "manifest.json").write_text(json.dumps({"package": "cpec-sim", "status": "running"}))
    assert not being_written(folder)
    with exclusive(folder):
        assert being_written(folder)
        with pytest.raises(ResultsError, match="another cpec-sim process is writing this run"):
            load_run(folder)
    assert not being_written(folder)
    with pytest.raises(ResultsError, match="re-run the command that started it"):
        load_run(folder)


def test_a_run_that_lost_its_manifest_beside_its_report_can_be_run_again(
    finished: Path, tmp_path: Path
) -> None:
    """compare told the user to re-run it, and run refused the folder."""
    import shutil

    from sim.folders import is_run_folder

    folder = tmp_path / "run"
    shutil.copytree(finished, folder)
    (folder / "report.html").write_text("<html></html>")
    (folder / "manifest.json").unlink()
    assert is_run_folder(folder)
    shutil.rmtree(folder / "chunks")
    assert not is_run_folder(folder)  # nothing of a run's left to say the report is ours


def test_an_interrupted_run_that_lost_its_manifest_is_still_a_run_to_stay_out_of(
    finished: Path, tmp_path: Path
) -> None:
    """A reviewer: with no summary and no readable manifest, compare and sensitivity wrote
    into an interrupted run, which then could never be resumed."""
    import shutil

    from sim.files import not_a_folder_to_write

    folder = tmp_path / "interrupted"
    shutil.copytree(finished, folder)
    for table in ("summary", "timeseries", "events"):
        (folder / f"{table}.parquet").unlink()
    (folder / "manifest.json").write_text('{"pack')
    assert "lies in" in not_a_folder_to_write(folder / "cmp")
    (folder / "manifest.json").unlink()
    assert "lies in" in not_a_folder_to_write(folder / "cmp")  # its chunks' markers
    elsewhere = tmp_path / "mine"
    elsewhere.mkdir()
    (elsewhere / "manifest.json").write_text("[1, 2]")  # another program's
    assert not_a_folder_to_write(elsewhere / "out") == ""


def test_a_lock_that_is_not_a_file_does_not_hang_readers_or_runs(tmp_path: Path) -> None:
    import json
    import os

    from sim.files import being_written
    from sim.params import ParameterError
    from sim.runner import exclusive

    folder = tmp_path / "run"
    folder.mkdir()
    (folder / "manifest.json").write_text(json.dumps({"package": "cpec-sim", "status": "running"}))
    os.mkfifo(folder / ".lock")
    assert not being_written(folder)
    with pytest.raises(ParameterError, match="not a lock file"), exclusive(folder):
        pass


def test_a_study_folder_is_not_taken_for_a_run(tmp_path: Path) -> None:
    """Studies share the chunk store: their markers list points, a run's replicates."""
    import numpy as np

    from sim.explore.evaluate import evaluate
    from sim.explore.execution import Execution
    from sim.explore.functions import ishigami, ishigami_space
    from sim.files import holds_run_chunks, not_a_folder_to_write

    design = ishigami_space().table(np.random.default_rng(0).random((4, 3)))
    evaluate(design, ishigami, tmp_path / "study", Execution(progress=None))
    assert not holds_run_chunks(tmp_path / "study")
    assert not_a_folder_to_write(tmp_path / "study") == ""


def test_compare_does_not_replace_a_users_files_of_its_names(
    finished: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A reviewer: compare --out overwrote a user's own comparison.csv and compare_*.svg
    (report and validate refuse in the same case)."""
    from sim.analysis.cli import compare_command
    from sim.analysis.outputs import COMPARISON_HEADER

    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "compare_boxes.svg").write_text("<svg>my drawing</svg>")
    assert compare_command([str(finished), "--out", str(mine), "--no-plots"]) == 2
    assert "compare_boxes.svg there is not compare's" in capsys.readouterr().err
    assert (mine / "compare_boxes.svg").read_text() == "<svg>my drawing</svg>"
    (mine / "compare_boxes.svg").unlink()
    (mine / "comparison.csv").write_text("my,own,table\n")
    assert compare_command([str(finished), "--out", str(mine), "--no-plots"]) == 2
    assert (mine / "comparison.csv").read_text() == "my,own,table\n"
    (mine / "comparison.csv").unlink()
    assert compare_command([str(finished), "--out", str(mine), "--no-plots"]) == 0
    assert (mine / "comparison.csv").read_text().startswith(COMPARISON_HEADER)
    assert compare_command([str(finished), "--out", str(mine)]) == 0  # its own: replaced


def test_a_run_folder_holding_a_users_file_is_refused_naming_the_file(
    finished: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A stranger put my_notes.txt in a run folder and re-ran: the refusal named
    hydra.run.dir, which they had not typed, and not the file."""
    from sim.cli import Refused, check_output_dir

    monkeypatch.chdir(tmp_path)
    folder = tmp_path / "results" / "runs" / "baseline"
    folder.parent.mkdir(parents=True)
    import shutil

    shutil.copytree(finished, folder)
    (folder / ".DS_Store").write_bytes(b"Finder")  # a file browser's litter is not a refusal
    (folder / ".ipynb_checkpoints").mkdir()
    check_output_dir(Path("results/runs/baseline"), "hydra.run.dir", None, typed=False)
    (folder / "my_notes.txt").write_text("mine")
    with pytest.raises(Refused) as default:
        check_output_dir(Path("results/runs/baseline"), "hydra.run.dir", None, typed=False)
    assert "(my_notes.txt)" in str(default.value)
    assert str(default.value).startswith(f"the folder {folder} holds")
    with pytest.raises(Refused) as typed:
        check_output_dir(Path("results/runs/baseline"), "hydra.run.dir", None, typed=True)
    assert str(typed.value).startswith("hydra.run.dir=results/runs/baseline is not allowed")


def test_a_users_file_in_a_sweep_job_is_named_in_its_job(
    finished: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A reviewer: a file put in a job's folder was reported as the job folder itself, which
    "move it out" would then move; with hydra.sweep.dir typed, the advice named sweep_name."""
    import shutil

    from sim.cli import Refused, check_output_dir

    monkeypatch.chdir(tmp_path)
    sweep = tmp_path / "results" / "sweeps" / "s"
    shutil.copytree(finished, sweep / "seed=1")
    (sweep / "seed=1" / "notes.txt").write_text("mine")
    with pytest.raises(Refused) as default:
        check_output_dir(Path("results/sweeps/s"), "hydra.sweep.dir", ["seed"], typed=False)
    assert "(seed=1/notes.txt)" in str(default.value) and "sweep_name=NAME" in str(default.value)
    with pytest.raises(Refused) as typed:
        check_output_dir(Path("results/sweeps/s"), "hydra.sweep.dir", ["seed"], typed=True)
    assert str(typed.value).endswith("choose another folder with hydra.sweep.dir=PATH")


def test_a_bad_swept_value_is_named_before_the_folder_it_would_go_to(
    finished: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A stranger (helper-140): a sweep of 0.5,1.5 into a folder of another sweep was first
    told to choose another sweep_name, and only then that 1.5 is out of bounds."""
    import shutil

    from sim.cli import _register, prevalidate

    _register()  # the run schema, as cpec-sim run registers it
    monkeypatch.chdir(tmp_path)
    sweep = tmp_path / "results" / "sweeps" / "multirun"
    shutil.copytree(finished, sweep / "scenario=baseline")
    (sweep / "sweep.json").write_text('{"swept": ["scenario"], "jobs": []}')
    bad = prevalidate(["-m", "china.initial_patience=0.5,1.5", "replicates=2"])
    assert bad.error is not None and "china.initial_patience=1.5 is out of bounds" in bad.error
    good = prevalidate(["-m", "china.initial_patience=0.5,0.6", "replicates=2"])
    assert good.error is not None and "holds another sweep (of scenario)" in good.error
