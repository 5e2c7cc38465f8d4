"""Run figures rendered by worker processes, each figure whole by one process.

A task names one of a run's figures (:class:`RunFigure`), with its inputs where the caller
read them (:func:`sim.analysis.plots.plot_run`): the worker draws them. Otherwise the worker
loads the run (keeping it for the next task of the same run) and reads them itself. The bytes
never depend on the number of processes, nor on who read the inputs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from sim.workers import DRAWING_PRELOAD, drawing_pool, drawing_processes

if TYPE_CHECKING:  # the results' loader (and pandas) only where a task is not given its inputs
    from sim.analysis.runs import Run


class RunFigure(NamedTuple):
    """One of a run's figures (a name in ``plots.RUN_FIGURES``), titled with ``label``; with
    its inputs (``plots.FIGURE_INPUTS``) if ``read`` (None then: nothing to draw)."""

    path: Path
    label: str
    name: str
    inputs: Any = None
    read: bool = False


Rendered = dict[str, bytes] | None

_WORKER_RUN: Run | None = None
_COLLECTING_LESS = False

#: A drawing worker's garbage collector runs its youngest generation after this many new
#: container objects (Python's default is 700). Building and drawing a figure makes hundreds
#: of thousands of short-lived objects (transforms, paths, text layouts); at 700 the
#: collector took ~8% of the samples, and at 20,000 the seven figures take ~7% less time in
#: one process (3.25 against 3.0 s, medians of four interleaved rounds) and ~40 MB more.
DRAWING_GC_THRESHOLD = 20_000


def _labelled(path: Path, label: str) -> Run:
    """The run at ``path``, titled ``label``."""
    from sim.analysis.runs import load_run

    run = load_run(path)
    run.label = label
    return run


def _render(task: RunFigure, formats: tuple[str, ...], dpi: float | None) -> Rendered:
    """In a worker: the task's figure, from its inputs or else from the run it keeps while its
    tasks share it."""
    global _WORKER_RUN
    collect_less_once()
    if task.read:
        return _drawn_from_inputs(task, formats, dpi)
    from sim.analysis.plots import render_run_figure

    if _WORKER_RUN is None or (_WORKER_RUN.path, _WORKER_RUN.label) != (task.path, task.label):
        _WORKER_RUN = _labelled(task.path, task.label)
    return render_run_figure(_WORKER_RUN, task.name, formats, dpi)


def _drawn_from_inputs(task: RunFigure, formats: tuple[str, ...], dpi: float | None) -> Rendered:
    """The task's figure drawn from the inputs it carries."""
    from sim.analysis.figures import render_figure

    return None if task.inputs is None else render_figure(task.name, task.inputs, formats, dpi)


def collect_less_once() -> None:
    """:func:`_collect_less`, the first time a drawing worker is given a figure."""
    global _COLLECTING_LESS
    if not _COLLECTING_LESS:
        _collect_less()
        _COLLECTING_LESS = True


def _collect_less() -> None:
    """In a drawing worker, before its first figure: what it imported is never garbage, so the
    collector stops visiting it (``gc.freeze``), and it runs less often
    (:data:`DRAWING_GC_THRESHOLD`). Only a worker's own process: a notebook's is left alone."""
    import gc

    gc.freeze()
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(DRAWING_GC_THRESHOLD, older, oldest)


def draw_figures(
    tasks: Iterable[RunFigure],
    formats: tuple[str, ...] = ("png", "svg"),
    dpi: float | None = None,
    jobs: int | None = None,
    meanwhile: Callable[[], object] | None = None,
    count: int | None = None,
) -> list[Rendered]:
    """Each task's figure rendered in ``formats`` (PNG at ``dpi``; None where its data are
    missing), in the order given.

    Tasks are rendered by ``jobs`` processes (default: one per CPU, at most one per task;
    this process for a script read from standard input). ``meanwhile`` is called here while
    the workers render (before rendering, if there are none). ``tasks`` may be made one at a
    time (each is handed to a worker as it comes) if ``count`` says how many. A worker that
    dies raises :class:`~sim.workers.DrawingWorkerDied`.
    """
    if count is None:
        tasks = list(tasks)
        count = len(tasks)
    workers = drawing_processes(jobs, count)
    if workers <= 1:
        if meanwhile is not None:
            meanwhile()
        from sim.analysis.plots import render_run_figure

        known: dict[tuple[Path, str], Run] = {}
        out = []
        for task in tasks:
            if task.read:
                out.append(_drawn_from_inputs(task, formats, dpi))
                continue
            key = (task.path, task.label)
            if key not in known:
                known[key] = _labelled(task.path, task.label)
            out.append(render_run_figure(known[key], task.name, formats, dpi))
        return out
    render = partial(_render, formats=formats, dpi=dpi)
    with drawing_pool(DRAWING_PRELOAD, workers) as (pool, futures):
        for task in tasks:
            futures.append(pool.submit(render, task))
        if meanwhile is not None:
            meanwhile()
        return [future.result() for future in futures]
