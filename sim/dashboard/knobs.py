"""The dashboard's knobs: which parameters a class can move, and how they map to the model.

Every knob names one model parameter by its dotted path. Its label, unit, bounds, choices and
explanation come from the parameter's declaration in :mod:`sim.params` (never repeated here).
A slider spans the declared bounds, narrowed to a window around the values the shipped
scenarios use when the declared range is much wider (e.g. risk aversion is allowed 0-100 but
lives near 1): a slider a class can actually use. Validation still enforces the full bounds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from sim.config import scenario_names, scenario_params
from sim.params import ModelParams, ParamInfo, iter_params
from sim.rules.china import HOLD

DEFAULT_SCENARIO = "baseline"
DEFAULT_WEEKS = 104
SLIDER_TICKS = 100  # about this many slider positions
WIDE_RANGE_FACTOR = 10  # a slider reaches 10x the largest value any scenario uses


PROPER_NOUNS = {"china": "China", "chinese": "Chinese", "iran": "Iran", "pakistan": "Pakistan"}


@dataclass(frozen=True)
class Knob:
    """A parameter the class can change: dashboard keyword name and dotted parameter path,
    what it does in a class's words, and when it acts ("": always; else the condition
    without which it changes nothing, which a test checks)."""

    name: str
    path: str
    about: str
    acts_when: str = ""
    #: The slider's top where every shipped scenario uses 0 (so no window can be taken from
    #: their values) and the declared top is far beyond what a class needs.
    slider_max: float | None = None


# In the order they appear in the sidebar. The keyword names are DashboardModel's __init__
# arguments (a test checks the two agree).
KNOBS: tuple[Knob, ...] = (
    Knob(
        "accept_chinese_troops",
        "pakistan.accept_chinese_troops",
        "Chinese troops guard the sites with the most Chinese nationals, as many as their "
        "numbers allow (china.troops_available, china.troops_per_site), from week 1. Unticked, "
        "they can still come later: when China demands them and Pakistan yields.",
    ),
    Knob(
        "chinese_troop_protection",
        "attacks.chinese_troop_protection",
        "The share of an attack's remaining chance of success against Chinese nationals that "
        "Chinese troops on guard take away.",
        "only in an attack on Chinese nationals at a site Chinese troops guard: in a run "
        "without one it changes nothing",
    ),
    Knob(
        "foreign_troop_provocation",
        "targeting.foreign_troop_provocation",
        "What Chinese troops on the ground mean to the militants: the extra payoff, in a "
        "group's learning, of a successful attack on a Chinese target while they guard. 0: "
        "none, and the troops protect; at about 1 their protection is halved, at about 2 it is "
        "gone, and above that more Chinese nationals may die with the troops than without "
        "them (docs/model.md).",
        "only while Chinese troops guard and an attack on a Chinese target succeeds: in a run "
        "without Chinese troops it changes nothing",
        slider_max=5.0,
    ),
    Knob(
        "public_trust_in_china",
        "legitimacy.public_trust_in_china",
        "How far Pakistanis trust China: a visible foreign role costs the state legitimacy in "
        "proportion to distrust (1 - trust).",
        "only while a foreign role is seen (Chinese troops on guard, or joint operations): "
        "without one it changes nothing",
    ),
    Knob(
        "joint_operations",
        "china.joint_operations",
        "Joint China-Pakistan operations from week 1: more militants removed, more attempts "
        "stopped by joint intelligence, and a visible foreign role. Unticked, they can still "
        "start later: when Pakistan yields to China's demand.",
    ),
    Knob(
        "base_intensity",
        "pakistan.base_intensity",
        "Pakistan's routine counter-insurgency tempo (0 none, 1 all-out); China's pressure, "
        "recent attacks and a decisive operation add to it.",
    ),
    Knob(
        "collateral_per_militant",
        "pakistan.collateral_per_militant",
        "Civilians harmed for each militant that operations remove: harm costs the state "
        "legitimacy and brings recruits and revenge attacks (backlash).",
    ),
    Knob(
        "patience_loss_per_death",
        "china.patience_loss_per_death",
        "The patience China loses for each Chinese national killed. Falling patience climbs "
        "its ladder: pressure (Pakistan steps up operations), a hold on state investment, then "
        "a demand for Chinese troops and joint operations.",
        "only once a Chinese national is killed: in a run without such a death it changes "
        "nothing; above about 0.25 the rest of the slider changes little (baseline, 200 "
        "paired replicates: fighters -46 from 0.1 to 0.25, -13 from 0.25 to 0.5; China's "
        "final patience 0.35, 0.29, 0.28 at 0.1, 0.25, 0.5)",
    ),
    Knob(
        "iran_posture",
        "iran.initial_posture",
        "Iran's posture on the border at the start (cooperative: joint border operations deny "
        "the militants sanctuary); Iran's rule moves it afterwards.",
    ),
    Knob(
        "risk_aversion",
        "investors.risk_aversion",
        "How much investors weigh the hazard they perceive (incidents at their site and "
        "elsewhere) each month, when they decide to invest, pause or withdraw.",
        "only once investors perceive a hazard, after an attack on Chinese targets: in a run "
        "without one it changes nothing",
    ),
    Knob(
        "friction_scale",
        "investors.friction_scale",
        "Bureaucratic friction for every firm (a multiple of each firm's own): more friction, "
        "less investment.",
    ),
    Knob(
        "local_benefit_share",
        "legitimacy.local_benefit_share",
        "How much deployed capital relieves hardship (and so grievance) where it is deployed: "
        "the share of hardship relieved per USD 1,000 deployed per resident.",
        "only where capital is deployed (a few project sites), and relief there is capped at "
        "legitimacy.max_hardship_relief of the hardship: above about 0.5 the cap binds at "
        "every site with capital, and the slider's upper half changes little (baseline, 200 "
        "paired replicates: fighters -77 from 0 to 0.25, -35 to 0.5, -5 to 0.75, -2.7 to 1)",
    ),
)
KNOB_BY_NAME = {k.name: k for k in KNOBS}


@cache
def param_info() -> dict[str, ParamInfo]:
    """Metadata of every declared parameter, by dotted path."""
    return {info.path: info for info in iter_params(ModelParams())}


def values_of(params: ModelParams) -> dict[str, Any]:
    """Every parameter value of ``params``, by dotted path."""
    return {info.path: info.value for info in iter_params(params)}


@cache
def scenario_values(scenario: str) -> dict[str, Any]:
    """Parameter values of a shipped scenario, by dotted path (validated)."""
    return values_of(scenario_params(scenario))


def label(path: str, value: Any = None) -> str:
    """Human label from the path and unit: 'Pakistan: base intensity = 0.3 (0-1)'."""
    info = param_info()[path]
    group, leaf = path.split(".", 1)
    words = " ".join(PROPER_NOUNS.get(w, w) for w in leaf.split("_"))
    if info.type == "bool" or info.choices:
        return f"{group.capitalize()}: {words}"
    shown = "" if value is None else f" = {float(value):g}"
    return f"{group.capitalize()}: {words}{shown} ({info.unit})"


def explanation(path: str) -> str:
    """The declared rationale, with the allowed range or choices."""
    info = param_info()[path]
    if info.choices:
        allowed = "one of " + ", ".join(info.choices)
    elif info.type == "bool":
        allowed = "on or off"
    elif info.bounds is not None:
        allowed = f"{info.bounds[0]:g} to {info.bounds[1]:g}"
        if not _is_range(info.unit):  # "0-1" says the bounds again
            allowed += f" {info.unit}"
    else:
        allowed = info.unit
    return f"{info.doc} (allowed: {allowed})"


def _is_range(unit: str) -> bool:
    """A unit that is only a range of numbers, such as "0-1"."""
    low, _, high = unit.partition("-")
    return all(part.replace(".", "", 1).isdigit() for part in (low, high))


def knob_help(knob: Knob) -> str:
    """What a knob does, when it acts, and its parameter's declared source and range."""
    when = f" It acts {knob.acts_when}." if knob.acts_when else ""
    return f"{knob.about}{when} Source: {explanation(knob.path)}."


