"""A played world: one model stepped week by week, its fork, snapshots and replicates.

:class:`Play` is what both a solo dashboard session and a workshop room hold. It steps its
branches (one, or two after a fork) together and turns each new week into a small
:func:`week_delta` (only the new week's numbers: the browser draws the charts and the map),
and it keeps those deltas so that a page that reconnects redraws the whole history.

Snapshots are deep copies of the model, random generator included: restoring one and
stepping gives the same bytes as never having snapshotted. A fork copies the world at the
current week into two branches that may differ in their settings from then on; each branch
can then be run as many replicates from the fork state, with the seats' actions since the
fork replayed at their weeks (forked at week 0, from the start instead: nothing has been played
to share, and a replicate that kept the tab's starting world would answer another question
than ``cpec-sim run``). Replicate ``i`` of both branches starts from one stream, but
the streams drift apart as soon as the settings change what is drawn, so the pairs are about
as different as two unpaired runs: the difference is the mean of B - A with a bootstrap 95%
interval, as ``cpec-sim compare`` gives it, never one pair's.
"""

from __future__ import annotations

import copy
import difflib
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sim.agents.china import LADDER, ladder_thresholds
from sim.analysis.stats import NOT_COUNTS, finite, median_and_interval
from sim.compiled import POSTURE_SCORE
from sim.config import MAX_SEED, load_scenario, scenario_names, scenario_params, shown_value
from sim.dashboard.knobs import (
    DEFAULT_SCENARIO,
    DEFAULT_WEEKS,
    KNOB_BY_NAME,
    KNOBS,
    format_value,
    knob_help,
    label,
    param_info,
    reproduce_command,
    scenario_notes,
    scenario_values,
    slider_range,
    tidy,
)
from sim.dashboard.model import DashboardModel, short_group_name
from sim.dashboard.views import COAST, GRIEVANCE_MAX, IRAN_BORDER
from sim.draws import keyed_stream
from sim.model import CrisisModel
from sim.params import ModelParams
from sim.record import SUMMARY_COLUMNS, WEEKLY_METRICS, ReplicateResult, decode_events
from sim.runner import replicate_seed
from sim.workshop.seats import Action, apply_action
from sim.world import IRAN_SCORE, TROOPS, compiled_params

#: Outcomes shown for replicates and the debrief (all summary columns are stored): what the
#: attacks cost, what operations and reform act on (militants killed, fighters, grievance,
#: legitimacy; without them a room that ran operations flat out was told "nothing clear"),
#: and what the investors did.
HEADLINE_OUTCOMES = (
    "chinese_killed",
    "attacks_total",
    "security_killed",
    "civilians_killed",
    "militants_killed",
    "fighters_final",
    "grievance_final",
    "legitimacy_final",
    "capital_deployed_final",
    "investors_withdrawn",
)
MAX_REPLICATES = 1000
#: Replicates below which the run on screen's percentile among them is not given (with a
#: handful it can only be 0, 50 or 100).
MIN_FOR_PERCENTILE = 20


class PlayError(ValueError):
    """A request the play cannot carry out (the message says what is allowed)."""


# --- settings ------------------------------------------------------------------------------
def check_settings(scenario: Any, seed: Any, knobs: Any) -> tuple[str, int, dict[str, Any]]:
    """(scenario, seed, knob values) from a browser's request; PlayError naming the problem."""
    scenario = check_scenario(scenario)
    seed_value = check_seed(seed)
    out = scenario_knobs(scenario)
    for name, value in dict(knobs or {}).items():
        out[name] = check_knob(name, value)
    return scenario, seed_value, out


def check_scenario(scenario: Any) -> str:
    """A scenario's name in any letter case; PlayError listing the scenarios for anything
    else."""
    names = {name.lower(): name for name in scenario_names()}
    if isinstance(scenario, str) and scenario.lower() in names:
        return names[scenario.lower()]
    raise PlayError(
        f"unknown scenario {shown_value(scenario)}: allowed {', '.join(scenario_names())}"
    )


