"""The built wheel carries its configs and data: run a scenario from outside the repository."""

from __future__ import annotations

import json
import os
import site
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_wheel_runs_a_short_scenario_outside_the_repo(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(dist),
            str(ROOT),
        ],
        check=True,
    )
    wheel = next(dist.glob("cpec_sim-*.whl"))
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    # Dependencies come from the project's environment; `sim` itself only from the wheel.
    deps = [p for p in site.getsitepackages() if "site-packages" in p]
    vsite = next((venv / "lib").glob("python3.*/site-packages"))
    (vsite / "_deps.pth").write_text("\n".join(deps) + "\n")
    subprocess.run(
        [str(venv / "bin/python"), "-m", "pip", "install", "--no-deps", "-q", str(wheel)],
        check=True,
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    # The wheel's copy of the rules would be compiled from scratch (~2 min); run them as plain
    # Python here (same results, tests/test_engine.py covers the compiled path in the checkout).
    env = {**os.environ, "NUMBA_DISABLE_JIT": "1"}
    where = subprocess.run(
        [str(venv / "bin/python"), "-c", "import sim; print(sim.__file__)"],
        cwd=elsewhere,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert str(vsite) in where  # not the editable checkout
    out = subprocess.run(
        [
            str(venv / "bin/cpec-sim"),
            "run",
            "scenario=iran_border",
            "replicates=3",
            "weeks=6",
            "jobs=2",
            "plots=false",
            "parameters=posterior",  # the posterior shipped in the wheel: no calibration here
        ],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr
    run_dir = elsewhere / "results/runs/iran_border,parameters=posterior,replicates=3,weeks=6"
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["status"] == "complete"
    assert manifest["parameters"]["source"] == "posterior"
    assert manifest["parameters"]["path"].startswith(str(vsite))
    assert manifest["parameters"]["path"].endswith("sim/data/posterior/posterior.parquet")
    sweep = subprocess.run(
        [
            str(venv / "bin/cpec-sim"),
            "run",
            "+experiment=patience",
            "replicates=1",
            "weeks=2",
            "jobs=1",
        ],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert sweep.returncode == 0, sweep.stderr
    assert (
        len(json.loads((elsewhere / "results/sweeps/patience/sweep.json").read_text())["jobs"]) == 9
    )
