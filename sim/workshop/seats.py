"""Role-play seats: a participant's decisions replace one agent's rule for the run.

A seat taken is *inactive* until its holder first decides: until then the agent follows its
rule, so a seat nobody touches changes nothing. Control by control: a control the holder has
not changed goes on following the rule (Pakistan's tempo still reacts to attacks and China's
pressure while the team sets only the guards), and the rule's random draws are drawn as the
rule draws them, so a seat that decides what the rule would decide changes nothing either.
"Hand back" returns every control to the rule.

HubNet's idea (each student controls one part of the model) for the crisis: a seat is a
state (Pakistan, China, Iran) or one investor, and holding it replaces that agent's
decision rule with the participant's choices; every other agent follows the model. The
choices act through the same compiled sub-rules the model uses (guards are allocated,
operations conducted, strikes drawn as the rules do): only the *decision* changes hands.

===========  ==============================================================================
seat         what the participant decides (replaces)
===========  ==============================================================================
pakistan     operation intensity (the tempo rule), Special Security Division guards,
             whether Chinese troops guard Chinese nationals (the yielding rule), and reform
             spending: how much deployed CPEC capital relieves local hardship
china        the step on the escalation ladder (patience still wears out, for the record)
iran         the border posture (hostile, neutral, cooperative)
investor     one firm's monthly choice: invest, pause or withdraw (withdrawal is final)
observer     nothing: watches the shared world
===========  ==============================================================================
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sim.attacks import guard_protection
from sim.rules.china import LADDER, imposed_floor, investment_hold, next_patience
from sim.rules.investor import decide, settle_investor, staying_value, updated_hazard
from sim.rules.iran import iran_week, posture_name
from sim.rules.pakistan import (
    allocate_guards,
    conduct_operations,
    consider_chinese_troops,
    operation_intensity,
    recent_attacks,
    routine_intensity,
    update_troop_sites,
)
from sim.world import (
    INTENSITY,
    IRAN_SCORE,
    JOINT,
    LAST_CHINESE_KILLED,
    LEVEL,
    PATIENCE,
    ROUTINE,
    STATE_NAMES,
    TROOPS,
    WEEK,
)
from sim.world import INVESTING as S_INVESTING
from sim.world import PAUSED as S_PAUSED
from sim.world import WITHDRAWN as S_WITHDRAWN

if TYPE_CHECKING:
    from sim.model import CrisisModel

POSTURES = ("hostile", "neutral", "cooperative")
POSTURE_SCORES = {"hostile": -1.0, "neutral": 0.0, "cooperative": 1.0}
DEFAULT_INVESTOR = "century_steel"


@dataclass(frozen=True)
class Control:
    """One decision a seat makes: a number in a range, a yes/no, or a choice."""

    name: str
    label: str
    help: str
    kind: str = "float"  # "float", "int", "bool", "choice"
    lo: float = 0.0
    hi: float = 1.0
    step: float = 0.05
    choices: tuple[str, ...] = ()

    def check(self, value: Any) -> Any:
        """The value as this control's type; ValueError naming what is allowed."""
        if self.kind == "bool":
            if isinstance(value, bool):
                return value
            raise ValueError(f"{self.name} must be true or false")
        if self.kind == "choice":
            if value in self.choices:
                return value
            raise ValueError(f"{self.name} must be one of {', '.join(self.choices)}")
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"{self.name} must be a number from {self.lo:g} to {self.hi:g}")
        if not self.lo <= value <= self.hi:
            raise ValueError(f"{self.name}={value} is out of range: {self.lo:g} to {self.hi:g}")
        if self.kind == "int" and value != int(value):  # 30000.7 guards had become 30000
            raise ValueError(
                f"{self.name}={value} is not a whole number: {self.lo:g} to {self.hi:g}"
            )
        return int(value) if self.kind == "int" else float(value)

    def spec(self) -> dict[str, Any]:
        """What the browser needs to draw the control."""
        return {
            "name": self.name,
            "label": self.label,
            "kind": self.kind,
            "help": self.help,
            "lo": self.lo,
            "hi": self.hi,
            "step": self.step,
            "choices": list(self.choices),
        }


