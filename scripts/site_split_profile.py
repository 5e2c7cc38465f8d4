"""How well each value of ``targeting.exposure_weight`` explains where attacks on Chinese
targets happened: the log-likelihood of the record's split between the Chinese sites.

    .venv/bin/python scripts/site_split_profile.py [--weights 0 0.5 1 1.5 2] [--replicates 1000]
        [--seed 0] [--jobs 2]

For each weight, ``cpec-sim run`` runs the baseline (``plots=false``, into a temporary
folder); from its ``events.parquet`` the attempts on Chinese targets are pooled by place, and
the record's 12 located attacks of 2018-24 (``sim.validation.record_site_counts``: Karachi 5,
Gwadar 4, Dasu/Besham 2, Chagai 1) are scored against that split
(``sim.validation.site_split_loglik``: multinomial, given the number of attacks). The 90%
interval resamples the replicates (Monte Carlo error only). The weight only moves where a
chosen Chinese target is struck, so this profile is the information the record's split holds
about it; a calibration's summary statistics carry far less (docs/calibration.md, "For the
next calibration", item 13).
"""

from __future__ import annotations

import argparse
import math
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from sim.validation import chinese_attempts_by_place, record_site_counts, site_split_loglik

BIN = Path(sys.executable).parent
BOOTSTRAP = 1000


def run_events(weight: float, replicates: int, seed: int, jobs: int, folder: Path) -> pd.DataFrame:
    """The events of a baseline run at ``weight``."""
    out = folder / f"w{weight:g}"
    done = subprocess.run(
        [
            str(BIN / "cpec-sim"),
            "run",
            f"replicates={replicates}",
            f"seed={seed}",
            f"jobs={jobs}",
            "plots=false",
            f"targeting.exposure_weight={weight:g}",
            f"hydra.run.dir={out}",
        ],
        capture_output=True,
        text=True,
    )
    if done.returncode:
        sys.exit(done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "run failed")
    return pd.read_parquet(out / "events.parquet", columns=["replicate", "district", "target"])


def profile_row(by_place: pd.DataFrame, record: dict[str, int], seed: int) -> dict[str, float]:
    """Shares at the record's places, the log-likelihood and its bootstrap 90% interval."""
    pooled = by_place.sum()
    total = float(pooled.sum())
    row = {place: float(pooled.get(place, 0)) / total for place in record}
    row["loglik"] = site_split_loglik(pooled, record)
    rng = np.random.default_rng(seed)
    values = by_place.to_numpy()
    boot = [
        site_split_loglik(
            pd.Series(
                values[rng.integers(0, len(values), len(values))].sum(axis=0), by_place.columns
            ),
            record,
        )
        for _ in range(BOOTSTRAP)
    ]
    row["low"], row["high"] = (float(q) for q in np.percentile(boot, [5, 95]))
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--weights", type=float, nargs="+", default=[0.0, 0.5, 1.0, 1.5, 2.0])
    parser.add_argument("--replicates", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--jobs", type=int, default=2)
    opts = parser.parse_args()
    record = record_site_counts()
    rows = {}
    with tempfile.TemporaryDirectory() as tmp:
        for weight in opts.weights:
            events = run_events(weight, opts.replicates, opts.seed, opts.jobs, Path(tmp))
            rows[weight] = profile_row(chinese_attempts_by_place(events), record, opts.seed)
    table = pd.DataFrame(rows).T
    best = max(table["loglik"]) if any(math.isfinite(v) for v in table["loglik"]) else math.nan
    print(
        f"the record's {sum(record.values())} located attacks on Chinese targets (2018-24): "
        + ", ".join(f"{place} {n}" for place, n in record.items())
    )
    print(
        f"baseline, {opts.replicates} replicates a weight, seed {opts.seed}: the model's share of "
        "attempts on Chinese targets at each place, and the record's log-likelihood "
        "[90% bootstrap interval over replicates]"
    )
    header = "weight  " + "  ".join(f"{place:>8s}" for place in record) + "   log-lik [90%]"
    print(header)
    saturated = sum(n * math.log(n / sum(record.values())) for n in record.values() if n)
    for weight, r in table.iterrows():
        shares = "  ".join(f"{r[place]:8.3f}" for place in record)
        print(
            f"{weight:6g}  {shares}   {r['loglik']:.1f} [{r['low']:.1f}, {r['high']:.1f}]"
            f"  (best - this: {best - r['loglik']:.1f})"
        )
    print(f"(a split equal to the record's own would score {saturated:.1f})")


if __name__ == "__main__":
    main()
