"""Ship a finished calibration's posterior with the package (run on purpose, after a re-run).

.venv/bin/cpec-sim calibrate --jobs 2                      # ~15 min on 2 cores
.venv/bin/python scripts/ship_posterior.py                 # results/calibration/full
.venv/bin/python scripts/ship_posterior.py DIR

Copies ``posterior.parquet``, ``parameters.csv`` and ``manifest.json`` into
``sim/data/posterior/`` with ``shipped.json`` (source, date, the model's behaviour
fingerprint), then reviews the shipped defaults against it (:mod:`sim.calibration.defaults`)
and lists any default that breaks the rule: change those in ``sim/params.py`` and say why in
``docs/calibration.md``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

from sim.calibration.defaults import broken, review_defaults
from sim.calibration.shipped import SHIPPED_DIR, ship
from sim.calibration.space import load_space


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("calibration", nargs="?", type=Path, default=Path("results/calibration/full"))
    args = ap.parse_args()
    try:
        record = ship(args.calibration)
    except (OSError, ValueError) as exc:
        print(f"ship_posterior: {exc}", file=sys.stderr)
        return 2
    print(
        f"shipped {args.calibration} -> {SHIPPED_DIR}",
        f"(fingerprint {record['behaviour_fingerprint']})",
    )
    review = review_defaults(
        pd.read_parquet(SHIPPED_DIR / "posterior.parquet"),
        pd.read_csv(SHIPPED_DIR / "parameters.csv"),
        load_space().defaults(),
    )
    print(
        review[
            ["parameter", "default", "posterior_median", "default_percentile", "rule", "holds"]
        ].to_string(index=False)
    )
    lines = broken(review)
    for line in lines:
        print(line)
    return 1 if lines else 0


if __name__ == "__main__":
    raise SystemExit(main())
