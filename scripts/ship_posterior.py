"""Ship a finished calibration's posterior with the package (run on purpose, after a re-run).

.venv/bin/cpec-sim calibrate --jobs 2                      # ~5 min on 2 cores
.venv/bin/python scripts/ship_posterior.py                 # results/calibration/full
.venv/bin/python scripts/ship_posterior.py DIR

Reviews the shipped defaults against the calibration's posterior
(:mod:`sim.calibration.defaults`); if they keep the rule and the calibration is a complete one at
the documented settings on the real record, copies ``posterior.parquet``, ``parameters.csv`` and
``manifest.json`` into ``sim/data/posterior/`` with ``shipped.json`` (source, date, the model's
behaviour fingerprint, checksums). Otherwise it copies nothing and says why: change a default
that breaks the rule in ``sim/params.py`` (and say why in ``docs/calibration.md``) first.
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
    ap.add_argument(
        "--trust-current-model",
        action="store_true",
        help="stamp a calibration that records no fingerprint with this code's (only if it was "
        "just run with this code)",
    )
    args = ap.parse_args()
    try:
        review = review_defaults(
            pd.read_parquet(args.calibration / "posterior.parquet"),
            pd.read_csv(args.calibration / "parameters.csv"),
            load_space().defaults(),
        )
    except (OSError, ValueError, KeyError) as exc:
        print(f"ship_posterior: cannot read {args.calibration}: {exc}", file=sys.stderr)
        return 2
    columns = ["parameter", "default", "posterior_median", "default_percentile", "rule", "holds"]
    print(review[columns].to_string(index=False))
    lines = broken(review)
    if lines:  # nothing is copied: change the defaults first, then ship
        print("\n".join(["not shipped: the defaults break the rule against it", *lines]))
        return 1
    try:
        record = ship(args.calibration, trust_current_model=args.trust_current_model)
    except (OSError, ValueError) as exc:
        print(f"ship_posterior: {exc}", file=sys.stderr)
        return 2
    print(
        f"shipped {args.calibration} -> {SHIPPED_DIR}",
        f"(fingerprint {record['behaviour_fingerprint']})",
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