@dataclass(frozen=True)
class Seat:
    """A role in the room."""

    key: str
    title: str
    brief: str
    controls: tuple[Control, ...]

    def control(self, name: Any) -> Control:
        """The control called ``name``; ValueError naming the allowed ones."""
        for c in self.controls:
            if c.name == name:
                return c
        allowed = ", ".join(c.name for c in self.controls)
        raise ValueError(f"the {self.key} seat has no control {name!r}: allowed {allowed}")


SEATS: dict[str, Seat] = {
    s.key: s
    for s in (
        Seat(
            "pakistan",
            "Pakistan",
            "You run counter-insurgency and protect Chinese nationals. Harder operations remove "
            "fighters but harm civilians, which feeds grievance.",
            (
                Control(
                    "intensity",
                    "Operation intensity",
                    "0 = none, 1 = all-out, in Balochistan (elsewhere less a decisive "
                    "operation's extra); replaces the tempo rule",
                ),
                Control(
                    "guards",
                    "Special Security Division guards",
                    "personnel guarding Chinese nationals",
                    lo=0,
                    hi=60000,
                    step=1000,
                    kind="int",
                ),
                Control(
                    "accept_troops",
                    "Let Chinese troops guard Chinese nationals",
                    "with the next box, replaces the rule by which Pakistan yields to China's "
                    "demand; unticking sends the troops home, which the model's rule never does",
                    kind="bool",
                ),
                Control(
                    "joint_operations",
                    "Joint operations with China",
                    "shared intelligence raises interdiction and attrition, and a foreign role "
                    "in operations is visible; China's demand asks for both boxes (a scenario "
                    "that orders joint operations runs them whatever this box says)",
                    kind="bool",
                ),
                Control(
                    "reform",
                    "Reform spending: how much deployed capital relieves local hardship",
                    "lowers hardship where capital is deployed; acts from the next monthly "
                    "update of hardship (every four weeks)",
                ),
            ),
        ),
        Seat(
            "china",
            "China",
            "You protect Chinese nationals and investment. Each step up the ladder presses "
            "Pakistan harder; an investment hold stops state firms; a demand for protection "
            "asks Pakistan to accept Chinese troops. Where a team holding Pakistan has set its "
            "intensity or troops itself, your pressure reaches that choice only through the "
            "team; the investment hold still binds state firms.",
            (
                Control(
                    "stance",
                    "China's stance",
                    "replaces the patience ladder; under an imposed investment freeze the "
                    "stance is at least the investment hold",
                    kind="choice",
                    choices=LADDER,
                ),
            ),
        ),
        Seat(
            "iran",
            "Iran",
            "You face Jaish al-Adl on your border. Hostile: strikes across the border; "
            "cooperative: joint border operations deny militants their sanctuary.",
            (
                Control(
                    "posture",
                    "Border posture",
                    "replaces the posture rule",
                    kind="choice",
                    choices=POSTURES,
                ),
            ),
        ),
        Seat(
            "investor",
            "Investor",
            "You decide every month whether your firm keeps investing, pauses, or withdraws "
            "for good (its staff go home). Your choice acts at the firm's next monthly "
            "decision (every four weeks); a state firm cannot invest while Beijing holds "
            "investment.",
            (
                Control(
                    "choice",
                    "This month's choice",
                    "replaces the firm's risk rule; acts at the next monthly decision; "
                    "withdrawal is final",
                    kind="choice",
                    choices=STATE_NAMES,
                ),
            ),
        ),
        Seat("observer", "Observer", "You watch the shared world and advise.", ()),
    )
}
PLAYABLE = tuple(k for k in SEATS if SEATS[k].controls)
#: Dashboard settings a seat's control overrides, by seat: a fork that changes one changes
#: nothing while the seat's holder has set that control (their choice acts instead).
SEAT_KNOBS: dict[str, dict[str, str]] = {
    "pakistan": {
        "base_intensity": "intensity",
        "local_benefit_share": "reform",
        "accept_chinese_troops": "accept_troops",
        "joint_operations": "joint_operations",
    },
    "china": {"patience_loss_per_death": "stance"},
    "iran": {"iran_posture": "posture"},
    "investor": {},
}


