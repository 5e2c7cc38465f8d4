"""The workshop room: seats replace rules, snapshots are exact, forks differ only after the
fork, the debrief writes run directories, and the server keeps sessions and seats apart."""

from __future__ import annotations

import json
import re
import shutil
import signal
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from starlette.testclient import TestClient

import sim
from sim.analysis.runs import load_run
from sim.model import CrisisModel
from sim.workshop.export import export_html
from sim.workshop.play import Play, PlayError, check_settings, restore, snapshot
from sim.workshop.room import Room, RoomError
from sim.workshop.seats import SEATS, current_choices, free_seat, investor_agent, take_seat
from sim.workshop.server import Options, create_app
from sim.world import INTENSITY, IRAN_SCORE, JOINT, LEVEL, TROOPS


def _bytes(model: CrisisModel) -> bytes:
    rec = model.recorder
    return rec.matrix.tobytes() + rec.buffer[: rec.n_events].tobytes() + model.world.s.tobytes()


# --- seats ---------------------------------------------------------------------------------
def test_pakistan_seat_replaces_the_tempo_and_troop_rules() -> None:
    play = Play("baseline", 3)
    m = play.model
    choices = {**current_choices(m, "pakistan"), "intensity": 1.0, "accept_troops": True}
    take_seat(m, "pakistan", choices)
    for _ in range(6):
        play.step()
        assert m.world.s[INTENSITY] == 1.0
        assert m.world.s[TROOPS] == 1.0
    ruled = Play("baseline", 3)
    for _ in range(6):
        ruled.step()
    assert ruled.model.world.s[INTENSITY] < 1.0  # the rule's tempo, not the seat's
    removed = m.recorder.weekly["militants_killed"][:6].sum()
    assert removed > ruled.model.recorder.weekly["militants_killed"][:6].sum()


def test_seats_keep_the_decisive_operation_in_balochistan_and_the_freeze_s_floor() -> None:
    """A review found the Pakistan seat carrying a decisive operation's tempo to Karachi and
    the KP sites, and the China seat lowering the ladder below an imposed freeze's hold."""
    from sim.rules.china import HOLD
    from sim.world import ROUTINE

    seated, ruled = Play("full_pressure", 5), Play("full_pressure", 5)
    capped = 0
    for _ in range(20):  # a participant who keeps the rule's own tempo changes nothing
        take_seat(seated.model, "pakistan", current_choices(seated.model, "pakistan"))
        seated.step()
        ruled.step()
        a, b = seated.model.world.s, ruled.model.world.s
        assert (a[INTENSITY], a[ROUTINE]) == pytest.approx((b[INTENSITY], b[ROUTINE]))
        capped += int(b[INTENSITY] == 1.0 and b[INTENSITY] - b[ROUTINE] < 0.4)
    assert capped > 0  # including weeks where the cap at 1 binds in Balochistan
    frozen = Play("investment_freeze", 5)
    take_seat(frozen.model, "china", {"stance": "normal"})
    for _ in range(3):
        frozen.step()
        assert frozen.model.world.s[LEVEL] == HOLD


def test_a_fork_leaves_a_handed_back_seat_s_choices_off() -> None:
    """A review found a fork re-applying the reform spending of a Pakistan seat that had
    been handed back to the rule."""
    from sim.workshop.play import retune
    from sim.workshop.seats import hand_back

    play = Play("baseline", 3)
    m = play.model
    take_seat(m, "pakistan", {**current_choices(m, "pakistan"), "reform": 0.9})
    play.step()
    hand_back(m, "pakistan")
    default = m.params.legitimacy.local_benefit_share
    assert m.compiled.legitimacy.local_benefit_share == default
    retune(m, {})
    assert m.compiled.legitimacy.local_benefit_share == default


def test_china_iran_and_investor_seats() -> None:
    play = Play("baseline", 5)
    m = play.model
    take_seat(m, "china", {"stance": "demand protection"})
    take_seat(m, "iran", {"posture": "hostile"})
    take_seat(m, "investor", {"choice": "withdrawn"})
    staff_site = m.investor_arrays.site[4]
    before = m.chinese_nationals[staff_site]
    for _ in range(4):
        play.step()
        assert m.world.s[LEVEL] == 3
        # hostile all week (a strike and counter-strike may soften it by one step)
        assert m.world.s[IRAN_SCORE] <= -1.0 + m.params.iran.de_escalation_after_exchange
    assert m.investors[4].key == "century_steel"
    assert m.investors[4].state == "withdrawn"  # the month's choice, at week 4
    assert m.chinese_nationals[staff_site] < before  # its staff went home
    m.investors[4].policy.set("choice", "investing")
    for _ in range(4):
        play.step()
    assert m.investors[4].state == "withdrawn"  # withdrawal is final


def test_an_investor_seat_that_withdraws_from_investing_stops_the_firm_first() -> None:
    """helper-190: the rule pauses a firm before it withdraws it, so the first pause is when
    the first firm stopped; a seat withdrawing Century Steel straight from investing recorded
    no pause, and the week of the first pause read 34.7 instead of 6.1."""
    from sim.world import FIRST_PAUSE

    rule, seat = Play("baseline", 2), Play("baseline", 2)
    take_seat(seat.model, "investor", {"choice": "withdrawn"})
    for _ in range(8):
        rule.step()
        seat.step()
    assert seat.model.investors[4].state == "withdrawn"
    assert rule.model.world.s[FIRST_PAUSE] < 0  # no firm of the rule's stopped by week 8
    assert seat.model.world.s[FIRST_PAUSE] == 4  # the seat's month: its firm stopped


def test_freeing_a_seat_returns_the_rule() -> None:
    a, b = Play("baseline", 9), Play("baseline", 9)
    take_seat(a.model, "pakistan", current_choices(a.model, "pakistan"))
    free_seat(a.model, "pakistan")
    for _ in range(12):
        a.step()
        b.step()
    assert _bytes(a.model) == _bytes(b.model)


@pytest.mark.parametrize(
    ("control", "value"),
    [("intensity", 1.5), ("intensity", "high"), ("guards", -1), ("accept_troops", 1), ("x", 1)],
)
def test_bad_choices_are_refused_by_name(control: str, value: object) -> None:
    room = Room("baseline", 0, code="ABCDE")
    holder = room.join("ABCDE", "pakistan", "Amina")
    with pytest.raises(RoomError, match=control if control != "x" else "no control"):
        room.decide(holder.token, control, value)
    assert room.decisions == []


def test_every_seat_lists_its_controls() -> None:
    assert set(SEATS) == {"pakistan", "china", "iran", "investor", "observer"}
    assert [c.name for c in SEATS["pakistan"].controls] == [
        "intensity",
        "guards",
        "accept_troops",
        "joint_operations",
        "reform",
    ]


# --- the room --------------------------------------------------------------------------------
def test_room_codes_taken_seats_tokens_and_the_decision_log() -> None:
    room = Room("baseline", 2, code="ABCDE")
    with pytest.raises(RoomError, match="wrong room code"):
        room.join("ZZZZZ", "china", "Eve")
    amina = room.join("abcde", "pakistan", "Amina")
    chen = room.join("ABCDE", "china", "Chen")
    with pytest.raises(RoomError, match="taken by Amina"):
        room.join("ABCDE", "pakistan", "Eve")
    room.join("ABCDE", "observer", "O1")
    room.join("ABCDE", "observer", "O2")  # observers are not exclusive
    assert room.join(None, None, None, token=amina.token) is amina  # reconnect resumes
    room.decide(amina.token, "intensity", 0.8)
    room.decide(amina.token, "intensity", 0.8)  # the same value twice is one decision
    room.step()
    room.decide(chen.token, "stance", "investment hold")
    assert [
        (d["week"], d["seat"], d["participant"], d["control"], d["value"]) for d in room.decisions
    ] == [
        (0, "pakistan", "Amina", "intensity", "0.8"),
        (1, "china", "Chen", "stance", "investment hold"),
    ]
    room.free("pakistan")
    assert room.seats_view()["pakistan"]["holders"] == []
    room.leave(chen.token)  # a participant leaves: the seat is free for someone else
    assert room.join("ABCDE", "china", "Dana").name == "Dana"
    assert [(e["seat"], e["event"]) for e in room.seat_log if e["event"] != "joined"] == [
        ("pakistan", "freed"),  # by the facilitator
        ("china", "left"),  # by its holder
    ]
    with pytest.raises(RoomError, match="join first"):
        room.decide(amina.token, "intensity", 0.1)


# --- snapshots and forks -------------------------------------------------------------------
def test_restoring_a_snapshot_and_stepping_is_identical_to_never_snapshotting() -> None:
    straight = Play("baseline", 11).model
    for _ in range(10):
        straight.step()
    snap = snapshot(straight)
    for _ in range(15):
        straight.step()
    resumed = restore(snap)
    for _ in range(15):
        resumed.step()
    assert _bytes(resumed) == _bytes(straight)


