"""What a fresh clone's ``make run`` or ``make test`` costs, part by part, as on a new machine.

    python3 benchmarks/fresh_clone.py [--goal run|test] [--revision HEAD] [--keep]

Clones ``--revision`` of this repository into a temporary folder and runs ``make GOAL`` there
with an empty Numba cache (``CPEC_NUMBA_CACHE``), so the rules are compiled as on a machine
that never ran them. Package downloads come from whatever caches pip and uv already hold on
this machine, and Chromium is installed only if it is missing: a new machine pays more for
both. Each line ``make`` prints is timed as it arrives; the script prints when the packages
were installed, when the rules were compiled, when the tests or the run began, and the total.
Needs only the standard library (any ``python3``).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

#: A line of make's output that marks the end of a part of the set-up, and the part's name.
MARKERS = (
    ("touch .venv/.packages", "packages installed (uv, else pip)"),
    ("touch .venv/.installed", "rules compiled by Numba"),
    ("Success: no issues found", "lint and type checks passed"),
    ("-m pytest", "tests started"),
    ("/cpec-sim run", "the run started"),
)


def timed_make(folder: Path, goal: str, env: dict[str, str]) -> tuple[list[tuple[float, str]], int]:
    """Run ``make goal`` in ``folder``; each output line with its seconds since the start."""
    started = time.monotonic()
    lines: list[tuple[float, str]] = []
    proc = subprocess.Popen(
        ["make", goal],
        cwd=folder,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert proc.stdout is not None
    for line in proc.stdout:
        lines.append((time.monotonic() - started, line.rstrip("\n")))
    code = proc.wait()
    lines.append((time.monotonic() - started, f"(make exited {code})"))
    return lines, code


def milestones(lines: list[tuple[float, str]]) -> list[tuple[float, str]]:
    """The first time each marker appears."""
    out = []
    for marker, name in MARKERS:
        hit = next((t for t, line in lines if marker in line), None)
        if hit is not None:
            out.append((hit, name))
    return sorted(out)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--goal", choices=("run", "test"), default="run")
    parser.add_argument("--revision", default="HEAD")
    parser.add_argument("--keep", action="store_true", help="keep the clone and print where")
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="cpec-fresh-"))
    clone = scratch / "clone"
    subprocess.run(["git", "clone", "-q", str(REPO), str(clone)], check=True)
    subprocess.run(["git", "-C", str(clone), "checkout", "-q", args.revision], check=True)
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS")}
    env["CPEC_NUMBA_CACHE"] = str(scratch / "numba")
    env.setdefault("CI", "true")
    lines, code = timed_make(clone, args.goal, env)
    print(f"make {args.goal} in a fresh clone of {args.revision}, empty Numba cache")
    for seconds, name in milestones(lines):
        print(f"  {seconds:7.1f} s  {name}")
    print(f"  {lines[-1][0]:7.1f} s  done, exit {code}")
    if code != 0:
        print("\n".join(line for _, line in lines[-40:]))
    if args.keep:
        print(f"kept: {clone}")
    else:
        shutil.rmtree(scratch, ignore_errors=True)
    return code


if __name__ == "__main__":
    raise SystemExit(main())