# --- the choices as policies ---------------------------------------------------------------
class Policy:
    """A seat's current choices, called by the agent instead of its rule while ``active``."""

    seat: str = ""

    def __init__(self, values: dict[str, Any], active: bool = True) -> None:
        self.values = dict(values)
        self.active = active
        #: The controls the participant has set; the others follow the rule.
        self.decided: set[str] = set(values) if active else set()

    def set(self, name: str, value: Any) -> Any:
        """Change one choice (checked); return the stored value."""
        self.values[name] = SEATS[self.seat].control(name).check(value)
        self.decided.add(name)
        return self.values[name]

    def decides(self, name: str) -> bool:
        """The participant has set this control (it no longer follows the rule)."""
        return self.active and name in self.decided

    def start(self, model: CrisisModel) -> None:
        """Note what the rule's state is when the seat starts deciding (nothing by default)."""

    def bind(self, model: CrisisModel) -> None:
        """Apply choices that act through parameters (nothing by default)."""

    def release(self, model: CrisisModel) -> None:
        """Undo :meth:`bind` (nothing by default)."""

    def __call__(self, agent: Any) -> None:
        raise NotImplementedError


def _set_reform(model: CrisisModel, share: float) -> None:
    """Reform spending (``legitimacy.local_benefit_share``), as the compiled rules read it."""
    c = model.compiled
    model.compiled = c._replace(legitimacy=c.legitimacy._replace(local_benefit_share=share))


class PakistanPolicy(Policy):
    """Pakistan's week with the participant's intensity, guards, troops and reform.

    The world's joint-operations flag is also the rule's memory that Pakistan has yielded to
    China's demand (after which the rule draws no more). The policy keeps the rule's own
    memory apart (``yielded``), so that ticking the joint box does not stop the rule's draws,
    and gives it back when the seat is handed back."""

    seat = "pakistan"
    yielded: float = 0.0

    def start(self, model: CrisisModel) -> None:
        """The rule's memory at activation: has Pakistan yielded?"""
        self.yielded = float(model.world.s[JOINT])

    def bind(self, model: CrisisModel) -> None:
        """Reform spending is ``legitimacy.local_benefit_share`` (the
        scenario's until the participant sets it)."""
        scenario = model.params.legitimacy.local_benefit_share
        _set_reform(model, float(self.values["reform"]) if self.decides("reform") else scenario)

    def release(self, model: CrisisModel) -> None:
        """Reform spending returns to the scenario's setting, joint operations to whether
        Pakistan yielded (the rule's)."""
        if "joint_operations" in self.decided:  # (hand_back has made the seat inactive)
            model.world.s[JOINT] = self.yielded
        _set_reform(model, model.params.legitimacy.local_benefit_share)

    def __call__(self, agent: Any) -> None:
        """:func:`pakistan_week`'s steps, each control the participant has set replacing
        the rule's choice; the rule's chance of yielding to China is drawn as the rule
        draws it (then overruled by the boxes the participant has set)."""
        m = agent.model
        w, p, v = m.world, m.compiled, self.values
        level = int(w.s[LEVEL])
        recent = m.call(recent_attacks, w, p.pakistan.reaction_weeks)
        full = m.call(operation_intensity, int(w.s[WEEK]), level, recent, p.pakistan)
        routine = m.call(routine_intensity, level, recent, p.pakistan)
        if self.decides("intensity") and float(v["intensity"]) != full:
            # the participant sets Balochistan's tempo; a decisive operation's extra (as the
            # rule would apply it this week, capped at 1) stays there
            w.s[INTENSITY] = float(v["intensity"])
            w.s[ROUTINE] = max(0.0, w.s[INTENSITY] - (full - routine))
        else:
            w.s[INTENSITY], w.s[ROUTINE] = full, routine
        guards = float(v["guards"]) if self.decides("guards") else p.pakistan.ssd_troops
        w.guards[:] = m.call(allocate_guards, guards, w.chinese_nationals, w.recent_chinese_attacks)
        w.protection[:] = m.call(guard_protection, w.guards, w.chinese_nationals, p.attacks)
        w.s[JOINT] = self.yielded  # the rule's memory, whatever the joint box says
        m.call(consider_chinese_troops, m.stream, w, p)
        self.yielded = float(w.s[JOINT])
        if self.decides("accept_troops"):
            w.s[TROOPS] = 1.0 if v["accept_troops"] else 0.0
        if self.decides("joint_operations"):
            w.s[JOINT] = 1.0 if v["joint_operations"] else 0.0
        m.call(update_troop_sites, w, p)
        m.call(conduct_operations, m.stream, w, m.place_arrays, m.group_arrays, p)


