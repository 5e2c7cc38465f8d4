"""A workshop room: one shared world, seats that replace agents' rules, a clock, a debrief.

The facilitator holds the clock (it pauses every ``pause_every`` weeks for decisions) and
sees every seat. Participants need the room code to take a free seat; the seat is then
theirs, bound to a token their browser keeps, so a reconnect resumes it and nobody else can
take it (the facilitator can free it). Every decision is logged with the week it was made,
the seat and the participant's name; the debrief saves the played run as a normal run
directory with that log as its ``decisions`` table, and sets it against model-only
replicates from the same start.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from sim.workshop.play import Play, PlayError
from sim.workshop.seats import (
    DEFAULT_INVESTOR,
    PLAYABLE,
    SEAT_KNOBS,
    SEATS,
    Action,
    apply_action,
    current_choices,
    free_seat,
    investor_agent,
    seat_agent,
    seat_choices,
    take_seat,
)

CODE_LETTERS = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # no I, L, O, 0, 1: easy to read aloud
CODE_LENGTH = 5
MAX_NAME = 40


class RoomError(PlayError):
    """A request the room refuses (the message says why and what is allowed)."""


def new_code() -> str:
    """A room code that is easy to read aloud."""
    return "".join(secrets.choice(CODE_LETTERS) for _ in range(CODE_LENGTH))


def clean_name(name: Any) -> str:
    """A participant's display name: printable, at most MAX_NAME characters."""
    text = "".join(ch for ch in str(name or "") if ch.isprintable()).strip()[:MAX_NAME]
    return text or "anonymous"


@dataclass
class Holder:
    """Who sits in a seat."""

    seat: str
    name: str
    token: str = field(default_factory=lambda: secrets.token_urlsafe(12))
    connected: bool = True
    joined: float = field(default_factory=time.time)


