"""Shared helpers: run the real `cpec-sim` command in a subprocess."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent
CPEC = str(BIN / "cpec-sim")


def cpec(*args: str, cwd: Path, timeout: float = 300, **kw: object) -> subprocess.CompletedProcess:
    """Run `cpec-sim ARGS` in ``cwd``."""
    env = {**os.environ, "MPLBACKEND": "Agg"}
    return subprocess.run(
        [CPEC, *args], cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env, **kw
    )


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """An empty folder to run commands in (results land under it)."""
    return tmp_path


#: Test files of a minute or more, slowest first. They are collected (and so handed to the
#: pytest-xdist workers, ``--dist loadfile``) before the rest, so that no long file starts
#: last and runs alone at the end; the order inside each file is kept.
SLOW_FILES = (
    "tests/test_workshop_docs.py",
    "tests/test_workshop_docs_more.py",
    "tests/test_hostile_inputs.py",
    "tests/calibration/test_abc.py",
    "tests/calibration/test_crisis_calibration.py",
    "tests/test_dashboard.py",
    "tests/analysis/test_analysis_plots.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Slow files first (a stable sort: everything else keeps its order)."""
    rank = {name: i for i, name in enumerate(SLOW_FILES)}
    items.sort(key=lambda item: rank.get(item.nodeid.split("::", 1)[0], len(rank)))


@contextmanager
def unwritable_folder(folder: Path) -> Iterator[None]:
    """``folder`` made unwritable: by its mode, or for root (whom modes do not stop) by the
    immutable attribute; skipped where neither works."""
    if os.geteuid() != 0:
        folder.chmod(0o555)
        try:
            yield
        finally:
            folder.chmod(0o755)
        return
    if shutil.which("chattr") is None:
        pytest.skip("root, and no chattr to make a folder unwritable")
    done = subprocess.run(["chattr", "+i", str(folder)], capture_output=True, check=False)
    if done.returncode != 0:
        pytest.skip("root, and this file system has no immutable attribute")
    try:
        yield
    finally:
        subprocess.run(["chattr", "-i", str(folder)], check=True)