class ChinaPolicy(Policy):
    """China's patience wears out as the rule says; the ladder step is the participant's."""

    seat = "china"

    def __call__(self, agent: Any) -> None:
        m = agent.model
        s = m.world.s
        s[PATIENCE] = m.call(
            next_patience, s[PATIENCE], int(s[LAST_CHINESE_KILLED]), m.compiled.china
        )
        s[LEVEL] = float(
            m.call(imposed_floor, LADDER.index(self.values["stance"]), m.compiled.china)
        )


class IranPolicy(Policy):
    """Iran's posture is the participant's; strikes follow the rule when hostile."""

    seat = "iran"

    def __call__(self, agent: Any) -> None:
        m = agent.model
        p = m.compiled
        fixed = p._replace(iran=p.iran._replace(posture_fixed=True))
        m.world.s[IRAN_SCORE] = POSTURE_SCORES[self.values["posture"]]
        m.call(iran_week, m.stream, m.world, m.place_arrays, m.group_arrays, fixed)


class InvestorPolicy(Policy):
    """One firm's monthly choice; its belief about the hazard still updates (for display).
    A state firm cannot invest while China holds investment (the hold binds it as it binds
    the rule)."""

    seat = "investor"

    def __call__(self, agent: Any) -> None:
        m = agent.model
        inv, k = m.investor_arrays, agent.k
        p = m.compiled
        inv.hazard[k] = m.call(
            updated_hazard, inv.hazard[k], m.world.month_incidents, inv.site[k], p.investors
        )
        state = STATE_NAMES.index(self.values["choice"])
        held = inv.state_firm[k] and m.call(investment_hold, m.world.s[LEVEL], p.china)
        if held and state == S_INVESTING:
            state = S_PAUSED
        # the firm's bad months count on as the rule counts them (the rule's choice unused)
        value = m.call(staying_value, inv.hazard[k], inv.friction[k], p.investors)
        before, bad = int(inv.state[k]), int(inv.bad_months[k])
        _, bad = m.call(decide, before, value, bad, bool(held), p.investors)
        if before == S_INVESTING and state == S_WITHDRAWN:
            # the rule pauses before it withdraws, and the first pause is when the first firm
            # stopped: a seat's withdrawal straight from investing stops it too (helper-190:
            # it had recorded no pause, and the room's week of the first pause read later)
            m.call(settle_investor, k, S_PAUSED, bad, inv, m.world, p)
        m.call(settle_investor, k, state, bad, inv, m.world, p)


POLICIES: dict[str, type[Policy]] = {
    cls.seat: cls for cls in (PakistanPolicy, ChinaPolicy, IranPolicy, InvestorPolicy)
}


