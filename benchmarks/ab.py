"""An earlier revision against the working tree, one command interleaved: medians of wall-clock
and CPU seconds.

    .venv/bin/python benchmarks/ab.py --base HEAD~1 [--rounds 5] -- run replicates=1000 plots=false
    .venv/bin/python benchmarks/ab.py --base 9abc64a -- plot {run}

The base revision is checked out in a temporary git worktree; each round runs the command once
with the base and once with the working tree, alternately, so the machine's load falls on both
alike. Every command runs in a fresh process in a temporary folder (``{run}`` in the command is
a run directory of 100 replicates made there by each side beforehand), with the base put first
on ``PYTHONPATH``. Run from the repository, ``python -m sim.cli`` would import the working tree's
``sim`` whatever ``PYTHONPATH`` says (the current directory comes first): comparisons made that
way measure one revision twice. The script checks which ``sim`` each side imports before timing.

The CPU seconds are those of the command's whole process tree, fork servers and their workers
included: this script adopts the processes orphaned as the command exits (Linux's child
subreaper) and waits for them. They show the work a change saves, also where it is off the
command's critical path; on a shared machine both vary from round to round.

The base's rules compile once (Numba caches them by a hash of their sources); a first round
is run and discarded on each side so that neither side's figures include compiling.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
#: What ``{sweep}`` stands for: the eight scenarios, 100 replicates each, made by each side.
SWEEP = ["run", "-m", "+experiment=compare_all", "replicates=100", "plots=false"]
PYTHON = Path(sys.executable)


def worktree(revision: str, where: Path) -> Path:
    """A detached worktree of ``revision`` at ``where``."""
    subprocess.run(
        ["git", "-C", str(REPO), "worktree", "add", "--detach", "-f", str(where), revision],
        check=True,
        capture_output=True,
    )
    return where


def side_env(source: Path | None) -> dict[str, str]:
    """The environment of one side: ``source`` first on ``PYTHONPATH`` (None: the work tree)."""
    env = dict(os.environ)
    if source is not None:
        env["PYTHONPATH"] = str(source)
    else:
        env.pop("PYTHONPATH", None)
    return env


def imported_sim(env: dict[str, str], cwd: Path) -> Path:
    """Where ``sim`` comes from for a command run with ``env`` in ``cwd``."""
    out = subprocess.run(
        [str(PYTHON), "-c", "import sim; print(sim.__file__)"],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
    )
    return Path(out.stdout.strip()).parent.parent


def adopt_orphans() -> None:
    """Become the child subreaper of this process's descendants (Linux): a fork server
    orphaned when the command exits is re-parented here, so its CPU time (and its workers')
    is counted once it is waited for (:func:`reap_orphans`)."""
    import ctypes

    pr_set_child_subreaper = 36
    ctypes.CDLL(None, use_errno=True).prctl(pr_set_child_subreaper, 1, 0, 0, 0)


def reap_orphans(timeout: float = 5.0) -> None:
    """Wait for every child left (orphans re-parented here), up to ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return  # none left
        if pid == 0:
            time.sleep(0.005)


def children_cpu() -> float:
    """User and system CPU seconds of every child waited for so far."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_once(args: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float]:
    """Wall and CPU seconds of ``python -m sim.cli ARGS`` (non-zero exit: an error naming the
    command); the CPU of its whole process tree."""
    cpu0 = children_cpu()
    t0 = time.perf_counter()
    done = subprocess.run(
        [str(PYTHON), "-m", "sim.cli", *args], env=env, cwd=cwd, capture_output=True, text=True
    )
    seconds = time.perf_counter() - t0
    reap_orphans()
    if done.returncode != 0:
        tail = done.stderr.strip().splitlines()[-1:] or ["(no output)"]
        raise SystemExit(f"ab.py: `cpec-sim {' '.join(args)}` failed: {tail[0]}")
    return seconds, children_cpu() - cpu0


def timed_rounds(
    command: list[str], envs: dict[str, dict[str, str]], root: Path, rounds: int
) -> dict[str, list[tuple[float, float]]]:
    """Wall and CPU seconds of ``command`` on each side, the sides alternating, round 0
    discarded."""
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in envs}
    for r in range(rounds + 1):
        for name, env in envs.items():
            cwd = root / name / "work"
            made = cwd / "made-run"
            if "{run}" in " ".join(command) and not made.exists():
                run_once(
                    ["run", "replicates=100", "plots=false", f"hydra.run.dir={made}"], env, cwd
                )
            swept = cwd / "made-sweep"
            if "{sweep}" in " ".join(command) and not swept.exists():
                run_once([*SWEEP, f"hydra.sweep.dir={swept}"], env, cwd)
            args = [a.replace("{run}", str(made)).replace("{sweep}", str(swept)) for a in command]
            if args[0] == "run":  # a fresh folder each round: a finished run would resume
                args += [f"hydra.{kind}.dir={cwd / f'out-{r}'}" for kind in ("run", "sweep")]
            measured = run_once(args, env, cwd)
            for folder in (made, *swept.glob("*=*")):  # each plot or report draws afresh
                shutil.rmtree(folder / "plots", ignore_errors=True)
            if r > 0:  # round 0 warms both sides (and compiles the base's rules)
                times[name].append(measured)
    return times


def compile_bytecode(package: Path) -> None:
    """Both sides start from their modules' bytecode, as ``make`` leaves the work tree (Python
    would not write it here: PYTHONDONTWRITEBYTECODE is set on this project's machines)."""
    subprocess.run([str(PYTHON), "-m", "compileall", "-q", str(package)], check=True,
                   capture_output=True)  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", required=True, help="the earlier revision (any git revision)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument(
        "command",
        nargs="+",
        help="cpec-sim arguments ({run}: a run of 100; {sweep}: the 8 scenarios' sweep)",
    )
    opts = parser.parse_args()
    adopt_orphans()
    with tempfile.TemporaryDirectory(prefix="cpec-ab-") as tmp:
        root = Path(tmp)
        sources = {"base": worktree(opts.base, root / "base"), "new": None}
        try:
            envs = {name: side_env(src) for name, src in sources.items()}
            for name, src in sources.items():
                where = imported_sim(envs[name], root)
                if where != (src or REPO):
                    raise SystemExit(f"ab.py: the {name} side imports sim from {where}")
                (root / name / "work").mkdir(parents=True)
                compile_bytecode(where / "sim")
            times = timed_rounds(opts.command, envs, root, opts.rounds)
        finally:
            subprocess.run(
                ["git", "-C", str(REPO), "worktree", "remove", "--force", str(root / "base")],
                capture_output=True,
            )
    print(f"cpec-sim {' '.join(opts.command)}: {opts.rounds} interleaved rounds")
    for i, what in enumerate(("wall s", "CPU s (the process tree)")):
        print(f" {what}")
        medians = {}
        for name, ts in times.items():
            label = opts.base if name == "base" else "working tree"
            values = [t[i] for t in ts]
            medians[name] = statistics.median(values)
            cells = " ".join(f"{t:.2f}" for t in values)
            print(f"  {name:4s} ({label}): {cells}  median {medians[name]:.2f}")
        print(f"  base / new: {medians['base'] / medians['new']:.2f}x")


if __name__ == "__main__":
    main()