def test_fork_branches_share_the_past_and_differ_only_after_the_fork() -> None:
    play = Play("baseline", 4)
    for _ in range(20):
        play.step()
    play.fork({"collateral_per_militant": 1.5, "base_intensity": 0.9})
    for _ in range(30):
        play.step()
    a, b = play.branches
    assert a.history[:20] == b.history[:20]
    assert a.history[20:] != b.history[20:]
    ma, mb = a.model.recorder.matrix, b.model.recorder.matrix
    assert np.array_equal(ma[:20], mb[:20])
    assert not np.array_equal(ma[20:50], mb[20:50])


def test_same_seed_same_branch_and_an_unchanged_fork_stays_identical() -> None:
    plays = [Play("baseline", 6) for _ in range(2)]
    for p in plays:
        for _ in range(8):
            p.step()
        p.fork({"public_trust_in_china": 0.2})
        for _ in range(10):
            p.step()
    assert _bytes(plays[0].branches[1].model) == _bytes(plays[1].branches[1].model)
    same = Play("baseline", 6)
    for _ in range(8):
        same.step()
    same.fork({})
    for _ in range(10):
        same.step()
    assert _bytes(same.branches[0].model) == _bytes(same.branches[1].model)


def test_replicates_from_the_fork_state() -> None:
    play = Play("baseline", 1, weeks=30)
    for _ in range(10):
        play.step()
    play.fork({})
    res = play.replicates(5)
    assert res["from_week"] == 10 and len(res["branches"]) == 2
    diff = res["difference"]["attacks_total"]
    assert diff == {"mean": 0.0, "lo": 0.0, "hi": 0.0, "clear": False}  # same settings
    values = res["branches"][0]["values"]["attacks_total"]
    assert len(set(values)) > 1  # the replicates differ from each other
    with pytest.raises(PlayError, match="already forked"):
        play.fork({})


def test_a_fork_at_week_0_runs_each_branch_as_cpec_sim_run_does() -> None:
    """A reviewer: forked at week 0, every replicate of both branches restarted from the tab's
    own starting world (its investors' frictions, its cells), so branch A's column differed
    from the unforked replicates and from `cpec-sim run` (capital deployed: mean 3,556 against
    4,819) and B - A disagreed with `cpec-sim compare` (fighters: -36.5 against -67.9)."""
    from sim.config import scenario_params
    from sim.engine import run_replicate
    from sim.runner import replicate_seed

    play = Play("decisive_operation", 3, weeks=20)
    unforked = play.replicates(4)["branches"][0]["values"]
    play.fork({"collateral_per_militant": 0.05})
    res = play.replicates(4)
    assert res["from_week"] == 0 and "own starting world" in res["settings"]
    a, b = (branch["values"] for branch in res["branches"])
    assert a == unforked
    for values, overrides in ((a, {}), (b, {"pakistan.collateral_per_militant": 0.05})):
        params = scenario_params("decisive_operation", overrides)
        runs = [run_replicate(params, 20, replicate_seed(3, i)).summary for i in range(4)]
        for c, got in values.items():
            assert got == [float(r[c]) for r in runs], c


def test_a_room_forked_at_week_0_replays_the_decisions_made_before_the_fork() -> None:
    from sim.workshop.play import run_with_actions

    room = Room("baseline", 12, weeks=12, code="ABCDE")
    pak = room.join("ABCDE", "pakistan", "P")
    room.decide(pak.token, "intensity", 1.0)  # at week 0, before the fork
    room.fork({"collateral_per_militant": 0.05})
    for _ in range(3):
        room.step()
    room.decide(pak.token, "intensity", 0.2)  # after it
    res = room.replicates(3)
    assert res["replayed"] == 2 and "2 decision(s) replayed" in res["settings"]
    from sim.runner import replicate_seed

    params = room.play.branch_params(room.play.branches[0])
    for i in range(3):
        model = CrisisModel(params, weeks=12, seed=replicate_seed(room.play.seed, i))
        run_with_actions(model, room.actions)
        summary = model.recorder.result(model.week, model.first_pause_week).summary
        assert res["branches"][0]["values"]["civilians_killed"][i] == summary["civilians_killed"]
    plain = Room("baseline", 12, weeks=12, code="ABCDE")
    plain.fork({"collateral_per_militant": 0.05})
    assert plain.replicates(3)["branches"][0]["values"] != res["branches"][0]["values"]


def test_replicates_count_decisions_as_the_room_s_log_does() -> None:
    """A reviewer: a control set three times to one value counted 3 decisions (the log: 1)."""
    from sim.workshop.play import count_decisions
    from sim.workshop.seats import Action

    same = [Action(0, "pakistan", "intensity", 0.9), Action(2, "pakistan", "intensity", 0.9)]
    assert count_decisions(same) == 1
    assert count_decisions([*same, Action(3, "pakistan", "intensity", 0.5)]) == 2
    handed_back = [*same, Action(4, "pakistan"), Action(5, "pakistan", "intensity", 0.9)]
    assert count_decisions(handed_back) == 2  # taken again: a decision anew
    assert count_decisions([Action(0, "china", "stance", "x"), *same]) == 2


def test_a_later_fork_says_its_replicates_share_the_runs_start() -> None:
    play = Play("baseline", 1, weeks=20)
    play.step()
    play.fork({})
    assert "not what cpec-sim run gives from week 0" in play.replicates(2)["settings"]


@pytest.mark.parametrize(
    ("scenario", "seed", "knobs", "match"),
    [
        ("nope", 0, {}, "unknown scenario"),
        ("baseline", "x", {}, "not a whole number"),
        ("baseline", -1, {}, "out of range"),
        ("baseline", 0, {"base_intensity": 2.0}, "out of range"),
        ("baseline", 0, {"joint_operations": "yes"}, "true or false"),
        ("baseline", 0, {"iran_posture": "angry"}, "one of"),
        ("baseline", 0, {"warp": 1}, "unknown setting"),
    ],
)
def test_bad_settings_from_a_page_are_refused(
    scenario: str, seed: object, knobs: dict, match: str
) -> None:
    with pytest.raises(PlayError, match=match):
        check_settings(scenario, seed, knobs)


# --- the debrief -----------------------------------------------------------------------------
def test_debrief_writes_run_directories_that_compare(tmp_path: Path) -> None:
    room = Room("baseline", 3, code="ABCDE")
    amina = room.join("ABCDE", "pakistan", "Amina")
    room.decide(amina.token, "intensity", 0.9)
    for _ in range(8):
        room.step()
    room.decide(amina.token, "guards", 30000)
    for _ in range(4):
        room.step()
    result = room.debrief(tmp_path / "debrief", replicates=20)
    played, model = load_run(Path(result["played"])), load_run(Path(result["model"]))
    assert len(played.summary) == 1 and len(model.summary) == 20
    assert played.timeseries["week"].max() == 12 == model.timeseries["week"].max()
    decisions = pd.read_parquet(Path(result["played"]) / "decisions.parquet")
    assert decisions[["week", "control", "value"]].values.tolist() == [
        [0, "intensity", "0.9"],
        [8, "guards", "30000"],
    ]
    manifest = json.loads((Path(result["played"]) / "manifest.json").read_text())
    assert manifest["seats"] == {"pakistan": "Amina"}
    assert [(e["week"], e["seat"], e["event"]) for e in manifest["seat_log"]] == [
        (0, "pakistan", "joined")
    ]
    landed = result["outcomes"]["attacks_total"]
    s = model.summary["attacks_total"]
    played_value = played.summary["attacks_total"].iloc[0]
    expected = 100 * ((s < played_value).mean() + (s == played_value).mean() / 2)
    assert landed["percentile"] == pytest.approx(expected, abs=0.1)
    # the decisions replayed in the model-only runs' histories: same seeds, 12 weeks
    replayed = load_run(Path(result["decisions"]))
    assert replayed.summary["seed"].tolist() == model.summary["seed"].tolist()
    assert replayed.timeseries["week"].max() == 12
    effect = landed["effect"]
    diff = replayed.summary["attacks_total"] - model.summary["attacks_total"]
    assert effect["mean"] == pytest.approx(diff.mean())
    assert effect["lo"] <= effect["mean"] <= effect["hi"]
    r = replayed.summary["attacks_total"]
    among = 100 * ((r < played_value).mean() + (r == played_value).mean() / 2)
    assert landed["decisions"]["percentile"] == pytest.approx(among, abs=0.1)
    removed = (replayed.summary["militants_killed"] - model.summary["militants_killed"]).mean()
    assert removed > 10  # intensity 0.9 against the rule's ~0.55 removes more fighters
    # the command the page prints pairs the runs as the debrief does: the same interval
    from sim.analysis.compare import compare, resample_in_pairs

    table = compare([result["model"], result["decisions"]], reference="model")
    # the runs say what they are (they had shared "Baseline [replicates=20]"), and an ordinary
    # run beside them keeps the run keys that tell it apart (a reviewer: its seed was dropped)
    from sim.runner import RunSpec, run

    other = tmp_path / "other"
    params = room.play.start_params()
    run(RunSpec(params=params, scenario="baseline", replicates=2, seed=9, weeks=12), other, None)
    four = [result["model"], result["decisions"], result["played"], other]
    labels = set(compare(four, reference="model")["label"])
    assert labels == {
        "Baseline [model only, seed=3, replicates=20]",
        "Baseline [the room's decisions replayed, seed=3, replicates=20]",
        "Baseline [played in the room, seed=3, replicates=1]",
        "Baseline [model only, seed=9, replicates=2]",
    }
    for outcome, o in result["outcomes"].items():
        decided = table["label"].str.contains("decisions replayed") & (table["outcome"] == outcome)
        row = table[decided].iloc[0]
        together = resample_in_pairs(replayed.summary[outcome], model.summary[outcome])
        assert bool(row["paired"]) == together  # fewer than 10 pairs differ: apart, in both
        shown = (row["diff_mean"], row["diff_mean_lo"], row["diff_mean_hi"])
        assert shown == pytest.approx((o["effect"]["mean"], o["effect"]["lo"], o["effect"]["hi"]))