class Room:
    """One shared world and its seats."""

    def __init__(
        self,
        scenario: str = "baseline",
        seed: int = 0,
        knobs: dict[str, Any] | None = None,
        weeks: int = 104,
        investor: str = DEFAULT_INVESTOR,
        code: str | None = None,
        pause_every: int = 4,
    ) -> None:
        self.play = Play(scenario, seed, knobs, weeks)
        investor_agent(self.play.model, investor)  # a clear error for an unknown firm
        self.investor = investor
        self.code = (code or new_code()).upper()
        self.facilitator_key = secrets.token_urlsafe(12)
        # names this session's debrief folders: its start, and a suffix for rooms started
        # in the same second
        self.session = f"{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(2)}"
        self.pause_every = pause_every
        self.holders: dict[str, Holder] = {}  # token -> holder
        self.decisions: list[dict[str, Any]] = []
        #: What the seats did, in order, as replicates replay it (:func:`apply_action`).
        self.actions: list[Action] = []
        self.fork_actions = 0  # actions before the fork (in its snapshots already)
        self.seat_log: list[dict[str, Any]] = []  # who took and left which seat, when
        self.last_debrief: dict[str, Any] | None = None  # exported, and shown again
        self.debrief_shown_last = False  # (on a reloaded page, unless replicates came after)
        self.freed: dict[str, str] = {}  # token of a freed seat -> that seat's title

    # --- seats -------------------------------------------------------------------------
    def holder_of(self, seat: str) -> Holder | None:
        """Who holds a playable seat (None if it is free)."""
        return next((h for h in self.holders.values() if h.seat == seat), None)

    def join(self, code: Any, seat: Any, name: Any, token: Any = None) -> Holder:
        """Take a seat, or resume one with its token.

        A new seat follows the model's rule until its holder first decides.
        """
        if isinstance(token, str) and token in self.holders:
            holder = self.holders[token]
            holder.connected = True
            return holder
        if isinstance(token, str) and token and not str(code or "").strip():
            raise RoomError(self.why_no_seat(token))
        if str(code or "").strip().upper() != self.code:
            raise RoomError("wrong room code: ask the facilitator for the code on the screen")
        if not isinstance(seat, str) or seat not in SEATS:
            raise RoomError(f"unknown seat {seat!r}: allowed {', '.join(SEATS)}")
        taken = self.holder_of(seat) if seat in PLAYABLE else None
        if taken is not None:
            raise RoomError(
                f"the {SEATS[seat].title} seat is taken by {taken.name}: choose another seat, "
                "or ask the facilitator to free it"
            )
        holder = Holder(seat, clean_name(name))
        self.holders[holder.token] = holder
        self._note_seat(holder, "joined")
        if seat in PLAYABLE:
            for branch in self.play.branches:
                choices = current_choices(branch.model, seat, self.investor)
                take_seat(branch.model, seat, choices, self.investor, active=False)
        return holder

    def why_no_seat(self, token: str) -> str:
        """What a browser whose token holds no seat is told, and how to rejoin."""
        if token in self.freed:
            return (
                f"The facilitator freed your {self.freed[token]} seat: the model decides for "
                "it again. To play on, enter the room code, choose a seat and join again."
            )
        return (
            "This browser's seat is no longer in this room (the room was restarted): enter "
            "the room code, choose a seat and join again."
        )

    def _note_seat(self, holder: Holder, event: str) -> None:
        self.seat_log.append(
            {
                "week": self.play.week,
                "seat": holder.seat,
                "participant": holder.name,
                "event": event,
            }
        )

    def free(self, seat: Any, event: str = "freed") -> Holder | None:
        """Give a seat back to the model's rule (the facilitator's call, or ``event`` "left"
        when its holder leaves); who held it."""
        if seat not in PLAYABLE:
            raise RoomError(f"only a playable seat can be freed: {', '.join(PLAYABLE)}")
        holder = self.holder_of(seat)
        if holder is None:
            return None
        del self.holders[holder.token]
        self.freed[holder.token] = SEATS[seat].title
        self._note_seat(holder, event)
        self._hand_back(seat)
        for branch in self.play.branches:
            free_seat(branch.model, seat, self.investor)
        return holder

    def _hand_back(self, seat: str) -> None:
        """Every branch's agent of ``seat`` follows its rule again (recorded for replays)."""
        action = Action(self.play.week, seat, investor=self.investor)
        for branch in self.play.branches:
            apply_action(branch.model, action)
        self.actions.append(action)

    def leave(self, token: Any) -> None:
        """A participant gives up their seat (its agent goes back to the rule)."""
        holder = self.holders.get(token) if isinstance(token, str) else None
        if holder is None:
            return
        if holder.seat in PLAYABLE:
            self.free(holder.seat, event="left")
            del self.freed[holder.token]  # they left: nobody freed them
        else:
            del self.holders[holder.token]
            self._note_seat(holder, "left")

    def fork(self, knobs: dict[str, Any]) -> None:
        """Fork the world; refused for a setting whose control a seat's holder has set (the
        holder's choice acts instead of it)."""
        base = self.play.branches[0].knobs
        for seat, controls in SEAT_KNOBS.items():
            overridden = [
                n
                for n, control in controls.items()
                if n in knobs and knobs[n] != base.get(n) and self._overrides(seat, control)
            ]
            if overridden:
                raise RoomError(
                    f"the {SEATS[seat].title} seat decides what {', '.join(overridden)} "
                    "would change, so branch B would not differ while it does: fork another "
                    "setting, or hand the seat back first"
                )
        self.play.fork(knobs)
        self.fork_actions = len(self.actions)

    def choices(self, seat: str) -> dict[str, Any]:
        """A held seat's current choices (as the first branch has them): the holder's for
        the controls they set, the rule's current choice for the others."""
        return seat_choices(self.play.model, seat, self.investor)

    def deciding(self, seat: str) -> bool:
        """The seat's holder decides (False: the rule does, until the first decision)."""
        policy = seat_agent(self.play.model, seat, self.investor).policy
        return bool(policy is not None and policy.active)

    def _overrides(self, seat: str, control: str) -> bool:
        """The seat's choice for ``control`` replaces the setting a fork would change: it has
        set the control, and its value replaces the setting (:meth:`_replaces_setting`)."""
        if not self.sets(seat, control):
            return False
        return self._replaces_setting(control, self.choices(seat).get(control))

    def _replaces_setting(self, control: str, value: Any) -> bool:
        """A seat's ``value`` for ``control`` replaces the setting a fork would change.

        Two exceptions where the setting still acts: Pakistan's intensity set by a team keeps
        a decisive operation's extra in Balochistan, which the routine tempo shapes once the
        cap binds; and joint operations ordered by a fork act unless the team has ticked
        them itself (the flag is the team's or the scenario's, whichever says yes).
        """
        if control == "intensity":
            return self.play.model.params.pakistan.decisive_operation_week < 0
        if control == "joint_operations":
            return bool(value)
        return True

    def _fork_erased_by(self, seat: str, control: str, value: Any) -> list[str]:
        """The settings a fork changed that a seat's decision would replace in both branches
        (:meth:`_replaces_setting`, for the decision about to be made): the fork refuses such
        a seat's settings, and a decision made after the fork must not undo it either."""
        if len(self.play.branches) < 2 or not self._replaces_setting(control, value):
            return []
        a, b = self.play.branches[0], self.play.branches[1]
        return [
            n
            for n, c in SEAT_KNOBS.get(seat, {}).items()
            if c == control and a.knobs.get(n) != b.knobs.get(n)
        ]

    def sets(self, seat: str, control: str) -> bool:
        """The seat's holder has set this control (it no longer follows the rule)."""
        policy = seat_agent(self.play.model, seat, self.investor).policy
        return bool(policy is not None and policy.decides(control))

    def decide(self, token: Any, control: Any, value: Any) -> dict[str, Any]:
        """A participant's decision: it acts from the next week on, in every branch."""
        holder = self.holders.get(token) if isinstance(token, str) else None
        if holder is None:
            raise RoomError("you do not hold a seat in this room: join first")
        if holder.seat not in PLAYABLE:
            raise RoomError("observers watch; they do not decide")
        if self.play.finished:
            raise RoomError("the run is over: decisions no longer change it")
        if holder.seat == "investor":
            firm = investor_agent(self.play.model, self.investor)
            if firm.state == "withdrawn":
                raise RoomError(f"{firm.name} has withdrawn: withdrawal is final")
        if not isinstance(control, str):
            raise RoomError("control must be the name of one of your seat's controls")
        try:
            SEATS[holder.seat].control(control).check(value)  # before the seat takes over
        except ValueError as exc:
            raise RoomError(str(exc)) from None
        erased = self._fork_erased_by(holder.seat, control, value)
        if erased:
            raise RoomError(
                f"the facilitator forked the world on {', '.join(erased)}, which this control "
                "decides: your choice would act in both branches and erase their difference; "
                "your other controls still act (the facilitator can reset the fork)"
            )
        was_set = self.sets(holder.seat, control)
        before = self.choices(holder.seat).get(control, object())
        action = Action(self.play.week, holder.seat, control, value, self.investor)
        stored = None
        for branch in self.play.branches:  # every branch stores the same checked value
            stored = apply_action(branch.model, action)
        self.actions.append(replace(action, value=stored))
        entry = {
            "week": self.play.week,
            "seat": holder.seat,
            "participant": holder.name,
            "control": str(control),
            "value": str(stored).lower() if isinstance(stored, bool) else str(stored),
            "time": time.strftime("%Y-%m-%dT%H:%M:%S"),
        }
        if stored != before or not was_set:  # the same value twice is one decision
            self.decisions.append(entry)
        return entry

    def hand_back(self, token: Any) -> dict[str, Any]:
        """The holder lets the model's rule decide again (until their next decision)."""
        holder = self.holders.get(token) if isinstance(token, str) else None
        if holder is None or holder.seat not in PLAYABLE:
            raise RoomError("you do not hold a seat that decides: join first")
        self._hand_back(holder.seat)
        entry = {
            "week": self.play.week,
            "seat": holder.seat,
            "participant": holder.name,
            "control": "rule",
            "value": "the model decides",
            "time": time.strftime("%Y-%m-%dT%H:%M:%S"),
        }
        self.decisions.append(entry)
        return entry

    def seats_view(self) -> dict[str, Any]:
        """Who holds which seat (names only: tokens stay secret)."""
        out: dict[str, Any] = {}
        for key, seat in SEATS.items():
            holders = [h for h in self.holders.values() if h.seat == key]
            out[key] = {
                "title": seat.title,
                "holders": [{"name": h.name, "connected": h.connected} for h in holders],
                "choices": self.choices(key) if key in PLAYABLE and holders else None,
                "deciding": self.deciding(key) if key in PLAYABLE else False,
            }
        return out

    # --- the clock ---------------------------------------------------------------------
    def step(self) -> list[dict[str, Any] | None]:
        """One week in every branch."""
        return self.play.step()

    def decision_point(self) -> bool:
        """The clock pauses here for decisions."""
        w = self.play.week
        return self.pause_every > 0 and w > 0 and w % self.pause_every == 0

    def replicates(self, n: int) -> dict[str, Any]:
        """The fork's replicates (or the model's from the start), the seats' actions since
        the fork replayed in them (after a fork at week 0, every action since the start)."""
        self.debrief_shown_last = False
        since, earlier = self.actions[self.fork_actions :], self.actions[: self.fork_actions]
        return self.play.replicates(n, since, earlier)

    # --- the debrief ---------------------------------------------------------------------
    def debrief_folder(self, results: Path) -> Path:
        """Where this session's debrief at the current week goes: the code, the session's
        start and the week, so another session with the same code never writes there."""
        return results / f"{self.code}-{self.session}-week{self.play.week}"

    def debrief(self, folder: Path, replicates: int = 100, jobs: int = 1) -> dict[str, Any]:
        """Save the played run and set it against model-only replicates (see debrief.py)."""
        from sim.workshop.debrief import debrief  # debrief imports this module

        self.last_debrief = debrief(self, folder, replicates, jobs)
        self.debrief_shown_last = True
        return self.last_debrief