def check_seed(seed: Any) -> int:
    """A seed from 0 to MAX_SEED, from a number or its text; PlayError otherwise."""
    try:
        seed_value = int(str(seed).strip())
    except ValueError:
        raise PlayError(f"seed {seed!r} is not a whole number from 0 to {MAX_SEED}") from None
    if not 0 <= seed_value <= MAX_SEED:
        raise PlayError(f"seed {seed_value} is out of range: 0 to {MAX_SEED}")
    return seed_value


def settings_from_address(
    scenario: Any, seed: Any, knobs: dict[str, Any]
) -> tuple[str, int, dict[str, Any], list[str]]:
    """(scenario, seed, knob values, notices) from a page address, forgivingly: a parameter
    that is not a setting is ignored, with a notice when it looks meant as one (a typo must
    not pass for the scenario's value; a link's tracking tag passes without a word), and a
    bad value of a setting falls back, for that setting only, with a notice saying so."""
    notices = []
    try:
        scenario = check_scenario(scenario)
    except PlayError as exc:
        notices.append(f"{exc}; running {DEFAULT_SCENARIO}.")
        scenario = DEFAULT_SCENARIO
    try:
        seed_value = check_seed(seed)
    except PlayError as exc:
        notices.append(f"{exc}; running seed 0.")
        seed_value = 0
    values = {}
    notices += misnamed_notices(knobs)
    for name, value in knobs.items():
        if name not in KNOB_BY_NAME:
            continue
        try:
            values[name] = check_knob(name, value)
        except PlayError as exc:
            notices.append(f"{exc}; running the scenario's value.")
    return scenario, seed_value, values, notices


#: Address parameters that are run options, not settings of the page.
RUN_OPTIONS = ("weeks", "replicates", "jobs")


def looks_like_a_setting(name: str) -> bool:
    """A name that is not a setting of the page but was meant as one: close to a setting's
    name, a model parameter's (dotted or last part) or a run option. Others (a link's
    tracking tags) are ignored without a word."""
    if name in KNOB_BY_NAME:
        return False
    parameters = {*param_info(), *(path.rsplit(".", 1)[-1] for path in param_info())}
    return bool(nearest_setting(name)) or name.lower() in parameters or name.lower() in RUN_OPTIONS


#: What an address may name besides the settings (the page reads these two itself).
ADDRESS_NAMES = ("scenario", "seed")


def nearest_setting(name: str) -> str:
    """The setting, scenario or seed an address's ``name`` most likely meant ("" if none):
    the same in other letter case, or a near spelling."""
    close = difflib.get_close_matches(
        name.lower(), [*KNOB_BY_NAME, *ADDRESS_NAMES], n=1, cutoff=0.75
    )
    return close[0] if close else ""


#: Names an address's notices list at most (a link of thousands of names gets one line more).
MAX_NAME_NOTICES = 5


def misnamed_notices(names: Any) -> list[str]:
    """Notices for the names of an address meant as settings but not used (at most
    :data:`MAX_NAME_NOTICES`, then how many more)."""
    meant = [name for name in names if looks_like_a_setting(name)]
    notices = [unknown_setting_notice(name) for name in meant[:MAX_NAME_NOTICES]]
    if len(meant) > MAX_NAME_NOTICES:
        notices.append(f"and {len(meant) - MAX_NAME_NOTICES} more names that are not settings.")
    return notices


def unknown_setting_notice(name: str) -> str:
    """Why an address's ``name`` was not used, and the nearest setting if there is one."""
    close = nearest_setting(name)
    hint = f"did you mean {close}?" if close else f"settings: {', '.join(KNOB_BY_NAME)}."
    return (
        f"{shown_value(name)} in the address is not a setting of this page, so it was not "
        f"used; {hint}"
    )


