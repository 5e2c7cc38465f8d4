"""A large exploration study: streamed to disk, flat memory, resumed after an interruption.

The full study is 1,000 Latin hypercube points x 100 replicates = 100,000 replicates of 104
weeks over the uncertainties of ``experiments/uncertainty/discovery.yaml``; ``--points`` and
``--replicates`` scale it down::

    .venv/bin/python benchmarks/large_study.py                              # the full study
    .venv/bin/python benchmarks/large_study.py --points 100 --replicates 20  # a 2,000-replicate one

The study runs in a child process (``sim.explore.evaluate.evaluate``, the code behind
``cpec-sim discover``). It is interrupted with SIGINT once ``--interrupt-at`` of its chunks are
on disk, then started again with the same arguments and resumes. Peak memory is the largest
sum of resident set sizes of the child and all its workers, sampled every 100 ms; the memory
at each quarter of the progress shows whether it stays flat as results accumulate.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from memory import tree_rss_kib  # benchmarks/memory.py

FULL_REPLICATES = 100_000


def child(args: argparse.Namespace) -> int:
    """Run (or resume) the study itself."""
    from sim.explore.discovery import lhs_unit
    from sim.explore.evaluate import CrisisOutcomes, evaluate
    from sim.explore.execution import Execution
    from sim.explore.space import default_study_path, load_study

    study = load_study(default_study_path("discovery"))
    design = study.space.table(lhs_unit(study.space, args.points, args.seed))
    fn = CrisisOutcomes(study.scenario, args.weeks, tuple(sorted(study.overrides.items())))
    execution = Execution(replicates=args.replicates, seed=args.seed, jobs=args.jobs, progress=None)
    ev = evaluate(design, fn, args.out, execution)
    print(json.dumps({"status": ev.status, "resumed_points": ev.resumed_points, **ev.timings}))
    return ev.exit_code


def phase(cmd: list[str], out: Path, n_chunks: int, stop_at: float | None) -> dict[str, object]:
    """Run the child; SIGINT it once ``stop_at`` of the chunks are done (if given)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    samples: list[tuple[float, int, int]] = []  # seconds, chunks done, tree RSS KiB
    done = threading.Event()
    sent = False

    def watch() -> None:
        nonlocal sent
        while not done.is_set():
            n_done = len(list((out / "chunks").glob("*.done.json")))
            samples.append((time.perf_counter() - t0, n_done, tree_rss_kib(proc.pid)))
            if stop_at is not None and not sent and n_done >= stop_at * n_chunks:
                proc.send_signal(signal.SIGINT)
                sent = True
            time.sleep(0.1)

    th = threading.Thread(target=watch, daemon=True)
    th.start()
    stdout, stderr = proc.communicate()
    done.set()
    th.join()
    wall = time.perf_counter() - t0
    lines = [ln for ln in stdout.splitlines() if ln.startswith("{")]
    report = json.loads(lines[-1]) if lines else {"status": f"exit {proc.returncode}"}
    if not lines:
        print(stderr, file=sys.stderr)
    by_quarter = {}  # tree RSS when a quarter, half, ... of this run's chunks were done
    start = samples[0][1] if samples else 0
    for q in (0.25, 0.5, 0.75, 1.0):
        reached = [rss for _, n, rss in samples if n - start >= q * (n_chunks - start)]
        if reached:
            by_quarter[f"{int(q * 100)}%"] = round(reached[0] / 1024)
    return {
        "returncode": proc.returncode,
        "wall_s": round(wall, 1),
        "peak_rss_mib": round(max((s[2] for s in samples), default=0) / 1024),
        "rss_mib_when_done": by_quarter,
        "chunks_done": samples[-1][1] if samples else 0,
        **report,
    }


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--points", type=int, default=1000)
    p.add_argument("--replicates", type=int, default=100)
    p.add_argument("--weeks", type=int, default=104)
    p.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--interrupt-at", type=float, default=0.3, help="share of chunks (0: never)")
    p.add_argument("--out", type=Path, help="study directory (default: a temporary one)")
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        return child(args)

    from sim.explore.evaluate import default_chunk_points

    tmp = None
    if args.out is None:
        tmp = tempfile.TemporaryDirectory(prefix="large_study-")
        args.out = Path(tmp.name) / "study"
    size = default_chunk_points(args.points, args.replicates)
    n_chunks = math.ceil(args.points / size)
    total = args.points * args.replicates
    cmd = [
        sys.executable, __file__, "--child", "--points", str(args.points),
        "--replicates", str(args.replicates), "--weeks", str(args.weeks),
        "--jobs", str(args.jobs), "--seed", str(args.seed), "--out", str(args.out),
    ]  # fmt: skip
    print(
        f"study: {args.points} points x {args.replicates} replicates = {total:,} replicates of "
        f"{args.weeks} weeks, {n_chunks} chunks of {size} points, {args.jobs} workers"
    )
    phases = []
    if args.interrupt_at > 0:
        first = phase(cmd, args.out, n_chunks, args.interrupt_at)
        phases.append(("interrupted", first))
    second = phase(cmd, args.out, n_chunks, None)
    phases.append(("to the end", second))
    for name, r in phases:
        print(f"{name:12s} {json.dumps(r)}")
    wall = sum(float(r["wall_s"]) for _, r in phases)  # type: ignore[arg-type]
    ok = second["status"] == "complete"
    resumed = int(second.get("resumed_points", 0))  # type: ignore[call-overload]
    rate = total / wall
    full_s = FULL_REPLICATES / rate
    peak = max(int(r["peak_rss_mib"]) for _, r in phases)  # type: ignore[call-overload]
    print(
        f"\nresult: {'complete' if ok else 'NOT complete'}; the second run resumed {resumed} of "
        f"{args.points} points\n"
        f"wall time {wall:.0f} s for {total:,} replicates ({rate:.1f} replicates/s, start-up "
        f"and interruption included); peak memory of the process tree {peak} MiB\n"
        f"extrapolated: {FULL_REPLICATES:,} replicates (1,000 x 100) in {full_s / 3600:.1f} h "
        f"with {args.jobs} workers"
    )
    if tmp is not None:
        tmp.cleanup()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