def test_the_debrief_shows_what_operations_act_on(tmp_path: Path) -> None:
    """A review found a room that ran operations flat out for 24 weeks told "nothing clear":
    the debrief showed what attacks cost but not the fighters operations remove."""
    room = Room("baseline", 2, code="ABCDE")
    pak = room.join("ABCDE", "pakistan", "Amina")
    room.decide(pak.token, "intensity", 1.0)
    for _ in range(24):
        room.step()
    effects = {c: o["effect"] for c, o in room.debrief(tmp_path / "a", 30)["outcomes"].items()}
    assert effects["militants_killed"]["clear"] and effects["militants_killed"]["mean"] > 0
    assert effects["fighters_final"]["clear"] and effects["fighters_final"]["mean"] < 0
    assert {"grievance_final", "legitimacy_final"} <= set(effects)
    # with fewer replicates than cpec-sim compare tests, nothing is marked, as there
    few = room.debrief(tmp_path / "b", 10)["outcomes"]["militants_killed"]["effect"]
    assert few["mean"] > 0 and few["lo"] > 0 and not few["clear"]


def test_every_debrief_outcome_is_one_cpec_sim_compare_shows() -> None:
    from sim.analysis import style
    from sim.workshop.play import HEADLINE_OUTCOMES

    assert set(HEADLINE_OUTCOMES) <= set(style.OUTCOMES)


def test_a_reloaded_facilitator_page_gets_the_debrief_only_if_it_came_last(
    tmp_path: Path,
) -> None:
    room = Room("baseline", 1, code="RMA")
    for _ in range(6):
        room.step()
    options = Options(cull_after=0.0, results=tmp_path)

    def hello(client: TestClient) -> dict:
        with client.websocket_connect("/ws") as f:
            f.send_json({"type": "facilitate", "key": room.facilitator_key})
            return f.receive_json()

    with TestClient(create_app(options, room)) as client:
        assert hello(client)["debrief"] is None
        assert _debrief_over_socket(client, room)[-1]["type"] == "debrief"
        assert hello(client)["debrief"]["week"] == 6
        room.replicates(5)  # a later result: the page shows it, not the debrief
        assert hello(client)["debrief"] is None
        with client.websocket_connect("/ws") as f:
            f.send_json({"type": "facilitate", "key": room.facilitator_key})
            f.receive_json()
            f.send_json({"type": "debrief", "n": 19})
            msg = f.receive_json()
            while msg["type"] == "room":
                msg = f.receive_json()
            assert msg["message"] == "n must be a whole number from 20 to 1000"


def test_the_pages_name_every_outcome_the_server_sends() -> None:
    from sim.workshop.play import HEADLINE_OUTCOMES

    app = (Path(sim.__file__).parent / "workshop" / "static" / "app.js").read_text()
    names = re.search(r"const OUTCOME_NAMES = \{(.*?)\};", app, re.S)
    assert names is not None
    assert re.findall(r"(\w+):", names.group(1)) == list(HEADLINE_OUTCOMES)


def test_the_debrief_effect_of_no_decision_or_the_rule_s_own_is_exactly_zero(
    tmp_path: Path,
) -> None:
    """A review found the debrief inviting "lucky or good?" from one run's percentile, which
    a room that decides nothing also gets: the replayed decisions are the answer, and a room
    whose decisions are the rule's must show no effect at all."""
    for k, decide in enumerate((False, True)):
        room = Room("baseline", 1, code="ABCDE")
        pak = room.join("ABCDE", "pakistan", "P")
        if decide:
            room.decide(pak.token, "guards", 15000)  # the scenario's own guards
        for _ in range(24):
            room.step()
        result = room.debrief(tmp_path / f"d{k}", replicates=12)
        for outcome, o in result["outcomes"].items():
            assert o["effect"]["mean"] == 0.0 and not o["effect"]["clear"], outcome
        assert result["decided"] is decide


# --- seats control by control ----------------------------------------------------------------
def test_a_seat_that_sets_one_control_leaves_the_others_to_the_rule() -> None:
    """A review found that touching the guards froze Pakistan's tempo and its answer to
    China's demand for the rest of the run (fighters +326 over 104 weeks). Seeds 1 and 12
    reach China's demand and the rule yields: the rule's draw must still be drawn."""
    for seed in (1, 12):
        room = Room("baseline", seed, code="ABCDE")
        pak = room.join("ABCDE", "pakistan", "P")
        room.decide(pak.token, "guards", 15000)  # the rule's own value
        alone = Play("baseline", seed)
        for _ in range(104):
            room.step()
            alone.step()
        assert alone.model.world.s[TROOPS] == 1.0  # the rule yielded in this run
        assert _bytes(room.play.model) == _bytes(alone.model)
        shown = room.choices("pakistan")  # the rule's current tempo beside the set guards
        assert shown == {**current_choices(alone.model, "pakistan"), "guards": 15000}


def test_a_seat_that_refuses_troops_draws_what_the_rule_draws_until_it_would_yield() -> None:
    """The rule draws a chance of yielding every week China demands protection; a seat that
    has ticked the boxes off must draw it too, so that its world differs from the model's
    only from the week the rule would have yielded."""
    seed = 1
    alone = Play("baseline", seed)
    demand_weeks, yielded = 0, None
    for week in range(1, 105):
        alone.step()
        demand_weeks += int(alone.model.world.s[LEVEL] == 3 and alone.model.world.s[TROOPS] == 0)
        if alone.model.world.s[TROOPS] == 1.0:
            yielded = week
            break
    assert yielded is not None and demand_weeks > 0  # draws that came to nothing first
    room = Room("baseline", seed, code="ABCDE")
    pak = room.join("ABCDE", "pakistan", "P")
    room.decide(pak.token, "accept_troops", False)
    room.decide(pak.token, "joint_operations", False)
    again = Play("baseline", seed)
    for week in range(1, yielded + 1):
        room.step()
        again.step()
        same = _bytes(room.play.model) == _bytes(again.model)
        assert same == (week < yielded), week
    assert room.play.model.world.s[TROOPS] == 0.0


def test_fork_replicates_replay_the_seats_decisions_since_the_fork() -> None:
    """A review found decisions made after a fork missing from its replicates."""
    rooms = [Room("baseline", 4, code="ABCDE") for _ in range(2)]
    for k, room in enumerate(rooms):
        pak = room.join("ABCDE", "pakistan", "P")
        for _ in range(6):
            room.step()
        room.fork({"collateral_per_militant": 0.05})
        for _ in range(2):
            room.step()
        if k:
            room.decide(pak.token, "intensity", 1.0)
        room.step()
    plain, decided = (r.replicates(4) for r in rooms)
    key = "civilians_killed"
    for b in range(2):
        assert plain["branches"][b]["values"][key] != decided["branches"][b]["values"][key]
    assert decided["played_week"] == 9 and decided["from_week"] == 6
    assert (decided["replayed"], plain["replayed"]) == (1, 0)


def test_a_fork_cannot_untick_troops_that_are_already_in() -> None:
    play = Play("chinese_troops", 2)
    play.step()
    with pytest.raises(PlayError, match="cannot send them home"):
        play.fork({"accept_chinese_troops": False})
    assert len(play.branches) == 1


# --- the server ----------------------------------------------------------------------------
def _client(room: Room | None = None) -> TestClient:
    return TestClient(create_app(Options(cull_after=0.0), room))


def test_sandbox_sessions_are_separate_and_step() -> None:
    with _client() as client:
        with client.websocket_connect("/ws") as one, client.websocket_connect("/ws") as two:
            one.send_json({"type": "solo", "scenario": "baseline", "seed": 1})
            two.send_json({"type": "solo", "scenario": "baseline", "seed": 2})
            h1, h2 = one.receive_json(), two.receive_json()
            assert h1["token"] != h2["token"]
            one.send_json({"type": "step", "n": 3})
            weeks = one.receive_json()
            assert [d[0]["week"] for d in weeks["deltas"]] == [1, 2, 3]
            two.send_json({"type": "step", "n": 1})
            assert two.receive_json()["deltas"][0][0]["week"] == 1  # its own clock
            one.send_json({"type": "step", "n": 1000})
            assert "n must be" in one.receive_json()["message"]
            one.send_text("not json")  # the answer says what was wrong, not some other rule
            assert one.receive_json() == {"type": "error", "message": "bad request: not JSON"}
            one.send_bytes(b"\x00\x01")  # a binary frame, answered, the socket kept
            assert "binary" in one.receive_json()["message"]
            one.send_json({"type": "step", "n": 1})
            assert one.receive_json()["deltas"][0][0]["week"] == 4
            one.send_json({"type": "bad"})  # a JSON message that only looks like one
            assert one.receive_json()["message"] == "unknown request 'bad'"
        page = client.get("/")
        assert page.status_code == 200 and "sandbox.js" in page.text
        assert "http" not in client.get("/static/app.js").text.replace("https:", "")


