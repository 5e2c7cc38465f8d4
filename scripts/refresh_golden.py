"""Refresh the golden-seed baseline summary (run only on purpose, after a model change).

.venv/bin/python scripts/refresh_golden.py
"""

from __future__ import annotations

import json
from pathlib import Path

from sim.model import CrisisModel
from sim.params import ModelParams

GOLDEN = Path(__file__).resolve().parents[1] / "tests" / "golden" / "baseline_seed42.json"
SEED, WEEKS = 42, 104


def golden_summary() -> dict:
    """The summary of the golden replicate, JSON-ready (NaN as None)."""
    summary = CrisisModel(ModelParams(), weeks=WEEKS, seed=SEED).run().summary
    return {k: (None if isinstance(v, float) and v != v else v) for k, v in summary.items()}


if __name__ == "__main__":
    GOLDEN.parent.mkdir(parents=True, exist_ok=True)
    GOLDEN.write_text(json.dumps(golden_summary(), indent=2, sort_keys=True) + "\n")
    print(f"wrote {GOLDEN}")
