"""Beyond one machine: Hydra's submitit launcher and a Dask cluster give the local results."""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

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


def test_a_slurm_sweep_that_cannot_be_submitted_leaves_no_sweep_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No srun: a stranger found a sweep folder with an empty sweep.json, which compare
    then refused."""
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.setenv("PATH", str(tmp_path / "no-slurm-here"))
    out = cpec(
        "run", "-m", "hydra/launcher=slurm", *SWEEP, "hydra.launcher.cpus_per_task=1",
        "hydra.launcher.partition=compute", cwd=work,
    )  # fmt: skip
    assert out.returncode == 1 and "could not submit the sweep's jobs" in out.stderr
    assert out.stderr.count("\n") == 1, out.stderr
    assert not (work / "results/sweeps/multirun").exists()


def test_a_slurm_sweep_that_sbatch_refuses_is_one_line_and_leaves_no_sweep_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """sbatch present but refusing the jobs (a partition, a QOS limit): a reviewer saw Hydra's
    traceback of submitit's FailedJobError and a folder with an empty sweep.json."""
    work, bin_dir = tmp_path / "work", tmp_path / "bin"
    work.mkdir()
    bin_dir.mkdir()
    answers = {
        "sbatch": "echo 'sbatch: error: invalid partition specified: compute' >&2; exit 1",
        "srun": "exit 0",
    }
    for command, body in answers.items():
        (bin_dir / command).write_text(f"#!/bin/sh\n{body}\n")
        (bin_dir / command).chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    out = cpec(
        "run", "-m", "hydra/launcher=slurm", *SWEEP, "hydra.launcher.cpus_per_task=1",
        "hydra.launcher.partition=compute", cwd=work,
    )  # fmt: skip
    assert out.returncode == 1, out.stderr
    ours = [line for line in out.stderr.splitlines() if not line.startswith("sbatch: ")]
    assert ours == [
        "cpec-sim: error: could not submit the sweep's jobs: "
        "sbatch: error: invalid partition specified: compute"
    ], out.stderr  # below sbatch's own words, which submitit lets through
    assert not (work / "results/sweeps/multirun").exists()


def test_an_unsubmitted_sweep_removes_its_folder_only_if_nothing_else_is_in_it(
    tmp_path: Path,
) -> None:
    """A reviewer's sweep in batches: the second batch failed to submit, and the folder went
    with the first batch's finished run."""
    from sim.cli import _remove_unused_sweep_folder

    for extra in ("replicates=2,seed=1", "sweep.json", None):
        folder = tmp_path / f"sweep-{extra}"
        (folder / ".submitit" / "1").mkdir(parents=True)
        (folder / "multirun.yaml").write_text("x")
        if extra == "sweep.json":
            (folder / extra).write_text("{}")
        elif extra:
            (folder / extra).mkdir()
        _remove_unused_sweep_folder(folder)
        assert folder.exists() == (extra is not None)
        if extra:
            assert (folder / "multirun.yaml").exists() and (folder / extra).exists()


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


def _lost_dask_errors() -> list[tuple[BaseException, str]]:
    import asyncio
    import concurrent.futures

    from distributed import KilledWorker
    from distributed.comm.core import CommClosedError

    lost = "lost the Dask scheduler: re-run the same command to resume"
    return [
        (KilledWorker("evaluate_chunk-1", None, 0), "a Dask worker died running chunk 2"),  # type: ignore[arg-type]
        (CommClosedError("in <TCP>: Stream is closed"), lost),
        (concurrent.futures.CancelledError(), lost),
        (asyncio.CancelledError(), lost),
        (TimeoutError(), lost),
    ]


@pytest.mark.parametrize("number", range(5))
def test_a_lost_dask_worker_or_scheduler_fails_the_study_in_one_line_keeping_its_chunks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, number: int
) -> None:
    """What Dask's futures raise when a worker dies (KilledWorker) or the scheduler is lost,
    injected into chunk 2: the study fails with one line and the manifest says so; the other
    chunks are kept and the same study resumes from them."""
    pytest.importorskip("distributed")
    import json
    from concurrent.futures import Future
    from contextlib import contextmanager

    import numpy as np
    import pandas as pd

    import sim.explore.evaluate as ev
    from sim.explore.execution import Execution
    from sim.explore.functions import ishigami

    error, line = _lost_dask_errors()[number]

    class Losing:
        """An executor (as a Dask client's) that loses chunk 2."""

        def submit(self, fn: Any, *args: Any) -> Future[Any]:
            future: Future[Any] = Future()
            if args[1] == 2:
                future.set_exception(error)
            else:
                future.set_result(fn(*args))
            return future

    @contextmanager
    def losing(engine: str, jobs: int, scheduler: str | None) -> Iterator[Losing]:
        yield Losing()

    design = pd.DataFrame({f"x{i}": np.linspace(-3, 3, 10) * i for i in (1, 2, 3)})
    dask = Execution(replicates=2, engine="dask", jobs=2, chunk_points=2, progress=None)
    monkeypatch.setattr(ev, "open_executor", losing)
    out = ev.evaluate(design, ishigami, tmp_path / "study", dask)
    assert (out.status, out.exit_code) == ("failed", 1)
    assert out.message.startswith(line) and len(out.message.splitlines()) == 1
    manifest = json.loads((tmp_path / "study/manifest.json").read_text())
    assert (manifest["status"], manifest["message"]) == ("failed", out.message)
    monkeypatch.undo()
    local = Execution(replicates=2, chunk_points=2, progress=None)
    again = ev.evaluate(design, ishigami, tmp_path / "study", local)
    assert (again.status, again.resumed_points) == ("complete", 8)  # all but chunk 2's points