#: What China's ladder brings, by the parameter with which a scenario imposes it from week 1.
_LADDER_IMPOSED = (
    ("china.force_investment_hold", "the hold on state investment"),
    ("pakistan.accept_chinese_troops", "Chinese troops"),
    ("china.joint_operations", "joint operations"),
)


def scenario_notes(scenario: str) -> dict[str, str]:
    """Notes on knobs whose effect a scenario's settings change, by knob name: what the
    scenario holds (Iran's posture), imposes from week 1 (what China's ladder would bring)
    or pushes to its ceiling (the tempo in Balochistan during a decisive operation)."""
    values = scenario_values(scenario)
    notes = {}
    if values["iran.posture_fixed"]:
        notes["iran_posture"] = (
            "This scenario holds Iran's posture for the whole run: this setting is that posture."
        )
    imposed = [what for path, what in _LADDER_IMPOSED if values[path]]
    if imposed:
        left = (
            "here falling patience can only raise Pakistan's tempo"
            if len(imposed) == len(_LADDER_IMPOSED)
            else "falling patience cannot bring what is already there"
        )
        notes["patience_loss_per_death"] = (
            f"This scenario imposes {_words(imposed)} from week 1: {left}."
        )
    if values["pakistan.decisive_operation_week"] >= 0:
        boost = float(values["pakistan.decisive_boost"])
        floor = HOLD if values["china.force_investment_hold"] else 0  # the ladder's floor
        added = boost + floor * float(values["pakistan.intensity_per_china_level"])
        notes["base_intensity"] = (
            f"During this scenario's decisive operation (from week "
            f"{values['pakistan.decisive_operation_week']}) Balochistan's tempo is this plus "
            f"{added:.2g} and more, capped at 1: from about {1 - added:.2g} up, the slider "
            "moves only the tempo outside Balochistan."
        )
    return notes


