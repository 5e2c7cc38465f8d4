"""Names of the files the analysis commands write beside the results they read.

``compare`` writes its table and figures into a sweep folder, and ``report`` writes
``report.html`` into the run or sweep folder it reports on. The run command must recognise
them as ours, so that re-running a compared or reported run or sweep resumes it. No heavy
imports here: the command line reads these names at start-up.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

#: ``compare``'s table.
COMPARISON_TABLE = "comparison.csv"
#: ``compare``'s figures, in the order they are drawn.
COMPARISON_FIGURES = (
    "compare_boxes",
    "compare_ecdf",
    "compare_differences",
    "compare_events",
    "compare_first_pause",
    "sweep_heatmap",
)
#: The formats every figure is written in.
FIGURE_FORMATS = ("png", "svg")
#: How ``compare``'s table begins (its first columns): a ``comparison.csv`` that does not is
#: not compare's, and compare neither replaces it nor the figures beside it.
COMPARISON_HEADER = "label,scenario,dir,"
#: ``report``'s page, written into the one run or sweep folder it reports on.
REPORT_FILE = "report.html"
#: The line in a report's head that says cpec-sim wrote it (``report --out`` replaces only
#: such a file).
REPORT_MARKER = '<meta name="generator" content="cpec-sim report">'
#: What the head of a report written before :data:`REPORT_MARKER` begins its title with.
_OLD_REPORT_TITLE = "<title>cpec-sim report: "


def analysis_files() -> frozenset[str]:
    """Every file name ``compare`` and ``report`` may write into a run or sweep folder."""
    figures = {f"{name}.{fmt}" for name in COMPARISON_FIGURES for fmt in FIGURE_FORMATS}
    return frozenset({COMPARISON_TABLE, REPORT_FILE} | figures)


def comparison_files_not_ours(folder: Path) -> list[str]:
    """The names of compare's files in ``folder`` that compare did not write: all of them
    unless a ``comparison.csv`` of compare's is there (it writes its figures beside it)."""
    names = [COMPARISON_TABLE] + [
        f"{name}.{fmt}" for name in COMPARISON_FIGURES for fmt in FIGURE_FORMATS
    ]
    present = [name for name in names if (folder / name).exists()]
    table = folder / COMPARISON_TABLE
    try:
        with open(table, encoding="utf-8", errors="replace") as handle:
            ours = handle.read(len(COMPARISON_HEADER)) == COMPARISON_HEADER
    except OSError:  # none, or not a file
        ours = False
    return [] if ours else present


def is_report_file(path: Path) -> bool:
    """Whether ``path`` is a file that ``report`` wrote (its head carries the marker, or the
    title of a report written before it)."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(4096).decode("utf-8", errors="replace")
    except OSError:
        return False
    mine = REPORT_MARKER in head or _OLD_REPORT_TITLE in head
    return head.startswith("<!DOCTYPE html>") and mine


def not_started_jobs(listed: Any) -> list[dict[str, str]]:
    """The jobs ``sweep.json``'s ``not_started`` lists (each a mapping of the values that name
    a job's folder), as text; entries that are not such a mapping (edited by hand: ``{}``, a
    list, a null value) are dropped."""
    if not isinstance(listed, list):
        return []
    return [
        {str(k): str(v) for k, v in job.items()}
        for job in listed
        if isinstance(job, dict)
        and job
        and all(isinstance(v, str | int | float) and not isinstance(v, bool) for v in job.values())
    ]
