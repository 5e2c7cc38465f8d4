"""The crisis model: states, militant groups and investors on a network of places.

One step is one week from the week of 18 November 2024. Each week, in order:
Iran sets its posture; China reacts to last week's deaths; Pakistan operates and
protects; grievance, legitimacy and recruitment move in every place; the groups
reorganise and attack (in random order); every fourth week the investors decide.

The agents are Mesa agents whose state lives in the model's arrays (:mod:`sim.world`) and
whose ``step()`` calls the compiled rules; the batch engine (:mod:`sim.engine`) runs the
same rules in a compiled loop and gives identical results for the same seed.

The model knows nothing of Hydra, files or the command line::

    from sim import CrisisModel, ModelParams
    result = CrisisModel(ModelParams(), weeks=104, seed=1).run()
    result.summary["chinese_killed"]
"""

from __future__ import annotations

import numpy as np
from mesa import Model

from sim import draws
from sim.agents.china import ChinaState
from sim.agents.investor import Investor
from sim.agents.iran import IranState
from sim.agents.militant_group import MilitantGroup
from sim.agents.pakistan import PakistanState
from sim.compiled import Calls, shuffled
from sim.config import checked_seed, checked_weeks
from sim.params import ModelParams, validate
from sim.record import Recorder, ReplicateResult
from sim.rules.pakistan import recent_attacks
from sim.society import row_shares, society_week
from sim.space import build_network, load_groups, load_investors, load_places, reach_adjacency
from sim.week import begin_week, end_week, interdiction_now, start
from sim.world import FIRST_PAUSE, HARDSHIP_STALE

START_DATE = "2024-11-18"

__all__ = ["START_DATE", "CrisisModel", "row_shares"]


class CrisisModel(Model):
    """The Balochistan-CPEC crisis as a Mesa model.

    Its space (``self.space``) is the Mesa network of places, whose links tell the rules where
    a group can strike (the engine reads the same links from the place table: identical
    results).
    """

    def __init__(
        self,
        params: ModelParams | None = None,
        weeks: int = 104,
        seed: int = 0,
        streams: str = "single",
    ) -> None:
        seed = checked_seed(seed)  # NumPy integers too; None refused (not repeatable)
        super().__init__(rng=seed)
        self.params = validate(params or ModelParams())
        self.weeks = checked_weeks(weeks)
        self.week = 0
        self.places = load_places()
        self.space = build_network(self.places, self.random)
        begin = start(self.params, seed, streams=streams)
        self.call = Calls()  # calls the compiled rules with this model's arrays
        self.rng = begin.rng  # week 0's burn-in drew from this generator (a single stream: all)
        #: Every draw of the rules from week 1 comes from this stream (sim.draws): ``rng``
        #: itself (streams="single"), or a keyed stream that each step turns to its own part.
        self.stream = begin.stream
        self.compiled = begin.params
        # where groups reach: the network's links
        self.place_arrays = begin.places._replace(adjacency=reach_adjacency(self.space))
        self.world = begin.world
        self.group_arrays = begin.groups
        self.investor_arrays = begin.investors
        self.fighters_at = self.group_arrays.fighters_at  # group x place

        self.iran = IranState(self, self.params.iran)
        self.china = ChinaState(self, self.params.china)
        self.pakistan = PakistanState(self, self.params.pakistan)
        specs = load_groups()
        self.groups = [
            MilitantGroup(self, row, key, spec["name"], getattr(self.params.groups, key))
            for row, (key, spec) in enumerate(specs.items())
        ]
        self.investors = [Investor(self, k, rec) for k, rec in enumerate(load_investors())]
        self.recorder = Recorder(weeks)

    # --- place state (views of the world arrays) -------------------------------------
    @property
    def legitimacy(self) -> np.ndarray:
        """Legitimacy of the state by place."""
        return self.world.legitimacy

    @property
    def hardship(self) -> np.ndarray:
        """Hardship by place (lowered by the local benefit of deployed capital)."""
        return self.world.hardship

    @property
    def grievance(self) -> np.ndarray:
        """Epstein's grievance by place."""
        return self.world.grievance

    @property
    def chinese_nationals(self) -> np.ndarray:
        """Chinese nationals by place."""
        return self.world.chinese_nationals

    @property
    def first_pause_week(self) -> int | None:
        """The first week any investor paused (None if none has)."""
        w = int(self.world.s[FIRST_PAUSE])
        return w if w > 0 else None

    # --- queries ----------------------------------------------------------------------
    def recent_attacks(self, weeks: int) -> int:
        """Attacks in the last ``weeks`` weeks."""
        return int(recent_attacks(self.world, weeks))

    def interdiction_probability(self) -> float:
        """Chance an attempt is stopped before it starts."""
        return float(interdiction_now(self.world, self.compiled))

    # --- the week ---------------------------------------------------------------------
    def step(self) -> None:
        """Advance one week (the engine's :func:`sim.engine.run_weeks` does the same)."""
        self.week += 1
        w, p = self.world, self.compiled
        call = self.call
        call(begin_week, w, self.week)
        stream, week = self.stream, self.week
        draws.enter(stream, week, draws.IRAN)
        self.iran.step()
        self.china.step()
        draws.enter(stream, week, draws.PAKISTAN)
        self.pakistan.step()
        draws.enter(stream, week, draws.SOCIETY)
        call(society_week, stream, w, self.place_arrays, self.group_arrays, self.investor_arrays, p)
        draws.enter(stream, week, draws.ORDER)
        for g in call(shuffled, stream, len(self.groups)):
            draws.enter(stream, week, draws.GROUP, int(g))
            self.groups[g].step()
        if self.week % 4 == 0:
            for investor in self.investors:
                investor.step()
            w.s[HARDSHIP_STALE] = 1.0
            w.month_incidents[:] = 0.0
        call(
            end_week,
            w,
            self.place_arrays,
            self.group_arrays,
            self.investor_arrays,
            p,
            self.recorder.matrix[self.week - 1],
        )

    def run(self) -> ReplicateResult:
        """Run to the horizon and return the replicate's outputs."""
        while self.week < self.weeks:
            self.step()
        return self.recorder.result(self.week, self.first_pause_week)
