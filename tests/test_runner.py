"""The runner: worker-count independence, interruption and resumption, failures."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.model import CrisisModel
from sim.params import ModelParams, ParameterError
from sim.runner import RunSpec, checked_spec, replicate_seed, run
from tests.conftest import CPEC

TABLES = ("summary", "timeseries", "events")


def _spec(**kw: object) -> RunSpec:
    base = {"params": ModelParams(), "replicates": 12, "weeks": 20, "chunk_size": 3}
    return RunSpec(**{**base, **kw})  # type: ignore[arg-type]


def _same_files(a: Path, b: Path) -> bool:
    return all(
        (a / f"{t}.parquet").read_bytes() == (b / f"{t}.parquet").read_bytes() for t in TABLES
    )


def test_one_worker_and_two_workers_write_byte_identical_results(tmp_path: Path) -> None:
    one = run(_spec(jobs=1), tmp_path / "one", progress=None)
    two = run(_spec(jobs=2), tmp_path / "two", progress=None)
    assert one.status == two.status == "complete"
    assert _same_files(tmp_path / "one", tmp_path / "two")


def test_a_runs_manifest_records_its_model_libraries_and_commit(tmp_path: Path) -> None:
    """Which rules, data and libraries made a run, and the commit of the checkout it ran
    from, read from git itself and from the packages' own metadata."""
    from sim.fingerprint import model_fingerprint

    run(_spec(replicates=2, weeks=3, jobs=1), tmp_path / "r", progress=None)
    manifest = json.loads((tmp_path / "r" / "manifest.json").read_text())
    assert manifest["model"] == model_fingerprint() and len(manifest["model"]) == 16
    assert manifest["packages"]["numpy"] == np.__version__
    assert manifest["packages"]["pandas"] == pd.__version__
    checkout = Path(__file__).resolve().parent.parent
    if (checkout / ".git").exists():
        git = ["git", "-C", str(checkout)]
        head = subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True)
        assert manifest["commit"] in (head.stdout.strip(), head.stdout.strip() + "-dirty")