def test_room_over_websockets_seats_refusal_and_reconnect() -> None:
    room = Room("baseline", 0, code="ABCDE")
    with _client(room) as client:
        with client.websocket_connect("/ws") as a:
            a.send_json({"type": "join", "room": "ABCDE", "seat": "pakistan", "name": "Amina"})
            hello = a.receive_json()
            assert (
                hello["seat"] == "pakistan"
                and next(c["name"] for c in hello["controls"]) == "intensity"
            )
            token = hello["token"]
            with client.websocket_connect("/ws") as c:
                c.send_json({"type": "join", "room": "ABCDE", "seat": "pakistan", "name": "Eve"})
                assert "taken" in c.receive_json()["message"]
            a.send_json({"type": "clock", "action": "step"})
            msg = a.receive_json()
            while msg["type"] == "room":
                msg = a.receive_json()
            assert "only the facilitator" in msg["message"]
        with client.websocket_connect("/ws") as again:
            again.send_json({"type": "join", "token": token})
            resumed = again.receive_json()
            assert resumed["seat"] == "pakistan" and resumed["name"] == "Amina"
        with client.websocket_connect("/ws") as f:
            f.send_json({"type": "facilitate", "key": "wrong"})
            assert "wrong facilitator key" in f.receive_json()["message"]
        assert client.get("/facilitator?key=x").status_code == 403
        page = client.get(f"/facilitator?key={room.facilitator_key}")
        assert page.status_code == 200 and "ABCDE" not in page.text  # the code comes by socket
        assert client.get("/qr.svg").text.startswith("<?xml")
        export = client.get(f"/export?token={token}")
        assert export.status_code == 200
        assert '<script src="' not in export.text and "cpec-data" in export.text


# --- what an adversarial review found, now held by tests -------------------------------------
def test_a_seat_nobody_touches_changes_nothing() -> None:
    room = Room("baseline", 8, code="ABCDE")
    for seat in ("pakistan", "china", "iran", "investor"):
        room.join("ABCDE", seat, seat)
    alone = Play("baseline", 8)
    for _ in range(24):
        room.step()
        alone.step()
    assert _bytes(room.play.model) == _bytes(alone.model)


def test_a_first_decision_starts_from_the_rules_current_choices() -> None:
    room = Room("baseline", 8, code="ABCDE")
    pak = room.join("ABCDE", "pakistan", "P")
    alone = Play("baseline", 8)
    for _ in range(10):
        room.step()
        alone.step()
    room.decide(pak.token, "guards", 15000)  # the scenario's guards: only the seat changes hands
    room.step()
    alone.step()
    assert room.play.model.world.s[INTENSITY] == pytest.approx(alone.model.world.s[INTENSITY])
    room.hand_back(pak.token)
    assert room.decisions[-1]["control"] == "rule"
    assert not room.deciding("pakistan")


def test_a_fork_of_a_setting_a_held_seat_decides_is_refused() -> None:
    """Refused only once the holder has set the control that overrides the setting: a
    reviewer found a Pakistan seat that had set only the guards refusing a fork of the tempo,
    whose branch B then ran at intensity 0.97 against A's 0.59."""
    room = Room("baseline", 1, code="ABCDE")
    pak = room.join("ABCDE", "pakistan", "P")
    room.step()
    room.decide(pak.token, "guards", 20000)
    twin = Room("baseline", 1, code="ABCDE")
    twin.join("ABCDE", "pakistan", "P")
    twin.step()
    twin.decide(twin.holder_of("pakistan").token, "guards", 20000)  # type: ignore[union-attr]
    twin.fork({"base_intensity": 0.9})  # the tempo is still the rule's: B differs
    for _ in range(6):
        twin.step()
    a, b = (br.model.world.s[INTENSITY] for br in twin.play.branches)
    assert b > a
    room.decide(pak.token, "intensity", 0.5)
    with pytest.raises(RoomError, match="Pakistan seat decides what base_intensity"):
        room.fork({"base_intensity": 0.9})
    room.fork({"collateral_per_militant": 0.5})  # not a seat's: fine
    assert len(room.play.branches) == 2


def test_fork_refusals_follow_what_the_seat_decides() -> None:
    """A reviewer found the tempo's fork refused under a decisive operation (where the routine
    tempo still shapes Pakistan's intensity outside Balochistan: B differed) and a fork of
    joint operations accepted while the team had ticked them (B identical)."""
    room = Room("decisive_operation", 0, code="ABCDE")
    pak = room.join("ABCDE", "pakistan", "P")
    room.decide(pak.token, "intensity", 0.9)
    room.step()
    room.fork({"base_intensity": 0.5})  # allowed: the decisive operation's extra
    joint = Room("baseline", 0, code="ABCDE")
    pak = joint.join("ABCDE", "pakistan", "P")
    joint.decide(pak.token, "joint_operations", True)
    joint.step()
    with pytest.raises(RoomError, match="decides what joint_operations"):
        joint.fork({"joint_operations": True})
    joint.decide(pak.token, "joint_operations", False)
    joint.fork({"joint_operations": True})  # the scenario's order acts: B differs
    assert len(joint.play.branches) == 2


def test_a_decision_after_a_fork_may_not_erase_the_fork() -> None:
    """A stranger forked Iran's posture while the Iran seat was held but still following
    its rule; the seat then chose a posture, which acted in both branches: B no longer
    differed, yet its label still said it did. Such a decision is refused; the seat's other
    controls, and decisions that leave the fork's setting acting, still go through."""
    room = Room("baseline", 1, code="ABCDE")
    iran = room.join("ABCDE", "iran", "I")
    pak = room.join("ABCDE", "pakistan", "P")
    room.step()
    room.fork({"iran_posture": "cooperative", "joint_operations": True})
    with pytest.raises(RoomError, match="forked the world on iran_posture"):
        room.decide(iran.token, "posture", "neutral")
    room.decide(pak.token, "joint_operations", False)  # the fork's order still acts in B
    with pytest.raises(RoomError, match="forked the world on joint_operations"):
        room.decide(pak.token, "joint_operations", True)
    room.decide(pak.token, "guards", 20000)  # not a forked setting
    room.step()
    a, b = room.play.branches
    assert (a.knobs["iran_posture"], b.knobs["iran_posture"]) == ("neutral", "cooperative")
    assert a.model.world.s[IRAN_SCORE] != b.model.world.s[IRAN_SCORE]


def test_a_seat_feeding_the_rule_s_exact_tempo_under_a_decisive_operation_changes_nothing() -> None:
    """The seat's Balochistan tempo less the operation's extra gave the routine tempo 1 ulp
    off (0.09999999999999998 against 0.1)."""
    from sim.rules.pakistan import operation_intensity, recent_attacks

    knobs = {"base_intensity": 0.1}
    seated, ruled = Play("decisive_operation", 3, knobs), Play("decisive_operation", 3, knobs)
    for _ in range(30):
        m = seated.model
        coming = operation_intensity(
            m.week + 1,
            int(m.world.s[LEVEL]),
            recent_attacks(m.world, m.compiled.pakistan.reaction_weeks),
            m.compiled.pakistan,
        )
        take_seat(m, "pakistan", {**current_choices(m, "pakistan"), "intensity": float(coming)})
        seated.step()
        ruled.step()
        assert _bytes(seated.model) == _bytes(ruled.model), m.week  # every week


@pytest.mark.parametrize("weeks", [1, 8])
def test_a_pakistan_seat_that_follows_the_rule_answers_the_rule_s_window_of_attacks(
    weeks: int,
) -> None:
    """helper-175: the seat's week counted the attacks of the last 4 weeks whatever
    ``pakistan.reaction_weeks`` said (the page's preview did not), so a seat leaving every
    control to the rule ran another tempo at 1 or 8 weeks (week 3 at 1: 0.60, the rule 0.55)."""
    from sim.config import with_overrides
    from sim.params import ModelParams
    from sim.workshop.seats import activate

    p = with_overrides(ModelParams(), {"pakistan.reaction_weeks": weeks})
    ruled, seated = CrisisModel(p, weeks=30, seed=3), CrisisModel(p, weeks=30, seed=3)
    take_seat(seated, "pakistan", {}, active=False)
    activate(seated, "pakistan")  # the seat is taken; every control follows the rule
    for _ in range(30):
        ruled.step()
        seated.step()
        assert _bytes(seated) == _bytes(ruled), seated.week