def check_knob(name: str, value: Any) -> Any:
    """One knob's value, typed and inside its declared bounds."""
    knob = KNOB_BY_NAME.get(name)
    if knob is None:
        raise PlayError(f"unknown setting {name!r}: allowed {', '.join(KNOB_BY_NAME)}")
    info = param_info()[knob.path]
    if info.type == "bool":
        if not isinstance(value, bool):
            raise PlayError(f"{name} must be true or false")
        return value
    if info.choices:
        if value not in info.choices:
            raise PlayError(f"{name} must be one of {', '.join(info.choices)}")
        return value
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise PlayError(f"{name} must be a number")
    lo, hi = info.bounds or (-math.inf, math.inf)
    if not lo <= value <= hi:
        raise PlayError(f"{name}={value} is out of range: {lo:g} to {hi:g}")
    return tidy(knob.path, value)


def scenario_knobs(scenario: str) -> dict[str, Any]:
    """A scenario's value of every knob, by knob name."""
    values = scenario_values(scenario)
    return {k.name: values[k.path] for k in KNOBS}


def knob_specs() -> list[dict[str, Any]]:
    """The knobs as the browser draws them."""
    out = []
    for knob in KNOBS:
        info = param_info()[knob.path]
        spec: dict[str, Any] = {
            "name": knob.name,
            "path": knob.path,
            "label": label(knob.path),
            "help": knob_help(knob),
            "acts_when": knob.acts_when,
        }
        if info.type == "bool":
            spec["kind"] = "bool"
        elif info.choices:
            spec.update(kind="choice", choices=list(info.choices))
        else:
            lo, hi, step = slider_range(knob.path)
            spec.update(kind="float", lo=lo, hi=hi, step=step)
        out.append(spec)
    return out


def scenario_specs() -> list[dict[str, Any]]:
    """Each scenario's name, description and knob values."""
    out = []
    for name in scenario_names():
        info = load_scenario(name)["scenario"]
        out.append(
            {
                "name": name,
                "description": " ".join(str(info.get("description", "")).split()),
                "passage": str(info.get("seed_passage", "")).strip(),
                "knobs": scenario_knobs(name),
                "notes": scenario_notes(name),
            }
        )
    return out


# --- what crosses the wire -----------------------------------------------------------------
def static_view(model: CrisisModel) -> dict[str, Any]:
    """What does not change during a run: places, groups, investors, the ladder."""
    places = model.places
    c = model.params.china
    return {
        "places": {
            "id": list(places.ids),
            "name": list(places.names),
            "lon": [float(x) for x in places.lon],
            "lat": [float(x) for x in places.lat],
            "population": [float(x) for x in places.population],
        },
        "groups": [short_group_name(g.name) for g in model.groups],
        "investors": [{"key": inv.key, "name": inv.name} for inv in model.investors],
        "ladder": list(LADDER),
        "ladder_edges": [1.0, c.pressure_below, c.hold_below, c.demand_below, 0.0],
        # a step is left only once patience is back above these (hysteresis)
        "ladder_down": [min(1.0, t + c.hysteresis) for t in ladder_thresholds(c)],
        "horizon": model.weeks,
        "coast": [list(xy) for xy in COAST],
        "iran_border": [list(xy) for xy in IRAN_BORDER],
        "grievance_max": GRIEVANCE_MAX,
    }


def start_view(model: DashboardModel) -> dict[str, Any]:
    """The world before its first week (what the map shows at week 0)."""
    return {
        "grievance": [round(float(g), 4) for g in model.hardship * (1.0 - model.legitimacy)],
        "nationals": [int(n) for n in model.chinese_nationals],
        "state": headline(model),
    }


def week_delta(model: DashboardModel, events_from: int) -> dict[str, Any]:
    """The new week: weekly metrics, place state, its events and log lines, the headline."""
    w = model.week
    rec = model.recorder
    row = dict(zip(WEEKLY_METRICS, rec.matrix[w - 1].tolist(), strict=True)) if w else {}
    ev = decode_events(rec.buffer[events_from:], rec.n_events - events_from)
    events = [
        [
            int(ev["week"][i]),
            ev["target"][i],
            model.places.index(ev["district"][i]),
            int(ev["killed"][i]),
            int(ev["chinese_killed"][i]),
            bool(ev["interdicted"][i]),
        ]
        for i in range(len(ev["week"]))
    ]
    return {
        "week": w,
        "m": row,
        "grievance": [round(float(g), 4) for g in model.grievance],
        "nationals": [int(n) for n in model.chinese_nationals],
        "events": events,
        "log": [[ln.week, ln.text, ln.kind] for ln in model.last_lines],
        "state": headline(model),
    }


