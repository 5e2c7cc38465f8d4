"""Run figures rendered by worker processes, each figure whole by one process.

A task names one of a run's figures (:class:`RunFigure`); the worker loads the run (keeping it
for the next task of the same run), builds the figure and renders it. The bytes never depend
on the number of processes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from functools import partial
from pathlib import Path
from typing import NamedTuple

from sim.analysis.runs import Run, load_run
from sim.workers import DRAWING_PRELOAD, stop_pool, usable_cpus, worker_context, worker_init


class RunFigure(NamedTuple):
    """One of a run's figures (a name in ``plots.RUN_FIGURES``), titled with ``label``."""

    path: Path
    label: str
    name: str


Rendered = dict[str, bytes] | None

_WORKER_RUN: Run | None = None

#: A drawing worker's garbage collector runs its youngest generation after this many new
#: container objects (Python's default is 700). Building and drawing a figure makes hundreds
#: of thousands of short-lived objects (transforms, paths, text layouts); at 700 the
#: collector took ~8% of the samples, and at 20,000 the seven figures take ~7% less time in
#: one process (3.25 against 3.0 s, medians of four interleaved rounds) and ~40 MB more.
DRAWING_GC_THRESHOLD = 20_000


def _labelled(path: Path, label: str) -> Run:
    """The run at ``path``, titled ``label``."""
    run = load_run(path)
    run.label = label
    return run


def _render(task: RunFigure, formats: tuple[str, ...], dpi: float | None) -> Rendered:
    """In a worker: the task's figure, from the run it keeps while its tasks share it."""
    from sim.analysis.plots import render_run_figure

    global _WORKER_RUN
    if _WORKER_RUN is None:
        _collect_less()
    if _WORKER_RUN is None or (_WORKER_RUN.path, _WORKER_RUN.label) != (task.path, task.label):
        _WORKER_RUN = _labelled(task.path, task.label)
    return render_run_figure(_WORKER_RUN, task.name, formats, dpi)


def _collect_less() -> None:
    """In a drawing worker, before its first figure: what it imported is never garbage, so the
    collector stops visiting it (``gc.freeze``), and it runs less often
    (:data:`DRAWING_GC_THRESHOLD`). Only a worker's own process: a notebook's is left alone."""
    import gc

    gc.freeze()
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(DRAWING_GC_THRESHOLD, older, oldest)


def draw_figures(
    tasks: Sequence[RunFigure],
    formats: tuple[str, ...] = ("png", "svg"),
    dpi: float | None = None,
    jobs: int | None = None,
    loaded: Sequence[Run] = (),
    meanwhile: Callable[[], object] | None = None,
) -> list[Rendered]:
    """Each task's figure rendered in ``formats`` (PNG at ``dpi``; None where its data are
    missing), in the order given.

    Tasks are rendered by ``jobs`` processes (default: one per CPU, at most one per task).
    ``loaded`` runs are used as they are when rendering in this process; ``meanwhile`` is
    called here while the workers render (before rendering, if there are none).
    """
    workers = min(jobs or usable_cpus(), len(tasks))
    if workers <= 1:
        if meanwhile is not None:
            meanwhile()
        from sim.analysis.plots import render_run_figure

        known = {(run.path, run.label): run for run in loaded}
        out = []
        for task in tasks:
            key = (task.path, task.label)
            if key not in known:
                known[key] = _labelled(task.path, task.label)
            out.append(render_run_figure(known[key], task.name, formats, dpi))
        return out
    ctx = worker_context(DRAWING_PRELOAD)
    render = partial(_render, formats=formats, dpi=dpi)
    pool = ProcessPoolExecutor(workers, mp_context=ctx, initializer=worker_init)
    futures = []
    try:
        futures = [pool.submit(render, task) for task in tasks]
        if meanwhile is not None:
            meanwhile()
        out = [future.result() for future in futures]
    except BaseException:  # an error here or in a worker, or Ctrl-C: stop at once
        stop_pool(pool, futures)
        raise
    pool.shutdown(wait=True)
    return out