def test_ticking_the_joint_box_the_rule_already_shows_changes_nothing() -> None:
    """In joint_operation the page shows the joint box ticked (China orders it); a reviewer
    found that confirming it stopped the rule's weekly chance of yielding troops (seed 2:
    the rule yields at week 26, the room never did; Chinese killed 25 against 17)."""
    room = Room("joint_operation", 2, code="ABCDE")
    pak = room.join("ABCDE", "pakistan", "P")
    assert room.choices("pakistan")["joint_operations"] is True
    room.decide(pak.token, "joint_operations", True)
    alone = Play("joint_operation", 2)
    for _ in range(104):
        room.step()
        alone.step()
    assert alone.model.world.s[TROOPS] == 1.0  # the rule yielded
    assert _bytes(room.play.model) == _bytes(alone.model)
    room.hand_back(pak.token)  # the rule's memory comes back: still yielded
    assert room.play.model.world.s[JOINT] == alone.model.world.s[JOINT]
    early = Room("baseline", 2, code="ABCDE")  # joint operations before Pakistan yielded
    pak = early.join("ABCDE", "pakistan", "P")
    early.decide(pak.token, "joint_operations", True)
    early.step()
    assert early.play.model.world.s[JOINT] == 1.0
    early.hand_back(pak.token)  # the rule decides again: it has not yielded
    assert early.play.model.world.s[JOINT] == 0.0


def test_an_investor_seat_that_chooses_the_rule_s_choice_changes_nothing() -> None:
    """A reviewer found the seat freezing the firm's count of bad months: Century Steel,
    baseline seed 0, pauses at week 8 and withdraws at week 12 by its rule; a seat that chose
    "paused" for week 8, then handed back, withdrew at week 16."""
    room = Room("baseline", 0, code="ABCDE")
    firm = room.join("ABCDE", "investor", "F")
    alone = Play("baseline", 0)
    states = []
    for week in range(1, 25):
        if week == 8:
            room.decide(firm.token, "choice", "paused")  # acts at week 8's decision
        room.step()
        alone.step()
        if week == 8:
            room.hand_back(firm.token)
        states.append(investor_agent(alone.model, "century_steel").state)
    assert states[7] == "paused" and states[11] == "withdrawn"  # the rule's own choices
    assert _bytes(room.play.model) == _bytes(alone.model)


def test_fork_stars_hold_after_holm_s_correction_and_need_two_replicates() -> None:
    """Six outcomes tested one by one starred a quarter of tables of identical settings."""
    from sim.workshop.play import differences

    rng = np.random.default_rng(5)
    a = {c: list(rng.normal(0, 1, 60)) for c in "uvwxyz"}
    b = {c: list(rng.normal(0, 1, 60)) for c in "uvwxyz"}
    b["z"] = [v + 1.5 for v in b["z"]]
    d = differences(a, b, list("uvwxyz"))
    assert [d[c]["clear"] for c in "uvwxyz"] == [False] * 5 + [True]
    play = Play("baseline", 1, weeks=20)
    play.step()
    play.fork({})
    with pytest.raises(PlayError, match="from 2 to"):
        play.replicates(1)


def test_investor_seat_obeys_the_hold_and_withdrawal_is_final() -> None:
    room = Room("baseline", 2, code="ABCDE", investor="power")  # a state firm
    firm = room.join("ABCDE", "investor", "F")
    china = room.join("ABCDE", "china", "C")
    room.decide(china.token, "stance", "investment hold")
    room.decide(firm.token, "choice", "investing")
    for _ in range(8):
        room.step()
    assert room.play.model.investors[0].state == "paused"  # the hold binds state firms
    room.decide(firm.token, "choice", "withdrawn")
    for _ in range(4):
        room.step()
    with pytest.raises(RoomError, match="withdrawal is final"):
        room.decide(firm.token, "choice", "investing")


def test_markup_in_a_name_cannot_break_the_exported_page() -> None:
    from sim.workshop.export import export_html

    room = Room("baseline", 0, code="ABCDE")
    holder = room.join("ABCDE", "pakistan", "<!--<script>")
    room.decide(holder.token, "intensity", 0.5)
    room.step()
    page = export_html(room.play, room.decisions)
    data = page.split('id="cpec-data">', 1)[1].split("</script>", 1)[0]
    assert "<" not in data
    assert json.loads(data)["decisions"][0]["participant"] == "<!--<script>"
    assert page.count("<script") == 3


def test_malformed_requests_get_an_error_and_the_socket_lives_on() -> None:
    room = Room("baseline", 0, code="ABCDE")
    with _client(room) as client:
        with client.websocket_connect("/ws") as ws:
            ws.send_json({"type": "join", "room": "ABCDE", "seat": ["pakistan"], "name": "x"})
            assert "unknown seat" in ws.receive_json()["message"]
        with client.websocket_connect("/ws") as ws:
            ws.send_json({"type": "solo", "seed": 1})
            ws.receive_json()
            for bad in ({"type": "fork", "knobs": "x"}, {"type": "reset", "knobs": [1]}):
                ws.send_json(bad)
                assert "knobs must be an object" in ws.receive_json()["message"]
            ws.send_json({"type": "step"})
            assert ws.receive_json()["deltas"][0][0]["week"] == 1
        with client.websocket_connect("/ws") as f:
            f.send_json({"type": "facilitate", "key": room.facilitator_key})
            assert f.receive_json()["type"] == "hello"
            f.send_json({"type": "free", "seat": "observer"})
            msg = f.receive_json()
            while msg["type"] == "room":
                msg = f.receive_json()
            assert "only a playable seat" in msg["message"]