def headline(model: DashboardModel) -> dict[str, Any]:
    """The numbers a class watches."""
    states = [inv.state for inv in model.investors]
    return {
        "week": model.week,
        "china": LADDER[model.china.level],
        "level": model.china.level,
        "patience": float(model.china.patience),  # rounded once, where it is shown
        "troops": bool(model.pakistan.chinese_troops),
        "iran": model.iran.posture,
        "intensity": float(model.pakistan.intensity),
        "fighters": int(sum(g.fighters for g in model.groups)),
        "capital": float(sum(inv.deployed for inv in model.investors)),
        "investors": {inv.key: inv.state for inv in model.investors},
        "investing": states.count("investing"),
        "paused": states.count("paused"),
        "withdrawn": states.count("withdrawn"),
        "running": model.week < model.weeks,
    }


# --- branches ------------------------------------------------------------------------------
@dataclass
class Branch:
    """One line of history: a model, the deltas it has produced, its settings."""

    label: str
    model: DashboardModel
    knobs: dict[str, Any]
    history: list[dict[str, Any]] = field(default_factory=list)

    def step(self) -> dict[str, Any] | None:
        """One week and its delta (None at the horizon)."""
        m = self.model
        if m.week >= m.weeks:
            return None
        events_before = m.recorder.n_events
        m.step()
        delta = week_delta(m, events_before)
        self.history.append(delta)
        return delta


def knob_overrides(knobs: dict[str, Any]) -> dict[str, Any]:
    """Knob values by the parameter each sets (``base_intensity`` -> its dotted key)."""
    return {KNOB_BY_NAME[n].path: v for n, v in knobs.items()}


def retune(model: DashboardModel, knobs: dict[str, Any]) -> None:
    """Give a running model new knob values from now on.

    Rule parameters take effect next week. The two settings that describe the starting state
    act as of now: "Chinese troops guard from week 1" lets the troops in (it cannot send them
    home: no rule does), and Iran's initial posture sets its posture today.
    """
    overrides = knob_overrides(knobs)
    params: ModelParams = scenario_params(model.scenario_name, overrides)
    before = model.params
    model.params, model.overrides = params, overrides
    model.compiled = compiled_params(params)
    model.iran.params, model.china.params = params.iran, params.china
    model.pakistan.params = params.pakistan
    if params.pakistan.accept_chinese_troops and not before.pakistan.accept_chinese_troops:
        model.world.s[TROOPS] = 1.0
    if params.iran.initial_posture != before.iran.initial_posture:
        model.world.s[IRAN_SCORE] = POSTURE_SCORE[params.iran.initial_posture]
    agents: list[Any] = [model.pakistan, model.china, model.iran, *model.investors]
    for agent in agents:
        if agent.policy is not None and agent.policy.active:  # a handed-back seat stays off
            agent.policy.bind(model)


def snapshot(model: CrisisModel) -> CrisisModel:
    """An exact copy of the model's state (its random generator included).

    What never changes during a run is shared, not copied: the place table, the network,
    the static place arrays and the handle on the compiled rules (7 ms instead of 50).
    """
    shared = (model.places, model.space, model.place_arrays, model.call)
    return copy.deepcopy(model, {id(x): x for x in shared})


def restore(snap: CrisisModel) -> CrisisModel:
    """A model to step from a snapshot (the snapshot stays untouched for reuse)."""
    return snapshot(snap)


