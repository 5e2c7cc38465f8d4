"""The posterior that ships with the package, and the check that it belongs to this model.

``cpec-sim calibrate`` takes ~15 minutes on two cores, so the documented calibration's result
ships in ``sim/data/posterior/``: ``posterior.parquet`` (what ``parameters=posterior`` reads
when ``results/calibration/full/`` holds no calibration of one's own), ``parameters.csv``
(identifiability), the calibration's ``manifest.json`` and ``shipped.json``, which records
where it came from and the model's **behaviour fingerprint** at that time: a hash of what the
engine returns for a few seeds at the defaults and at a few posterior draws. A change of the
rules that changes any result changes the fingerprint, and ``tests/calibration/
test_defaults.py`` then fails until the calibration is re-run and shipped again
(``scripts/ship_posterior.py``); a refactoring that leaves results identical does not.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.posterior import SHIPPED_POSTERIOR_DIR as SHIPPED_DIR

FILES = ("posterior.parquet", "parameters.csv", "manifest.json")
RECORD = "shipped.json"
#: What the fingerprint runs: the baseline at these seeds, and these posterior draws at seed 0.
SEEDS = (0, 1, 2)
DRAWS = (0, 1, 2)
WEEKS = 104


def _result_bytes(result: Any) -> bytes:
    """A replicate's three outputs as canonical bytes."""
    parts = {
        "weekly": {k: np.asarray(v).tolist() for k, v in sorted(result.weekly.items())},
        "events": {k: np.asarray(v).tolist() for k, v in sorted(result.events.items())},
        "summary": {k: np.asarray(v).tolist() for k, v in sorted(result.summary.items())},
    }
    return json.dumps(parts, sort_keys=True).encode()


def behaviour_fingerprint(
    posterior: pd.DataFrame, seeds: Iterable[int] = SEEDS, draws: Iterable[int] = DRAWS
) -> str:
    """Hash of the engine's results at the baseline's defaults (``seeds``) and at posterior
    ``draws`` (seed 0): changes exactly when the model's results do."""
    from sim.config import scenario_params, with_overrides
    from sim.engine import run_replicate

    base = scenario_params("baseline")
    h = hashlib.sha256()
    for seed in seeds:
        h.update(_result_bytes(run_replicate(base, WEEKS, seed)))
    keys = [c for c in posterior.columns if c != "draw"]
    for d in draws:
        row = posterior.iloc[d]
        params = with_overrides(base, {k: float(row[k]) for k in keys})
        h.update(_result_bytes(run_replicate(params, WEEKS, 0)))
    return h.hexdigest()[:16]


def shipped_record(directory: Path = SHIPPED_DIR) -> dict[str, Any]:
    """The shipped posterior's ``shipped.json``."""
    data = json.loads((directory / RECORD).read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ValueError(f"{directory / RECORD} is not a JSON object")
    return data


def ship(calibration: Path, directory: Path = SHIPPED_DIR) -> dict[str, Any]:
    """Copy a finished calibration's posterior into ``directory`` with its fingerprint."""
    manifest = json.loads((calibration / "manifest.json").read_text(encoding="utf-8"))
    if manifest.get("status") != "complete" or manifest.get("synthetic_record"):
        raise ValueError(f"{calibration} is not a finished calibration on the real record")
    directory.mkdir(parents=True, exist_ok=True)
    for name in FILES:
        shutil.copyfile(calibration / name, directory / name)
    posterior = pd.read_parquet(directory / "posterior.parquet")
    record = {
        "from": str(calibration),
        "config_hash": manifest.get("config_hash"),
        "shipped": datetime.now(UTC).strftime("%Y-%m-%d"),
        "behaviour_fingerprint": behaviour_fingerprint(posterior),
        "fingerprint_runs": {"baseline_seeds": list(SEEDS), "posterior_draws": list(DRAWS)},
        "sha256": {
            name: hashlib.sha256((directory / name).read_bytes()).hexdigest() for name in FILES
        },
    }
    (directory / RECORD).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    return record


__all__ = ["SHIPPED_DIR", "behaviour_fingerprint", "ship", "shipped_record"]
