"""Beyond one machine: Hydra's submitit launcher and a Dask cluster give the local results."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import cpec

SWEEP = ["scenario=baseline,iran_border", "replicates=2", "weeks=4", "jobs=1"]


def test_submitit_local_launcher_gives_the_local_results_byte_for_byte(tmp_path: Path) -> None:
    remote, local = tmp_path / "submitit", tmp_path / "local"
    remote.mkdir()
    local.mkdir()
    out = cpec("run", "-m", "hydra/launcher=submitit_local", *SWEEP, cwd=remote)
    assert out.returncode == 0, out.stderr
    ref = cpec("run", "-m", *SWEEP, cwd=local)
    assert ref.returncode == 0, ref.stderr
    jobs = sorted(
        p.parent.name for p in (local / "results/sweeps/multirun").glob("*/summary.parquet")
    )
    assert len(jobs) == 2
    for job in jobs:
        a = remote / "results/sweeps/multirun" / job / "summary.parquet"
        b = local / "results/sweeps/multirun" / job / "summary.parquet"
        assert a.read_bytes() == b.read_bytes(), job
    # submitit really ran them: one pickled result per job
    assert len(list((remote / "results/sweeps/multirun/.submitit").glob("*/*_result.pkl"))) == 2


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
    assert "cannot reach the Dask scheduler tcp://127.0.0.1:9" in out.stderr
    assert len(out.stderr.strip().splitlines()) == 2  # the announcement, then the error
