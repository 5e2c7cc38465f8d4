"""Every command in the workshop kit runs, in a fast mode, in the order the documents give.

The commands are the lines of the ```bash blocks in docs/workshop/*.md. ``compare`` lines get
``--no-plots`` and ``report`` lines ``--no-run-plots``; ``cpec-sim run`` lines get
``replicates=4 weeks=12 jobs=1 plots=false`` and, for single runs, the run directory the full
command would have used (so the ``compare``/``plot``/``report`` lines that follow find it);
each document runs in its own empty working directory. ``dashboard`` and ``workshop`` lines are
only parsed here: the browser tests in tests/test_dashboard.py and
tests/test_workshop_browser.py start the real thing. Nothing is skipped: if a command the
documents use is missing or fails, this test fails.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = (
    ROOT / "docs" / "workshop" / "facilitator.md",
    ROOT / "docs" / "workshop" / "handout.md",
    ROOT / "docs" / "workshop" / "roleplay.md",
)
# Runs skip their own figures (each costs ~10 s; the doc's `cpec-sim plot` lines still draw,
# and tests/analysis covers every figure); so do `compare` lines (~5 s each: their figures are
# drawn by tests/test_cli.py's and tests/analysis's compares, and the `report` lines draw), and
# `report` lines leave out each run's own figures (a sweep's report of 8 runs drew 56: ~20 s;
# the report's comparison figures are still drawn).
FAST = {"replicates": "4", "weeks": "12", "jobs": "1", "plots": "false"}
FAST_COMPARE = "--no-plots"
FAST_REPORT = "--no-run-plots"
SUBCOMMANDS = {"run", "compare", "plot", "report", "scenarios", "dashboard", "workshop"}
SERVERS = {"dashboard", "workshop"}  # parsed here; the browser tests start the real thing
TIMEOUT_S = 900


def bash_lines(path: Path) -> list[str]:
    """Non-empty, non-comment lines of the document's ```bash blocks, in order."""
    blocks = re.findall(r"^```bash\n(.*?)^```", path.read_text(encoding="utf-8"), re.M | re.S)
    lines = [ln.strip() for block in blocks for ln in block.splitlines()]
    return [ln for ln in lines if ln and not ln.startswith("#")]


def commands(path: Path) -> list[list[str]]:
    """The ``cpec-sim`` command lines of a document, split like a shell would."""
    return [shlex.split(line) for line in bash_lines(path)]


def is_multirun(args: list[str]) -> bool:
    return any(a in ("-m", "--multirun") or a.startswith("+experiment=") for a in args)


def run_dir(args: list[str]) -> str:
    """Where ``cpec-sim run ARGS`` writes (the CLI's own naming rule)."""
    from sim.cli import _run_name

    overrides = [a for a in args if not a.startswith("-")]
    scenario = next((a.split("=", 1)[1] for a in overrides if a.startswith("scenario=")), None)
    return f"results/runs/{_run_name(scenario or 'baseline', overrides)}"


def fast(args: list[str]) -> list[str]:
    """A ``cpec-sim run`` line in the fast mode, writing where the full line would."""
    assert args[:2] == ["cpec-sim", "run"]
    rest = args[2:]
    kept = [a for a in rest if a.split("=", 1)[0] not in FAST]
    out = ["cpec-sim", "run", *kept, *(f"{k}={v}" for k, v in FAST.items())]
    if not is_multirun(rest):
        out.append(f"hydra.run.dir='{run_dir(rest)}'")
    return out


def dirs_used(args: list[str]) -> list[str]:
    """Run or sweep directories a compare/plot/report line reads."""
    if args[1] not in ("compare", "plot", "report"):
        return []
    out, skip = [], False
    for a in args[2:]:
        if skip:
            skip = False
        elif a in ("--reference", "--out"):
            skip = True
        elif not a.startswith("-"):
            out.append(a.rstrip("/"))
    return out


def dirs_made(args: list[str]) -> str:
    """The directory a run line makes."""
    rest = args[2:]
    if is_multirun(rest):
        experiment = next(a.split("=", 1)[1] for a in rest if a.startswith("+experiment="))
        return f"results/sweeps/{experiment}"
    return run_dir(rest)


def cpec_sim() -> list[str]:
    script = Path(sys.executable).with_name("cpec-sim")
    return [str(script)] if script.exists() else [sys.executable, "-m", "sim.cli"]