def test_a_run_made_by_another_version_of_the_model_is_refused_saying_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A stranger changed a rule and was told the folder held 'another configuration' for the
    same command: it is the model that changed, and the refusal says so."""
    from importlib.metadata import version

    from sim import fingerprint

    def numba_version() -> str:
        return version("numba")

    run(_spec(replicates=2, weeks=3, jobs=1), tmp_path / "r", progress=None)
    made_by = fingerprint.model_fingerprint()
    monkeypatch.setattr(fingerprint, "model_fingerprint", lambda: "1234abcd1234abcd")
    with pytest.raises(ParameterError) as refused:
        run(_spec(replicates=2, weeks=3, jobs=1), tmp_path / "r", progress=None)
    assert (
        f"holds a run of another version of the model (its rules, data or Mesa code changed "
        f"since: model {made_by}, now 1234abcd1234abcd)"
    ) in str(refused.value)
    manifest = json.loads((tmp_path / "r" / "manifest.json").read_text())
    manifest["packages"]["numba"] = "0.67.0"  # the fingerprint holds Numba's version: say so
    (tmp_path / "r" / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ParameterError, match=r"holds a run made with numba 0\.67\.0 \(now "):
        run(_spec(replicates=2, weeks=3, jobs=1), tmp_path / "r", progress=None)
    monkeypatch.undo()
    manifest["packages"]["numba"] = numba_version()
    (tmp_path / "r" / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ParameterError, match="holds a run of another configuration"):
        run(_spec(replicates=2, weeks=3, jobs=1, seed=5), tmp_path / "r", progress=None)


def test_a_run_left_unfinished_under_other_library_versions_is_not_resumed(
    tmp_path: Path,
) -> None:
    """A reviewer resumed a run after a NumPy upgrade: it went ahead, and the manifest named
    the new versions for every replicate. Growing it is refused, naming the library; a
    complete run asked for again is still simply complete."""
    run(_spec(replicates=2, weeks=3, jobs=1), tmp_path / "r", progress=None)
    path = tmp_path / "r" / "manifest.json"
    manifest = json.loads(path.read_text())
    manifest["packages"]["numpy"] = "1.26.4"
    path.write_text(json.dumps(manifest))
    again = run(_spec(replicates=2, weeks=3, jobs=1), tmp_path / "r", progress=None)
    assert again.status == "complete" and not again.new
    with pytest.raises(ParameterError) as refused:
        run(_spec(replicates=4, weeks=3, jobs=1), tmp_path / "r", progress=None)
    assert f"holds a run made with numpy 1.26.4 (now {np.__version__}), which may draw" in str(
        refused.value
    )
    assert json.loads(path.read_text())["replicates"] == 2  # nothing written


def test_the_commit_says_dirty_when_tracked_files_changed_and_is_absent_outside_git(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sim import provenance

    git = ["git", "-C", str(tmp_path), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run([*git, "init", "-q"], check=True)
    (tmp_path / "rule.py").write_text("a = 1\n")
    subprocess.run([*git, "add", "rule.py"], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "one"], check=True)
    head = subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True).stdout
    monkeypatch.setattr(provenance, "_CHECKOUT", tmp_path)
    try:
        provenance.code_commit.cache_clear()
        (tmp_path / "results.txt").write_text("untracked: not a change of the code\n")
        assert provenance.code_commit() == head.strip()
        provenance.code_commit.cache_clear()
        (tmp_path / "sim" / "rules").mkdir(parents=True)
        (tmp_path / "sim" / "rules" / "new_rule.py").write_text("b = 1\n")  # not added yet
        assert provenance.code_commit() == head.strip() + "-dirty"
        (tmp_path / "sim" / "rules" / "new_rule.py").unlink()
        provenance.code_commit.cache_clear()
        monkeypatch.setenv("GIT_DIR", str(tmp_path / "elsewhere" / ".git"))  # as in a git hook
        assert provenance.code_commit() == head.strip()
        monkeypatch.delenv("GIT_DIR")
        provenance.code_commit.cache_clear()
        (tmp_path / "rule.py").write_text("a = 2\n")
        assert provenance.code_commit() == head.strip() + "-dirty"
        provenance.code_commit.cache_clear()
        monkeypatch.setattr(provenance, "_CHECKOUT", tmp_path / "elsewhere")
        assert provenance.code_commit() == ""
        assert "commit" not in provenance.environment()
    finally:
        provenance.code_commit.cache_clear()


def test_invalid_parameters_are_refused_before_anything_is_written(tmp_path: Path) -> None:
    bad = ModelParams()
    bad.pakistan.base_intensity = 1.5
    for backend in ("compiled", "mesa"):
        with pytest.raises(ParameterError, match=r"base_intensity=1\.5 is out of bounds"):
            run(_spec(params=bad, backend=backend), tmp_path / backend, progress=None)
        assert not (tmp_path / backend).exists()


def test_the_mesa_backend_writes_the_same_bytes_as_the_compiled_engine(tmp_path: Path) -> None:
    engine = run(_spec(jobs=1), tmp_path / "engine", progress=None)
    mesa = run(_spec(jobs=1, backend="mesa"), tmp_path / "mesa", progress=None)
    assert engine.status == mesa.status == "complete"
    assert _same_files(tmp_path / "engine", tmp_path / "mesa")


def test_replicate_seeds_are_distinct_and_stable() -> None:
    seeds = [replicate_seed(0, i) for i in range(1000)]
    assert len(set(seeds)) == 1000
    assert replicate_seed(0, 5) == replicate_seed(0, 5) != replicate_seed(1, 5)


def test_resuming_skips_finished_chunks_and_equals_an_uninterrupted_run(tmp_path: Path) -> None:
    full = tmp_path / "full"
    run(_spec(), full, progress=None)
    partial = tmp_path / "partial"
    run(_spec(), partial, progress=None)
    # Lose two chunks and the assembled files, as if stopped mid-run.
    for chunk in (1, 3):
        (partial / "chunks" / f"{chunk:05d}.done.json").unlink()
    for t in TABLES:
        (partial / f"{t}.parquet").unlink()
    outcome = run(_spec(), partial, progress=None)
    assert outcome.status == "complete"
    manifest = json.loads((partial / "manifest.json").read_text())
    assert manifest["resumed_replicates"] == 6
    assert _same_files(full, partial)


def test_a_complete_run_is_not_run_again(tmp_path: Path) -> None:
    first = run(_spec(), tmp_path / "r", progress=None)
    stamp = (tmp_path / "r" / "summary.parquet").stat().st_mtime_ns
    again = run(_spec(), tmp_path / "r", progress=None)
    assert first.new and not again.new and again.status == "complete"
    assert (tmp_path / "r" / "summary.parquet").stat().st_mtime_ns == stamp


def test_a_different_configuration_never_overwrites_a_run(tmp_path: Path) -> None:
    run(_spec(), tmp_path / "r", progress=None)
    before = (tmp_path / "r" / "summary.parquet").read_bytes()
    other = ModelParams()
    other.china.initial_patience = 0.2
    from sim.params import ParameterError

    with pytest.raises(ParameterError, match="another configuration"):
        run(_spec(params=other), tmp_path / "r", progress=None)
    assert (tmp_path / "r" / "summary.parquet").read_bytes() == before


def test_a_failing_replicate_is_recorded_and_the_others_finish(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bad_seed = replicate_seed(0, 4)
    original = CrisisModel.step

    def step(self: CrisisModel) -> None:
        if self._seed == bad_seed and self.week == 5:
            raise RuntimeError("scripted failure")
        original(self)

    monkeypatch.setattr(CrisisModel, "step", step)  # jobs=1 runs in this process
    outcome = run(_spec(jobs=1, backend="mesa"), tmp_path / "r", progress=None)
    assert outcome.status == "failed" and outcome.exit_code == 1
    assert outcome.failed_replicates == [4]
    summary = pd.read_parquet(tmp_path / "r" / "summary.parquet")
    assert sorted(summary["replicate"]) == [i for i in range(12) if i != 4]
    report = (tmp_path / "r" / "failures" / "replicate-000004.txt").read_text()
    assert f"seed {bad_seed}" in report and "scripted failure" in report and "Traceback" in report
    manifest = json.loads((tmp_path / "r" / "manifest.json").read_text())
    assert manifest["status"] == "failed" and manifest["failed_replicates"] == [4]


def _start(cwd: Path, *args: str) -> subprocess.Popen:
    run = [CPEC, "run", "replicates=120", "chunk_size=4", "weeks=52", "plots=false", *args]
    return _popen(cwd, run)


def _popen(cwd: Path, args: list[str]) -> subprocess.Popen:
    return subprocess.Popen(
        args,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def _wait_for_chunks(run_dir: Path, n: int, timeout: float = 120) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if len(list((run_dir / "chunks").glob("*.done.json"))) >= n:
            return
        time.sleep(0.1)
    raise AssertionError("no progress")


def _children(pid: int) -> list[int]:
    return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def _workers(pid: int) -> list[int]:
    """Worker processes: grandchildren (forked by the fork server) or busy children."""
    grandchildren = [g for c in _children(pid) for g in _children(c)]
    return grandchildren or _children(pid)


RUN = "results/runs/baseline,chunk_size=4,replicates=120,weeks=52"


@pytest.mark.parametrize("how", ["sigint", "sigterm", "kill_worker"])
def test_interrupted_run_resumes_to_the_uninterrupted_result(tmp_path: Path, how: str) -> None:
    proc = _start(tmp_path, "jobs=2")
    run_dir = tmp_path / RUN
    _wait_for_chunks(run_dir, 2)
    if how == "kill_worker":
        os.kill(_workers(proc.pid)[0], signal.SIGKILL)
    else:
        proc.send_signal(signal.SIGINT if how == "sigint" else signal.SIGTERM)
    out, err = proc.communicate(timeout=120)
    manifest = json.loads((run_dir / "manifest.json").read_text())
    said = int(out.split(f"{manifest['status']} (", 1)[1].split(" ", 1)[0])
    if how == "kill_worker":
        assert proc.returncode == 1 and manifest["status"] == "failed", err
        died = "a worker process died (killed, or out of memory?): re-run the same command"
        assert died in err and "__main__" not in err, err
    else:
        assert proc.returncode == 130 and manifest["status"] == "interrupted", err
        assert "resume" in err
        assert f"interrupted ({said} of 120 replicates)" in out, out  # helper-171
    assert not list(run_dir.glob("**/.*.tmp"))
    assert not (run_dir / "summary.parquet").exists()

    resumed = _start(tmp_path, "jobs=2")
    resumed.communicate(timeout=300)
    assert resumed.returncode == 0
    # the count the stop printed is what the resume kept (it said 440 of 480, a stranger saw)
    assert json.loads((run_dir / "manifest.json").read_text())["resumed_replicates"] == said > 0

    reference = run(
        RunSpec(ModelParams(), replicates=120, weeks=52, chunk_size=4, jobs=2),
        tmp_path / "reference",
        progress=None,
    )
    assert reference.status == "complete"
    assert _same_files(run_dir, tmp_path / "reference")


def test_a_sweep_stopped_before_its_last_job_says_so_and_resumes_it(tmp_path: Path) -> None:
    """A sweep interrupted in its second job: sweep.json listed the two jobs that ran and
    compare compared them without a word about the third."""
    sweep = tmp_path / "sweep"
    args = [CPEC, "run", "-m", "seed=1,2,3", "replicates=400", "chunk_size=4", "weeks=26",
            "plots=false"]  # fmt: skip
    args.append(f"hydra.sweep.dir={sweep}")
    proc = _popen(tmp_path, args)
    deadline = time.time() + 120
    while not list(sweep.glob("*seed=2*/chunks/*.done.json")) and time.time() < deadline:
        time.sleep(0.01)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    index = json.loads((sweep / "sweep.json").read_text())
    assert [job["status"] for job in index["jobs"]] == ["complete", "interrupted"], (index, err)
    not_started = [{"seed": "3", "replicates": "400", "chunk_size": "4", "weeks": "26"}]
    assert index["not_started"] == not_started, index
    compared = subprocess.run(
        [CPEC, "compare", str(sweep), "--no-plots"], capture_output=True, text=True, cwd=tmp_path
    )
    assert compared.returncode == 0, compared.stderr
    assert (
        "Not included: 1 job of sweep sweep never started (seed=3, chunk_size=4, replicates=400,"
        " weeks=26):"
        " the sweep stopped before it; re-run the command that started it to run it."
        in compared.stdout
    ), compared.stdout

    resumed = _popen(tmp_path, args)
    _, err = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, err
    index = json.loads((sweep / "sweep.json").read_text())
    assert [job["status"] for job in index["jobs"]] == ["complete"] * 3, (index, err)
    assert index["not_started"] == [], index


def _catches_sigint(pid: int) -> bool:
    """Whether the process has its own SIGINT handler (its mask of caught signals)."""
    status = Path(f"/proc/{pid}/status").read_text()
    caught = int(next(ln for ln in status.splitlines() if ln.startswith("SigCgt:")).split()[1], 16)
    return bool(caught & (1 << (signal.SIGINT - 1)))


def test_kill_int_stops_a_command_started_in_the_background_from_its_start(
    tmp_path: Path,
) -> None:
    """A script's ``cmd &`` inherits SIGINT ignored. A reviewer's ``kill -INT`` in a command's
    first second was lost (the run went on to its end), and drawing figures ignored it."""
    done = run(_spec(replicates=6), tmp_path / "r", progress=None)
    assert done.status == "complete"
    proc = subprocess.Popen(
        [CPEC, "plot", str(tmp_path / "r")],
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),
    )
    deadline = time.time() + 60
    while proc.poll() is None and not _catches_sigint(proc.pid) and time.time() < deadline:
        time.sleep(0.01)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert err.strip().endswith("interrupted (re-run the same command to resume)"), err
    assert not (tmp_path / "r" / "plots" / "drawn.json").exists()


def test_ctrl_c_stops_a_whole_sweep_not_only_its_current_job(tmp_path: Path) -> None:
    """A reviewer's Ctrl-C in a sweep of three: the first job stopped, then the other two ran
    to the end before the command exited 130."""
    proc = _start(tmp_path, "jobs=2", "-m", "seed=1,2,3", "sweep_name=s")
    sweep = tmp_path / "results" / "sweeps" / "s"
    first = sweep / "chunk_size=4,replicates=120,seed=1,sweep_name=s,weeks=52"
    _wait_for_chunks(first, 2)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert out.splitlines()[0].startswith("interrupted") and "resume" in err
    assert [p.parent.name for p in sweep.glob("*/manifest.json")] == [first.name]
    index = json.loads((sweep / "sweep.json").read_text())
    assert [job["status"] for job in index["jobs"]] == ["interrupted"]


def test_a_run_with_every_chunk_done_rebuilds_its_files_with_the_worker_server_up(
    tmp_path: Path,
) -> None:
    """Nothing left to simulate needs no pool (it was asked for one of 0 workers)."""
    from sim.workers import run_preload, start_worker_server, worker_server_running

    start_worker_server(run_preload("compiled"))
    assert worker_server_running()
    first = run(_spec(jobs=2), tmp_path / "run", progress=None)
    assert first.status == "complete"
    kept = (tmp_path / "run" / "summary.parquet").read_bytes()
    (tmp_path / "run" / "events.parquet").unlink()
    again = run(_spec(jobs=2), tmp_path / "run", progress=None)
    assert again.status == "complete", again.message
    assert "events.parquet" in again.message or (tmp_path / "run" / "events.parquet").exists()
    assert (tmp_path / "run" / "summary.parquet").read_bytes() == kept


def test_an_earlier_runs_chunk_size_is_kept_when_it_is_run_again(tmp_path: Path) -> None:
    """A run made with another automatic chunk size resumes, grows or shrinks in its own
    chunks (a reviewer's 1,500 replicates grown to 3,000 were all recomputed), unless that
    would make too many chunks."""
    from sim.runner import MAX_REUSED_CHUNKS, earlier_chunk_size

    assert earlier_chunk_size(tmp_path / "none", 12) is None
    run(_spec(chunk_size=4), tmp_path / "run", progress=None)
    assert earlier_chunk_size(tmp_path / "run", 12) == 4
    assert earlier_chunk_size(tmp_path / "run", 13) == 4  # grown: its chunks are kept
    assert earlier_chunk_size(tmp_path / "run", 4 * MAX_REUSED_CHUNKS) == 4
    assert earlier_chunk_size(tmp_path / "run", 4 * MAX_REUSED_CHUNKS + 1) is None
    # resumed as it was, whatever its number of chunks (an older version's run of 21,000
    # replicates in chunks of 50 would otherwise be recomputed)
    assert earlier_chunk_size(tmp_path / "run", 12) == 4
    original = (tmp_path / "run" / "manifest.json").read_text()
    manifest = json.loads(original)
    manifest["replicates"] = 4 * MAX_REUSED_CHUNKS + 1
    (tmp_path / "run" / "manifest.json").write_text(json.dumps(manifest))
    assert earlier_chunk_size(tmp_path / "run", 4 * MAX_REUSED_CHUNKS + 1) == 4
    # a grown run whose manifest was lost: its first chunk says how big its chunks are
    (tmp_path / "run" / "manifest.json").write_text('{"pack')
    assert earlier_chunk_size(tmp_path / "run", 13) == 4
    (tmp_path / "run" / "manifest.json").write_text(original)
    again = run(_spec(chunk_size=4), tmp_path / "run", progress=None)
    assert not again.new  # already complete: nothing recomputed


def test_a_grown_run_keeps_its_finished_chunks(tmp_path: Path) -> None:
    from sim.runner import earlier_chunk_size

    folder = tmp_path / "run"
    run(_spec(replicates=12, chunk_size=4), folder, progress=None)
    first = {p.name: p.read_bytes() for p in (folder / "chunks").iterdir()}
    size = earlier_chunk_size(folder, 20)
    grown = run(_spec(replicates=20, chunk_size=size), folder, progress=None)
    assert grown.status == "complete" and grown.done_replicates == 20
    after = {p.name: p.read_bytes() for p in (folder / "chunks").iterdir()}
    assert all(after[name] == data for name, data in first.items())  # none recomputed
    fresh = run(_spec(replicates=20, chunk_size=4), tmp_path / "fresh", progress=None)
    assert fresh.status == "complete"
    for table in ("summary", "timeseries", "events"):
        name = f"{table}.parquet"
        assert (folder / name).read_bytes() == (tmp_path / "fresh" / name).read_bytes()


def test_a_run_chunked_otherwise_than_its_folder_says_it_computed_everything_again(
    tmp_path: Path,
) -> None:
    """A stranger's chunk_size=100 in a folder of chunks of 250 recomputed 2,000 replicates
    without a word."""
    folder = tmp_path / "run"
    run(_spec(replicates=12, chunk_size=4, jobs=1), folder, progress=None)
    before = pd.read_parquet(folder / "summary.parquet")
    again = run(_spec(replicates=12, chunk_size=3, jobs=1), folder, progress=None)
    assert again.status == "complete"
    assert (
        "chunked by 4 replicates and this one by 3, so its finished chunks were not reused: "
        "computed again" in again.message
    )
    pd.testing.assert_frame_equal(pd.read_parquet(folder / "summary.parquet"), before)
    resumed = run(_spec(replicates=12, chunk_size=3, jobs=1), folder, progress=None)
    assert "chunked" not in resumed.message  # the same chunking: nothing to say
    # a run smaller than one of the folder's chunks could not reuse them in their size either
    fewer = run(_spec(replicates=2, chunk_size=1, jobs=1), folder, progress=None)
    assert "chunked by 3 replicates" in fewer.message and "keeps them" not in fewer.message


def test_a_grown_run_that_is_stopped_says_how_to_get_the_finished_run_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its final files are removed when it starts; a stranger read only "re-run the same
    command to resume" and did not know that the finished run was a command away."""
    from sim.results import Assembly
    from sim.runner import earlier_chunk_size

    folder = tmp_path / "run"
    run(_spec(replicates=12, chunk_size=4, jobs=1), folder, progress=None)
    before = {t: (folder / f"{t}.parquet").read_bytes() for t in TABLES}
    original = Assembly._append

    def stop_in_the_first_new_chunk(self: Assembly, chunk: int) -> None:
        if chunk == 3:
            os.kill(os.getpid(), signal.SIGTERM)
        original(self, chunk)

    monkeypatch.setattr(Assembly, "_append", stop_in_the_first_new_chunk)
    size = earlier_chunk_size(folder, 20)
    grown = run(_spec(replicates=20, chunk_size=size, jobs=1), folder, progress=None)
    assert grown.status == "interrupted"
    assert (
        "finished run of 12 replicates is kept: replicates=12 in this folder restores it"
        in grown.message
    )
    assert not (folder / "summary.parquet").exists()

    # stopped a second time (its manifest said "running" meanwhile, in case it is killed),
    # it still names the finished run: the second interruption used to forget it
    manifests = []

    def stop_again(self: Assembly, chunk: int) -> None:
        if chunk == 4:
            manifests.append(json.loads((folder / "manifest.json").read_text()))
            os.kill(os.getpid(), signal.SIGTERM)
        original(self, chunk)

    monkeypatch.setattr(Assembly, "_append", stop_again)
    again = run(_spec(replicates=20, chunk_size=size, jobs=1), folder, progress=None)
    assert again.status == "interrupted" and manifests[0]["status"] == "running"
    assert manifests[0]["finished_earlier"] == {"replicates": 12, "chunk_size": 4}
    assert (
        "finished run of 12 replicates is kept: replicates=12 in this folder restores it"
        in again.message
    )

    # a stopped restore keeps it too, and a stopped grow then still names it (a reviewer)
    def stop_in_chunk_1(self: Assembly, chunk: int) -> None:
        if chunk == 1:
            os.kill(os.getpid(), signal.SIGTERM)
        original(self, chunk)

    monkeypatch.setattr(Assembly, "_append", stop_in_chunk_1)
    restore = run(_spec(replicates=12, chunk_size=4, jobs=1), folder, progress=None)
    assert restore.status == "interrupted"
    carried = json.loads((folder / "manifest.json").read_text())["finished_earlier"]
    assert carried == {"replicates": 12, "chunk_size": 4}
    monkeypatch.setattr(Assembly, "_append", stop_again)
    again = run(_spec(replicates=20, chunk_size=size, jobs=1), folder, progress=None)
    assert "replicates=12 in this folder restores it" in again.message
    # a hand-edited record beyond any run's size is ignored, not a crash
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["finished_earlier"] = {"replicates": 10**11, "chunk_size": 10**11}
    (folder / "manifest.json").write_text(json.dumps(manifest))
    odd = run(_spec(replicates=20, chunk_size=size, jobs=1), folder, progress=None)
    assert odd.status == "interrupted" and "restores" not in odd.message
    monkeypatch.setattr(Assembly, "_append", original)
    back = run(_spec(replicates=12, chunk_size=4, jobs=1), folder, progress=None)
    assert back.status == "complete" and "restores" not in back.message
    assert {t: (folder / f"{t}.parquet").read_bytes() for t in TABLES} == before

    # grown in other chunks, the finished run's chunks go: the note must not say "kept"
    # (a reviewer), nor, for a stopped shrink, that files hold what they do not
    monkeypatch.setattr(Assembly, "_append", stop_in_the_first_new_chunk)
    for replicates, chunk_size in ((20, 5), (8, 2)):
        stopped = run(_spec(replicates=replicates, chunk_size=chunk_size, jobs=1), folder, None)
        assert stopped.status == "interrupted"
        assert "is kept" not in stopped.message and "files now hold" not in stopped.message
        if replicates == 20:
            assert "replicates=12 chunk_size=4 in this folder computes its finished run" in (
                stopped.message
            )
        monkeypatch.setattr(Assembly, "_append", original)
        assert run(_spec(replicates=12, chunk_size=4, jobs=1), folder, None).status == "complete"
        monkeypatch.setattr(Assembly, "_append", stop_in_the_first_new_chunk)


def test_a_stop_request_during_an_append_is_raised_after_it_and_leaves_no_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An exception raised while an append starts its helper threads could leave one running
    after the clean-up, writing a temporary final file: the request waits for the append."""
    from sim.results import Assembly

    original = Assembly._append
    appended: list[int] = []

    def append_with_a_stop_request(self: Assembly, chunk: int) -> None:
        if not appended:
            os.kill(os.getpid(), signal.SIGTERM)  # arrives here, inside the append
        original(self, chunk)
        appended.append(chunk)

    monkeypatch.setattr(Assembly, "_append", append_with_a_stop_request)
    out = run(_spec(jobs=1), tmp_path / "run", progress=None)
    assert out.status == "interrupted" and appended == [0]  # the append completed first
    assert not list((tmp_path / "run").glob("**/.*.tmp"))
    assert not (tmp_path / "run" / "summary.parquet").exists()

    # resuming appends the finished chunks first: the request waits for one chunk, not all
    monkeypatch.setattr(Assembly, "_append", original)
    assert run(_spec(jobs=1), tmp_path / "run", progress=None).status == "complete"
    (tmp_path / "run" / "manifest.json").unlink()  # reassembled from the four chunks
    appended.clear()
    monkeypatch.setattr(Assembly, "_append", append_with_a_stop_request)
    again = run(_spec(jobs=1), tmp_path / "run", progress=None)
    assert again.status == "interrupted" and appended == [0]


# --- from a notebook: run() refuses what the command line refuses, and records what it ran
@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ({"replicates": 0}, "replicates=0 is not allowed"),
        ({"replicates": "50"}, "replicates='50' is not allowed"),
        ({"chunk_size": 0}, "chunk_size=0 is not allowed"),
        ({"seed": -1}, "seed=-1 is not allowed"),
        ({"seed": 1.5}, "seed=1.5 is not allowed"),
        ({"jobs": 0}, "jobs=0 is not allowed"),
        ({"weeks": 2.5}, "weeks=2.5 is not allowed"),
        ({"streams": "both"}, "streams=both is not allowed"),
    ],
)
def test_run_from_python_refuses_bad_settings_before_touching_the_folder(
    tmp_path: Path, bad: dict, message: str
) -> None:
    """A stranger's notebook: replicates=0 'completed' with empty tables, replicates='50'
    deleted a finished run's files, a negative seed left a folder stuck 'running'."""
    from sim.params import ParameterError

    done = tmp_path / "done"
    assert run(RunSpec(ModelParams(), replicates=3, weeks=3), done, progress=None).status == (
        "complete"
    )
    before = {p.name: p.read_bytes() for p in done.iterdir() if p.is_file()}
    for folder in (tmp_path / "new", done):
        with pytest.raises(ParameterError, match=re.escape(message)):
            run(RunSpec(ModelParams(), **{"replicates": 3, "weeks": 3, **bad}), folder)
    assert not (tmp_path / "new").exists()
    assert {p.name: p.read_bytes() for p in done.iterdir() if p.is_file()} == before


def test_parameters_take_numpy_scalars_from_a_notebook() -> None:
    """helper-180: ``with_overrides`` refused ``np.int64(41)`` and ``np.bool_(True)`` with
    "expected a number" (the README's way to set parameters from Python)."""
    from sim.config import scenario_params, with_overrides

    changed = {
        "cells.events_per_week": np.int64(41),
        "pakistan.accept_chinese_troops": np.bool_(True),
        "recruitment.threshold": np.float32(0.25),
    }
    for params in (with_overrides(ModelParams(), changed), scenario_params("baseline", changed)):
        assert params.cells.events_per_week == 41 and type(params.cells.events_per_week) is int
        assert params.pakistan.accept_chinese_troops is True
        assert params.recruitment.threshold == 0.25
    for whole in (41.0, np.float64(41.0)):  # helper-181: np.linspace's; the command line's 41
        params = with_overrides(ModelParams(), {"cells.events_per_week": whole})
        assert type(params.cells.events_per_week) is int
        assert (
            RunSpec(params).config_hash
            == RunSpec(with_overrides(ModelParams(), {"cells.events_per_week": 41})).config_hash
        )


def test_run_from_python_takes_numpy_integers_and_a_string_folder(tmp_path: Path) -> None:
    spec = RunSpec(ModelParams(), replicates=np.int64(4), seed=np.int64(3), weeks=np.int64(3))
    outcome = run(spec, str(tmp_path / "np"), progress=None)
    assert outcome.status == "complete" and outcome.done_replicates == 4
    manifest = json.loads((tmp_path / "np" / "manifest.json").read_text())
    assert (manifest["seed"], manifest["replicates"], manifest["weeks"]) == (3, 4, 3)


def test_a_run_from_python_records_its_parameters_and_chunks_as_the_command_line(
    tmp_path: Path,
) -> None:
    """A stranger's run of changed parameters stored no config.yaml and an empty overrides
    list, and compare labelled it 'Baseline'; its chunking (25) differed from the command
    line's (automatic), so the same run's files differed in bytes."""
    from sim.analysis.runs import load_runs
    from sim.config import resolved_chunk_size, scenario_params, with_overrides

    params = with_overrides(
        scenario_params("chinese_troops"), {"china.patience_loss_per_death": 0.09}
    )
    run(RunSpec(params, replicates=3, weeks=3), tmp_path / "a", progress=None)
    manifest = json.loads((tmp_path / "a" / "manifest.json").read_text())
    assert manifest["overrides"] == [
        "pakistan.accept_chinese_troops=true",  # as the command line writes it
        "china.patience_loss_per_death=0.09",
    ]
    assert "patience_loss_per_death: 0.09" in (tmp_path / "a" / "config.yaml").read_text()
    assert "patience_loss_per_death=0.09" in load_runs(tmp_path / "a").runs[0].label
    named = RunSpec(params, scenario="chinese_troops", replicates=2000, weeks=3)
    assert checked_spec(named).overrides == ["china.patience_loss_per_death=0.09"]
    assert checked_spec(named).chunk_size == resolved_chunk_size(None, 2000) == 40


def test_a_script_read_from_standard_input_runs_its_replicates_in_process(
    tmp_path: Path,
) -> None:
    """Workers import the main script's file; read from stdin it has none, and every worker
    died ('re-run the same command' could not help)."""
    script = (
        "import sys\nfrom pathlib import Path\nfrom sim.params import ModelParams\n"
        "from sim.runner import RunSpec, run\n"
        "if __name__ == '__main__':\n"
        f"    o = run(RunSpec(ModelParams(), replicates=40, weeks=3, jobs=2, chunk_size=10), "
        f"Path({str(tmp_path / 'r')!r}), progress=sys.stderr)\n"
        "    print(o.status)\n"
    )
    done = subprocess.run(
        [sys.executable, "-"], input=script, capture_output=True, text=True, timeout=300
    )
    assert done.stdout.strip() == "complete", done.stderr
    assert "cannot start worker processes" in done.stderr and "Traceback" not in done.stderr


def test_run_replicate_refuses_a_seed_it_could_not_repeat() -> None:
    from sim.engine import run_replicate
    from sim.params import ParameterError

    with pytest.raises(ParameterError, match="seed=None is not allowed"):
        run_replicate(ModelParams(), 3, None)  # type: ignore[arg-type]
    big = max(replicate_seed(0, i) for i in range(20))
    assert big > 2**63  # replicate seeds are 64-bit words
    assert (
        run_replicate(ModelParams(), 3, big).summary
        == run_replicate(ModelParams(), 3, np.uint64(big)).summary
    )


def test_a_python_run_records_the_scenario_s_caveats_and_takes_numpy_floats(
    tmp_path: Path,
) -> None:
    """A reviewer: a NumPy float parameter (np.linspace) crashed the record, a Python run
    dropped its scenario's rests_on, and bad internal fields slipped through."""
    from sim.analysis.runs import load_runs
    from sim.config import scenario_params, with_overrides

    changed = {"investors.risk_aversion": np.float64(1.5)}
    params = with_overrides(scenario_params("investment_freeze"), changed)
    spec = RunSpec(params, scenario="investment_freeze", replicates=3, weeks=3)
    assert run(spec, tmp_path / "f", progress=None).status == "complete"
    loaded = load_runs(tmp_path / "f").runs[0]
    assert loaded.rests_on and "capital_deployed_final" in loaded.by_construction
    assert loaded.overrides == {"investors.risk_aversion": "1.5"}
    for bad, message in (
        ({"scenario": "../evil"}, "scenario='../evil' is not allowed"),
        ({"scenario": "iran_bordr"}, "unknown scenario 'iran_bordr': choose one of baseline,"),
        ({"overrides": "a=b"}, "overrides must be a list"),
        ({"records": {"../x": "y"}}, "records must map relative paths"),
        ({"made_by": 1}, "made_by and description must be text"),
    ):
        with pytest.raises(ParameterError, match=re.escape(message)):
            run(RunSpec(params, replicates=2, weeks=2, **bad), tmp_path / "bad")
    assert not (tmp_path / "bad").exists()


def test_overrides_given_to_a_python_run_must_say_what_its_parameters_hold(
    tmp_path: Path,
) -> None:
    """helper-178: ``overrides=["recruitment.threshold=0.9"]`` beside the baseline's
    parameters (threshold 0.1) was stored as given and never applied, so compare labelled a
    baseline run "[threshold=0.9]"; unknown keys and non-overrides were stored too.
    helper-180: a true label could leave out what the run changed, was stored as typed
    ("0.90", " key =0.1"), took spellings the command line refuses, and run settings passed
    unchecked. A label is now checked, written as the command line writes it, and completed."""
    from sim.analysis.runs import load_runs
    from sim.config import scenario_params, with_overrides

    base = scenario_params("baseline")
    for overrides, message in (
        (["recruitment.threshold=0.9"], "hold recruitment.threshold=0.1; set it in the param"),
        (["nosuch.key=3"], "'nosuch.key' is not a parameter"),
        (["recruitment.treshold=0.1"], "(did you mean recruitment.threshold?)"),
        (["not an override"], "'not an override' is not key=value"),
        (["pakistan.accept_chinese_troops=yes"], "hold pakistan.accept_chinese_troops=false"),
        (["pakistan.accept_chinese_troops=no"], "hold pakistan.accept_chinese_troops=false"),
        (["cells.events_per_week=40.0"], "hold cells.events_per_week=40"),
        (["seed=7"], "but the run's seed is 0; set RunSpec.seed instead"),
        (["scenario=decisive_operation"], "the run's scenario is baseline"),
        (["recruitment.threshold=0.1", "recruitment.threshold=1e-1"], "given twice"),
        (["cells.events_per_week=" + "4" * 5000], "hold cells.events_per_week=40"),
        (["cells.events_per_week=٤٠"], "hold cells.events_per_week=40"),
        (["iran.initial_posture='neutral\""], "hold iran.initial_posture=neutral"),
    ):
        with pytest.raises(ParameterError, match=re.escape(message)):
            run(RunSpec(base, replicates=2, weeks=2, overrides=overrides), tmp_path / "bad")
    assert not (tmp_path / "bad").exists()
    params = with_overrides(base, {"recruitment.threshold": 0.9, "groups.bla.attack_rate": 0.1})
    labels = ["scenario=baseline", " recruitment.threshold =0.90", "weeks=2", "jobs=1"]
    spec = RunSpec(params, replicates=2, weeks=2, overrides=labels)
    assert run(spec, tmp_path / "ok", progress=None).status == "complete"
    manifest = json.loads((tmp_path / "ok" / "manifest.json").read_text())
    assert manifest["overrides"] == ["recruitment.threshold=0.9", "groups.bla.attack_rate=0.1"]
    assert load_runs(tmp_path / "ok").runs[0].overrides == {
        "recruitment.threshold": "0.9",
        "groups.bla.attack_rate": "0.1",  # changed, left out of the label: added
    }
    assert checked_spec(RunSpec(params, overrides=["groups.bla.attack_rate=1e-1"])).overrides == [
        "groups.bla.attack_rate=0.1",
        "recruitment.threshold=0.9",
    ]
    quoted = RunSpec(params, overrides=["iran.initial_posture='neutral'"])  # as typed for Hydra
    assert checked_spec(quoted).overrides[0] == "iran.initial_posture=neutral"


def test_a_python_run_records_its_scenario_s_description_as_the_command_line(
    tmp_path: Path,
) -> None:
    """helper-178: a run made from Python recorded an empty description, so its report left
    out the scenario's paragraph; the command line records the scenario file's text."""
    from sim.config import load_scenario, scenario_params

    spec = RunSpec(scenario_params("iran_border"), scenario="iran_border", replicates=2, weeks=2)
    run(spec, tmp_path / "a", progress=None)
    said = " ".join(str(load_scenario("iran_border")["scenario"]["description"]).split())
    assert (
        said and json.loads((tmp_path / "a" / "manifest.json").read_text())["description"] == said
    )
    own = RunSpec(spec.params, scenario="iran_border", replicates=2, weeks=2, description="mine")
    run(own, tmp_path / "b", progress=None)
    assert json.loads((tmp_path / "b" / "manifest.json").read_text())["description"] == "mine"


def test_a_folder_that_cannot_be_made_is_one_line_and_nothing_is_written(
    tmp_path: Path,
) -> None:
    """helper-178: a run folder under a file raised NotADirectoryError's traceback; the
    command line says so in one line."""
    (tmp_path / "afile").write_text("x")
    with pytest.raises(ParameterError, match=r"cannot be used: .*afile is not a folder"):
        run(RunSpec(ModelParams(), replicates=2, weeks=2), tmp_path / "afile" / "sub")
    assert (tmp_path / "afile").read_text() == "x"
    (tmp_path / "dangling").symlink_to(tmp_path / "nowhere")
    (tmp_path / "loop").symlink_to(tmp_path / "loop")
    for path, said in (  # helper-180: each was a traceback
        (tmp_path / "dangling", "is a link to nothing"),
        (tmp_path / "loop" / "x", "loop is a link to nothing"),
        (tmp_path / ("a" * 300), "cannot be used: File name too long"),
        (f"{tmp_path}/a\0b", "a\\0b cannot be used: embedded null byte"),
    ):
        with pytest.raises(ParameterError, match=re.escape(said)):
            run(RunSpec(ModelParams(), replicates=2, weeks=2), path)
    (tmp_path / "through").symlink_to(tmp_path / "dangling")  # helper-181: a link's parent
    with pytest.raises(ParameterError, match="through is a link to nothing"):
        run(RunSpec(ModelParams(), replicates=2, weeks=2), tmp_path / "through" / "x")
    with pytest.raises(ParameterError, match="the run's folder is empty"):
        run(RunSpec(ModelParams(), replicates=2, weeks=2), "")  # had written into the cwd
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile", "dangling", "loop", "through"]


def test_a_python_run_folder_under_home_is_the_home_folder_s(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """helper-181: ``"~/runs/x"`` made a folder named ``~`` in the current one, and the run
    failed when pyarrow (which expands ``~``) read its chunks back."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    (tmp_path / "home").mkdir()
    outcome = run(RunSpec(ModelParams(), replicates=2, weeks=2), "~/runs/x", progress=None)
    assert outcome.status == "complete"
    assert (tmp_path / "home" / "runs" / "x" / "summary.parquet").is_file()
    assert not (tmp_path / "~").exists()


def test_a_python_run_refuses_a_folder_of_the_user_s_files_as_the_command_line_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A notebook's run went ahead into a folder holding a user's files (and into the home
    folder itself), writing its chunks and tables among them; ``cpec-sim run`` refuses both."""
    mine = tmp_path / "thesis"
    mine.mkdir()
    (mine / "draft.tex").write_text("x")
    with pytest.raises(
        ParameterError,
        match=r"thesis holds what is not a run of cpec-sim "
        r"\(draft.tex\): move it out",
    ):
        run(RunSpec(ModelParams(), replicates=2, weeks=2), mine, progress=None)
    assert [p.name for p in mine.iterdir()] == ["draft.tex"]
    (mine / "draft.tex").unlink()
    (mine / "chunks").mkdir()  # helper-185: a folder of only chunks/ passed, whatever it held
    (mine / "chunks" / "notes.txt").write_text("x")
    (mine / "chunks" / ".DS_Store").write_text("x")  # a file browser's litter is no one's work
    with pytest.raises(ParameterError, match=r"\(chunks/notes.txt\)"):
        run(RunSpec(ModelParams(), replicates=2, weeks=2), mine, progress=None)
    (mine / "chunks" / "notes.txt").unlink()
    assert run(RunSpec(ModelParams(), replicates=2, weeks=2), mine, progress=None).new
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    (tmp_path / "home").mkdir()
    with pytest.raises(ParameterError, match="is a system or home folder"):
        run(RunSpec(ModelParams(), replicates=2, weeks=2), "~", progress=None)
    with pytest.raises(ParameterError, match="is a system or home folder"):  # helper-186
        run(RunSpec(ModelParams(), replicates=2, weeks=2, made_by="a tool"), "~", progress=None)
    assert not list((tmp_path / "home").iterdir())
    ours = tmp_path / "run"  # a run folder, with what compare and report leave, still is
    assert run(RunSpec(ModelParams(), replicates=2, weeks=2), ours, progress=None).new
    (ours / "report.html").write_text("<html>")
    (ours / "notes.txt").write_text("mine")  # a finished run beside a user's file: read only
    again = run(RunSpec(ModelParams(), replicates=2, weeks=2), ours, progress=None)
    assert again.status == "complete" and not again.new
    with pytest.raises(ParameterError, match=r"\(notes.txt\)"):  # but not grown among it
        run(RunSpec(ModelParams(), replicates=3, weeks=2), ours, progress=None)
    kept, recorded_run = {"provenance/source.txt": "x"}, tmp_path / "recorded"
    first = run(RunSpec(ModelParams(), replicates=2, weeks=2, records=kept), recorded_run, None)
    assert first.status == "complete" and (recorded_run / "provenance/source.txt").is_file()
    grown = run(RunSpec(ModelParams(), replicates=3, weeks=2, records=kept), recorded_run, None)
    assert grown.status == "complete"  # the files a spec's own records name are the run's


@pytest.mark.parametrize("population", ["0", "-5", "nan"])
def test_a_place_without_people_is_refused_in_one_line_before_the_folder(
    population: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A place of population 0 divided by zero in the first week (a reviewer's edge case):
    the data check names the place, and a run refuses before it writes anything."""
    from sim import space
    from sim.data import rows

    def edited(name: str) -> list[dict[str, str]]:
        out = rows(name)
        if name == "places.csv":
            out[1] = {**out[1], "population": population}
        return out

    monkeypatch.setattr(space, "data_rows", edited)
    space.load_places.cache_clear()
    try:
        with pytest.raises(ParameterError, match=r"^places.csv: gwadar has population .*above 0"):
            run(RunSpec(ModelParams(), replicates=2), tmp_path / "run")
        assert not (tmp_path / "run").exists()
    finally:
        space.load_places.cache_clear()


def test_a_run_grown_by_other_code_says_which_commits_made_its_kept_replicates(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """helper-187: 10 replicates run with an uncommitted change to the runner, then grown to
    20 from the clean checkout, left a manifest naming only the clean commit."""
    import json

    import sim.provenance
    import sim.runner

    def commit(text: str) -> None:
        monkeypatch.setattr(sim.provenance, "code_commit", lambda: text)
        monkeypatch.setattr(sim.runner, "code_commit", lambda: text)

    folder = tmp_path / "run"
    commit("abc-dirty")
    run(RunSpec(ModelParams(), replicates=2, weeks=2, chunk_size=1), folder, progress=None)
    commit("abc")
    grown = run(RunSpec(ModelParams(), replicates=3, weeks=2, chunk_size=1), folder, None)
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["commit"] == "abc"
    assert manifest[sim.runner.OTHER_CODE] == ["abc-dirty"]
    assert (
        "2 replicates kept from the folder's earlier run were made by other code" in grown.message
    )
    commit("abc")  # grown again by the same code: the earlier commit is still named
    run(RunSpec(ModelParams(), replicates=4, weeks=2, chunk_size=1), folder, progress=None)
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest[sim.runner.OTHER_CODE] == ["abc-dirty"]
    fresh = tmp_path / "fresh"  # one commit throughout: nothing said
    run(RunSpec(ModelParams(), replicates=2, weeks=2, chunk_size=1), fresh, progress=None)
    again = run(RunSpec(ModelParams(), replicates=3, weeks=2, chunk_size=1), fresh, None)
    assert sim.runner.OTHER_CODE not in json.loads((fresh / "manifest.json").read_text())
    assert "other code" not in again.message


def test_a_bug_in_a_run_leaves_its_manifest_failed_and_is_raised(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """helper-187: a chunk that raised (an undeclared float column) left the manifest
    'running'; the error still reaches the caller (the command line prints it in one line)."""
    import json

    import sim.runner

    def broken(*args: object, **kwargs: object) -> None:
        raise TypeError("column x holds 0.5, not a whole number")

    monkeypatch.setattr(sim.runner, "run_chunk", broken)
    with pytest.raises(TypeError, match="not a whole number"):
        run(RunSpec(ModelParams(), replicates=2, weeks=2, jobs=1), tmp_path / "r", progress=None)
    manifest = json.loads((tmp_path / "r" / "manifest.json").read_text())
    assert manifest["status"] == "failed" and "TypeError: column x" in manifest["message"]
    assert not (tmp_path / "r" / "summary.parquet").exists()
