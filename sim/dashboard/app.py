"""The teaching dashboard: a Mesa SolaraViz app (``solara run sim.dashboard.app:Page``).

Mesa's :func:`~mesa.visualization.SolaraViz` provides the frame: the Step, play and Reset
controls, and the seed box among its model parameters. Reset re-creates the model by calling
:class:`DashboardModel` with those parameters; one of them is the session's :class:`Panel`
(scenario and knob values), which the sidebar's *Scenario* and *Settings* cards change in
place, so Reset always builds exactly what the sidebar shows, choosing a scenario loads its
values into the sliders, and each slider shows its value. The main area holds this module's
own components, redrawn after every step: a headline, the map, the charts, the log of events
in words and the ``cpec-sim run`` command that reproduces the run at scale.

Every browser session renders its own :func:`Page`, which creates its own panel and model
(Solara keeps component state per session), so a class of thirty can each run their own.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import Any

import solara
from mesa.visualization import SolaraViz
from mesa.visualization.utils import update_counter

from sim.agents.china import LADDER
from sim.agents.investor import INVESTING, PAUSED, WITHDRAWN
from sim.config import load_scenario, scenario_names
from sim.dashboard.knobs import (
    DEFAULT_WEEKS,
    KNOB_BY_NAME,
    KNOBS,
    Panel,
    format_value,
    knob_help,
    label,
    param_info,
    reproduce_command,
    scenario_values,
    seed_input,
    slider_range,
    values_of,
)
from sim.dashboard.model import DashboardModel, LogLine, week_start
from sim.dashboard.views import ChartsView, MapView, png

TITLE = "Balochistan–CPEC crisis sandbox"
PLAY_INTERVAL_MS = 201  # on the grid of Mesa's play-interval slider (1, 11, 21, ...)
LOG_LINES = 60

CSS = """
.cpec-headline { font-size: 1.7rem; font-weight: 600; line-height: 1.3; }
.cpec-sub { font-size: 1.0rem; color: #555; }
.cpec-kpis { display: flex; flex-wrap: wrap; gap: 10px; margin-top: 8px; }
.cpec-kpi { border-radius: 8px; padding: 6px 12px; background: #f3f1ea; min-width: 120px; }
.cpec-kpi .v { font-size: 1.45rem; font-weight: 700; }
.cpec-kpi .k { font-size: 0.8rem; color: #555; text-transform: uppercase; letter-spacing: .03em; }
.cpec-kpi.alert { background: #fde2e4; }
.cpec-quote { border-left: 4px solid #ccc; padding-left: 10px; color: #555; font-style: italic; }
.cpec-log { max-height: 300px; overflow-y: auto; font-size: 0.98rem; line-height: 1.45; }
.cpec-log .chinese { color: #c1121f; font-weight: 600; }
.cpec-log .state { color: #1d4e89; font-weight: 600; }
.cpec-cmd { font-family: monospace; font-size: 1.02rem; background: #1e1e1e; color: #f1f1f1;
            padding: 10px 12px; border-radius: 6px; white-space: pre-wrap;
            word-break: break-word; }
.cpec-notice { color: #9c2f10; font-weight: 600; }
.cpec-pending { color: #9c2f10; font-weight: 500; margin-bottom: 6px; }
.cpec-settings { border-collapse: collapse; font-size: 0.9rem; width: 100%; }
.cpec-settings td { padding: 2px 6px; border-bottom: 1px solid #eee; }
.cpec-settings tr.changed td { font-weight: 700; color: #9c2f10; }
/* Sidebar sliders: the label on its own line, so the slider keeps the full width. */
.v-input__slider .v-input__slot { flex-wrap: wrap; }
.v-input__slider .v-input__slot > .v-label { width: 100%; max-width: 100%; white-space: normal;
    height: auto; line-height: 1.2; margin-bottom: 2px; }
"""


def _para(text: str, escape: bool = True) -> None:
    """A paragraph (plain HTML: solara.Markdown would fetch KaTeX from a CDN)."""
    solara.HTML(tag="p", unsafe_innerHTML=html.escape(text) if escape else text)


def _kpi(key: str, value: str, alert: bool = False) -> solara.Element:
    cls = "cpec-kpi alert" if alert else "cpec-kpi"
    return solara.HTML(
        tag="div",
        unsafe_innerHTML=f'<div class="k">{key}</div><div class="v">{value}</div>',
        classes=[cls],
    )


@solara.component
def Headline(model: DashboardModel) -> None:  # noqa: N802
    """Week, scenario and the numbers a class watches."""
    update_counter.get()
    m = model
    w = m.week
    date = week_start(w).strftime("%-d %b %Y")
    states = [inv.state for inv in m.investors]
    with solara.Card(margin=0, elevation=1):
        solara.HTML(
            tag="div",
            unsafe_innerHTML=(
                f"Week {w} of {m.weeks}"
                + (f" <span class='cpec-sub'>· week of {date}</span>" if w else "")
            ),
            classes=["cpec-headline", "cpec-week"],
        )
        solara.Text(
            f"Scenario {m.scenario_name} · seed {m.seed}"
            + (" · end of the horizon: press Reset to run again" if not m.running else ""),
            classes=["cpec-sub"],
        )
        if m.notice:
            solara.Text(m.notice, classes=["cpec-notice"])
        killed = int(m.weekly("chinese_killed").sum())
        with solara.Div(classes=["cpec-kpis"]):
            _kpi("attacks so far", f"{int(m.weekly('attacks').sum())}")
            _kpi("Chinese killed", f"{killed}", alert=killed > 0)
            _kpi("others killed in attacks", f"{int(m.weekly('killed').sum()) - killed}")
            _kpi("fighters", f"{sum(g.fighters for g in m.groups):,}")
            _kpi("capital deployed", f"${sum(inv.deployed for inv in m.investors):,.0f}m")
            _kpi(
                "China",
                f"{LADDER[m.china.level]} ({m.china.patience:.2f})",
                alert=m.china.level >= 2,
            )
            _kpi("Chinese troops", "on guard" if m.pakistan.chinese_troops else "no")
            _kpi("Iran", m.iran.posture)
            _kpi(
                "investors",
                f"{states.count(INVESTING)} in · {states.count(PAUSED)} paused · "
                f"{states.count(WITHDRAWN)} gone",
                alert=WITHDRAWN in states,
            )


@solara.component
def MapPanel(model: DashboardModel) -> None:  # noqa: N802
    """The places as a map, coloured by grievance, with the last weeks' attacks."""
    update_counter.get()
    view = solara.use_memo(lambda: MapView(model), [model])
    image = solara.use_memo(lambda: png(view.update(model)), [model, model.week])
    with solara.Card("Map: grievance and recent attacks", margin=0, elevation=1):
        solara.Image(image, width="100%", classes=["cpec-map"])


@solara.component
def ChartsPanel(model: DashboardModel) -> None:  # noqa: N802
    """Weekly metrics so far."""
    update_counter.get()
    view = solara.use_memo(lambda: ChartsView(model), [model])
    image = solara.use_memo(lambda: png(view.update(model)), [model, model.week])
    with solara.Card("Week by week", margin=0, elevation=1):
        solara.Image(image, width="100%", classes=["cpec-charts"])


@solara.component
def EventLog(model: DashboardModel) -> None:  # noqa: N802
    """The latest events in words, newest first."""
    update_counter.get()
    major_only, set_major_only = solara.use_state(False)
    lines: list[LogLine] = [
        ln for ln in model.log if not major_only or ln.kind in ("chinese", "state")
    ]
    with solara.Card("What happened", margin=0, elevation=1):
        solara.Checkbox(
            label="Only Chinese casualties and decisions",
            value=major_only,
            on_value=set_major_only,
        )
        if not lines:
            solara.Text("Press Step or ▶ to start the clock.")
        items = "".join(
            f'<div class="{ln.kind}">{html.escape(ln.text)}</div>'
            for ln in reversed(lines[-LOG_LINES:])
        )
        solara.HTML(tag="div", unsafe_innerHTML=items, classes=["cpec-log"])


def settings_table(model: DashboardModel) -> str:
    """HTML rows of the knobs' values in this run; changes from the scenario in bold."""
    values = values_of(model.params)
    base = scenario_values(model.scenario_name)
    rows = []
    for knob in KNOBS:
        value = values[knob.path]
        shown = format_value(value) if not isinstance(value, bool) else ("on" if value else "off")
        cls = ' class="changed"' if value != base[knob.path] else ""
        rows.append(f"<tr{cls}><td>{html.escape(label(knob.path))}</td><td>{shown}</td></tr>")
    return '<table class="cpec-settings">' + "".join(rows) + "</table>"


@solara.component
def ReproducePanel(model: DashboardModel) -> None:  # noqa: N802
    """The command that runs the current settings 100 times, and what the sliders mean."""
    update_counter.get()
    command = reproduce_command(model.scenario_name, model.seed, model.params, model.weeks)
    with solara.Card("Run it at scale", margin=0, elevation=1):
        _para(
            "One run is one story. In a terminal, this runs the same settings 100 times "
            "(it lists only what differs from the scenario):"
        )
        solara.HTML(
            tag="div", unsafe_innerHTML=html.escape(command), classes=["cpec-cmd", "cpec-command"]
        )
        _para(
            "<em>Settings take effect when you press <b>Reset</b>. Then "
            "<code>cpec-sim compare</code> and <code>cpec-sim plot</code> show the spread "
            "of outcomes.</em>",
            escape=False,
        )
        with solara.Details(summary="Settings of this run (changes in bold)"):
            solara.HTML(tag="div", unsafe_innerHTML=settings_table(model))
        with solara.Details(summary="What the sliders mean"):
            for knob in KNOBS:
                _para(
                    f"<b>{html.escape(label(knob.path))}</b> (<code>{knob.path}</code>): "
                    f"{html.escape(knob_help(knob))}",
                    escape=False,
                )


@solara.component
def ScenarioCard(scenario: str, on_scenario: Callable[[str], None]) -> None:  # noqa: N802
    """The scenario selector, with the situation it describes and the passage behind it."""
    info = load_scenario(scenario)["scenario"]
    with solara.Card("Scenario", margin=0):
        solara.Select(
            label="Scenario",
            value=scenario,
            values=scenario_names(),
            on_value=on_scenario,
        )
        _para(" ".join(str(info.get("description", "")).split()))
        rests_on = list(info.get("rests_on") or [])
        if rests_on:
            _para(f"Its effect rests on values set, not calibrated: {', '.join(rests_on)}.")
        passage = str(info.get("seed_passage", "")).strip()
        if passage:
            solara.HTML(
                tag="blockquote", unsafe_innerHTML=html.escape(passage), classes=["cpec-quote"]
            )


@solara.component
def Dashboard(model: DashboardModel) -> None:  # noqa: N802
    """The main area."""
    solara.Style(CSS)
    Headline(model)
    with solara.Columns([5, 7], gutters_dense=True):
        with solara.Column(gap="12px"):
            MapPanel(model)
            ReproducePanel(model)
        with solara.Column(gap="12px"):
            ChartsPanel(model)
            EventLog(model)


@solara.component
def SettingsCard(  # noqa: N802
    panel: Panel, revision: int, pending: list[str], on_knob: Callable[[str, Any], None]
) -> None:
    """The knobs, from the parameter declarations; they apply on Reset.

    ``revision`` changes whenever the panel changes in place, so that the card redraws.
    """
    with solara.Card("Settings", margin=0):
        if pending:
            names = ", ".join(
                f"{label(KNOB_BY_NAME[n].path).split(' (')[0]} → {format_value(panel.values[n])}"
                for n in pending
            )
            solara.HTML(
                tag="div",
                unsafe_innerHTML=f"Changed: {html.escape(names)}. Press <b>Reset</b> to run them.",
                classes=["cpec-pending"],
            )
        else:
            solara.Text("Move a setting, then press Reset.", classes=["cpec-sub"])
        for knob in KNOBS:
            info = param_info()[knob.path]
            value = panel.values[knob.name]

            def change(v: Any, name: str = knob.name) -> None:
                on_knob(name, v)

            if info.type == "bool":
                solara.Checkbox(label=label(knob.path), value=bool(value), on_value=change)
            elif info.choices:
                solara.Select(
                    label=label(knob.path), values=list(info.choices), value=value, on_value=change
                )
            else:
                lo, hi, step = slider_range(knob.path)
                solara.SliderFloat(
                    label(knob.path, value),
                    value=float(value),
                    min=lo,
                    max=hi,
                    step=step,
                    on_value=change,
                )


@solara.component
def BelowControls(  # noqa: N802
    panel: Panel, revision: int, pending: list[str], on_knob: Callable[[str, Any], None]
) -> None:
    """The settings card, placed in the sidebar below Mesa's controls.

    Solara orders sidebar content by how deep in the component tree it is declared; SolaraViz
    declares its cards one level below the page, so this goes two levels below.
    """
    _SidebarSettings(panel, revision, pending, on_knob)


@solara.component
def _SidebarSettings(  # noqa: N802
    panel: Panel, revision: int, pending: list[str], on_knob: Callable[[str, Any], None]
) -> None:
    with solara.Sidebar():
        SettingsCard(panel, revision, pending, on_knob)


@solara.component
def Page() -> None:  # noqa: N802
    """One browser session: its own model, sidebar settings and controls."""
    panel = solara.use_memo(Panel, [])
    first = solara.use_memo(lambda: DashboardModel(panel=panel), [])
    model: solara.Reactive[DashboardModel] = solara.use_reactive(first)
    revision = solara.use_reactive(0)  # bumped when the panel changes in place

    def choose(name: str) -> None:
        panel.load(name)
        revision.set(revision.value + 1)
        model.set(DashboardModel(seed=model.value.seed, panel=panel))

    def set_knob(name: str, value: Any) -> None:
        panel.set(name, value)
        revision.set(revision.value + 1)

    solara.Title(TITLE)
    # SolaraViz and the sidebar cards draw in the app bar and the sidebar; what they leave in
    # the main column is empty, so keep it out of the layout.
    with solara.Div(style={"display": "none"}):
        with solara.Sidebar():
            ScenarioCard(panel.scenario, choose)
        SolaraViz(
            model,
            components=[],
            model_params={
                "seed": seed_input(model.value.seed),
                "weeks": DEFAULT_WEEKS,
                "panel": panel,
            },
            name=TITLE,
            play_interval=PLAY_INTERVAL_MS,
        )
        BelowControls(panel, revision.value, panel.pending(model.value.params), set_knob)
    Dashboard(model.value)
