"""Synthetic result directories in the documented format (docs/results.md), with known answers.

Helpers are exposed as fixtures so that test files do not import each other.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from sim.calibration.shipped import FINGERPRINT_OUTPUTS
from sim.record import EVENT_COLUMNS, SUMMARY_COLUMNS, WEEKLY_METRICS

PLACES = ("quetta", "gwadar", "kech", "karachi", "dasu")
TARGETS = ("chinese", "security", "infrastructure")


def write_run(
    path: Path,
    summary: pd.DataFrame,
    timeseries: pd.DataFrame | None = None,
    events: pd.DataFrame | None = None,
    scenario: str = "baseline",
    overrides: Sequence[str] = (),
    **manifest: Any,
) -> Path:
    """Write a run directory from given frames (only the files given)."""
    path.mkdir(parents=True, exist_ok=True)
    summary.to_parquet(path / "summary.parquet")
    if timeseries is not None:
        timeseries.to_parquet(path / "timeseries.parquet")
    if events is not None:
        events.to_parquet(path / "events.parquet")
    weeks = int(timeseries["week"].max()) if timeseries is not None else 4
    meta = {
        "package": "cpec-sim",
        "version": "0.1.0",
        "scenario": scenario,
        "description": f"synthetic {scenario}",
        "overrides": list(overrides),
        "seed": 7,
        "replicates": len(summary),
        "weeks": weeks,
        "replicate_seeds": "SeedSequence(seed, spawn_key=(i,))",
        "status": "complete",
        "failed_replicates": [],
    }
    meta.update(manifest)
    (path / "manifest.json").write_text(json.dumps(meta))
    (path / "config.yaml").write_text(f"scenario:\n  name: {scenario}\n")
    return path


#: The summary columns whose synthetic values come from the seed's own stream: the model's
#: columns when the shipped calibration was made (the snapshot its fingerprint hashes). An
#: output added to the model since gets values from another stream, so that the tests' data
#: (and the stars they expect) stay put.
SYNTHETIC_COLUMNS = FINGERPRINT_OUTPUTS["summary"]


def synthetic_frames(
    n: int = 12, weeks: int = 8, seed: int = 0, shift: float = 0.0
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Summary, timeseries and events of ``n`` fake replicates with every documented column."""
    rng = np.random.default_rng(seed)
    added = np.random.default_rng([seed, 1])  # columns added since: the others' data unmoved
    reps = np.arange(n)
    summary = pd.DataFrame({"replicate": reps, "seed": 1000 + reps})
    for col in SUMMARY_COLUMNS:
        draw = rng if col in SYNTHETIC_COLUMNS else added
        summary[col] = draw.poisson(20 + shift, n).astype("int64")
    for col in ("grievance_final", "legitimacy_final", "china_patience_final"):
        summary[col] = rng.uniform(0.2, 0.6, n)
    summary["capital_deployed_final"] = rng.normal(3000 + shift, 100, n)
    paused_in = added.integers(1, weeks + 1, n).astype(float)  # a week within the horizon
    summary["weeks_to_first_pause"] = np.where(rng.random(n) < 0.5, np.nan, paused_in)
    summary["investment_hold"] = rng.random(n) < 0.4
    summary["chinese_troops_deployed"] = rng.random(n) < 0.3
    summary["investors_withdrawn"] = rng.integers(0, 3, n)

    ts = pd.DataFrame(
        {"replicate": np.repeat(reps, weeks), "week": np.tile(np.arange(1, weeks + 1), n)}
    )
    for col in WEEKLY_METRICS:
        ts[col] = rng.poisson(3, len(ts)).astype(float)
    for col in ("grievance", "legitimacy", "china_patience", "share_chinese_target"):
        ts[col] = rng.uniform(0.2, 0.6, len(ts))
    for col in ("investment_hold", "chinese_troops", "joint_operations"):
        ts[col] = (rng.random(len(ts)) < 0.3).astype(float)

    rows = []
    for r in reps:
        for _ in range(rng.integers(5, 15)):
            killed = int(rng.zipf(2.5))
            rows.append(
                {
                    "replicate": int(r),
                    "week": int(rng.integers(1, weeks + 1)),
                    "group": "bla",
                    "district": str(rng.choice(PLACES)),
                    "target": str(rng.choice(TARGETS)),
                    "attackers": int(rng.integers(1, 10)),
                    "killed": killed,
                    "chinese_killed": 0,
                    "security_killed": killed,
                    "civilians_killed": 0,
                    "attackers_lost": 0,
                    "success": True,
                    "interdicted": False,
                }
            )
    events = pd.DataFrame(rows, columns=["replicate", *EVENT_COLUMNS])
    return summary, ts, events


def synthetic_run(
    path: Path,
    scenario: str = "baseline",
    n: int = 12,
    weeks: int = 8,
    seed: int = 0,
    shift: float = 0.0,
    overrides: Sequence[str] = (),
) -> Path:
    """A complete synthetic run directory."""
    summary, ts, events = synthetic_frames(n, weeks, seed, shift)
    return write_run(path, summary, ts, events, scenario=scenario, overrides=overrides)


def write_sweep(
    path: Path, grid: dict[str, Sequence[float]], n: int = 8, scenario: str = "chinese_troops"
) -> Path:
    """A 2-D sweep directory whose job summaries have known medians (see ``job_value``)."""
    (kx, xs), (ky, ys) = grid.items()
    jobs = []
    k = 0
    for x in xs:
        for y in ys:
            summary, ts, events = synthetic_frames(n=n, weeks=4, seed=k)
            # chinese_killed = 100 x + 10 y + (0..n-1) - (n-1)/2: median exactly 100 x + 10 y
            summary["chinese_killed"] = 100 * x + 10 * y + np.arange(n) - (n - 1) / 2
            ov = [f"{kx}={x}", f"{ky}={y}"]
            write_run(path / str(k), summary, ts, events, scenario=scenario, overrides=ov)
            jobs.append({"dir": str(k), "overrides": {kx: x, ky: y}})
            k += 1
    meta = {"experiment": "toy_sweep", "swept": [kx, ky], "jobs": jobs}
    (path / "sweep.json").write_text(json.dumps(meta))
    return path


@pytest.fixture
def make_run() -> Callable[..., Path]:
    """``make_run(path, scenario=…, n=…, weeks=…, seed=…, shift=…, overrides=…)``."""
    return synthetic_run


@pytest.fixture
def make_frames() -> Callable[..., tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]]:
    """``make_frames(n, weeks, seed, shift)`` -> (summary, timeseries, events)."""
    return synthetic_frames


@pytest.fixture
def save_run() -> Callable[..., Path]:
    """``save_run(path, summary, timeseries=None, events=None, scenario=…, overrides=…)``."""
    return write_run


@pytest.fixture
def make_sweep() -> Callable[..., Path]:
    """``make_sweep(path, {key_x: [...], key_y: [...]}, n=…)``."""
    return write_sweep