def _words(items: list[str]) -> str:
    """'a', 'a and b', 'a, b and c'."""
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


def _nice_ceil(x: float) -> float:
    """Smallest of 1, 2, 5 x 10^k at or above ``x``."""
    exp = math.floor(math.log10(x))
    for mant in (1, 2, 5, 10):
        if mant * 10**exp >= x * (1 - 1e-12):
            return float(mant * 10**exp)
    return float(10 ** (exp + 1))  # pragma: no cover


@cache
def slider_range(path: str) -> tuple[float, float, float]:
    """(min, max, step) of a numeric knob's slider."""
    info = param_info()[path]
    assert info.bounds is not None, f"{path} has no bounds"
    lo, hi = (float(b) for b in info.bounds)
    largest = max(abs(float(scenario_values(s)[path])) for s in scenario_names())
    top = next((k.slider_max for k in KNOBS if k.path == path), None)
    if largest > 0 and hi - lo > WIDE_RANGE_FACTOR * largest:
        hi = min(hi, lo + _nice_ceil(WIDE_RANGE_FACTOR * largest))
    elif largest == 0 and top is not None:
        hi = min(hi, top)
    step = 10.0 ** math.floor(math.log10((hi - lo) / SLIDER_TICKS))
    return lo, hi, step


def tidy(path: str, value: Any) -> Any:
    """A knob value with the type the parameter declares (and slider float noise removed)."""
    info = param_info()[path]
    if info.type == "bool":
        return bool(value)
    if info.choices:
        return str(value)
    if info.type == "int":
        return round(float(value))
    return float(f"{float(value):.10g}")


def seed_input(seed: int) -> dict[str, Any]:
    """The seed box of SolaraViz's parameter card."""
    return {"type": "InputText", "value": str(seed), "label": "Seed (whole number), then Reset"}


@dataclass
class Panel:
    """One session's sidebar settings: the scenario and the value of every knob.

    SolaraViz re-creates the model on Reset from its ``model_params``. The panel is given to
    it as one fixed parameter, and the sidebar changes the panel in place, so Reset always
    builds the model from what the sidebar shows. Choosing a scenario loads its values.
    """

    scenario: str = DEFAULT_SCENARIO
    values: dict[str, Any] = field(default_factory=dict)  # knob name -> value

    def __post_init__(self) -> None:
        if not self.values:
            self.load(self.scenario)

    def load(self, scenario: str) -> None:
        """Take the scenario and all its values."""
        base = scenario_values(scenario)
        self.scenario = scenario
        self.values = {k.name: base[k.path] for k in KNOBS}

    def set(self, name: str, value: Any) -> None:
        """Change one knob."""
        knob = KNOB_BY_NAME[name]
        self.values[name] = tidy(knob.path, value)

    def overrides(self) -> dict[str, Any]:
        """Knob values as dotted-key overrides."""
        return {KNOB_BY_NAME[n].path: v for n, v in self.values.items()}

    def pending(self, params: ModelParams) -> list[str]:
        """Knobs whose sidebar value differs from ``params`` (the running model's)."""
        now = values_of(params)
        return [n for n, v in self.values.items() if now[KNOB_BY_NAME[n].path] != v]


def format_value(value: Any) -> str:
    """A value as a Hydra override writes it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    return str(value)


def changed(scenario: str, params: ModelParams) -> dict[str, Any]:
    """Parameters whose value in ``params`` differs from the scenario's, by dotted path."""
    base = scenario_values(scenario)
    out = {}
    for path, value in values_of(params).items():
        ref = base[path]
        if isinstance(value, float) and isinstance(ref, float):
            if math.isclose(value, ref, rel_tol=1e-9, abs_tol=1e-12):
                continue
        elif value == ref:
            continue
        out[path] = value
    return out


def reproduce_command(
    scenario: str, seed: int, params: ModelParams, weeks: int = DEFAULT_WEEKS
) -> str:
    """The ``cpec-sim run`` line that runs these settings at scale (100 replicates); the
    default seed 0 is left out, so the run's folder is the one the handout names
    (``results/runs/baseline``, not ``results/runs/baseline,seed=0``)."""
    parts = ["cpec-sim", "run", f"scenario={scenario}"] + ([f"seed={seed}"] if seed else [])
    if weeks != DEFAULT_WEEKS:
        parts.append(f"weeks={weeks}")
    parts += [f"{path}={format_value(v)}" for path, v in sorted(changed(scenario, params).items())]
    return " ".join(parts)