def test_a_participant_sees_only_their_own_seats_choices() -> None:
    room = Room("baseline", 0, code="ABCDE")
    with (
        _client(room) as client,
        client.websocket_connect("/ws") as a,
        client.websocket_connect("/ws") as b,
    ):
        a.send_json({"type": "join", "room": "ABCDE", "seat": "pakistan", "name": "A"})
        a.receive_json()
        b.send_json({"type": "join", "room": "ABCDE", "seat": "china", "name": "B"})
        b.receive_json()
        b.send_json({"type": "decide", "control": "stance", "value": "investment hold"})
        status = b.receive_json()
        while status["type"] != "room":
            status = b.receive_json()
        seen = {k: v["choices"] for k, v in status["seats"].items() if v["choices"]}
        assert list(seen) == ["china"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--port", "x"], "--port='x' is not allowed"),
        (["--port"], "--port needs a value"),
        (["--scenario", "nope"], "unknown scenario 'nope'"),
        (["--code", "I1O"], "--code='I1O' is not allowed"),
        (["--results", "/etc"], "is a system folder"),
        # a stranger: a file was accepted, and the debrief failed at the session's end
        (["--results", "README.md"], "--results=README.md: is a file"),
        (["--seed", "-1"], "--seed=-1 is out of range: allowed 0 to 9223372036854775807"),
        (["--investor", "acme"], "no investor 'acme'"),
        (["--interval", "0"], "--interval=0.0 is out of range"),
        (["--join-url", "ftp://x"], "give an http:// address"),
        (["--join-url", "http://"], "give an http:// address with a host"),  # helper-184
        (["--join-url", "http://:8765"], "give an http:// address with a host"),
        (["--join-url", "http://host:abc"], "give an http:// address with a host"),
        (["--join-url", "http://host:99999"], "give an http:// address with a host"),
        (["--join-url", "http://h o st/"], "give an http:// address with a host"),
        (["--bogus", "1"], "unknown argument '--bogus'"),
    ],
)
def test_workshop_command_refuses_bad_options_in_one_line(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from sim.workshop.cli import workshop_command

    assert workshop_command(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0], err


def test_replicates_from_the_start_are_the_first_replicates_of_the_run_command(
    tmp_path: Path,
) -> None:
    from sim.runner import RunSpec, run

    play = Play("chinese_troops", 4, knobs={"base_intensity": 0.5}, weeks=20)
    res = play.replicates(6)["branches"][0]["values"]
    spec = RunSpec(
        params=play.model.params, scenario="chinese_troops", replicates=6, seed=4, weeks=20, jobs=1
    )
    assert run(spec, tmp_path / "run", progress=None).status == "complete"
    summary = pd.read_parquet(tmp_path / "run" / "summary.parquet")
    for outcome in ("attacks_total", "chinese_killed", "capital_deployed_final"):
        assert res[outcome] == summary[outcome].astype(float).tolist(), outcome
    # each replicate draws its own starting world: the investors' frictions differ
    assert len(set(summary["capital_deployed_final"])) > 1


def _debrief_over_socket(client: TestClient, room: Room) -> list[dict]:
    """The facilitator's messages from pressing Debrief (20 replicates) to its answer."""
    with client.websocket_connect("/ws") as f:
        f.send_json({"type": "facilitate", "key": room.facilitator_key})
        assert f.receive_json()["type"] == "hello"
        f.receive_json()  # the room's status
        f.send_json({"type": "debrief", "n": 20})
        got = [f.receive_json()]
        while got[-1]["type"] not in ("debrief", "error"):
            got.append(f.receive_json())
        return got


def test_a_debrief_never_overwrites_another_sessions_run_and_a_failure_stays_shown(
    tmp_path: Path,
) -> None:
    options = Options(cull_after=0.0, results=tmp_path)
    first = Room("chinese_troops", 2, code="RMA")
    later = Room("baseline", 1, code="RMA")  # the same code, another session
    results = []
    for room in (first, later):
        for _ in range(12):
            room.step()
        with TestClient(create_app(options, room)) as client:
            results.append(_debrief_over_socket(client, room)[-1])
    assert [r["type"] for r in results] == ["debrief", "debrief"], results
    a, b = (Path(r["result"]["played"]) for r in results)
    assert a.parent != b.parent and a.parent.name.startswith("RMA-")
    a_bytes = (a / "summary.parquet").read_bytes()
    assert json.loads((a / "manifest.json").read_text())["scenario"] == "chinese_troops"
    # a folder that holds another session's files is refused before anything is written,
    # and the refusal comes after the room's status (which would otherwise replace it)
    clash = Room("baseline", 1, code="RMA")
    for _ in range(12):
        clash.step()
    shutil.copytree(a.parent, clash.debrief_folder(tmp_path))
    with TestClient(create_app(options, clash)) as client:
        got = _debrief_over_socket(client, clash)
    assert got[-1]["type"] == "error" and got[-1]["job"] == "debrief"
    assert "another session" in got[-1]["message"]
    assert got[-2]["type"] == "room" and got[-2]["busy"] == ""
    assert (a / "summary.parquet").read_bytes() == a_bytes
    kept = clash.debrief_folder(tmp_path) / "played"
    assert (kept / "summary.parquet").read_bytes() == a_bytes


def _exported(client: TestClient, token: str) -> dict:
    page = client.get(f"/export?token={token}").text
    return json.loads(page.split('id="cpec-data">', 1)[1].split("</script>", 1)[0])


def _exported_decisions(client: TestClient, token: str) -> list[dict]:
    return _exported(client, token)["decisions"]


def test_a_participants_export_holds_only_their_own_seats_decisions() -> None:
    room = Room("baseline", 0, code="ABCDE")
    pak = room.join("ABCDE", "pakistan", "Amina")
    china = room.join("ABCDE", "china", "Chen")
    watcher = room.join("ABCDE", "observer", "Olu")
    room.decide(pak.token, "intensity", 0.8)
    room.decide(china.token, "stance", "investment hold")
    with _client(room) as client:
        seen = {
            who: [(d["seat"], d["participant"]) for d in _exported_decisions(client, t)]
            for who, t in [("pak", pak.token), ("china", china.token), ("obs", watcher.token)]
        }
        everything = _exported_decisions(client, room.facilitator_key)
    assert seen == {"pak": [("pakistan", "Amina")], "china": [("china", "Chen")], "obs": []}
    assert len(everything) == 2
    with _client(room) as client:  # each export says which decisions it holds
        notes = {t: _exported(client, t)["decisions_note"] for t in (pak.token, watcher.token)}
        assert "Pakistan's decisions only" in notes[pak.token]
        assert "observer's export holds no seat's decisions" in notes[watcher.token]
        assert (
            _exported(client, room.facilitator_key)["decisions_note"] == "Every seat's decisions."
        )


def test_only_the_facilitator_s_export_holds_the_room_s_replicates_table() -> None:
    """A stranger found the facilitator's fork replicates in a participant's export, a table
    the room's participants never saw on their pages."""
    room = Room("baseline", 0, code="ABCDE")
    pak = room.join("ABCDE", "pakistan", "Amina")
    for _ in range(3):
        room.step()
    room.fork({"collateral_per_militant": 0.5})
    room.replicates(2)  # kept as the play's last replicates
    with _client(room) as client:
        assert _exported(client, pak.token)["view"]["replicates"] is None
        assert _exported(client, room.facilitator_key)["view"]["replicates"] is not None
    page = export_html(room.play, room=True)
    assert "<title>CPEC crisis workshop room: baseline" in page


def test_an_address_keeps_its_good_settings_and_says_which_fell_back() -> None:
    with _client() as client, client.websocket_connect("/ws") as ws:
        ws.send_json(
            {"type": "solo", "scenario": "iran_border", "seed": "4", "knobs": {"fbclid": "IwAR0"}}
        )
        hello = ws.receive_json()
        assert (hello["view"]["scenario"], hello["view"]["seed"]) == ("iran_border", "4")
        assert hello["notices"] == []  # a link's tracking tag is ignored without a word
    with _client() as client, client.websocket_connect("/ws") as ws:
        knobs = {"base_intensity": 7, "collateral_per_militant": 1.5, "utm_source": "x"}
        ws.send_json({"type": "solo", "scenario": "iran_border", "seed": "-5", "knobs": knobs})
        hello = ws.receive_json()
        view = hello["view"]
        assert (view["scenario"], view["seed"]) == ("iran_border", "0")
        knobs_now = view["branches"][0]["knobs"]
        assert knobs_now["collateral_per_militant"] == 1.5
        assert knobs_now["base_intensity"] == Play("iran_border").start_knobs["base_intensity"]
        assert len(hello["notices"]) == 2
        assert "seed -5 is out of range" in hello["notices"][0] and "seed 0" in hello["notices"][0]
        assert "base_intensity=7 is out of range" in hello["notices"][1]


def test_an_address_name_meant_as_a_setting_is_named_and_not_used() -> None:
    from sim.workshop.play import settings_from_address

    knobs = {"base_intesity": 0.9, "weeks": 52, "pakistan.base_intensity": 0.5, "fbclid": "x"}
    _, _, values, notices = settings_from_address("baseline", 3, knobs)
    assert values == {}
    assert len(notices) == 3 and not any("fbclid" in n for n in notices)
    assert "'base_intesity'" in notices[0] and "did you mean base_intensity?" in notices[0]
    assert "'weeks'" in notices[1] and "settings: accept_chinese_troops" in notices[1]
    assert "did you mean base_intensity?" in notices[2]
    # other letter case, and the scenario and seed the page reads itself
    odd = {"Seed": 7, "Scenario": "iran_border", "BASE_INTENSITY": 0.9, "sead": 9}
    _, seed, values, notices = settings_from_address("baseline", 3, odd)
    assert (seed, values) == (3, {})
    hints = ["did you mean seed?", "did you mean scenario?", "did you mean base_intensity?"]
    assert [n.split("; ")[-1] for n in notices] == [*hints, "did you mean seed?"]
    # a scenario in another letter case is that scenario; a long name is cut; many names give
    # five notices and a count
    assert settings_from_address("Iran_Border", 1, {})[0] == "iran_border"
    (notice,) = settings_from_address("x" * 3000, 1, {})[3]
    assert len(notice) < 300 and notice.startswith("unknown scenario 'xxx") and "..." in notice
    many = {f"base_intensit{i}": 1 for i in range(10)} | {"weeks": 1}
    notices = settings_from_address("baseline", 1, many)[3]
    assert len(notices) == 6 and notices[-1].startswith("and ")


def test_a_tab_resuming_its_run_still_names_an_address_meant_as_a_setting() -> None:
    with TestClient(create_app(Options(cull_after=30.0))) as client:
        with client.websocket_connect("/ws") as ws:
            ws.send_json({"type": "solo", "scenario": "baseline", "seed": "3"})
            token = ws.receive_json()["token"]
        with client.websocket_connect("/ws") as ws:
            ws.send_json({"type": "solo", "token": token, "knobs": {"base-intensity": 0.9}})
            hello = ws.receive_json()
            assert hello["token"] == token  # the tab's run, resumed
            assert (
                len(hello["notices"]) == 1 and "did you mean base_intensity?" in hello["notices"][0]
            )


def test_replicates_say_what_they_ran_and_where_the_finished_run_on_screen_landed() -> None:
    from sim.engine import run_replicate
    from sim.workshop.play import HEADLINE_OUTCOMES

    play = Play("baseline", 7, {"base_intensity": 0.5}, weeks=20)
    early = play.replicates(3)
    assert "played" not in early  # the run on screen has not finished
    assert early["settings"] == "scenario baseline, seed 7, base_intensity=0.5"
    while not play.finished:
        play.step()
    res = play.replicates(20)
    # the run on screen is the model at seed 7 itself, not one of the replicates
    own = run_replicate(play.start_params(), 20, 7).summary
    for c in HEADLINE_OUTCOMES:
        values = np.asarray(res["branches"][0]["values"][c])
        landed = res["played"][c]
        assert landed["played"] == own[c]
        below, equal = np.mean(values < own[c]), np.mean(values == own[c])
        assert landed["percentile"] == round(100 * (below + equal / 2), 1)
    # kept for the page (without each replicate's values) until a fork
    assert "played" not in play.replicates(19)  # too few to place it among
    play.replicates(20)
    kept = play.view()["replicates"]
    assert kept["played"] == res["played"] and "values" not in kept["branches"][0]
    assert kept["branches"][0]["outcomes"]["attacks_total"]["mean"] == pytest.approx(
        np.mean(res["branches"][0]["values"]["attacks_total"])
    )


def test_room_replicates_say_the_seats_decisions_are_not_in_them() -> None:
    room = Room("baseline", 0, code="ABCDE", weeks=6)
    holder = room.join("ABCDE", "pakistan", "P")
    room.decide(holder.token, "intensity", 0.5)
    while not room.play.finished:
        room.step()
    res = room.replicates(20)
    assert res["decided"] is True and "played" not in res


def test_a_fork_names_its_change_with_values_and_starts_without_replicates() -> None:
    from sim.workshop.export import export_html

    play = Play("baseline", 2, weeks=12)
    for _ in range(4):
        play.step()
    play.replicates(2)
    assert play.view()["replicates"] is not None
    play.fork({"base_intensity": 0.9})
    assert play.branches[1].label == "B: changed: base_intensity 0.3 → 0.9"
    assert play.view()["replicates"] is None
    res = play.replicates(4)
    page = export_html(play)
    data = json.loads(page.split('id="cpec-data">', 1)[1].split("</script>", 1)[0])
    shown = data["view"]["replicates"]
    assert shown["difference"] == res["difference"] and len(shown["branches"]) == 2


def test_a_tab_that_opens_another_link_runs_that_links_settings() -> None:
    def connect(client: TestClient, **first: object) -> dict:
        with client.websocket_connect("/ws") as ws:
            ws.send_json({"type": "solo", **first})
            hello = ws.receive_json()
            ws.send_json({"type": "step", "n": 2})
            ws.receive_json()
            return hello

    def started(hello: dict) -> tuple:
        v = hello["view"]
        return v["scenario"], int(v["seed"]), len(v["branches"][0]["history"])

    with TestClient(create_app(Options(cull_after=30.0))) as client:
        token = connect(client, scenario="baseline", seed="3")["token"]
        again = connect(client, token=token, scenario="baseline", seed="3")  # a reload
        assert started(again) == ("baseline", 3, 2)
        bare = connect(client, token=token, knobs={"fbclid": "x"})  # names no setting
        assert started(bare) == ("baseline", 3, 4)
        other = connect(client, token=token, scenario="chinese_troops", seed="7")
        assert started(other) == ("chinese_troops", 7, 0) and other["token"] != token
        # the tab whose token the link's tab carried (a duplicated tab) keeps its run
        assert started(connect(client, token=token, scenario="baseline", seed="3"))[2] == 6
        knob = connect(
            client,
            token=other["token"],
            scenario="chinese_troops",
            seed="7",
            knobs={"base_intensity": 0.5},
        )
        assert started(knob) == ("chinese_troops", 7, 0)
        assert knob["view"]["branches"][0]["knobs"]["base_intensity"] == 0.5


def test_a_freed_participant_is_told_and_a_stale_seat_says_how_to_rejoin() -> None:
    room = Room("baseline", 0, code="ABCDE")
    with _client(room) as client, client.websocket_connect("/ws") as a:
        a.send_json({"type": "join", "room": "ABCDE", "seat": "pakistan", "name": "Amina"})
        token = a.receive_json()["token"]
        with client.websocket_connect("/ws") as f:
            f.send_json({"type": "facilitate", "key": room.facilitator_key})
            f.receive_json()
            f.send_json({"type": "free", "seat": "pakistan"})
            f.receive_json()  # the room's status: the seat is free
            a.send_json({"type": "decide", "control": "intensity", "value": 0.5})
            msg = a.receive_json()
            while msg["type"] == "room":
                msg = a.receive_json()
        assert msg["type"] == "freed" and msg["code"] == "ABCDE"
        assert "The facilitator freed your Pakistan seat" in msg["message"]
        assert "join again" in msg["message"]
        with client.websocket_connect("/ws") as again:  # a page that missed it reloads
            again.send_json({"type": "join", "token": token})
            refused = again.receive_json()
        assert refused["type"] == "refused" and "freed your Pakistan seat" in refused["message"]
        with client.websocket_connect("/ws") as stale:
            stale.send_json({"type": "join", "token": "from-an-earlier-room"})
            assert "room was restarted" in stale.receive_json()["message"]


def test_a_seed_above_two_to_the_53_reaches_the_page_exactly() -> None:
    seed = 2**53 + 1  # a JavaScript number would turn it into 2**53
    with _client() as client, client.websocket_connect("/ws") as ws:
        ws.send_json({"type": "solo", "seed": str(seed)})
        assert json.loads(ws.receive_text(), parse_int=float)["view"]["seed"] == str(seed)


# --- a reviewer's sandbox findings (2 December 2026) ----------------------------------------
def _export_view(client: TestClient, token: str) -> dict:
    page = client.get(f"/export?token={token}")
    assert page.status_code == 200, page.text
    return json.loads(page.text.split('id="cpec-data">', 1)[1].split("</script>", 1)[0])["view"]


def test_a_duplicated_tab_gets_a_copy_of_the_run_and_the_two_go_on_separately() -> None:
    """A duplicated tab carries the open tab's token: the two shared one run (a Reset in one
    replaced the other's run, each saw only the weeks it asked for) and closing the first
    dropped the run under the second."""
    import contextlib
    import time

    address = {"type": "solo", "scenario": "baseline", "seed": "3"}
    with TestClient(create_app(Options(cull_after=0.0))) as client, contextlib.ExitStack() as tabs:
        a = tabs.enter_context(client.websocket_connect("/ws"))
        a.send_json(address)
        token_a = a.receive_json()["token"]
        a.send_json({"type": "step", "n": 4})
        a.receive_json()
        b = tabs.enter_context(client.websocket_connect("/ws"))
        b.send_json({**address, "token": token_a})  # the duplicate
        hello = b.receive_json()
        token_b = hello["token"]
        assert token_b != token_a and len(hello["view"]["branches"][0]["history"]) == 4
        # an exact copy: both go on as the run would
        a.send_json({"type": "step", "n": 3})
        b.send_json({"type": "step", "n": 3})
        assert a.receive_json()["deltas"] == b.receive_json()["deltas"]
        b.send_json({"type": "reset", "scenario": "full_pressure", "seed": "5"})
        assert b.receive_json()["view"]["scenario"] == "full_pressure"
        a.send_json({"type": "step", "n": 1})
        a.receive_json()
        view_a = _export_view(client, token_a)
        assert (view_a["scenario"], view_a["seed"]) == ("baseline", "3")
        assert len(view_a["branches"][0]["history"]) == 8
        # the first tab closes (closed tabs' runs are dropped at once here): the second's stays
        a.close()
        deadline = time.monotonic() + 10
        while client.get(f"/export?token={token_a}").status_code == 200:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        b.send_json({"type": "step", "n": 1})
        assert b.receive_json()["type"] == "weeks"
        assert _export_view(client, token_b)["scenario"] == "full_pressure"


def test_a_tab_whose_run_was_dropped_is_told_so() -> None:
    import time

    with TestClient(create_app(Options(cull_after=0.0))) as client:
        with client.websocket_connect("/ws") as ws:
            ws.send_json({"type": "solo", "seed": "3"})
            token = ws.receive_json()["token"]
        deadline = time.monotonic() + 10
        while True:  # the server drops the closed tab's run once its close is handled
            with client.websocket_connect("/ws") as ws:
                ws.send_json({"type": "solo", "token": token})
                hello = ws.receive_json()
            if hello["token"] != token:
                break
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert any("earlier run is no longer on the server" in n for n in hello["notices"])
        assert "kept 0 s" in hello["notices"][0]


def test_json_nested_too_deeply_is_refused_in_one_line_and_the_socket_lives() -> None:
    app = create_app(Options(cull_after=0.0))
    with TestClient(app) as client, client.websocket_connect("/ws") as ws:
        ws.send_json({"type": "solo", "seed": "1"})
        ws.receive_json()
        ws.send_text("[" * 30_000 + "]" * 30_000)
        assert ws.receive_json() == {
            "type": "error",
            "message": "bad request: JSON nested too deeply",
        }
        ws.send_json({"type": "step", "n": 1})
        assert ws.receive_json()["type"] == "weeks"


def test_a_copied_play_goes_on_as_the_original_and_apart_from_it() -> None:
    play = Play("baseline", 11, weeks=30)
    for _ in range(5):
        play.step()
    play.fork({"base_intensity": 0.9})
    twin = play.copy()
    for _ in range(6):
        assert play.step() == twin.step()
    twin.step()
    assert (play.week, twin.week) == (11, 12)
    assert twin.fork_snapshots[0] is not play.fork_snapshots[0]
    # replicates start from the fork's snapshots, which the copy holds as they were
    assert play.replicates(4)["difference"] == twin.replicates(4)["difference"]


def test_the_patience_chart_draws_where_china_steps_back_down() -> None:
    from sim.workshop.play import static_view

    model = Play("baseline", 0, weeks=10).model
    c = model.params.china
    view = static_view(model)
    assert view["ladder_down"] == pytest.approx(
        [
            c.pressure_below + c.hysteresis,
            c.hold_below + c.hysteresis,
            c.demand_below + c.hysteresis,
        ]
    )
    assert c.hysteresis > 0  # else the dashed lines would sit on the bands' edges


def test_the_classic_page_refuses_a_seed_cpec_sim_run_would_refuse() -> None:
    from sim.config import MAX_SEED
    from sim.dashboard.model import parse_seed

    assert parse_seed(str(MAX_SEED)) == (MAX_SEED, "")
    seed, notice = parse_seed(str(MAX_SEED + 1))
    assert seed == 0 and "above the largest" in notice


def test_a_host_that_is_not_this_machines_is_named_as_the_problem() -> None:
    from sim.commands import UsageError
    from sim.dashboard.cli import check_port

    with pytest.raises(UsageError, match=r"--host=192\.0\.2\.1 is not an address of this machine"):
        check_port("192.0.2.1", 0)  # TEST-NET-1: never a local address


def test_a_fork_that_changes_nothing_shows_two_identical_branches() -> None:
    """Found with the duplicated tab: branch B's fighters (and target shares) were read
    through views that the fork's copy had made arrays of their own, so they stood still at
    the fork's week while A's moved (3,330 for ever against A's 3,336, 3,344, ...)."""
    play = Play("baseline", 3, weeks=30)
    for _ in range(4):
        play.step()
    play.fork({})
    for _ in range(6):
        a, b = play.step()
        assert a == b
    model_a, model_b = (branch.model for branch in play.branches)
    for ga, gb in zip(model_a.groups, model_b.groups, strict=True):
        assert ga.fighters == gb.fighters and ga.cells.counts == gb.cells.counts
        assert np.array_equal(ga.target_shares(), gb.target_shares())


@pytest.mark.parametrize("stop", ["SIGTERM", "SIGINT"])
def test_the_dashboard_says_where_to_open_once_it_listens_and_stops_cleanly(
    tmp_path: Path, stop: str
) -> None:
    """A reviewer: the address was printed (and the browser opened) ~80 s before the port
    listened on a first run, and SIGTERM ended the server with code 143 and no "Stopped.".
    Ctrl-C, the way a server is stopped, ended it with 130 and "interrupted (re-run the same
    command to resume)" (a Ctrl-C that a command returning 0 had not reported)."""
    import signal
    import socket
    import subprocess
    import sys
    import time
    import urllib.request

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    log = tmp_path / "server.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "sim.cli", "dashboard", "--port", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
            # Ctrl-C's default action, as in a terminal (a background job inherits it ignored)
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )
    try:
        deadline = time.monotonic() + 90
        while "Dashboard: open" not in log.read_text():
            assert proc.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.05)
        # printed once the server listens: the page answers at once
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as page:
            assert page.status == 200
        proc.send_signal(getattr(signal, stop))
        assert proc.wait(timeout=20) == 0, log.read_text()
    finally:
        if proc.poll() is None:
            proc.kill()
    assert log.read_text().rstrip().endswith("Stopped.")
    assert "interrupted" not in log.read_text()