def reseed(model: CrisisModel, seed: int) -> None:
    """Give the model's random generator a fresh stream (in place: compiled code holds it)."""
    model.rng.bit_generator.state = np.random.default_rng(seed).bit_generator.state
    if model.stream is not model.rng:  # a keyed stream
        model.stream[:] = keyed_stream(seed)


def replicate_outcomes(
    snap: CrisisModel, n: int, seed: int, actions: Sequence[Action] = ()
) -> dict[str, list[float]]:
    """Run ``n`` replicates from a snapshot to the horizon, replaying the seats' ``actions``
    made since the snapshot at their weeks; their summary columns.

    Replicate ``i`` starts from stream ``replicate_seed(seed, i)``: the same for every branch.
    """
    out: dict[str, list[float]] = {c: [] for c in SUMMARY_COLUMNS}
    for i in range(n):
        m = restore(snap)
        reseed(m, replicate_seed(seed, i))
        run_with_actions(m, actions)
        add_summary(out, m.recorder.result(m.week, m.first_pause_week).summary)
    return out


def count_decisions(actions: Sequence[Action]) -> int:
    """The decisions among ``actions``, as the room's decision log counts them: a control set
    to the value it already held is no new decision; a hand-back is none, and frees the
    seat's controls."""
    held: dict[tuple[str, str, str], Any] = {}
    count = 0
    for a in actions:
        if not a.control:
            held = {k: v for k, v in held.items() if k[:2] != (a.seat, a.investor)}
            continue
        key = (a.seat, a.investor, a.control)
        count += key not in held or held[key] != a.value
        held[key] = a.value
    return count


def replayed_result(
    params: ModelParams, weeks: int, seed: int, actions: Sequence[Action]
) -> ReplicateResult:
    """One replicate from week 0 in the Mesa model, the seats' ``actions`` replayed at their
    weeks."""
    model = CrisisModel(params, weeks=weeks, seed=seed)
    run_with_actions(model, actions)
    return model.recorder.result(model.week, model.first_pause_week)


def run_with_actions(model: CrisisModel, actions: Sequence[Action]) -> None:
    """Step ``model`` to its horizon (the model's week, without the dashboard's log), each
    action carried out before the week after the one it was made in."""
    pending = list(actions)
    while model.week < model.weeks:
        while pending and pending[0].week <= model.week:
            apply_action(model, pending.pop(0))
        CrisisModel.step(model)


def differences(
    a: dict[str, list[float]], b: dict[str, list[float]], outcomes: Sequence[str]
) -> dict[str, dict[str, Any]]:
    """Each outcome's mean of ``b - a`` over replicates with a paired bootstrap 95% interval,
    and ``clear`` where the difference holds after Holm's correction for the outcomes shown
    (as ``cpec-sim compare`` marks it with a star): with six outcomes tested one by one, a
    quarter of tables of two identical settings had some interval excluding 0. Below
    ``MIN_REPLICATES_TO_TEST`` pairs nothing is marked, as ``cpec-sim compare`` marks nothing;
    an outcome whose pairs are resampled apart by ``cpec-sim compare`` (only 1 to 9 of them
    differ: ``resample_in_pairs``) is resampled apart here too."""
    from sim.analysis.compare import resample_in_pairs
    from sim.analysis.numbers import MIN_REPLICATES_TO_TEST
    from sim.analysis.stats import bootstrap_diff_ci, holm

    cis = [
        bootstrap_diff_ci(b[c], a[c], "mean", paired=resample_in_pairs(b[c], a[c]))
        for c in outcomes
    ]
    enough = min((len(b[c]) for c in outcomes), default=0) >= MIN_REPLICATES_TO_TEST
    clear = [kept and enough for kept in holm([ci.p for ci in cis])]
    return {
        c: {"mean": ci.estimate, "lo": ci.low, "hi": ci.high, "clear": bool(kept)}
        for c, ci, kept in zip(outcomes, cis, clear, strict=True)
    }


