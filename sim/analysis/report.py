"""One self-contained HTML report of one or more runs (or a sweep).

The file embeds every figure as a base64 PNG and carries its own CSS: no scripts, no external
links, so it opens offline and can be mailed around.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from sim.analysis import figures, plots, style, survival
from sim.analysis.compare import (
    BY_DEFAULT,
    N_BOOT,
    Reference,
    compare_runs,
    comparison_figures,
    figure_first_pause,
    identical_note,
    resolve_reference,
    table_blocks,
)
from sim.analysis.drawing import draw_figures
from sim.analysis.outputs import REPORT_MARKER
from sim.analysis.runs import Run, RunSet, load_runs, streams_of
from sim.files import atomic_write_text
from sim.posterior import NOT_COMPARABLE
from sim.workers import refuse_in_a_starting_worker

if TYPE_CHECKING:
    from matplotlib.figure import Figure

#: Resolution of the embedded PNGs: that of the figures in a run's ``plots/``, so that a report
#: embeds a stored figure or draws the same bytes, whatever ``plots/`` holds.
REPORT_DPI = plots.FIGURE_DPI

CAPTIONS: dict[str, str] = {
    "outcomes_histograms": "Distribution of each headline outcome at the end of the run across "
    "replicates: histogram, kernel density estimate, median (black line) and 90% interval "
    "(shaded: 5th to 95th percentile of the replicates; with fewer than 20 replicates a rough "
    "estimate: a count's runs from the lowest replicate to the highest, another outcome's ends "
    "lie between the two lowest and between the two highest replicates).",
    "outcomes_ecdf": "Empirical cumulative distribution of each outcome: the height at x is the "
    "share of replicates with a value at most x.",
    "fan_violence": "Weekly violence: median across replicates (solid), mean (dashed: the line to "
    "read where most weeks are 0, as for Chinese nationals killed) and bands from the 25th to the "
    "75th and from the 5th to the 95th percentile of replicates, week by week; panels titled "
    "cumulative add up the weeks.",
    "fan_politics": "Grievance, legitimacy, China's patience, capital and investors by week "
    "(median, 50%/90% bands and mean, dashed); the last panel shows the share of replicates "
    "in which a policy is in force.",
    "severity_ccdf": "Severity of attacks: the share of deadly attacks that killed at least x "
    "people, on log-log axes, with a power-law fit above x_min and the published exponent "
    "α = 2.4 ± 0.2 for comparison. R compares the power law with a lognormal (R > 0 favours the "
    "power law; p says whether the sign of R is meaningful); with 2,000 values or more in the "
    "tail, a likelihood-ratio test says whether the tail bends down (an exponential cutoff). The "
    "fit reads mostly the body of small attacks: the deadliest attacks are the cells' signature "
    "(docs/model.md).",
    "target_mix": "What the groups attack: mean attacks per week by target, and the share of "
    "each target.",
    "attacks_by_place": "Where attacks happen: places drawn at their longitude and latitude, "
    "joined by the network's links; bars give the mean and 90% interval across replicates.",
    "compare_boxes": "Outcomes by run: boxes hold the middle 50% of replicates, the line is the "
    "median, whiskers reach the 5th and 95th percentiles, dots are replicates.",
    "compare_ecdf": "Cumulative distributions of each outcome, one line per run.",
    "compare_first_pause": "How soon an investor first pauses: the share of replicates in "
    "which no investor has paused yet, week by week, one line per run (investors decide every "
    "fourth week). Every replicate runs to the horizon, so this share is the Kaplan-Meier "
    "estimate; the area under a line up to the horizon is the run's mean weeks to the first "
    "pause (the table's row of that name). Each line's simultaneous 95% band (Dvoretzky-Kiefer-"
    "Wolfowitz) holds the true curve at every week at once; shaded for up to three lines, its "
    "half-width in the title beyond. Runs with the same line are drawn once and named in its "
    "label.",
    "compare_differences": "Difference in the mean of each outcome from its reference run (the "
    "reference, or the run of its scenario and parameters that pairs with it: the table's "
    "reference column) with a 95% confidence interval (none for a run of one replicate). "
    "Filled dots hold after Holm's "
    "correction for every difference in the table; an open dot whose interval excludes 0 "
    "does not, or was not tested "
    "(too few replicates, another horizon or parameter source: the table's notes say which; "
    "with many outcomes some intervals exclude 0 by chance), and an interval that crosses 0 is "
    "compatible with no difference.",
    "compare_events": "How often each yes/no event happens (share of replicates) with Wilson 95% "
    "intervals.",
    "sweep_heatmap": "Median of selected outcomes over the two swept parameters, a cell starred "
    "where its median differs from the reference's after Holm's correction (n.t.: not "
    "tested). Cells differ by "
    "chance too: read a pattern in the colours only where the stars, or the table's differences "
    "of means (more powerful for counts that are often 0), carry it.",
}

#: How to read the spread of a run's replicates.
UNCERTAINTY_TEXT = """
<p>Each run simulates one scenario many times with different random seeds. These
<b>replicates</b> share every parameter and differ only in chance events (who is recruited,
which cell attacks, whether an attack succeeds), so the spread across replicates shows how much
an outcome can vary by chance <i>under the same assumptions</i>. It is not uncertainty about the
assumptions themselves: to explore those, compare scenarios or run a parameter sweep.</p>
<p>The <b>median</b> is the middle replicate (of an even number of them, halfway between the
two middle ones: a count's median can end in .5). The <b>90% interval</b> runs from the 5th to the
95th percentile of the replicates: for a count (people killed, attacks, investors) each end is
a value some replicate had, for another outcome (capital, legitimacy) it is interpolated
between two. With 20 replicates or more at most 5% of them plus one lie below it, and at most
as many above it (of 100 all different, 5 on each side of an interpolated interval, 4 below
and 5 above a count's). With fewer it is a rough estimate: a
count's runs from the lowest replicate to the highest; another outcome's ends lie between the
two lowest and between the two highest replicates, so it can leave out the lowest and the
highest one (of 5 replicates all different it holds the middle 3, of 10 the middle 8). Fan
charts show the median
week by week with bands from the 25th to the 75th and from the 5th to the 95th percentile. More
replicates make these estimates steadier but do not make the intervals narrower: they describe
real variability in the model.</p>
"""

#: How to read the differences from the reference (only when there are runs to compare).
DIFFERENCES_TEXT = f"""
<p>Differences between a run and the reference are given as the difference in means (and in
medians) with a <b>95% bootstrap confidence interval</b>: the replicates of both runs were
resampled {N_BOOT:,} times (fixed seed) to see how much the difference would move with another
set of replicates. Runs with the same seed give replicate <i>i</i> the same random numbers in
every scenario (common random numbers), so their replicates are resampled in pairs; that narrows
an interval only while both runs draw the numbers for the same purposes (the notes give the
pairs' correlation: near 0 after a change that alters the first weeks, unless the change is
small, the runs share their parameter draws, or they were made with <code>streams=keyed</code>,
whose draws are keyed by week, step and group, so a change in one step leaves the others' draws
alone). Each interval holds its own 95%: among the many differences of a table, some exclude 0
by chance alone (about one in twenty when nothing differs). A star (*) marks only the
differences that hold after <b>Holm's correction</b> for every difference in the table (a 5%
chance, in all, of starring any difference that is not real); the note above the tables counts
both. More replicates make these intervals narrower.</p>
"""

#: Events and the model's conditionality.
EVENTS_TEXT = """
<p>Probabilities of yes/no events (China's investment hold, at least one investor withdrawing,
Chinese troops deployed) are shares of replicates with a <b>Wilson 95% interval</b>, which stays
sensible near 0 and 1 and with few replicates.</p>
<p>All of these numbers describe the model, not the world: they are conditional on its
assumptions and calibration.</p>
"""

CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 2em auto;
       max-width: 1200px; padding: 0 1em; color: #222; line-height: 1.45; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; }
h2 { font-size: 1.3em; border-bottom: 2px solid #0072B2; padding-bottom: 0.2em; margin-top: 2em; }
h3 { font-size: 1.05em; margin: 1.2em 0 0.3em; }
.meta { color: #555; font-size: 0.9em; }
table { border-collapse: collapse; font-size: 0.85em; margin: 0.4em 0 1em; }
th, td { border-bottom: 1px solid #ddd; padding: 0.25em 0.6em; text-align: left;
         vertical-align: top; }
th { background: #f2f5f8; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
td.path { overflow-wrap: anywhere; min-width: 16em; }
.wide { overflow-x: auto; }
code, pre { font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 0.9em; }
code { overflow-wrap: anywhere; }
pre { background: #f6f6f6; padding: 0.6em; overflow-x: auto; }
figure { margin: 1.2em 0; }
figure img { max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption { font-size: 0.9em; color: #444; margin-top: 0.3em; }
details > summary { cursor: pointer; font-weight: 600; margin: 0.6em 0; }
.note { background: #fff8e6; border-left: 4px solid #E69F00; padding: 0.5em 0.8em; }
"""


def _e(text: Any) -> str:
    return html.escape(str(text), quote=True)


def _img(png: bytes, alt: str) -> str:
    data = base64.b64encode(png).decode("ascii")
    return f'<img src="data:image/png;base64,{data}" alt="{_e(alt)}">'


#: What a run's figures leave out with one replicate, and with fewer than
#: :data:`figures.MIN_REPLICATES_FOR_DENSITY` (the captions above describe a run of many).
ONE_REPLICATE_CAPTION = (
    "This run has one replicate: the figure draws its one history (its value or its path) "
    "with no density curve, interval, band or mean."
)
#: The same for the figures of a run's attacks (their fit, reference band and means remain).
ONE_REPLICATE_ATTACKS_CAPTION = (
    "This run has one replicate: the figure shows its attacks alone, and a mean over "
    "replicates is that replicate's count."
)
#: Figures drawn from each replicate's value or path (the others pool the attacks).
HISTORY_FIGURES = ("outcomes_histograms", "outcomes_ecdf", "fan_violence", "fan_politics")
FEW_REPLICATES_CAPTION = (
    "With fewer than {n} replicates no density curve is drawn: a kernel density of a handful "
    "of values draws its own bumps."
)


def caption(name: str, replicates: int | None = None) -> str:
    """The caption of figure ``name``; for a run's figure, ``replicates`` adds what a run of
    one replicate, or too few for a density, does not draw."""
    text = CAPTIONS.get(name, "")
    if replicates == 1 and name in plots.RUN_FIGURES:
        one = ONE_REPLICATE_CAPTION if name in HISTORY_FIGURES else ONE_REPLICATE_ATTACKS_CAPTION
        text += " " + one
    elif (
        replicates is not None
        and replicates < figures.MIN_REPLICATES_FOR_DENSITY
        and name == "outcomes_histograms"
    ):
        text += " " + FEW_REPLICATES_CAPTION.format(n=figures.MIN_REPLICATES_FOR_DENSITY)
    return text


def _figure(name: str, png: bytes, context: str, whose: str, replicates: int | None = None) -> str:
    """A figure with its caption; ``context`` names its anchor, ``whose`` its alt text (a
    screen reader says "outcomes_histograms: Baseline — 100 replicates", not "run0"), and
    ``replicates`` (a run's figure) what its caption adds for few replicates."""
    return (
        f'<figure id="{_e(context)}-{_e(name)}">{_img(png, f"{name}: {whose}")}'
        f"<figcaption>{_e(caption(name, replicates))}</figcaption></figure>"
    )


def run_pngs(
    runs: Sequence[Run],
    meanwhile: Callable[[], object] | None = None,
    jobs: int | None = None,
) -> list[list[tuple[str, bytes]]]:
    """Each run's figures as PNG: those in ``plots/`` if this code drew them so from the same
    results (:func:`plots.drawn_figures`), the others drawn now (by ``jobs`` processes,
    :func:`~sim.analysis.drawing.draw_figures`, from the inputs read here, while
    ``meanwhile`` runs here); the same bytes either way."""
    names = plots.by_cost(plots.RUN_FIGURES)  # the dearest first: workers finish together
    kept = [plots.drawn_figures(run) or {} for run in runs]
    stored = {(i, name): kept[i].get(name) for i in range(len(runs)) for name in names}
    todo = [key for key, png in stored.items() if png is None]
    tasks = plots.figure_tasks((runs[i], name) for i, name in todo)
    drawn = draw_figures(
        tasks, ("png",), REPORT_DPI, jobs=jobs, meanwhile=meanwhile, count=len(todo)
    )
    for key, rendered in zip(todo, drawn, strict=True):
        stored[key] = None if rendered is None else rendered["png"]
    return [
        [(name, png) for name in plots.RUN_FIGURES if (png := stored[(i, name)]) is not None]
        for i in range(len(runs))
    ]


def _html_table(
    header: Sequence[str],
    rows: Sequence[Sequence[Any]],
    numeric: set[int],
    paths: frozenset[int] = frozenset(),
) -> str:
    """A table that scrolls sideways inside the page rather than widening it; the cells of
    the ``paths`` columns (folder names, long and without spaces) break anywhere."""
    head = "".join(f"<th>{_e(h)}</th>" for h in header)
    kinds = {**dict.fromkeys(numeric, ' class="num"'), **dict.fromkeys(paths, ' class="path"')}
    body = []
    for row in rows:
        cells = "".join(f"<td{kinds.get(i, '')}>{_e(c)}</td>" for i, c in enumerate(row))
        body.append(f"<tr>{cells}</tr>")
    table = f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
    return f"<div class='wide'>{table}</div>"


def _overrides_text(run: Run) -> str:
    """The model parameters the run's command changed (not its run settings, such as
    replicates, seed or streams, which have their own columns); a run over a posterior changed its
    calibrated parameters, one draw a replicate."""
    changed = [f"{k}={v}" for k, v in run.overrides.items()]
    entry = run.parameters
    if entry.get("source") == "posterior":
        columns = entry.get("columns") or []
        changed.append(
            f"the {len(columns)} calibrated parameters: a posterior draw a replicate "
            f"({entry.get('path', '?')})"
        )
    return ", ".join(changed) or "none (the scenario as its file sets it)"


def _runs_section(runs: RunSet) -> str:
    # what the intervals include is a column only where runs differ (else said once below)
    mixed = len({run.uncertainty for run in runs.runs}) > 1
    header = ["run", "scenario", "model parameters changed"] + ["intervals include"] * mixed
    header += ["replicates", "seed", "streams", "weeks", "version", "model", "status", "directory"]
    rows = []
    for run in runs.runs:
        m = run.manifest
        requested = m.get("replicates")
        reps = f"{run.replicates}" + (
            f" of {requested}" if requested is not None and requested != run.replicates else ""
        )
        rows.append(
            [run.label, run.scenario, _overrides_text(run)]
            + [run.uncertainty] * mixed
            + [
                reps,
                m.get("seed", "–"),
                streams_of(run),
                run.weeks or "–",
                m.get("version", "–"),
                m.get("model", "–"),
                m.get("status", "–"),
                str(run.path),
            ]
        )
    numeric = {header.index(h) for h in ("replicates", "seed", "weeks")}
    parts = [f"<p class='note'>{_e(line)}</p>" for line in runs.notes()]
    parts.append(_html_table(header, rows, numeric, paths=frozenset({len(header) - 1})))
    seeds = {str(r.manifest.get("replicate_seeds")) for r in runs.runs if r.manifest}
    seeds.discard("None")
    if seeds:
        parts.append(
            f"<p class='meta'>Replicate seeds: {_e(', '.join(sorted(seeds)))} "
            "(replicate i's seed derives from the run seed and i).</p>"
        )
    if runs.sweep is not None:
        swept = ", ".join(runs.sweep.swept) or "–"
        jobs = runs.sweep.planned
        done = f"{len(runs.runs)} of {jobs} jobs" if len(runs.runs) < jobs else f"{jobs} jobs"
        parts.append(
            f"<p>Sweep <b>{_e(runs.sweep.name)}</b> over {_e(swept)} "
            f"({done}) in <code>{_e(runs.sweep.path)}</code>.</p>"
        )
    for run in runs.runs:
        desc = run.manifest.get("description")
        failed = run.manifest.get("failed_replicates") or []
        config = run.path / "config.yaml"
        extra = []
        if desc:
            extra.append(f"<p>{_e(desc)}</p>")
        if failed:
            extra.append(f"<p class='note'>Failed replicates: {_e(failed)}</p>")
        if config.is_file():
            text = config.read_text(encoding="utf-8", errors="replace")
            extra.append(f"<details><summary>config.yaml</summary><pre>{_e(text)}</pre></details>")
        if extra:
            parts.append(f"<h3>{_e(run.label)}</h3>{''.join(extra)}")
    return "".join(parts)


def _parameters_note(runs: RunSet) -> str:
    """What each run's intervals include; how runs over a posterior differ from the text below."""
    parts = []
    texts = {run.label: run.uncertainty for run in runs.runs}
    if len(set(texts.values())) == 1:
        subject = "Intervals include" if len(texts) == 1 else "Every run's intervals include"
        parts.append(f"<p><b>{subject} {_e(next(iter(texts.values())))}.</b></p>")
    else:
        items = "".join(f"<li>{_e(label)}: {_e(text)}</li>" for label, text in texts.items())
        parts.append(f"<p><b>What each run's intervals include:</b></p><ul>{items}</ul>")
    posterior = [run for run in runs.runs if run.parameters.get("source") == "posterior"]
    if posterior:
        parts.append(
            "<p>In a run over the calibrated <b>posterior</b>, replicate <i>i</i> runs with the "
            "parameters of posterior draw <i>i</i> mod <i>N</i> (column <code>posterior_draw</code>"
            " of <code>summary.parquet</code>): its replicates do <i>not</i> share every "
            "parameter, and the spread across them includes what the calibration leaves "
            "uncertain about the calibrated parameters as well as chance. The paragraphs below "
            "speak of runs with fixed parameters; for a posterior run read each interval as the "
            "posterior predictive.</p>"
        )
    if runs.uncertainty_mixed():
        parts.append(f"<p class='note'>Caution: {_e(NOT_COMPARABLE)}.</p>")
    return "".join(parts)


#: Places named one by one in the table of where Chinese nationals were killed.
PLACES_SHOWN = 3


def where_chinese_died(runs: RunSet) -> pd.DataFrame:
    """Chinese nationals killed, per replicate on average, by the group that attacked and
    the place, for each run (from its stored events): which of the scenarios' levers can
    reach them. Columns: ``run``, ``replicates``, ``total``, one per group, and ``places``
    (the first :data:`PLACES_SHOWN`, each with its share of the run's deaths)."""
    from sim.space import load_groups, load_places

    groups = load_groups()
    places = load_places()
    names = dict(zip(places.ids, places.names, strict=True))
    rows = []
    for run in runs.runs:
        n = max(run.replicates, 1)
        e = run.events
        killed = e[e["chinese_killed"] > 0] if "chinese_killed" in e else e.iloc[0:0]
        total = float(killed["chinese_killed"].sum())
        row: dict[str, Any] = {"run": run.label, "replicates": run.replicates, "total": total / n}
        by_group = killed.groupby("group")["chinese_killed"].sum()
        for key, spec in groups.items():
            row[str(spec["name"])] = float(by_group.get(key, 0.0)) / n
        by_place = killed.groupby("district")["chinese_killed"].sum().sort_values(ascending=False)
        row["places"] = (
            ", ".join(
                f"{names.get(str(k), k)} {v / total:.0%}"
                for k, v in by_place.head(PLACES_SHOWN).items()
            )
            if total
            else "none"
        )
        rows.append(row)
    return pd.DataFrame(rows)


def _chinese_deaths_section(runs: RunSet) -> str:
    """Where each run's Chinese deaths come from: a scenario that acts in Balochistan alone
    cannot reach the deaths in Khyber Pakhtunkhwa, whoever counts them."""
    if not all("group" in run.events for run in runs.runs):
        return ""
    table = where_chinese_died(runs)
    header = [str(c) for c in table.columns]
    rows = [
        [f"{v:.2f}" if isinstance(v, float) else str(v) for v in record]
        for record in table.itertuples(index=False)
    ]
    numeric = set(range(1, len(header) - 1))
    return (
        "<h2>Where Chinese nationals were killed</h2><p>Per replicate on average, by the group "
        "that attacked, and the places with the most of them (share of the run's Chinese "
        "deaths). A policy that acts in Balochistan alone cannot reach the deaths in Khyber "
        "Pakhtunkhwa (Dasu, Rashakai: the TTP's), which the outcome "
        "<i>Chinese nationals killed</i> counts too.</p>" + _html_table(header, rows, numeric)
    )


def _precision_section(runs: RunSet, table: pd.DataFrame) -> str:
    """How precisely the replicates pin each mean, median, share and difference down, and
    how many replicates would pin them to ±5% (``cpec-sim precision``), one table a run."""
    from sim.analysis import precision

    parts = [
        "<h2>How precise these numbers are</h2><p>The 90% intervals above are the spread of "
        "the replicates. These tables say how precisely the replicates pin down each mean "
        "(Student's t 95% interval, and its half-width as a share of the mean), each median "
        "(its distribution-free 95% interval) and each yes/no share (Wilson's), and how many "
        "replicates would bring the mean's half-width to 5% of the mean (a share's to ±0.05), "
        "projected from these replicates' spread: a rough number for heavy-tailed outcomes "
        "(<code>cpec-sim precision</code>; <code>docs/results.md</code>, "
        "<i>How many replicates?</i>).</p>"
    ]
    diffs = precision.difference_precision(table)
    shown = any(survival.PAUSE_FREE in r.outcomes for r in runs.runs)
    notes = precision.precision_notes(differences=bool(diffs), first_pause=shown)
    parts.append("<ul class='meta'>" + "".join(f"<li>{_e(n)}</li>" for n in notes) + "</ul>")
    open_attr = " open" if len(runs.runs) <= 3 else ""
    tables = [(run.title(), *precision.precision_rows(run.outcomes)) for run in runs.runs]
    tables += precision.difference_tables(diffs)
    for title, header, rows in tables:
        html_table = _html_table(header, rows, set(range(1, len(header))))
        parts.append(f"<details{open_attr}><summary>{_e(title)}</summary>{html_table}</details>")
    return "".join(parts)


def _comparison_section(table: pd.DataFrame) -> str:
    notes, blocks = table_blocks(table)
    parts = [f"<p class='meta'>{_e(n)}</p>" for n in notes]
    for title, header, rows in blocks:
        numeric = {i for i, h in enumerate(header) if h in {"n", "median", "mean", "P"}}
        parts.append(f"<h3>{_e(title)}</h3>{_html_table(header, rows, numeric)}")
    return "".join(parts)


def _identical_section(runs: RunSet) -> str:
    """A note naming runs with identical results, as ``cpec-sim compare`` prints it."""
    same = identical_note(runs)
    return f"<p class='note'>Note: {_e(same)}.</p>" if same else ""


def build_report(
    runs: RunSet,
    reference: Reference = BY_DEFAULT,
    per_run_plots: bool = True,
    jobs: int | None = None,
) -> str:
    """The report as an HTML string (see :func:`report`); ``jobs``: the processes that draw
    the runs' figures that ``plots/`` does not hold up to date (default one per CPU, as for
    :func:`sim.analysis.plots.plot_run`)."""
    refuse_in_a_starting_worker()
    several = len(runs.runs) > 1
    if not several and isinstance(reference, str):  # refused for one run too, as compare
        resolve_reference(runs, reference)  # (compare_runs resolves it for several)
    table = compare_runs(runs, reference if several else None)
    names = ", ".join(dict.fromkeys(r.label for r in runs.runs))
    title = f"cpec-sim report: {runs.sweep.name if runs.sweep else names}"
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    out = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        REPORT_MARKER,
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(title)}</title><style>{CSS}</style></head><body>",
        f"<h1>{_e(title)}</h1>",
        f"<p class='meta'>Generated {when} from stored results; "
        f"{len(runs.runs)} run(s), {sum(r.replicates for r in runs.runs):,} replicates "
        "in total.</p>",
        "<h2>What was run</h2>",
        _runs_section(runs),
        "<h2>How to read the uncertainty</h2>",
        _parameters_note(runs),
        UNCERTAINTY_TEXT,
        DIFFERENCES_TEXT if several and reference is not None else "",
        EVENTS_TEXT,
        "<h2>Comparison table</h2>" if len(runs.runs) > 1 else "<h2>Summary table</h2>",
        _identical_section(runs),
        _comparison_section(table),
        _chinese_deaths_section(runs),
        _precision_section(runs, table),
    ]
    compared: list[tuple[str, bytes]] = []

    def draw_comparison() -> None:
        figures = comparison_figures(runs, table) if len(runs.runs) > 1 else _one_run(runs)
        for name, fig in figures:
            compared.append((name, style.render(fig, ("png",), REPORT_DPI)["png"]))

    # The runs' figures are drawn by worker processes while this one draws the comparison.
    per_run = run_pngs(runs.runs, draw_comparison, jobs) if per_run_plots else None
    if per_run is None:
        draw_comparison()
    if compared:
        out.append("<h2>Comparison figures</h2>" if len(runs.runs) > 1 else "<h2>First pause</h2>")
        out += [_figure(name, png, "comparison", "comparison") for name, png in compared]
    if per_run is not None:
        out.append("<h2>Figures of each run</h2>")
        open_attr = " open" if len(runs.runs) <= 3 else ""
        for i, (run, pngs) in enumerate(zip(runs.runs, per_run, strict=True)):
            out.append(f"<details{open_attr}><summary>{_e(run.title())}</summary>")
            out += [
                _figure(name, png, f"run{i}", run.title(), run.replicates) for name, png in pngs
            ]
            out.append("</details>")
    out.append("</body></html>")
    return "\n".join(out)


def _one_run(runs: RunSet) -> Iterator[tuple[str, Figure]]:
    """The one comparison figure a single run's report draws: its first-pause curve (its own
    figures draw the other outcomes; the curve is drawn by compare only)."""
    with style.context():
        fig = figure_first_pause(runs)
    if fig is not None:
        yield "compare_first_pause", fig


def report(
    dirs: Sequence[Path | str],
    out: Path,
    reference: Reference = BY_DEFAULT,
    per_run_plots: bool = True,
    jobs: int | None = None,
) -> Path:
    """Write one self-contained HTML report of run directories (or a sweep) to ``out``.

    It says what was run (scenarios, parameters changed, replicates, seeds, version), gives the
    comparison table (differences from ``reference``: by default the baseline if exactly one
    run is, else the first run, as :func:`sim.analysis.compare.compare` chooses; None
    computes no differences, as there), every comparison figure and, unless
    ``per_run_plots`` is False, every run's figures, and explains how to read the
    uncertainty. The file is written atomically. ``jobs``: as for :func:`build_report`.
    """
    runs = load_runs(dirs)
    text = build_report(runs, reference, per_run_plots, jobs)
    return atomic_write_text(Path(out), text)