def test_a_reload_during_replicates_keeps_the_run_and_gets_the_result() -> None:
    """A re-check: a reload while replicates ran was taken for a duplicated tab (the old
    socket still counted as open), got a copy, and the result went to the dead socket. The
    reloaded page gets the result as a message, or in its hello if the replicates finished
    before it connected (a fresh clone's CI, loaded, waited for the message forever)."""
    app = create_app(Options(cull_after=30.0))
    with TestClient(app) as client, client.websocket_connect("/ws") as a:
        a.send_json({"type": "solo", "scenario": "baseline", "seed": "3"})
        token = a.receive_json()["token"]
        a.send_json({"type": "step", "n": 10})
        a.receive_json()
        a.send_json({"type": "replicates", "n": 40})
        with client.websocket_connect("/ws") as b:  # the reloaded page; a not yet closed
            b.send_json({"type": "solo", "token": token, "duplicate": False})
            hello = b.receive_json()
            assert hello["token"] == token
            if hello["view"]["replicates"] is None:  # still running as it connected
                assert b.receive_json()["type"] == "replicates"
        assert a.receive_json()["type"] == "replicates"


def test_a_page_that_says_it_is_a_duplicate_gets_a_copy() -> None:
    with TestClient(create_app(Options(cull_after=30.0))) as client:
        with client.websocket_connect("/ws") as a:
            a.send_json({"type": "solo", "seed": "3"})
            token = a.receive_json()["token"]
        with client.websocket_connect("/ws") as b:
            b.send_json({"type": "solo", "token": token, "duplicate": True})
            assert b.receive_json()["token"] != token
        with client.websocket_connect("/ws") as c:  # a reload of the first
            c.send_json({"type": "solo", "token": token, "duplicate": False})
            assert c.receive_json()["token"] == token