def current_choices(model: CrisisModel, seat: str, investor: str = DEFAULT_INVESTOR) -> dict:
    """What the model's own rule would choose now: where a seat's first decision starts from
    (Pakistan's intensity is the rule's tempo for the coming week)."""
    s = model.world.s
    if seat == "pakistan":
        p = model.compiled.pakistan
        coming = operation_intensity(
            model.week + 1, int(s[LEVEL]), recent_attacks(model.world, p.reaction_weeks), p
        )
        return {
            "intensity": round(float(coming), 3),
            "guards": int(model.params.pakistan.ssd_troops),
            "accept_troops": bool(s[TROOPS] > 0),
            "joint_operations": bool(s[JOINT] > 0 or model.params.china.joint_operations),
            "reform": float(model.compiled.legitimacy.local_benefit_share),
        }
    if seat == "china":
        return {"stance": LADDER[int(s[LEVEL])]}
    if seat == "iran":
        return {"posture": posture_name(float(s[IRAN_SCORE]))}
    if seat == "investor":
        return {"choice": investor_agent(model, investor).state}
    return {}


def seat_agent(model: CrisisModel, seat: str, investor: str = DEFAULT_INVESTOR) -> Any:
    """The agent a seat controls."""
    if seat == "investor":
        return investor_agent(model, investor)
    return {"pakistan": model.pakistan, "china": model.china, "iran": model.iran}[seat]


def investor_agent(model: CrisisModel, key: str) -> Any:
    """The investor agent with id ``key``; ValueError naming the firms if there is none."""
    for inv in model.investors:
        if inv.key == key:
            return inv
    keys = ", ".join(inv.key for inv in model.investors)
    raise ValueError(f"no investor {key!r}: allowed {keys}")


def take_seat(
    model: CrisisModel,
    seat: str,
    values: dict[str, Any],
    investor: str = DEFAULT_INVESTOR,
    active: bool = True,
) -> Policy:
    """Hand ``seat``'s agent to a participant whose choices are ``values`` (``active``: they
    act from the next week; otherwise the rule goes on until :func:`activate`)."""
    policy = POLICIES[seat](values, active)
    if active:
        policy.start(model)
        policy.bind(model)
    seat_agent(model, seat, investor).policy = policy
    return policy


def activate(model: CrisisModel, seat: str, investor: str = DEFAULT_INVESTOR) -> Policy:
    """A seat's first decision: every control follows the rule until it is set."""
    policy = seat_agent(model, seat, investor).policy
    assert policy is not None
    if not policy.active:
        policy.values = current_choices(model, seat, investor)
        policy.decided = set()
        policy.active = True
        policy.start(model)
        policy.bind(model)
    return policy


def seat_choices(model: CrisisModel, seat: str, investor: str = DEFAULT_INVESTOR) -> dict:
    """A taken seat's choices as the page shows them: the participant's for the controls
    they set, the rule's current choice for the others ({} for a free seat)."""
    policy = seat_agent(model, seat, investor).policy
    if policy is None:
        return {}
    rule = current_choices(model, seat, investor)
    return {k: policy.values[k] if policy.decides(k) else rule[k] for k in rule}


def hand_back(model: CrisisModel, seat: str, investor: str = DEFAULT_INVESTOR) -> None:
    """The seat stays taken, but its agent follows the rule again until the next decision."""
    policy = seat_agent(model, seat, investor).policy
    if policy is not None and policy.active:
        policy.active = False
        policy.release(model)


def free_seat(model: CrisisModel, seat: str, investor: str = DEFAULT_INVESTOR) -> None:
    """Give ``seat``'s agent back to its rule."""
    hand_back(model, seat, investor)
    seat_agent(model, seat, investor).policy = None


@dataclass(frozen=True)
class Action:
    """One thing a seat did, as a replicate can replay it: set a control, or (``control``
    empty) hand the seat back to the rule. ``week`` is the week the world was at: the action
    acts from the next week on."""

    week: int
    seat: str
    control: str = ""
    value: Any = None
    investor: str = DEFAULT_INVESTOR


def apply_action(model: CrisisModel, action: Action) -> Any:
    """Carry out ``action`` on ``model`` (taking the seat first if nobody holds it there);
    the stored value of a control set."""
    seat, investor = action.seat, action.investor
    if not action.control:
        hand_back(model, seat, investor)
        return None
    if seat_agent(model, seat, investor).policy is None:
        take_seat(model, seat, {}, investor, active=False)
    policy = activate(model, seat, investor)
    stored = policy.set(action.control, action.value)
    policy.bind(model)
    return stored