def test_the_scheduler_check_waits_for_dasks_connect_timeout() -> None:
    """A server that accepts the connection and says nothing: refused after
    distributed.comm.timeouts.connect (docs/cluster.md), not a fixed 5 s."""
    pytest.importorskip("distributed")
    import socket

    import dask.config

    from sim.explore.evaluate import check_scheduler
    from sim.explore.space import StudyError

    with socket.socket() as silent, dask.config.set({"distributed.comm.timeouts.connect": "1s"}):
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        started = time.monotonic()
        with pytest.raises(StudyError, match="did not answer as a Dask scheduler within 1 s"):
            check_scheduler(f"tcp://127.0.0.1:{silent.getsockname()[1]}")
        assert time.monotonic() - started < 10  # not Dask's default of 30 s


def test_a_server_that_speaks_another_protocol_is_not_a_dask_scheduler() -> None:
    """An SSH server, say: its banner read as Dask's frame header asked for exabytes."""
    pytest.importorskip("distributed")
    import socket
    import threading

    from sim.explore.evaluate import check_scheduler
    from sim.explore.space import StudyError

    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()

        def banner() -> None:
            while True:  # the check for a listening port, the handshake, any retry of it
                try:
                    connection, _ = server.accept()
                except OSError:  # the test closed the server
                    return
                with connection:
                    connection.sendall(b"SSH-2.0-OpenSSH_9.6\r\n" * 4)
                    with contextlib.suppress(OSError):
                        connection.recv(1024)

        threading.Thread(target=banner, daemon=True).start()
        address = f"tcp://127.0.0.1:{server.getsockname()[1]}"
        with pytest.raises(StudyError) as refused:
            check_scheduler(address, timeout=5)
    assert str(refused.value).startswith(f"{address} is not a Dask scheduler (")
    assert "Error" not in str(refused.value)


def test_a_malformed_dask_connect_timeout_is_one_line() -> None:
    pytest.importorskip("distributed")
    import dask.config

    from sim.explore.evaluate import connect_timeout
    from sim.explore.space import StudyError

    with (
        dask.config.set({"distributed.comm.timeouts.connect": "10x"}),
        pytest.raises(StudyError, match="'10x' is not a duration"),
    ):
        connect_timeout()


def test_submitit_jobs_are_waited_for_whatever_chose_the_launcher() -> None:
    """A review found the wrapper applied only when the command line named the launcher: an
    experiment choosing it brought the traceback back. The composed target decides."""
    pytest.importorskip("hydra_plugins.hydra_submitit_launcher")
    from hydra_plugins.hydra_submitit_launcher.submitit_launcher import BaseSubmititLauncher

    from sim.cli import Plan, _submitit_waits_for_every_job

    own = BaseSubmititLauncher.launch
    target = "hydra_plugins.hydra_submitit_launcher.submitit_launcher.LocalLauncher"
    with _submitit_waits_for_every_job(Plan(launcher=target)):
        assert BaseSubmititLauncher.launch is not own
    assert BaseSubmititLauncher.launch is own
    with _submitit_waits_for_every_job(Plan(launcher="hydra._internal.core_plugins.BasicLauncher")):
        assert BaseSubmititLauncher.launch is own


def test_a_job_that_failed_under_a_launcher_is_named_on_screen(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Its error reached only its own log: the command said nothing but exit 1."""
    import json

    from sim.cli import Plan, _say_unfinished_jobs

    jobs = [
        {"dir": "scenario=baseline", "status": "failed", "message": "internal error: boom"},
        {"dir": "scenario=iran_border", "status": "complete"},
    ]
    (tmp_path / "sweep.json").write_text(json.dumps({"jobs": jobs}))
    _say_unfinished_jobs(Plan(sweep_dir=tmp_path))
    assert capsys.readouterr().err.splitlines() == [
        "cpec-sim: job scenario=baseline failed: internal error: boom"
    ]
