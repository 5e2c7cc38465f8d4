"""Issue 12's speed targets, measured side by side in one run, each against its target.

    .venv/bin/python benchmarks/targets.py            # the quick ones (~1 minute)
    .venv/bin/python benchmarks/targets.py --full     # and the long ones (~17 minutes more)

Every command line runs in a fresh process in a temporary folder, as a user would run it
(start-up included). The quick rows are medians of ``--repeats`` runs of each command, one
after another; the 200-replicate comparison with ``mesa.batch_run`` interleaves ``--repeats``
runs of each side and takes each side's median, and so does the ``--full`` run's
10,000-replicate speed-up of two workers over one (a single run had read 1.80x and 1.91x
on the same code); the 1,000-replicate comparison and the other ``--full`` rows are single
runs (their labels say so). The replicate times are CPU time on
one core, medians, each replicate as a notebook calls ``run_replicate`` (its parameters
validated). The last column says whether
the target is met *in this run*: on a shared machine a figure near its target can fall on
either side from one run to the next, and a ratio moves with both of its terms.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from pipeline import BIN, batch_run_and_ours, cpec_run, measure  # benchmarks/pipeline.py
from replicate_speed import mesa, time_replicates  # benchmarks/replicate_speed.py

from sim.engine import run_replicate
from sim.refcounts import count_plainly, how_counted

HERE = Path(__file__).resolve().parent
#: The issue's figures for one replicate before the engine: 45-57 ms (the Mesa model).
FIRST_BUILD_MS = 45.0
#: 1 GB in MiB.
GB_MIB = 1e9 / 2**20


class Scorecard:
    """Rows of (what, measured, target, met), printed as they come and again at the end."""

    def __init__(self) -> None:
        self.rows: list[tuple[str, str, str, str]] = []

    def add(self, what: str, measured: str, target: str = "", met: bool | None = None) -> None:
        verdict = "" if met is None else ("met" if met else "NOT met")
        self.rows.append((what, measured, target, verdict))
        print(f"  {what}: {measured}" + (f"  (target {target}: {verdict})" if target else ""))
        sys.stdout.flush()

    def print(self) -> None:
        widths = [max(len(r[i]) for r in self.rows) for i in range(4)]
        head = ("measured in this run", "value", "target", "")
        widths = [max(w, len(h)) for w, h in zip(widths, head, strict=True)]
        print()
        for row in (head, *self.rows):
            print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())


def median_wall(make_cmd: Callable[[Path], list[str]], cwd: Path, repeats: int) -> float:
    """Median wall seconds of ``repeats`` fresh runs of the command ``make_cmd(cwd)`` gives."""
    return statistics.median(measure(make_cmd(cwd), cwd)[0] for _ in range(repeats))


def replicate_rows(card: Scorecard, repeats: int) -> float:
    """One 104-week baseline replicate: the engine and the Mesa model."""
    engine = statistics.median(time_replicates(run_replicate, 10 * repeats)) * 1e3
    model = statistics.median(time_replicates(mesa, repeats)) * 1e3
    card.add("one replicate, compiled engine (ms)", f"{engine:.2f}", "<= 1", engine <= 1)
    first = FIRST_BUILD_MS / engine
    card.add("  speed-up over the first build's 45 ms", f"{first:.1f}x", ">= 40x", first >= 40)
    card.add("one replicate, Mesa model (ms)", f"{model:.1f}", "<= 57 (no slower)", model <= 57)
    card.add("ratio Mesa / engine (both run the compiled rules)", f"{model / engine:.1f}x")
    return engine


def run_rows(card: Scorecard, cwd: Path, repeats: int) -> None:
    """`cpec-sim run`: start-up, 1,000 replicates, and the default job with its plots."""
    startup = median_wall(lambda d: cpec_run(1, 2, d), cwd, repeats)
    card.add("cpec-sim run replicates=1 plots=false (s)", f"{startup:.2f}")
    thousand = median_wall(lambda d: cpec_run(1000, 2, d), cwd, repeats)
    card.add("1,000 replicates, jobs=2, plots=false (s)", f"{thousand:.2f}", "<= 4", thousand <= 4)
    run_dir = cwd / "default-run"
    default = [str(BIN / "cpec-sim"), "run", f"hydra.run.dir={run_dir}"]
    walls = []
    for _ in range(repeats):
        subprocess.run(["rm", "-rf", str(run_dir)], check=True)
        walls.append(measure(default, cwd)[0])
    make_run = statistics.median(walls)
    card.add("cpec-sim run, 100 replicates and plots = make run (s)", f"{make_run:.2f}", "<= 5",
             make_run <= 5)  # fmt: skip
    plot = median_wall(lambda d: [str(BIN / "cpec-sim"), "plot", str(run_dir)], cwd, repeats)
    card.add("cpec-sim plot on 100 replicates (s)", f"{plot:.2f}", "<= 2", plot <= 2)


def batch_run_row(card: Scorecard, cwd: Path, replicates: int, rounds: int) -> None:
    """The same replicates through mesa.batch_run and cpec-sim run, 2 processes each, in
    ``rounds`` interleaved rounds: each side's median."""
    (batch, _), (ours, _) = batch_run_and_ours(cwd, replicates, 2, rounds)
    ratio = batch / ours
    card.add(
        f"{replicates} replicates: mesa.batch_run / cpec-sim run "
        + ("(one run)" if rounds == 1 else f"(medians of {rounds})"),
        f"{batch:.1f} s / {ours:.2f} s = {ratio:.1f}x",
        ">= 10x",
        ratio >= 10,
    )


