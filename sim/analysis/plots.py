"""Figures of one run: outcome distributions, fan charts, attack severity, targets, districts.

Every figure is built by a function ``Run -> Figure | None`` (None when the data it needs
are missing): its inputs read from the run here (:data:`FIGURE_INPUTS`, with pandas), then
drawn by :mod:`sim.analysis.figures` (without). :func:`plot_run` writes them all as PNG and
SVG into ``run_dir/plots/``, drawn by worker processes that are handed the inputs. matplotlib
is imported lazily (never by the simulation's hot path) and figures are drawn on the Agg canvas.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from sim.analysis import figures, stats, style
from sim.analysis.drawing import RunFigure, draw_figures
from sim.analysis.figures import TARGETS
from sim.analysis.runs import (
    EVENTS_FILE,
    SUMMARY_FILE,
    TIMESERIES_FILE,
    ResultsError,
    Run,
    load_run,
    run_label,
)
from sim.files import atomic_write_json, read_json_object, sha256_of
from sim.workers import refuse_in_a_starting_worker

if TYPE_CHECKING:
    from matplotlib.figure import Figure


# --- what each figure reads from a run (sim.analysis.figures draws it) ----------------------
def replicate_ids(run: Run) -> list[int]:
    """Replicate numbers of a run (from the summary, else 0..n-1)."""
    if "replicate" in run.summary.columns:
        return [int(r) for r in run.summary["replicate"]]
    return list(range(run.replicates))


def _outcome_columns(run: Run) -> list[str]:
    return [c for c in style.OUTCOMES if c in run.summary.columns]


def outcome_inputs(run: Run) -> figures.Outcomes:
    """What the outcome histograms and ECDFs read: each headline outcome's finite values."""
    values = {col: stats.finite(run.summary[col]) for col in _outcome_columns(run)}
    return figures.Outcomes(run.title(), run.replicates, values)


def weekly_matrix(timeseries: pd.DataFrame, metric: str) -> tuple[np.ndarray, np.ndarray]:
    """Weeks and a replicates x weeks matrix of one weekly metric (NaN where missing)."""
    return weekly_matrices(timeseries, [metric])[metric]