def execute(args: list[str], cwd: Path) -> tuple[list[str], float]:
    """Run one command; fail with its output if it does not exit 0."""
    env = {**os.environ, "MPLBACKEND": "Agg"}
    started = time.monotonic()
    proc = subprocess.run(
        [*cpec_sim(), *args[1:]],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
    )
    took = time.monotonic() - started
    assert proc.returncode == 0, (
        f"`{shlex.join(args)}` exited {proc.returncode} after {took:.0f} s\n"
        f"--- stdout ---\n{proc.stdout[-3000:]}\n--- stderr ---\n{proc.stderr[-3000:]}"
    )
    return args, took


# --- the documents themselves ---------------------------------------------------------------
@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_every_shell_line_is_a_cpec_sim_command(doc: Path) -> None:
    cmds = commands(doc)
    assert len(cmds) >= 5
    for args in cmds:
        assert args[0] == "cpec-sim" and args[1] in SUBCOMMANDS, shlex.join(args)


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_directories_are_made_before_they_are_used(doc: Path) -> None:
    made: set[str] = set()
    for args in commands(doc):
        for d in dirs_used(args):
            assert d in made, f"`{shlex.join(args)}` reads {d}, which no earlier line makes"
        if args[1] == "run":
            made.add(dirs_made(args))


def test_handout_has_six_complete_exercises() -> None:
    text = DOCS[1].read_text(encoding="utf-8")
    exercises = re.split(r"^## Exercise \d+", text, flags=re.M)[1:]
    assert 5 <= len(exercises) <= 6
    for body in exercises:
        for part in ("**Question.**", "**Dashboard.**", "**At scale.**", "**Look at.**"):
            assert part in body
        assert "**How sure are you?**" in body
        assert "```bash\ncpec-sim run" in body


def test_dashboard_lines_parse() -> None:
    from sim.dashboard.cli import parse_args

    lines = [args for doc in DOCS for args in commands(doc) if args[1] == "dashboard"]
    assert lines
    for args in lines:
        parse_args(args[2:])  # raises UsageError on a bad flag


def test_workshop_lines_parse() -> None:
    from sim.workshop.cli import workshop_settings

    lines = [args for doc in DOCS for args in commands(doc) if args[1] == "workshop"]
    assert lines
    for args in lines:
        workshop_settings(args[2:])  # raises UsageError on a bad option or value


# --- and every command runs ---------------------------------------------------------------
def run_doc_commands(doc: Path, tmp_path: Path) -> None:
    """Every command of ``doc``, in the fast mode, in order (runs side by side first)."""
    cmds = [args for args in commands(doc) if args[1] not in SERVERS]
    runs = list(dict.fromkeys(tuple(fast(a)) for a in cmds if a[1] == "run"))
    timings: list[tuple[list[str], float]] = []
    # Runs are independent of each other: do them side by side, one process per core.
    with ThreadPoolExecutor(max_workers=max(1, os.cpu_count() or 1)) as pool:
        timings += pool.map(lambda a: execute(list(a), tmp_path), runs)
    for args in cmds:
        if args[1] == "run":
            continue
        extra = {"compare": [FAST_COMPARE], "report": [FAST_REPORT]}.get(args[1], [])
        fast_args = [*args, *extra]
        timings.append(execute(fast_args, tmp_path))
        if args[1] == "plot":
            assert list((tmp_path / args[2] / "plots").glob("*.png")), "plot drew nothing"
        if args[1] == "report":
            assert list(tmp_path.rglob("*.html")), "report wrote no HTML"
    for args in cmds:
        if args[1] == "run":
            assert (tmp_path / dirs_made(args)).is_dir(), f"{shlex.join(args)} made no directory"
    total = sum(t for _, t in timings)
    print(f"\n{doc.name}: {len(timings)} commands, {total:.0f} s of command time")
    for args, took in timings:
        print(f"  {took:6.1f} s  {shlex.join(args)}")


def test_facilitators_guide_commands_run_in_fast_mode(tmp_path: Path) -> None:
    """The facilitator's guide (the handout and the role-play plan: test_workshop_docs_more.py,
    a file of its own so that pytest-xdist runs it beside this one)."""
    run_doc_commands(DOCS[0], tmp_path)