def replicates_from_start(
    params: ModelParams, weeks: int, n: int, seed: int, actions: Sequence[Action] = ()
) -> dict[str, list[float]]:
    """``n`` replicates from week 0, replicate ``i`` from ``replicate_seed(seed, i)``: the
    first ``n`` replicates of ``cpec-sim run`` with these parameters and seed, each with its
    own starting world (investors' frictions, cells), summary columns as in
    :func:`replicate_outcomes`. The seats' ``actions`` are replayed at their weeks (in the
    Mesa model; without any, the compiled engine gives the same numbers faster)."""
    out: dict[str, list[float]] = {c: [] for c in SUMMARY_COLUMNS}
    if actions:
        for i in range(n):
            add_summary(
                out, replayed_result(params, weeks, replicate_seed(seed, i), actions).summary
            )
        return out
    from sim.engine import run_replicate

    compiled = compiled_params(params)
    for i in range(n):
        add_summary(out, run_replicate(params, weeks, replicate_seed(seed, i), compiled).summary)
    return out


def add_summary(out: dict[str, list[float]], summary: dict[str, Any]) -> None:
    """Append one replicate's summary columns to ``out`` (None, e.g. a first pause that
    never came, as NaN)."""
    for c in SUMMARY_COLUMNS:
        value = summary[c]
        out[c].append(float("nan") if value is None else float(value))


def describe(values: list[float], counts: bool = True) -> dict[str, float]:
    """Median, mean and 90% interval (:func:`~sim.analysis.stats.median_and_interval`)."""
    arr = finite(values)
    if arr.size == 0:
        return {"median": math.nan, "mean": math.nan, "lo": math.nan, "hi": math.nan}
    lo, med, hi = median_and_interval(arr, counts=counts)
    return {"median": float(med), "mean": float(arr.mean()), "lo": float(lo), "hi": float(hi)}


def where_it_landed(played: float, model: np.ndarray, counts: bool = True) -> dict[str, float]:
    """The played value's place among the replicates' values (its percentile, mid-rank for
    ties, and the shares of them below, equal and above, in %) and their median and 90%
    interval. Which side is lucky depends on the outcome (fewer deaths, more capital), and
    many ties (0 Chinese killed) put the best possible value at a low percentile: the shares
    say so."""
    model = model[np.isfinite(model)]
    below = float(np.mean(model < played)) if model.size else float("nan")
    equal = float(np.mean(model == played)) if model.size else float("nan")
    lo, med, hi = median_and_interval(model, counts=counts)
    return {
        "played": float(played),
        "percentile": round(100 * (below + equal / 2), 1),
        "below": round(100 * below, 1),
        "equal": round(100 * equal, 1),
        "above": round(100 * (1 - below - equal), 1),
        "median": float(med),
        "lo": float(lo),
        "hi": float(hi),
    }


def shown_replicates(result: dict[str, Any] | None) -> dict[str, Any] | None:
    """A replicates result as a page shows it again: without each replicate's values."""
    if result is None:
        return None
    branches = [{k: v for k, v in b.items() if k != "values"} for b in result["branches"]]
    return {**result, "branches": branches}


