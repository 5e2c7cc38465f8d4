"""The short form of ``benchmarks/workshop_load.py``: 5 tabs x 5 steps against a real server
(and, with ``--browser``, 3 Chromium pages x 2 steps).

Only correctness is checked (every step answered with the next week, runs isolated, the
server counted the tabs); the timings and memory are the benchmark's to report.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

BENCHMARK = Path(__file__).resolve().parents[1] / "benchmarks" / "workshop_load.py"


def _benchmark() -> ModuleType:
    spec = importlib.util.spec_from_file_location("workshop_load", BENCHMARK)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_five_tabs_step_their_own_runs() -> None:
    result = _benchmark().run_load(sessions=5, steps=5, settle=0)

    assert result["replies"] == [5] * 5
    assert result["weeks"] == [5] * 5
    assert result["weeks_ok"] and result["single"]["weeks_ok"]
    assert result["same_seed_identical"] is True
    assert result["different_seeds_differ"] is True
    assert result["server_connected"] == 5
    assert result["server_sessions"] >= 5  # + the lone tab's run, kept for a reconnect
    assert result["server_steps"] == 5 * 5 + 5


def test_browser_pages_step_their_own_runs() -> None:
    from tests.test_dashboard import _browser_or_skip

    _browser_or_skip()
    result = _benchmark().run_browser(sessions=3, steps=2, settle=0)

    assert result["errors"] == []
    assert result["updates"] == [2] * 3
    assert result["weeks"] == [2] * 3 and result["weeks_ok"]
    assert result["same_seed_identical"] is True
    assert result["different_seeds_differ"] is True
    assert result["server_connected_after_open"] == 3
    assert result["server_steps"] == 3 * 2