def weekly_matrices(
    timeseries: pd.DataFrame, metrics: Iterable[str]
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Each metric's weeks and replicates x weeks matrix: rows the replicates, columns the
    weeks, both in order; for a replicate and week, the first value that is not NaN (NaN if
    none), as ``pivot_table(index="replicate", columns="week", aggfunc="first")`` gives it.

    The rows and columns are found once for all the metrics, and each matrix is filled in
    one assignment (a pivot table per metric took ~29 ms for the fan charts' 14, 1.3 ms now).
    Keys or metrics that are not NumPy's own numbers are left to the pivot table.
    """
    metrics = list(metrics)
    if not metrics:
        return {}
    keys = [timeseries[k] for k in ("replicate", "week")]
    if not all(_plain_numbers(k) and np.isfinite(k.to_numpy()).all() for k in keys):
        return {m: _pivoted(timeseries, m) for m in metrics}  # keys a pivot table would group
    (replicates, row), (weeks, column) = (
        np.unique(k.to_numpy(), return_inverse=True) for k in keys
    )
    cell = row * weeks.size + column
    out = {}
    for metric in metrics:
        if not _plain_numbers(timeseries[metric]):  # pandas' own missing values, say
            out[metric] = _pivoted(timeseries, metric)
            continue
        values = timeseries[metric].to_numpy(dtype=float)
        known = np.flatnonzero(~np.isnan(values))
        cells, first = np.unique(cell[known], return_index=True)  # each cell's first value
        matrix = np.full(replicates.size * weeks.size, np.nan)
        matrix[cells] = values[known[first]]
        out[metric] = (weeks.astype(float), matrix.reshape(replicates.size, weeks.size))
    return out


def _plain_numbers(column: pd.Series) -> bool:
    """Whether a column holds NumPy's own numbers or booleans (not categories, objects or
    pandas' extension types, which a pivot table groups and converts its own way)."""
    return isinstance(column.dtype, np.dtype) and column.dtype.kind in "biuf"


def _pivoted(timeseries: pd.DataFrame, metric: str) -> tuple[np.ndarray, np.ndarray]:
    wide = timeseries.pivot_table(
        index="replicate", columns="week", values=metric, aggfunc="first", dropna=False
    )
    wide = wide.reindex(columns=sorted(wide.columns))
    return wide.columns.to_numpy(dtype=float), wide.to_numpy(dtype=float)


def _weekly_inputs(run: Run, metrics: Iterable[str]) -> figures.Weekly:
    ts = run.timeseries
    found = weekly_matrices(ts, [m for m in metrics if m in ts.columns])
    return figures.Weekly(run.title(), run.replicates, found)


def violence_inputs(run: Run) -> figures.Weekly:
    """What the violence fan charts read: the weekly matrix of each metric they show."""
    return _weekly_inputs(run, figures.VIOLENCE_METRICS)


def politics_inputs(run: Run) -> figures.Weekly | None:
    """What the politics fan charts read (None without a timeseries)."""
    if run.timeseries.empty:
        return None
    return _weekly_inputs(run, figures.POLITICS_METRICS)


def severity_inputs(run: Run) -> figures.Severity | None:
    """What the severity figure reads: the deaths of each attack that killed (None without
    the run's events)."""
    if not run.has_events or "killed" not in run.events.columns:
        return None
    killed = stats.finite(run.events["killed"])
    return figures.Severity(run.title(), killed[killed >= 1])


def target_counts(events: pd.DataFrame, weeks: int, replicates: int) -> pd.DataFrame:
    """Mean attacks per replicate by week (rows 1..weeks) and target (columns)."""
    counts = events.groupby(["week", "target"]).size().unstack("target", fill_value=0)
    counts = counts.reindex(index=range(1, weeks + 1), columns=list(TARGETS), fill_value=0)
    return counts.fillna(0).astype(float) / max(replicates, 1)


def target_inputs(run: Run, window: int = 4) -> figures.TargetMix | None:
    """What the target figure reads (None without attacks): weekly counts by target and
    the shares of their ``window``-week rolling sums."""
    ev = run.events
    if not run.has_events or ev.empty or "target" not in ev.columns:
        return None
    weeks = run.weeks or int(ev["week"].max())
    counts = target_counts(ev, weeks, run.replicates)
    whole = counts.to_numpy().sum() or 1.0
    rolled = counts.rolling(window, min_periods=1).sum()
    total = rolled.sum(axis=1).replace(0, np.nan)
    shares = rolled.div(total, axis=0)
    return figures.TargetMix(
        title=run.title(),
        weeks=counts.index.to_numpy(),
        counts=tuple(counts[t].to_numpy() for t in TARGETS),
        share_of_all=tuple(counts[t].sum() / whole for t in TARGETS),
        highest_week=counts.sum(axis=1).max(),
        shares=tuple(shares[t].fillna(0).to_numpy() for t in TARGETS),
        window=window,
    )


def district_attacks(events: pd.DataFrame, replicate_ids: list[int]) -> pd.DataFrame:
    """Attacks per replicate by place: mean, 5th and 95th percentile across replicates.

    Rows are the places of ``sim/data/places.csv`` (plus any unknown id found in events);
    replicates without attacks in a place count as zero.
    """
    from sim.space import load_places

    ids = list(load_places().ids)
    if events.empty:
        per = pd.DataFrame(index=ids)
    else:
        per = events.groupby(["district", "replicate"]).size().unstack("replicate", fill_value=0)
        ids += sorted(set(per.index.astype(str)) - set(ids))
    per = per.reindex(index=ids, columns=replicate_ids or [0], fill_value=0)
    reps = per.to_numpy(dtype=float)
    # counts: each end a count some replicate had, as the tables' intervals
    q05, q95 = np.quantile(reps, [0.05, 0.95], axis=1, method="inverted_cdf")
    return pd.DataFrame({"mean": reps.mean(axis=1), "q05": q05, "q95": q95}, index=per.index)


def place_inputs(run: Run) -> figures.Places | None:
    """What the places figure reads (None without the run's events)."""
    from sim.space import load_places

    ev = run.events
    if not run.has_events or "district" not in ev.columns:
        return None
    table = district_attacks(ev, replicate_ids(run))
    order = table.sort_values("mean")
    return figures.Places(
        title=run.title(),
        replicates=run.replicates,
        at_places=np.array([table["mean"].get(pid, 0.0) for pid in load_places().ids]),
        ids=[str(p) for p in order.index],
        mean=order["mean"].to_numpy(),
        q05=order["q05"].to_numpy(),
        q95=order["q95"].to_numpy(),
    )


#: What each run figure reads from a run: file stem -> reader (None: the figure has no data).
FIGURE_INPUTS: dict[str, Callable[[Run], object | None]] = {
    "outcomes_histograms": outcome_inputs,
    "outcomes_ecdf": outcome_inputs,
    "fan_violence": violence_inputs,
    "fan_politics": politics_inputs,
    "severity_ccdf": severity_inputs,
    "target_mix": target_inputs,
    "attacks_by_place": place_inputs,
}


def _drawn_from_run(name: str) -> Callable[[Run], Figure | None]:
    """The builder of figure ``name``: read its inputs from the run, then draw them."""
    read, draw = FIGURE_INPUTS[name], figures.DRAWERS[name]

    def build(run: Run) -> Figure | None:
        inputs = read(run)
        return None if inputs is None else draw(inputs)

    build.__name__ = build.__qualname__ = f"figure_{name}"
    build.__doc__ = draw.__doc__
    return build


figure_outcome_histograms = _drawn_from_run("outcomes_histograms")
figure_outcome_ecdfs = _drawn_from_run("outcomes_ecdf")
figure_fan_violence = _drawn_from_run("fan_violence")
figure_fan_politics = _drawn_from_run("fan_politics")
figure_severity = _drawn_from_run("severity_ccdf")
figure_target_mix = _drawn_from_run("target_mix")
figure_districts = _drawn_from_run("attacks_by_place")

#: Every run figure: file stem -> builder.
RUN_FIGURES: dict[str, Callable[[Run], Figure | None]] = {
    "outcomes_histograms": figure_outcome_histograms,
    "outcomes_ecdf": figure_outcome_ecdfs,
    "fan_violence": figure_fan_violence,
    "fan_politics": figure_fan_politics,
    "severity_ccdf": figure_severity,
    "target_mix": figure_target_mix,
    "attacks_by_place": figure_districts,
}


#: What drew the figures in a run's ``plots/`` (see :func:`drawn_figures`).
DRAWN_FILE = "drawn.json"

#: Resolution of every PNG of a run's figures, in ``plots/`` and in a report alike: a report
#: embeds the stored PNG or draws the same bytes.
FIGURE_DPI: float = float(style.HOUSE_STYLE["savefig.dpi"])

#: Beside ``sim/analysis/*.py``, the sources whose text reaches a figure (the places' names,
#: positions and links drawn by ``attacks_by_place``), relative to the ``sim`` package.
_OTHER_DRAWING_SOURCES = ("space.py", "data/places.csv", "data/edges.csv")

#: Packages whose code decides a figure's bytes (fonts and rendering, numbers, fits, PNG
#: encoding): distribution name -> the module that holds its ``__version__``.
_DRAWING_PACKAGES = {
    "matplotlib": "matplotlib",
    "numpy": "numpy",
    "pandas": "pandas",
    "scipy": "scipy",
    "pillow": "PIL",
    "powerlaw": "powerlaw._version",
}


def _version(package: str) -> str:
    """The installed version of one of :data:`_DRAWING_PACKAGES`, from its distribution's
    record, without importing it (the module's ``__version__`` is the same: tested).
    Importing them cost ``cpec-sim plot``'s main process ~0.06 s as it finished (Matplotlib,
    which only its workers had imported); powerlaw's import costs half a second. A package
    without a record (a copy on the path) is imported and asked."""
    import importlib
    import importlib.metadata

    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return str(importlib.import_module(_DRAWING_PACKAGES[package]).__version__)


def drawing_sources() -> list[Path]:
    """Every file whose text decides how results are drawn: all of ``sim/analysis``'s
    modules and :data:`_OTHER_DRAWING_SOURCES`."""
    package = Path(__file__).resolve().parent.parent
    analysis = sorted((package / "analysis").glob("*.py"))
    return analysis + [package / name for name in _OTHER_DRAWING_SOURCES]


@functools.cache
def drawing_fingerprint() -> str:
    """Hash of :func:`drawing_sources` and of the versions of Python, cpec-sim and
    :data:`_DRAWING_PACKAGES`: it changes whenever the same results might be drawn
    differently."""
    import sys

    from sim import __version__

    versions = [f"python {sys.version_info[0]}.{sys.version_info[1]}", f"cpec-sim {__version__}"]
    versions += [f"{name} {_version(name)}" for name in _DRAWING_PACKAGES]
    digest = hashlib.sha256("\n".join(versions).encode())
    package = Path(__file__).resolve().parent.parent
    for path in drawing_sources():
        digest.update(f"\n{path.relative_to(package).as_posix()}\n".encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def results_checksums(run: Run) -> dict[str, str]:
    """The SHA-256 of each of the run's result files: as its manifest records them (checked
    when the run was loaded), else computed."""
    records = run.manifest.get("files")
    records = records if isinstance(records, dict) else {}
    out = {}
    for name in (SUMMARY_FILE, TIMESERIES_FILE, EVENTS_FILE):
        path = run.path / name
        if path.is_file():
            record = records.get(name)
            known = record.get("sha256") if isinstance(record, dict) else None
            out[name] = str(known) if known else sha256_of(path)
    return out


def _drawn_record(run: Run, files: dict[str, dict[str, str]]) -> dict[str, object]:
    """What ``drawn.json`` says of figures of ``run`` drawn now by this code: what drew them,
    from which results, with which title (label, replicates, weeks, status), at which
    resolution, and the SHA-256 of each file (``{name: {fmt: sha256}}``)."""
    return {
        "fingerprint": drawing_fingerprint(),
        "results": results_checksums(run),
        "title": run.title(),
        "dpi": FIGURE_DPI,
        "figures": files,
    }


def drawn_figures(run: Run) -> dict[str, bytes] | None:
    """The PNG bytes of each figure in the run's ``plots/``, by name, if this code would draw
    them the same now (same results, same title) and every file is as drawn (its SHA-256 the
    recorded one: not replaced by another checkout's, a notebook's or a copied figure); None
    if the record is missing or differs, or a file differs or is gone."""
    folder = run.path / "plots"
    record = read_json_object(folder / DRAWN_FILE)
    if record is None or not isinstance(record.get("figures"), dict):
        return None
    files = record["figures"]
    if record != _drawn_record(run, files):
        return None
    pngs = {}
    for name, checksums in files.items():
        if not isinstance(checksums, dict) or set(checksums) != set(style.FORMATS):
            return None
        for fmt, checksum in checksums.items():
            try:
                data = (folder / f"{name}.{fmt}").read_bytes()
            except OSError:
                return None
            if hashlib.sha256(data).hexdigest() != checksum:
                return None
            if fmt == "png":
                pngs[str(name)] = data
    return pngs


def figures_up_to_date(run_dir: Path) -> bool:
    """Whether ``run_dir/plots/`` holds the figures :func:`plot_run` would draw now."""
    try:
        run = load_run(Path(run_dir))
    except ResultsError:
        return False
    run.label = run_label(run)
    return drawn_figures(run) is not None


def remove_run_figures(run_dir: Path) -> None:
    """Delete the figures :func:`plot_run` writes and their record, and ``plots/`` if that
    empties it: after a run restarts they draw the earlier run. Any other file there is the
    user's, and kept."""
    folder = Path(run_dir) / "plots"
    (folder / DRAWN_FILE).unlink(missing_ok=True)
    _unlink_figures(folder, RUN_FIGURES)
    with contextlib.suppress(OSError):
        folder.rmdir()


def _unlink_figures(folder: Path, names: Iterable[str]) -> None:
    for name in names:
        for fmt in style.FORMATS:
            (folder / f"{name}.{fmt}").unlink(missing_ok=True)


def run_figures(run: Run) -> Iterator[tuple[str, Figure]]:
    """Build the run's figures one at a time (skipping those without data)."""
    for name, build in RUN_FIGURES.items():
        with style.context():
            fig = build(run)
        if fig is not None:
            yield name, fig


#: The figures in order of drawing cost, largest first, so that workers finish together.
_BY_COST: tuple[str, ...] = (
    "outcomes_histograms",
    "outcomes_ecdf",
    "fan_politics",
    "fan_violence",
    "severity_ccdf",
    "attacks_by_place",
    "target_mix",
)


def by_cost(names: Iterable[str]) -> list[str]:
    """Figure names, the dearest to draw first (so that parallel workers finish together)."""
    names = list(names)
    return [n for n in _BY_COST if n in names] + [n for n in names if n not in _BY_COST]


def render_run_figure(
    run: Run, name: str, formats: tuple[str, ...] = ("png", "svg"), dpi: float | None = None
) -> dict[str, bytes] | None:
    """One of the run's figures rendered in ``formats`` (None when its data are missing)."""
    inputs = FIGURE_INPUTS[name](run)
    return None if inputs is None else figures.render_figure(name, inputs, formats, dpi)


def figure_tasks(figures_of_runs: Iterable[tuple[Run, str]]) -> Iterator[RunFigure]:
    """A drawing task for each (run, figure name), its inputs read here from the run (a
    figure without data: none, drawn as None), one at a time: each is handed to a worker as
    soon as it is read, and the workers need neither pandas nor the runs."""
    last: Run | None = None
    read: dict[Callable[[Run], object | None], object | None] = {}
    for run, name in figures_of_runs:
        if run is not last:  # inputs are kept only while the same run's figures come
            last, read = run, {}
        reader = FIGURE_INPUTS[name]
        if reader not in read:  # the outcome figures read the same
            read[reader] = reader(run)
        yield RunFigure(run.path, run.label, name, inputs=read[reader], read=True)


def plot_run(run_dir: Path, jobs: int | None = None) -> list[Path]:
    """Write every figure of a run directory into ``run_dir/plots/`` (PNG and SVG), and what
    drew them into ``plots/drawn.json`` (:func:`drawn_figures`).

    Figures are drawn in ``jobs`` processes (default: one per CPU, at most one per figure;
    this one for a script read from standard input); each is drawn whole by one process, so
    the files do not depend on ``jobs``. This process reads each figure's inputs from the run
    while the drawing workers start, and hands each to them as soon as it is read: the
    workers import neither pandas nor the run. Workers draw with this code as installed, so
    that ``drawn.json`` is true of the files: a notebook's change to a module reaches them
    only with ``jobs=1``, drawn here (to draw a figure of your own, use the ``figure_*``
    functions). From a script, call this under ``if __name__ == "__main__":``
    (:class:`~sim.workers.DrawingWorkerDied` otherwise).
    """
    refuse_in_a_starting_worker()
    run = load_run(Path(run_dir))
    run.label = run_label(run)
    names = by_cost(RUN_FIGURES)
    tasks = figure_tasks((run, name) for name in names)
    drawn = draw_figures(tasks, style.FORMATS, FIGURE_DPI, jobs=jobs, count=len(names))
    by_name = dict(zip(names, drawn, strict=True))
    rendered = {name: r for name in RUN_FIGURES if (r := by_name.get(name)) is not None}
    folder = run.path / "plots"
    (folder / DRAWN_FILE).unlink(missing_ok=True)  # until every figure is in place
    paths = style.write_rendered(folder, rendered)
    _unlink_figures(folder, set(RUN_FIGURES) - set(rendered))  # none from the last
    checksums = {
        name: {fmt: hashlib.sha256(data).hexdigest() for fmt, data in by_format.items()}
        for name, by_format in rendered.items()
    }
    atomic_write_json(folder / DRAWN_FILE, _drawn_record(run, checksums))
    return paths