class Play:
    """A played run: one branch, or two after a fork, stepped together."""

    def __init__(
        self,
        scenario: str = DEFAULT_SCENARIO,
        seed: int = 0,
        knobs: dict[str, Any] | None = None,
        weeks: int = DEFAULT_WEEKS,
    ) -> None:
        scenario, seed, values = check_settings(scenario, seed, knobs)
        self.scenario, self.seed, self.weeks = scenario, seed, weeks
        model = DashboardModel(scenario_name=scenario, seed=seed, weeks=weeks, **values)
        self.start_knobs = dict(values)
        self.branches = [Branch("as played", model, values)]
        self.start = start_view(model)
        self.fork_week: int | None = None
        self.fork_snapshots: list[CrisisModel] = []
        self.last_replicates: dict[str, Any] | None = None  # shown, and exported, until a fork

    def copy(self) -> Play:
        """An independent copy of the play as it stands (a duplicated tab's run): every
        branch and snapshot copied exactly, random generators included, so that the copy
        goes on as the original would."""
        m = self.model
        shared = (m.places, m.space, m.place_arrays, m.call)  # never changed (:func:`snapshot`)
        return copy.deepcopy(self, {id(x): x for x in shared})

    def branch_params(self, branch: Branch) -> ModelParams:
        """The parameters of ``branch``'s settings, from the start (the scenario's, with the
        branch's knobs)."""
        return scenario_params(self.scenario, knob_overrides(branch.knobs))

    def start_params(self) -> ModelParams:
        """The parameters the play started with (its scenario and starting settings): those
        of the model-only runs and of replays from the start."""
        return scenario_params(self.scenario, knob_overrides(self.start_knobs))

    @property
    def model(self) -> DashboardModel:
        """The first branch's model (the one seats and the clock follow)."""
        return self.branches[0].model

    @property
    def week(self) -> int:
        """Weeks played."""
        return self.model.week

    @property
    def finished(self) -> bool:
        """Every branch reached the horizon."""
        return all(b.model.week >= b.model.weeks for b in self.branches)

    def step(self) -> list[dict[str, Any] | None]:
        """One week in every branch; each branch's delta (None where it has finished)."""
        return [b.step() for b in self.branches]

    def fork(self, knobs: dict[str, Any], label: str = "") -> None:
        """Split the world now: branch A keeps its settings, branch B takes ``knobs``."""
        if len(self.branches) > 1:
            raise PlayError("this run is already forked: reset to fork again")
        if self.week >= self.weeks:
            raise PlayError("the run is at its horizon: reset, then fork before the end")
        a = self.branches[0]
        values = dict(a.knobs)
        for name, value in knobs.items():
            values[name] = check_knob(name, value)
        unticked = a.knobs.get("accept_chinese_troops") and not values["accept_chinese_troops"]
        if unticked and a.model.world.s[TROOPS] > 0:
            raise PlayError(
                "Chinese troops are already in: unticking accept_chinese_troops (from week 1) "
                "cannot send them home, so branch B would not differ; take the Pakistan seat "
                "and untick its troops box instead"
            )
        model = snapshot(a.model)
        retune(model, values)
        changes = [
            f"{n} {format_value(a.knobs[n])} → {format_value(values[n])}"
            for n in values
            if values[n] != a.knobs[n]
        ]
        b = Branch(
            label or ("changed: " + ", ".join(changes) if changes else "copy"), model, values
        )
        b.history = list(a.history)
        a.label = "A: as before"
        b.label = "B: " + b.label
        self.branches.append(b)
        self.fork_week = self.week
        self.fork_snapshots = [snapshot(a.model), snapshot(b.model)]
        self.last_replicates = None

    def replicates(
        self, n: int, actions: Sequence[Action] = (), earlier: Sequence[Action] = ()
    ) -> dict[str, Any]:
        """Run each branch ``n`` times from the fork state (the played history shared, the
        weeks after it drawn afresh, the seats' ``actions`` since the fork replayed at their
        weeks: ``replayed`` counts the decisions among them); unforked, the first branch's
        settings ``n`` times from the start, as ``cpec-sim run`` with the same seed runs them
        (:func:`reproduce`). A fork at week 0 shares no history, so each branch runs from the
        start too, each replicate with its own starting world, the seats' ``earlier`` actions
        (made at week 0 before the fork) and ``actions`` replayed: branch A's replicates are
        those of the command under "Run it at scale", B's those of the same with B's
        settings (from the fork's copied world they all shared the tab's starting world, and
        differed from ``cpec-sim run``'s). The result says what was run (``settings``) and,
        for a finished unforked run that no seat decided, where the run on screen landed
        among at least :data:`MIN_FOR_PERCENTILE` of them (``played``: it is not one of
        them); ``decided`` when seats decided (the debrief compares those). It is kept for
        the page and its export."""
        least = 2 if self.fork_snapshots else 1  # a difference needs a spread
        if not least <= n <= MAX_REPLICATES:
            raise PlayError(f"replicates must be from {least} to {MAX_REPLICATES}")
        replayed = list(actions)
        labels = [b.label for b in self.branches] if self.fork_snapshots else ["model only"]
        if self.fork_snapshots and self.fork_week == 0:
            replayed = [*earlier, *actions]
            results = [
                replicates_from_start(self.branch_params(b), self.weeks, n, self.seed, replayed)
                for b in self.branches
            ]
        elif self.fork_snapshots:
            results = [
                replicate_outcomes(s, n, self.seed + 1, actions) for s in self.fork_snapshots
            ]
        else:
            results = [replicates_from_start(self.start_params(), self.weeks, n, self.seed)]
        decided = count_decisions(replayed) if self.fork_snapshots else 0
        out: dict[str, Any] = {
            "n": n,
            "from_week": self.fork_week or 0,
            "played_week": self.week,
            "weeks": self.weeks,
            "settings": self.settings_line() + self.fork_line(decided),
            "replayed": decided,
            "branches": [
                {
                    "label": lab,
                    "outcomes": {c: describe(r[c], c not in NOT_COUNTS) for c in HEADLINE_OUTCOMES},
                    "values": {c: r[c] for c in HEADLINE_OUTCOMES},
                }
                for lab, r in zip(labels, results, strict=True)
            ],
        }
        if len(results) == 2:
            out["difference"] = differences(results[0], results[1], HEADLINE_OUTCOMES)
        elif any(a.control for a in actions):
            out["decided"] = True  # the run on screen is not the model's alone
        elif self.finished and n >= MIN_FOR_PERCENTILE:
            played = self.model.recorder.result(self.week, self.model.first_pause_week).summary
            out["played"] = {
                c: where_it_landed(float(played[c]), np.asarray(results[0][c]), c not in NOT_COUNTS)
                for c in HEADLINE_OUTCOMES
            }
        self.last_replicates = out
        return out

    def settings_line(self) -> str:
        """The scenario, seed and settings changed from the scenario's, in words."""
        base = scenario_knobs(self.scenario)
        changed = [f"{n}={format_value(v)}" for n, v in self.start_knobs.items() if v != base[n]]
        return f"scenario {self.scenario}, seed {self.seed}" + (
            f", {', '.join(changed)}" if changed else ", the scenario's settings"
        )

    def fork_line(self, decided: int = 0) -> str:
        """After a fork: where the branches part and what their replicates draw from
        (``decided``: how many of the seats' decisions they replay)."""
        if not self.fork_snapshots:
            return ""
        if self.fork_week == 0:
            start = (
                " at the start, forked at week 0 (branch B's changes in its label): each "
                "branch run from week 0, each replicate with its own starting world"
            )
            if decided:
                return start + (
                    f" and the seats' {decided} decision(s) replayed at their weeks (cpec-sim "
                    "run has no seats: its numbers are the model's alone)"
                )
            return start + (
                ", as cpec-sim run runs them (branch A: the command under Run it at scale)"
            )
        return (
            f" at the start, forked at week {self.fork_week} (branch B's changes in its "
            "label; both branches' later weeks drawn afresh from the same random streams): "
            f"every replicate shares this run's starting world and its first "
            f"{self.fork_week} weeks, so it answers 'from here', not what cpec-sim run "
            "gives from week 0"
        )

    def reproduce(self) -> str:
        """The command that runs branch A's settings at scale."""
        m = self.model
        return reproduce_command(self.scenario, self.seed, m.params, self.weeks)

    def view(self) -> dict[str, Any]:
        """Everything a page needs to draw this play from scratch."""
        return {
            "scenario": self.scenario,
            "seed": str(self.seed),  # as text: JavaScript's numbers hold whole numbers to 2^53
            "weeks": self.weeks,
            "static": static_view(self.model),
            "start": self.start,
            "fork_week": self.fork_week,
            "branches": [
                {"label": b.label, "knobs": b.knobs, "history": b.history} for b in self.branches
            ],
            "reproduce": self.reproduce(),
            "replicates": shown_replicates(self.last_replicates),
        }
