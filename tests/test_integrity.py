"""Damaged results are detected, reported in one line, and repaired by a re-run.

Each case damages a finished (or half-finished) run the way a user, a disk or a stray ``cp``
might; every reader says in one line what is damaged, and re-running the same command
rebuilds the run to the same bytes as a clean run.
"""

from __future__ import annotations

import errno
import hashlib
import json
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from sim.analysis.runs import ResultsError, load_run
from sim.params import ModelParams, ParameterError
from sim.results import run_store
from sim.runner import ALREADY_COMPLETE, RunSpec, run
from tests.conftest import CPEC

TABLES = ("summary", "timeseries", "events")


def _spec(**kw: object) -> RunSpec:
    base = {"params": ModelParams(), "replicates": 20, "weeks": 8, "chunk_size": 5}
    return RunSpec(**{**base, **kw})  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A clean run to compare repaired runs with, byte for byte."""
    out = tmp_path_factory.mktemp("clean") / "run"
    assert run(_spec(), out, progress=None).status == "complete"
    return out


def _copy(clean: Path, tmp_path: Path) -> Path:
    target = tmp_path / "run"
    shutil.copytree(clean, target)
    return target


def _same_results(a: Path, b: Path) -> bool:
    return all(
        (a / f"{t}.parquet").read_bytes() == (b / f"{t}.parquet").read_bytes() for t in TABLES
    )


def _truncate_summary(run_dir: Path) -> None:
    table = pq.read_table(run_dir / "summary.parquet")
    pq.write_table(table.slice(0, 5), run_dir / "summary.parquet")


def _garbage_events(run_dir: Path) -> None:
    (run_dir / "events.parquet").write_bytes(b"not a parquet file at all")


def _delete_summary(run_dir: Path) -> None:  # helper-189: "no summary.parquet here"
    (run_dir / "summary.parquet").unlink()


@pytest.mark.parametrize(
    ("damage", "name"),
    [
        (_truncate_summary, "summary.parquet"),
        (_garbage_events, "events.parquet"),
        (_delete_summary, "summary.parquet"),
    ],
    ids=["summary cut to 5 of 20 rows", "garbage events", "summary deleted"],
)
def test_a_damaged_result_file_is_reported_in_one_line_and_rebuilt(
    clean: Path, tmp_path: Path, damage: Callable[[Path], None], name: str
) -> None:
    run_dir = _copy(clean, tmp_path)
    damage(run_dir)
    with pytest.raises(ResultsError, match=f"{name} is damaged") as info:
        load_run(run_dir)
    assert "\n" not in str(info.value)
    for command in (["compare", str(run_dir)], ["plot", str(run_dir)]):
        proc = subprocess.run([CPEC, *command], capture_output=True, text=True, timeout=120)
        assert proc.returncode == 2, proc.stderr
        assert proc.stderr.count("\n") == 1 and f"{name} is damaged" in proc.stderr
        assert "Traceback" not in proc.stderr

    outcome = run(_spec(), run_dir, progress=None)
    assert outcome.status == "complete" and f"{name} was damaged" in outcome.message
    assert _same_results(run_dir, clean)
    load_run(run_dir)  # intact again


def _swap_chunk_tables(run_dir: Path) -> None:
    store = run_store(run_dir, "")
    for table in TABLES:
        shutil.copyfile(store.path(0, table), store.path(1, table))


def _swap_whole_chunk(run_dir: Path) -> None:
    store = run_store(run_dir, "")
    for table in (*TABLES, "done"):
        shutil.copyfile(store.path(0, table), store.path(1, table))


def _truncate_chunk(run_dir: Path) -> None:
    path = run_store(run_dir, "").path(2, "timeseries")
    path.write_bytes(path.read_bytes()[:100])


def _delete_chunk_summary(run_dir: Path) -> None:
    run_store(run_dir, "").path(3, "summary").unlink()


@pytest.mark.parametrize(
    "damage",
    [_swap_chunk_tables, _swap_whole_chunk, _truncate_chunk, _delete_chunk_summary],
    ids=["chunk tables swapped", "chunk swapped with marker", "chunk truncated", "chunk lost"],
)
def test_a_damaged_chunk_is_recomputed_on_resume(
    clean: Path, tmp_path: Path, damage: Callable[[Path], None]
) -> None:
    run_dir = _copy(clean, tmp_path)
    for table in TABLES:  # as if stopped before assembling
        (run_dir / f"{table}.parquet").unlink()
    manifest = json.loads((run_dir / "manifest.json").read_text())
    (run_dir / "manifest.json").write_text(json.dumps({**manifest, "status": "interrupted"}))
    damage(run_dir)

    outcome = run(_spec(), run_dir, progress=None)
    assert outcome.status == "complete"
    assert "1 damaged chunk(s) recomputed" in outcome.message
    assert outcome.timings["simulate_s"] >= 0
    assert _same_results(run_dir, clean)
    summary = load_run(run_dir).summary
    assert list(summary["replicate"]) == list(range(20))


def test_a_damaged_manifest_is_rewritten_and_readers_say_so(clean: Path, tmp_path: Path) -> None:
    run_dir = _copy(clean, tmp_path)
    (run_dir / "manifest.json").write_text('{"status": "comp')
    with pytest.raises(ResultsError, match=r"manifest\.json: not valid JSON"):
        load_run(run_dir)
    outcome = run(_spec(), run_dir, progress=None)
    assert outcome.status == "complete" and "manifest.json was unreadable" in outcome.message
    assert _same_results(run_dir, clean)
    assert run(_spec(), run_dir, progress=None).message == ALREADY_COMPLETE


def test_a_run_without_a_manifest_is_not_read_and_a_rerun_rebuilds_it(
    clean: Path, tmp_path: Path
) -> None:
    """A reviewer deleted a run's manifest and copied a chunk over its summary: compare read
    the 5-row chunk as the run, unchecked (nothing said what ran, or what the files held)."""
    run_dir = _copy(clean, tmp_path)
    (run_dir / "manifest.json").unlink()
    shutil.copy(next((run_dir / "chunks").glob("*summary.parquet")), run_dir / "summary.parquet")
    with pytest.raises(ResultsError, match=r"no manifest\.json beside its summary\.parquet"):
        load_run(run_dir)
    assert run(_spec(), run_dir, progress=None).status == "complete"
    assert _same_results(run_dir, clean)
    load_run(run_dir)


def test_chunks_of_another_configuration_are_refused_without_a_manifest(
    clean: Path, tmp_path: Path
) -> None:
    run_dir = _copy(clean, tmp_path)
    (run_dir / "manifest.json").unlink()
    with pytest.raises(ParameterError, match="holds a run of another configuration"):
        run(_spec(seed=1), run_dir, progress=None)


def test_the_manifest_records_rows_and_checksums_of_every_file_and_chunk(clean: Path) -> None:
    manifest = json.loads((clean / "manifest.json").read_text())
    files = manifest["files"]
    assert set(files) == {f"{t}.parquet" for t in TABLES} | {"config.yaml"}
    assert files["summary.parquet"]["rows"] == 20
    assert files["timeseries.parquet"]["rows"] == 20 * 8
    assert len(manifest["chunks"]) == 4
    assert manifest["chunks"][1]["replicates"] == [5, 9]
    assert manifest["chunks"][1]["files"]["summary"]["rows"] == 5


def test_a_hand_edited_config_yaml_is_damage_that_the_same_run_repairs(
    clean: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """reliability.md's known gap: ``config.yaml`` had no checksum, so a hand edit showed in
    ``report`` as the run's configuration. The manifest records it now: readers refuse the
    edited file as damage, and the same run writes it again (saying so) without recomputing."""
    from sim.analysis.runs import ResultsError, load_run

    text = "scenario:\n  name: baseline\nchina:\n  initial_patience: 0.45\n"
    run_dir = tmp_path / "run"
    assert run(_spec(config_yaml=text), run_dir, progress=None).status == "complete"
    record = json.loads((run_dir / "manifest.json").read_text())["files"]["config.yaml"]
    assert record == {"sha256": hashlib.sha256(text.encode()).hexdigest()}
    load_run(run_dir)
    (run_dir / "config.yaml").write_text(text.replace("0.45", "0.2"))
    with pytest.raises(
        ResultsError, match=r"config\.yaml is damaged \(contents differ.*repair it$"
    ):
        load_run(run_dir)
    outcome = run(_spec(config_yaml=text), run_dir, progress=None)
    assert outcome.message == (
        "config.yaml was damaged (contents differ from the recorded checksum): written again"
    )
    assert (run_dir / "config.yaml").read_text() == text and _same_results(run_dir, clean)
    load_run(run_dir)


def test_a_full_disk_fails_in_one_line_leaves_nothing_half_written_and_resumes(
    clean: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sim.results

    real = sim.results.Assembly._append_table
    calls = {"n": 0}

    def full_disk(self: sim.results.Assembly, name: str, chunk: int) -> None:
        calls["n"] += 1
        if calls["n"] == 5:  # the second chunk's: the final files are already begun
            raise OSError(errno.ENOSPC, "No space left on device", str(self.store.root / name))
        real(self, name, chunk)

    monkeypatch.setattr(sim.results.Assembly, "_append_table", full_disk)
    run_dir = tmp_path / "run"
    outcome = run(_spec(), run_dir, progress=None)
    assert outcome.status == "failed" and outcome.exit_code == 1
    assert outcome.message.startswith("cannot write the results: No space left on device")
    assert "\n" not in outcome.message
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["status"] == "failed" and "files" not in manifest
    assert not list(run_dir.glob(".*.tmp")) and not list((run_dir / "chunks").glob(".*.tmp"))
    assert not any((run_dir / f"{t}.parquet").exists() for t in TABLES)
    with pytest.raises(ResultsError, match=r"no summary\.parquet"):  # never read as if whole
        load_run(run_dir)

    monkeypatch.setattr(sim.results.Assembly, "_append_table", real)
    again = run(_spec(), run_dir, progress=None)
    assert again.status == "complete" and again.timings["simulate_s"] < 5
    assert _same_results(run_dir, clean)


def test_result_files_are_readable_by_the_group(clean: Path) -> None:
    import os

    mask = os.umask(0)
    os.umask(mask)
    for path in [clean / "summary.parquet", clean / "manifest.json", clean / "chunks"]:
        mode = path.stat().st_mode & 0o777
        if path.is_file():
            assert mode == 0o666 & ~mask, oct(mode)


def test_a_study_shares_the_chunk_store_and_recomputes_a_swapped_chunk(tmp_path: Path) -> None:
    import numpy as np

    from sim.explore.evaluate import evaluate, study_store
    from sim.explore.execution import Execution
    from sim.explore.functions import ishigami, ishigami_space

    design = ishigami_space().table(np.random.default_rng(0).random((40, 3)))
    quiet = Execution(replicates=2, chunk_points=10, progress=None)
    clean = evaluate(design, ishigami, tmp_path / "clean", quiet)
    damaged = tmp_path / "damaged"
    shutil.copytree(tmp_path / "clean", damaged)
    store = study_store(damaged, "")
    for table in ("points", "replicates"):
        shutil.copyfile(store.path(0, table), store.path(2, table))
        (damaged / f"{table}.parquet").unlink()

    again = evaluate(design, ishigami, damaged, quiet)
    assert clean.status == again.status == "complete"
    assert again.message.startswith("1 damaged chunk(s) recomputed: chunk 2")
    for table in ("points", "replicates"):
        name = f"{table}.parquet"
        assert (damaged / name).read_bytes() == (tmp_path / "clean" / name).read_bytes()
    manifest = json.loads((damaged / "manifest.json").read_text())
    assert manifest["files"]["points.parquet"]["rows"] == 40


@pytest.mark.parametrize(
    "edit",
    [lambda m: m.pop("files"), lambda m: m["files"].pop("summary.parquet")],
    ids=["no checksums", "summary not recorded"],
)
def test_a_manifest_without_checksums_is_not_trusted(
    clean: Path, tmp_path: Path, edit: Callable[[dict], object]
) -> None:
    run_dir = _copy(clean, tmp_path)
    _truncate_summary(run_dir)
    manifest = json.loads((run_dir / "manifest.json").read_text())
    edit(manifest)
    (run_dir / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ResultsError, match=r"checksums|not recorded"):
        load_run(run_dir)
    outcome = run(_spec(), run_dir, progress=None)
    assert outcome.status == "complete" and outcome.message != ALREADY_COMPLETE
    assert _same_results(run_dir, clean)
    load_run(run_dir)


@pytest.mark.parametrize("status", ["running", "interrupted", "failed"])
def test_final_files_a_stop_left_unrecorded_are_not_read(
    clean: Path, tmp_path: Path, status: str
) -> None:
    """helper-189: a Ctrl-C, SIGTERM or kill -9 after the final files were renamed into place
    and before the manifest recorded them left a "running" run whose files compare, plot and
    report read unchecked (a summary edited by 10x was compared with a star)."""
    run_dir = _copy(clean, tmp_path)
    manifest = json.loads((run_dir / "manifest.json").read_text())
    manifest["status"] = status
    manifest.pop("files")
    (run_dir / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ResultsError, match=f"not recorded in manifest.json \\(status {status}"):
        load_run(run_dir)
    assert run(_spec(), run_dir, progress=None).status == "complete"
    assert _same_results(run_dir, clean)
    load_run(run_dir)


def test_a_sweep_job_with_unrecorded_final_files_is_skipped_not_the_sweep(
    clean: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """helper-191: one such job made the whole sweep's comparison an error; an unfinished job
    is skipped with a warning, and the others compared."""
    from sim.analysis.runs import load_sweep

    sweep = tmp_path / "sweep"
    for name in ("a", "b"):
        shutil.copytree(clean, sweep / name)
    manifest = json.loads((sweep / "b" / "manifest.json").read_text())
    manifest["status"] = "interrupted"
    manifest.pop("files")
    (sweep / "b" / "manifest.json").write_text(json.dumps(manifest))
    loaded = load_sweep(sweep)
    assert [r.path.name for r in loaded.runs] == ["a"]
    warning = capsys.readouterr().err
    assert "b: this run did not finish (manifest.json: interrupted), so it has no finished " in (
        warning
    )


def test_chunk_markers_without_checksums_or_key_are_recomputed(clean: Path, tmp_path: Path) -> None:
    run_dir = _copy(clean, tmp_path)
    for table in TABLES:
        (run_dir / f"{table}.parquet").unlink()
    store = run_store(run_dir, "")
    shutil.copyfile(store.path(0, "summary"), store.path(1, "summary"))
    marker = json.loads(store.path(1, "done").read_text())
    marker.pop("files")
    store.path(1, "done").write_text(json.dumps(marker))
    marker = json.loads(store.path(2, "done").read_text())
    marker.pop("key")
    store.path(2, "done").write_text(json.dumps(marker))
    outcome = run(_spec(), run_dir, progress=None)
    assert "2 damaged chunk(s) recomputed" in outcome.message
    assert _same_results(run_dir, clean)


def test_a_second_process_cannot_write_the_same_run(clean: Path, tmp_path: Path) -> None:
    from sim.runner import exclusive

    with exclusive(tmp_path / "run"), pytest.raises(ParameterError, match="another cpec-sim"):
        run(_spec(), tmp_path / "run", progress=None)


def test_a_changed_replicate_count_is_not_reported_as_damage(clean: Path, tmp_path: Path) -> None:
    """Nor is keeping fewer replicates than the folder held silent (a reviewer's 120 -> 60);
    an earlier run that did not finish held none."""
    run_dir = _copy(clean, tmp_path)
    outcome = run(_spec(replicates=22), run_dir, progress=None)
    assert outcome.status == "complete" and "damaged" not in outcome.message
    fewer = run(_spec(replicates=10), run_dir, progress=None)
    assert "the folder held 22 replicates; its files now hold the first 10" in fewer.message
    manifest = json.loads((run_dir / "manifest.json").read_text())
    (run_dir / "manifest.json").write_text(json.dumps({**manifest, "status": "interrupted"}))
    assert "the folder held" not in run(_spec(replicates=5), run_dir, progress=None).message


def test_a_study_refuses_a_folder_holding_a_run_or_other_files(clean: Path, tmp_path: Path) -> None:
    import numpy as np

    from sim.explore.evaluate import evaluate
    from sim.explore.execution import Execution
    from sim.explore.functions import ishigami, ishigami_space
    from sim.explore.space import StudyError

    design = ishigami_space().table(np.random.default_rng(0).random((4, 3)))
    quiet = Execution(progress=None)
    run_dir = _copy(clean, tmp_path)
    before = (run_dir / "manifest.json").read_bytes()
    with pytest.raises(StudyError, match=r"lies in .*, a run or sweep folder"):
        evaluate(design, ishigami, run_dir, quiet)
    assert (run_dir / "manifest.json").read_bytes() == before
    (tmp_path / "thesis").mkdir()
    (tmp_path / "thesis" / "thesis.tex").write_text("precious")
    with pytest.raises(StudyError, match="not a study"):
        evaluate(design, ishigami, tmp_path / "thesis", quiet)
    with pytest.raises(StudyError, match="system or home folder"):
        evaluate(design, ishigami, Path("/dev/shm/cpec-study"), quiet)
