"""Beyond one machine: Hydra's submitit launcher and a Dask cluster give the local results."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import cpec

FAKE_SLURM = Path(__file__).with_name("fake_slurm.py")
SWEEP = ["scenario=baseline,iran_border", "replicates=2", "weeks=4", "jobs=1"]


@pytest.fixture(scope="module")
def local_sweep(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sweep run by Hydra's basic launcher, in this process's machine: the reference."""
    where = tmp_path_factory.mktemp("local")
    out = cpec("run", "-m", *SWEEP, cwd=where)
    assert out.returncode == 0, out.stderr
    return where / "results/sweeps/multirun"


def _same_summaries(sweep: Path, reference: Path) -> None:
    jobs = sorted(p.parent.name for p in reference.glob("*/summary.parquet"))
    assert len(jobs) == 2
    for job in jobs:
        mine = (sweep / job / "summary.parquet").read_bytes()
        assert mine == (reference / job / "summary.parquet").read_bytes(), job


def test_submitit_local_launcher_gives_the_local_results_byte_for_byte(
    tmp_path: Path, local_sweep: Path
) -> None:
    out = cpec("run", "-m", "hydra/launcher=submitit_local", *SWEEP, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    sweep = tmp_path / "results/sweeps/multirun"
    _same_summaries(sweep, local_sweep)
    # submitit really ran them: one pickled result per job
    assert len(list((sweep / ".submitit").glob("*/*_result.pkl"))) == 2

    # The same command again resumes the sweep (docs/cluster.md): its folder, which holds
    # submitit's .submitit/, is ours. A job lost in between runs again; the finished one is
    # kept as it is (its job returns at once); both give the same bytes.
    import json
    import shutil

    kept = next(sweep.glob("*scenario=baseline*/manifest.json"))
    before = kept.read_bytes()
    shutil.rmtree(next(sweep.glob("*scenario=iran_border*")))
    again = cpec("run", "-m", "hydra/launcher=submitit_local", *SWEEP, cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert kept.read_bytes() == before
    _same_summaries(sweep, local_sweep)
    index = json.loads((sweep / "sweep.json").read_text())
    assert [job["status"] for job in index["jobs"]] == ["complete", "complete"]
    assert len(list((sweep / ".submitit").glob("*/*_result.pkl"))) == 4  # both ran again


def _fake_slurm(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """sbatch, srun, sacct and scancel from fake_slurm.py first on PATH."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for command in ("sbatch", "srun", "sacct", "scancel"):
        script = bin_dir / command
        script.write_text(f'#!/bin/sh\nexec {sys.executable} {FAKE_SLURM} {command} "$@"\n')
        script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_SLURM_STATE", str(tmp_path / "slurm-state"))


def test_slurm_launcher_end_to_end_through_a_stand_in_slurm(
    tmp_path: Path, local_sweep: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`hydra/launcher=slurm` as documented, with sbatch/srun/sacct from fake_slurm.py."""
    _fake_slurm(tmp_path, monkeypatch)
    work = tmp_path / "work"
    work.mkdir()
    out = cpec(
        "run", "-m", "hydra/launcher=slurm", *SWEEP, "hydra.launcher.cpus_per_task=1",
        "hydra.launcher.partition=compute", cwd=work,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    sweep = work / "results/sweeps/multirun"
    _same_summaries(sweep, local_sweep)
    batch = next((sweep / ".submitit").glob("*/*_submission.sh")).read_text()
    for flag in ("--array=0-1%2", "--cpus-per-task=1", "--partition=compute", "--time=240"):
        assert f"#SBATCH {flag}" in batch
    # The stand-in records a job COMPLETED after its process exits, which can be a moment
    # after submitit has collected the job's result: wait for the record (at most 30 s).
    jobs = tmp_path / "slurm-state/jobs.jsonl"
    deadline = time.monotonic() + 30
    while jobs.read_text().count('"COMPLETED"') < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert jobs.read_text().count('"COMPLETED"') == 2


def test_a_slurm_job_that_times_out_is_one_line_and_the_same_command_resumes(
    tmp_path: Path,
    local_sweep: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A task killed by SLURM (here: its time limit) is reported in one line, recorded in
    sweep.json, and the other job's results are kept; the same command then finishes it."""
    import json

    from hydra_plugins.hydra_submitit_launcher.submitit_launcher import BaseSubmititLauncher
    from submitit.core.core import Job

    from sim.cli import run_command

    _fake_slurm(tmp_path, monkeypatch)
    command = ["-m", "hydra/launcher=slurm", *SWEEP, "hydra.launcher.cpus_per_task=1"]
    monkeypatch.setenv("FAKE_SLURM_TIMEOUT", "0")
    monkeypatch.chdir(tmp_path)
    # in this process, to spare submitit's 15 s wait for a result file of the dead task
    monkeypatch.setattr(Job, "_results_timeout_s", 0)
    launch = BaseSubmititLauncher.launch
    assert run_command(command) == 1
    assert BaseSubmititLauncher.launch is launch  # the plugin's own, once the command ends
    dead = "replicates=2,scenario=baseline,weeks=4"
    assert capsys.readouterr().err.strip().splitlines() == [
        f"cpec-sim: error: job 0 ({dead}) ended without a result (state TIMEOUT): "
        "re-run the same command to resume"
    ]
    sweep = tmp_path / "results/sweeps/multirun"
    index = {job["dir"]: job for job in json.loads((sweep / "sweep.json").read_text())["jobs"]}
    assert index[dead]["status"] == "failed"
    assert "state TIMEOUT" in index[dead]["message"]
    assert index["replicates=2,scenario=iran_border,weeks=4"]["status"] == "complete"
    kept = (sweep / "replicates=2,scenario=iran_border,weeks=4/manifest.json").read_bytes()

    monkeypatch.delenv("FAKE_SLURM_TIMEOUT")
    again = cpec("run", *command, cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    _same_summaries(sweep, local_sweep)
    assert (sweep / "replicates=2,scenario=iran_border,weeks=4/manifest.json").read_bytes() == kept
    index = json.loads((sweep / "sweep.json").read_text())
    assert [job["status"] for job in index["jobs"]] == ["complete", "complete"]


def test_shipped_launcher_configs_compose() -> None:
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    from sim.cli import _register
    from sim.config import config_dir

    _register()
    GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(config_dir=str(config_dir()), version_base="1.3"):
            for name, target in (("slurm", "SlurmLauncher"), ("local", "LocalLauncher")):
                cfg = compose(
                    config_name="config",
                    overrides=[f"hydra/launcher={name}"],
                    return_hydra_config=True,
                )
                launcher = cfg.hydra.launcher
                assert launcher._target_.endswith(target)
                assert launcher.timeout_min == 240
                assert str(launcher.submitit_folder).endswith("/.submitit/%j")
    finally:
        GlobalHydra.instance().clear()


def test_cli_sensitivity_on_dask_equals_local(workdir: Path) -> None:
    """A local Dask cluster (2 worker processes) evaluates points exactly as the pool does."""
    pytest.importorskip("distributed")
    common = ["sensitivity", "--fast", "--method", "morris", "--jobs", "2", "--quiet"]
    dask = cpec(*common, "--engine", "dask", "--out", "dask", cwd=workdir)
    assert dask.returncode == 0, dask.stderr
    local = cpec(*common, "--out", "local", cwd=workdir)
    assert local.returncode == 0, local.stderr
    for name in ("points.parquet", "replicates.parquet", "indices.csv"):
        assert (workdir / "dask" / name).read_bytes() == (workdir / "local" / name).read_bytes()


def test_unreachable_dask_scheduler_is_one_line(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("distributed")
    monkeypatch.setenv("DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT", "2s")
    out = cpec(
        "sensitivity",
        "--fast",
        "--engine",
        "dask",
        "--scheduler",
        "tcp://127.0.0.1:9",
        cwd=workdir,
        timeout=120,
    )
    assert out.returncode == 2
    assert "cannot reach the Dask scheduler at tcp://127.0.0.1:9" in out.stderr
    assert len(out.stderr.strip().splitlines()) == 2  # the announcement, then the error
    assert not (workdir / "results").exists()  # checked before the study writes anything