def long_rows(card: Scorecard, cwd: Path, rounds: int) -> None:
    """10,000 replicates on 1 and 2 workers (``rounds`` interleaved rounds: each side's
    median); 100,000 replicates; the exploration study."""
    ones, twos = [], []
    for _ in range(rounds):  # alternately, so that the machine's load falls on both alike
        ones.append(measure(cpec_run(10_000, 1, cwd), cwd)[0])
        twos.append(measure(cpec_run(10_000, 2, cwd), cwd)[0])
    one, two = statistics.median(ones), statistics.median(twos)
    ratio = f"{one:.1f} s / {two:.1f} s = {one / two:.2f}x"
    card.add(
        "10,000 replicates: jobs=1 / jobs=2 "
        + ("(one run)" if rounds == 1 else f"(medians of {rounds})"),
        ratio,
        ">= 1.8x",
        one / two >= 1.8,
    )
    wall, peak = measure(cpec_run(100_000, 2, cwd), cwd)
    card.add("100,000 replicates, jobs=2 (s, one run)", f"{wall:.0f}", "<= 180", wall <= 180)
    card.add("100,000 replicates: peak memory (MiB)", f"{peak:.0f}", f"< 1 GB = {GB_MIB:.0f}",
             peak < GB_MIB)  # fmt: skip
    study = subprocess.run(
        [sys.executable, str(HERE / "large_study.py"), "--interrupt-at", "0", "--jobs", "2"],
        capture_output=True, text=True,
    )  # fmt: skip
    found = re.search(r"wall time (\d+) s for", study.stdout)
    if study.returncode != 0 or found is None:
        card.add("exploration study (evaluation, one run)", "failed: see large_study.py")
        return
    seconds = int(found.group(1))
    card.add("exploration study, 1,000 x 100 x 104 weeks (s, evaluation, one run)",
             f"{seconds}", "<= 600", seconds <= 600)  # fmt: skip


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--repeats", type=int, default=3, help="runs of each command (median)")
    ap.add_argument("--full", action="store_true", help="also the runs of 10,000 and more")
    args = ap.parse_args()
    count_plainly()  # the replicate rows run the engine as cpec-sim's processes do
    print(f"{os.cpu_count()} CPUs; {time.strftime('%Y-%m-%d %H:%M')}; medians of {args.repeats}")
    print(how_counted())
    card = Scorecard()
    replicate_rows(card, 20 * args.repeats)
    with tempfile.TemporaryDirectory(prefix="targets-") as tmp:
        cwd = Path(tmp)
        run_rows(card, cwd, args.repeats)
        batch_run_row(card, cwd, 200, args.repeats)
        if args.full:
            batch_run_row(card, cwd, 1000, 1)
            long_rows(card, cwd, args.repeats)
    card.print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