def test_results_with_a_tilde_is_the_home_folder_checked_and_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A reviewer: --results=~/x (the shell leaves ~ after =) was checked as the home folder's
    x but written to ./~/x by the debrief."""
    from sim.workshop.cli import workshop_settings

    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    (tmp_path / "home").mkdir()
    monkeypatch.chdir(tmp_path)
    *_, options = workshop_settings(["--results", "~/debriefs"])
    assert options.results == tmp_path / "home" / "debriefs"


def test_a_ctrl_c_that_the_warm_up_dropped_stops_the_server(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A reviewer's `kill -INT` while the model warmed up was raised inside Numba's cache
    loading, printed as "Exception ignored", and the server went on serving."""
    import uvicorn

    import sim.workshop.server as server_module
    from sim.commands import noting_interrupts
    from sim.workshop.cli import serve

    def warm_up_that_drops_the_interrupt(options: Any, room: Any = None) -> object:
        try:
            signal.raise_signal(signal.SIGINT)
            time.sleep(1)
        except KeyboardInterrupt:
            pass  # what a library's callback does with it
        return object()

    def must_not_serve(self: Any) -> None:
        raise AssertionError("the server started after a Ctrl-C")

    monkeypatch.setattr(server_module, "create_app", warm_up_that_drops_the_interrupt)
    monkeypatch.setattr(uvicorn.Server, "serve", must_not_serve)
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with noting_interrupts():
            assert serve("127.0.0.1", 0, server_module.Options()) == 0
    finally:
        signal.signal(signal.SIGINT, previous)
    assert capsys.readouterr().out.strip().endswith("Stopped.")


def test_where_it_landed_says_how_many_runs_were_lower_equal_and_higher() -> None:
    """A stranger's room had 0 Chinese killed, the best possible value, shown as the '26th
    percentile' because 52% of replays tied: the shares make the ties visible."""
    from sim.workshop.play import where_it_landed

    replays = np.array([0.0] * 52 + [3.0] * 48)
    landed = where_it_landed(0.0, replays)
    assert landed["percentile"] == 26.0
    assert (landed["below"], landed["equal"], landed["above"]) == (0.0, 52.0, 48.0)
    assert where_it_landed(5.0, replays)["above"] == 0.0


def test_a_join_address_without_a_path_is_the_room_s_joining_page() -> None:
    """helper-183: ``--join-url http://host:8765`` sent participants (and the QR code) to the
    sandbox at ``/``, where a room code is ignored: they had no seat."""
    from sim.workshop.cli import joining_page, workshop_settings

    assert joining_page("http://10.0.0.5:8765") == "http://10.0.0.5:8765/join"
    assert joining_page("http://10.0.0.5:8765/") == "http://10.0.0.5:8765/join"
    assert joining_page("https://proxy.example/cpec/join") == "https://proxy.example/cpec/join"
    assert joining_page("") == ""
    options = workshop_settings(["--join-url", "http://10.0.0.5:8765"])[3]
    assert options.join_url == "http://10.0.0.5:8765/join"
    assert workshop_settings(["--join-url", "HTTP://h:1/join"])[3].join_url == "HTTP://h:1/join"
    from sim.workshop.server import with_room_code  # the QR code's address keeps the code

    assert with_room_code("http://h:1/join?x=1#top", "ABC") == "http://h:1/join?x=1&room=ABC#top"
    assert with_room_code("http://h:1/join?room=OLD", "ABC") == "http://h:1/join?room=ABC"


def test_a_whole_number_control_refuses_a_fraction_and_the_clock_an_unknown_action() -> None:
    """helper-183: 30000.7 guards became 30000, and ``{"action": "fly"}`` passed in silence."""
    from sim.workshop.seats import SEATS

    guards = next(c for c in SEATS["pakistan"].controls if c.kind == "int")
    with pytest.raises(ValueError, match="is not a whole number"):
        guards.check(guards.lo + 0.7)
    assert guards.check(float(guards.lo)) == guards.lo
    room = Room("baseline", 0, code="ABCDE")
    with _client(room) as client, client.websocket_connect("/ws") as f:
        f.send_json({"type": "facilitate", "key": room.facilitator_key})
        f.receive_json()
        f.send_json({"type": "clock", "action": "fly"})
        f.send_json({"type": "no such request"})  # an error follows whatever the clock did
        msg = f.receive_json()
        while msg["type"] != "error":
            msg = f.receive_json()
        assert "unknown clock action 'fly': play, pause, step" in msg["message"]
