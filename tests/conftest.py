"""Shared helpers: run the real `cpec-sim` command in a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
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
