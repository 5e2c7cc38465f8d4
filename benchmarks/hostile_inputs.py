"""Hostile `cpec-sim run` command lines (issue 15): the figures for docs/reliability.md.

.venv/bin/python benchmarks/hostile_inputs.py [--n 1000] [--seed 15] [--cli-sample 48]

Runs N seeded lines in-process through ``sim.cli.prevalidate`` (tests/hostile.py draws them,
valid or invalid by construction), then the fixed CLI sample through ``python -m sim.cli run``
(each in a fresh temporary folder), and prints: lines tried, valid accepted, invalid rejected,
invalid accepted, valid rejected, exceptions/tracebacks, hangs, writes outside the run
directory, and the median and 95th percentile of the seconds per line.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.hostile import (
    CLI_SECONDS,
    LINE_SECONDS,
    Case,
    Watch,
    cli_sample,
    escape_targets,
    files_under,
    in_process_lines,
    judge,
    judge_cli,
    run_cli,
    run_in_process,
    stray_files,
    with_fast,
)


def percentile(values: list[float], q: float) -> float:
    """The q-quantile (nearest rank) of ``values``."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def in_process(n: int, seed: int, tag: str, dump: list[dict]) -> None:
    """Run ``n`` lines through ``prevalidate`` in a scratch folder and print the figures."""
    scratch = Path(tempfile.mkdtemp(prefix="cpec-hostile-bench-"))
    home = scratch / "home"
    home.mkdir()
    here, old_home = Path.cwd(), os.environ.get("HOME")
    os.chdir(scratch)
    os.environ["HOME"] = str(home)
    os.environ.pop("HYDRA_FULL_ERROR", None)
    watch = Watch(tag).start()
    tally: Counter[str] = Counter()
    wrong: Counter[tuple[str, str]] = Counter()
    seconds = []
    try:
        for case in in_process_lines(n, seed, tag):
            out = run_in_process(case)
            seconds.append(out.seconds)
            problem = judge(case, out)
            tally[outcome_label(case, out.error, out.exception, out.hang)] += 1
            tally["not one line"] += bool(problem and problem.startswith("error is not"))
            if problem:
                wrong[(case.kind, problem.split(":")[0])] += 1
            dump.append(
                {
                    "where": "in-process",
                    "kind": case.kind,
                    "valid": case.valid,
                    "args": case.args,
                    "error": out.error,
                    "exception": out.exception,
                    "hang": out.hang,
                    "seconds": round(out.seconds, 3),
                    "problem": problem,
                }
            )
    finally:
        os.chdir(here)
        if old_home is not None:
            os.environ["HOME"] = old_home
    writes = sorted(files_under(scratch) - {"home"}) + watch.new()
    shutil.rmtree(scratch, ignore_errors=True)
    print(f"in-process (sim.cli.prevalidate), {len(seconds)} lines, seed {seed}:")
    print_figures(tally, len(writes), seconds, LINE_SECONDS)
    print_wrong(wrong)


def outcome_label(case: Case, error: str | None, exception: str | None, hang: bool) -> str:
    """One of: hang, exception, valid accepted/rejected, invalid rejected/accepted."""
    if hang:
        return "hang"
    if exception:
        return "exception"
    if case.valid:
        return "valid accepted" if error is None else "valid rejected"
    return "invalid accepted" if error is None else "invalid rejected"


def print_figures(tally: Counter[str], writes: int, seconds: list[float], limit: float) -> None:
    """The figures of one part."""
    valid = tally["valid accepted"] + tally["valid rejected"]
    invalid = tally["invalid accepted"] + tally["invalid rejected"]
    print(f"  lines tried            {sum(tally.values())}")
    print(f"  accepted valid         {tally['valid accepted']} of {valid}")
    print(f"  rejected invalid       {tally['invalid rejected']} of {invalid}")
    print(f"  invalid accepted       {tally['invalid accepted']}")
    print(f"  valid rejected         {tally['valid rejected']}")
    print(f"  exceptions/tracebacks  {tally['exception']}")
    print(f"  hangs (> {limit:g} s)        {tally['hang']}")
    print(f"  writes outside         {writes}")
    if tally["not one line"]:
        print(f"  errors not one line    {tally['not one line']}")
    med, p95 = statistics.median(seconds), percentile(seconds, 0.95)
    print(f"  seconds per line       median {med:.2f}, p95 {p95:.2f}, total {sum(seconds):.0f}")


def print_wrong(wrong: Counter[tuple[str, str]]) -> None:
    """Problems by kind, most frequent first."""
    for (kind, problem), count in wrong.most_common():
        print(f"    {count:4d}  {kind:22s} {problem}")


def through_cli(count: int, tag: str, dump: list[dict]) -> None:
    """Run the first ``count`` lines of the CLI sample through the real CLI."""
    tally: Counter[str] = Counter()
    wrong: Counter[tuple[str, str]] = Counter()
    seconds, writes = [], 0
    for case in cli_sample(tag)[:count]:
        scratch = Path(tempfile.mkdtemp(prefix="cpec-hostile-cli-"))
        cwd, home = scratch / "cwd", scratch / "home"
        cwd.mkdir()
        home.mkdir()
        watch = Watch(tag).start()
        out = run_cli(with_fast(case), cwd, home)
        seconds.append(out.seconds)
        created = files_under(cwd)
        strays, outside = stray_files(case, created), watch.new()
        writes += bool(outside or stray_files(Case(case.args, True, case.kind), created))
        problems = judge_cli(case, out, strays, outside)
        traceback = "Traceback" in out.stdout + out.stderr
        lines = [ln for ln in out.stderr.splitlines() if ln.strip()]
        rejected = out.code not in (0, None)
        error = (lines[-1] if lines else "(no message)") if rejected else None
        tally[outcome_label(case, error, "tb" if traceback else None, out.hang)] += 1
        tally["not one line"] += bool(rejected and not case.valid and len(lines) != 1)
        for p in problems:
            wrong[(case.kind, p.split(":")[0][:60])] += 1
        dump.append(
            {
                "where": "cli",
                "kind": case.kind,
                "valid": case.valid,
                "args": case.args,
                "code": out.code,
                "stderr": out.stderr[-3000:],
                "hang": out.hang,
                "seconds": round(out.seconds, 2),
                "problems": problems,
            }
        )
        shutil.rmtree(scratch, ignore_errors=True)
        for path in escape_targets(tag):
            shutil.rmtree(path, ignore_errors=True) if path.is_dir() else path.unlink()
    print(f"through the CLI (python -m sim.cli run), {len(seconds)} lines:")
    print_figures(tally, writes, seconds, CLI_SECONDS)
    print_wrong(wrong)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--n", type=int, default=1000, help="lines in-process (default 1000)")
    ap.add_argument("--seed", type=int, default=15, help="seed of the generator (default 15)")
    ap.add_argument(
        "--cli-sample",
        type=int,
        default=len(cli_sample("x")),
        help="lines of the fixed CLI sample to run (default all; 0: none)",
    )
    ap.add_argument("--dump", type=Path, help="write every line's outcome to this JSON file")
    args = ap.parse_args()
    tag = f"b{os.getpid()}"
    dump: list[dict] = []
    start = time.perf_counter()
    if args.n:
        in_process(args.n, args.seed, tag, dump)
    if args.cli_sample:
        through_cli(args.cli_sample, tag, dump)
    print(f"total {time.perf_counter() - start:.0f} s")
    if args.dump:
        args.dump.write_text(json.dumps(dump, indent=1, ensure_ascii=True))


if __name__ == "__main__":
    main()
