"""The teaching dashboard: its model, knobs, words, command line, and the app in a browser.

The browser test starts ``python -m sim.dashboard`` on a free port and drives Debian's
/usr/bin/chromium with Playwright (no browser download). It is skipped only when that browser
is missing and CPEC_REQUIRE_BROWSER is unset; CI sets CPEC_REQUIRE_BROWSER=1 so that a
missing browser fails instead.
"""

from __future__ import annotations

import contextlib
import inspect
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from sim.config import scenario_names, scenario_params
from sim.dashboard import cli as dash_cli
from sim.dashboard.knobs import (
    KNOB_BY_NAME,
    KNOBS,
    Knob,
    Panel,
    explanation,
    knob_help,
    label,
    param_info,
    reproduce_command,
    scenario_notes,
    scenario_values,
    slider_range,
    values_of,
)
from sim.dashboard.model import DashboardModel, describe_attack, parse_seed, short_group_name

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1", "[::1]"}


# --- the wrapper model ------------------------------------------------------------------------
def test_init_keywords_are_the_knobs() -> None:
    names = list(inspect.signature(DashboardModel.__init__).parameters)[1:]
    assert names == ["scenario_name", "seed", "weeks", *(k.name for k in KNOBS), "panel"]


def test_overrides_are_applied_and_the_rest_is_the_scenario() -> None:
    m = DashboardModel(
        scenario_name="reform_and_development",
        seed=3,
        chinese_troop_protection=0.9,
        accept_chinese_troops=True,
        iran_posture="hostile",
        base_intensity=0.30000000000000004,  # slider float noise
    )
    p = m.params
    assert p.attacks.chinese_troop_protection == 0.9
    assert p.pakistan.accept_chinese_troops is True
    assert p.iran.initial_posture == "hostile"
    assert p.pakistan.base_intensity == 0.3
    # untouched knobs keep the scenario's values
    assert p.investors.friction_scale == 0.3
    assert p.legitimacy.local_benefit_share == 0.25
    assert m.seed == 3 and m.scenario_name == "reform_and_development"
    assert m.pakistan.chinese_troops  # the model acts on the override


def test_no_knobs_is_exactly_the_scenario() -> None:
    for name in scenario_names():
        m = DashboardModel(scenario_name=name)
        assert values_of(m.params) == values_of(scenario_params(name))


def test_two_models_are_independent() -> None:
    a = DashboardModel(seed=1)
    b = DashboardModel(seed=1, base_intensity=0.9)
    for _ in range(6):
        a.step()
    assert a.week == 6 and b.week == 0
    assert b.recorder.weekly["attacks"].sum() == 0 and len(b.log) == 0
    assert a.params is not b.params and a.params.pakistan.base_intensity == 0.3
    assert a.chinese_nationals is not b.chinese_nationals
    c = DashboardModel(seed=1)
    for _ in range(6):
        c.step()
    assert [ln.text for ln in c.log] == [ln.text for ln in a.log]  # same seed, same story


def test_model_stops_at_the_horizon() -> None:
    m = DashboardModel(weeks=3)
    for _ in range(5):
        m.step()
    assert m.week == 3 and not m.running


def test_bad_values_from_code_fall_back_with_a_notice() -> None:
    m = DashboardModel(scenario_name="iran_border", base_intensity=1.5)
    assert "pakistan.base_intensity=1.5 is out of bounds" in m.notice
    assert m.scenario_name == "iran_border" and m.params.pakistan.base_intensity == 0.3
    m = DashboardModel(scenario_name="no_such_scenario")
    assert "unknown scenario" in m.notice and m.scenario_name == "baseline"


@pytest.mark.parametrize(
    ("text", "seed", "notice"),
    [("7", 7, False), (" 12 ", 12, False), ("abc", 0, True), ("-4", 0, True), (5, 5, False)],
)
def test_seed_box(text: object, seed: int, notice: bool) -> None:
    value, message = parse_seed(text)
    assert value == seed and bool(message) is notice


# --- the event log in words ----------------------------------------------------------------
def test_attack_wording() -> None:
    assert (
        describe_attack(12, "Majeed Brigade", "chinese", "Karachi", 3, 3, True, False)
        == "week 12: Majeed Brigade attack on Chinese nationals in Karachi, 3 killed (all Chinese)"
    )
    assert (
        describe_attack(12, "Majeed Brigade", "chinese", "Karachi", 3, 1, True, False)
        == "week 12: Majeed Brigade attack on Chinese nationals in Karachi, 3 killed (1 Chinese)"
    )
    assert (
        describe_attack(
            4, "Balochistan Liberation Front", "security", "Kech (Turbat)", 2, 0, True, False
        )
        == "week 4: Balochistan Liberation Front attack on security forces in Kech (Turbat), "
        "2 killed"
    )
    assert describe_attack(5, "BLA", "infrastructure", "Gwadar", 0, 0, False, True) == (
        "week 5: BLA attack on infrastructure in Gwadar foiled by intelligence"
    )
    assert describe_attack(6, "BLA", "infrastructure", "Gwadar", 0, 0, True, False) == (
        "week 6: BLA attack on infrastructure in Gwadar, no one killed"
    )
    assert describe_attack(5, "BLA", "security", "Quetta", 0, 0, False, False) == (
        "week 5: BLA attack on security forces in Quetta failed"
    )
    assert short_group_name("Majeed Brigade (BLA)") == "Majeed Brigade"
    assert short_group_name("Jaish al-Adl") == "Jaish al-Adl"


def test_log_has_one_line_per_attack_and_the_decisions() -> None:
    m = DashboardModel(scenario_name="full_pressure", seed=2)
    for _ in range(16):
        m.step()
    attacks = [ln for ln in m.log if ln.kind in ("attack", "chinese")]
    assert len(attacks) == len(m.recorder.events["week"])
    assert all(ln.text.startswith(f"week {ln.week}: ") for ln in m.log)
    names = {g.name.split(" (")[0] for g in m.groups}
    assert all(any(ln.text.split(": ", 1)[1].startswith(n) for n in names) for ln in attacks)
    # China's freeze pauses the state firms in the first monthly decision
    assert any("pauses investment" in ln.text and ln.week == 4 for ln in m.log)


# --- knobs: labels and ranges from the declarations, and the command ---------------------------
def test_slider_ranges_and_labels_follow_the_parameter_declarations() -> None:
    for knob in KNOBS:
        info = param_info()[knob.path]
        assert info.doc and info.doc in explanation(knob.path)
        if info.type == "bool" or info.choices:
            continue
        lo, hi, step = slider_range(knob.path)
        assert info.bounds is not None
        assert info.bounds[0] <= lo < hi <= info.bounds[1]
        assert f"({info.unit})" in label(knob.path)
        assert label(knob.path, 0.25).endswith(f" = 0.25 ({info.unit})")
        for scenario in scenario_names():
            value = scenario_values(scenario)[knob.path]
            assert lo <= value <= hi
            steps = (value - lo) / step
            assert abs(steps - round(steps)) < 1e-6  # every scenario value sits on the grid


def _extremes(knob: Knob) -> tuple[object, object]:
    """A knob's two ends: off and on, hostile and cooperative, the slider's ends."""
    info = param_info()[knob.path]
    if info.type == "bool":
        return False, True
    if info.choices:
        return info.choices[0], info.choices[-1]
    lo, hi, _ = slider_range(knob.path)
    return lo, hi


def _run(scenario: str, overrides: dict[str, object], seed: int):  # type: ignore[no-untyped-def]
    from sim.engine import run_replicate

    return run_replicate(scenario_params(scenario, overrides), 104, seed)


def _same_run(a, b) -> bool:  # type: ignore[no-untyped-def]
    import numpy as np

    weekly = all(np.array_equal(a.weekly[k], b.weekly[k]) for k in a.weekly)
    return weekly and a.summary == b.summary and np.array_equal(a.event_rows, b.event_rows)


def _foreign_role_seen(result) -> bool:  # type: ignore[no-untyped-def]
    """Chinese troops on guard, or joint operations, in some week."""
    weekly = result.weekly
    return bool(weekly["sites_guarded_by_troops"].any() or weekly["joint_operations"].any())


def _attack_on_guarded_chinese(result) -> bool:  # type: ignore[no-untyped-def]
    """An attack on Chinese nationals in a week when Chinese troops guard some site (wider
    than "at a guarded site": a run without one certainly has no such attack)."""
    weekly = result.weekly
    return bool(
        ((weekly["sites_guarded_by_troops"] > 0) & (weekly["attacks_on_chinese"] > 0)).any()
    )


#: For each knob that says it acts only under a condition: whether a run met it. A knob with
#: an "acts only when" note must be listed (and its note then checked by the test below).
_CONDITIONS = {
    "chinese_troop_protection": _attack_on_guarded_chinese,
    "foreign_troop_provocation": _attack_on_guarded_chinese,
    "public_trust_in_china": _foreign_role_seen,
    "patience_loss_per_death": lambda r: r.summary["chinese_killed"] > 0,
    "risk_aversion": lambda r: bool(r.weekly["attacks_on_chinese"].any()),
}


def test_a_knob_that_acts_only_under_a_condition_changes_nothing_without_it() -> None:
    """Its note is true: runs that never meet the condition are the same bit for bit at both
    ends of the slider, and some runs that meet it are not (so the check can fail). Runs of
    every scenario, eight seeds each."""
    conditional = [k for k in KNOBS if k.acts_when]
    assert {k.name for k in conditional} == {*_CONDITIONS, "local_benefit_share"}
    for knob in conditional:
        if knob.name not in _CONDITIONS:
            continue
        met = _CONDITIONS[knob.name]
        lo, hi = _extremes(knob)
        unmet = differ = 0
        for scenario in scenario_names():
            for seed in range(8):
                a = _run(scenario, {knob.path: lo}, seed)
                b = _run(scenario, {knob.path: hi}, seed)
                if not met(a) and not met(b):
                    unmet += 1
                    assert _same_run(a, b), (knob.name, scenario, seed)
                else:
                    differ += not _same_run(a, b)
        assert unmet >= 1, f"{knob.name}: no run without its condition"
        assert differ >= 1, f"{knob.name}: never acts, even where its condition is met"


def test_the_provocation_knob_undoes_the_troops_protection_as_its_note_says() -> None:
    """Its note: at 0 the troops protect; at the slider's top more Chinese nationals die with
    the troops than without them (baseline, 40 seeds each: means about 10, 7 and 27)."""
    import numpy as np

    knob = KNOB_BY_NAME["foreign_troop_provocation"]
    _, top, _ = slider_range(knob.path)

    def killed(scenario: str, value: float) -> float:
        return float(
            np.mean(
                [_run(scenario, {knob.path: value}, s).summary["chinese_killed"] for s in range(40)]
            )
        )

    baseline = killed("baseline", 0.0)
    assert killed("chinese_troops", 0.0) < baseline < killed("chinese_troops", top)


def test_hardship_relief_is_capped_where_capital_is_deployed() -> None:
    """local_benefit_share's note: relief only where capital is, at most the cap."""
    import numpy as np

    from sim.compiled import as_tuple
    from sim.params import LegitimacyParams
    from sim.society import relieved_hardship

    p = as_tuple(LegitimacyParams(local_benefit_share=1.0))
    base = np.array([0.8, 0.8, 0.8])
    out = relieved_hardship(base, np.array([0.0, 1.0, 1e6]), np.full(3, 1e5), p)
    assert out[0] == 0.8 and 0.8 * (1 - p.max_hardship_relief) < out[1] < 0.8
    assert out[2] == 0.8 * (1 - p.max_hardship_relief)


def test_every_knob_without_a_condition_changes_every_run() -> None:
    """No placebo among the sliders, and no run where one silently does nothing: each knob
    without an "acts only when" note changes every run between its two ends (eight seeds of
    every scenario; reviews found patience, then risk aversion, changing nothing in some runs
    while the page said nothing)."""
    for knob in KNOBS:
        if knob.acts_when:
            continue
        lo, hi = _extremes(knob)
        for scenario in scenario_names():
            for seed in range(8):
                a, b = _run(scenario, {knob.path: lo}, seed), _run(scenario, {knob.path: hi}, seed)
                assert not _same_run(a, b), (knob.name, scenario, seed)


def test_knob_help_and_scenario_notes_say_what_a_class_needs() -> None:
    for knob in KNOBS:
        text = knob_help(knob)
        assert knob.about in text and explanation(knob.path) in text
        assert (f"It acts {knob.acts_when}." in text) == bool(knob.acts_when)
    assert "0 to 1 0-1" not in explanation("pakistan.base_intensity")
    assert scenario_notes("baseline") == {}
    assert set(scenario_notes("iran_border")) == {"iran_posture"}  # posture held all run
    notes = scenario_notes("full_pressure")
    assert set(notes) == {"iran_posture", "patience_loss_per_death", "base_intensity"}
    assert "can only raise Pakistan's tempo" in notes["patience_loss_per_death"]
    assert "cannot bring" in scenario_notes("investment_freeze")["patience_loss_per_death"]
    assert "from about 0.6 up" in scenario_notes("decisive_operation")["base_intensity"]
    assert "from about 0.44 up" in scenario_notes("full_pressure")["base_intensity"]  # the hold
    # which is so: Balochistan's tempo is at its ceiling from there (seeds 0-3)
    for scenario, ceiling in (("decisive_operation", 0.6), ("full_pressure", 0.44)):
        for seed in range(4):
            weekly = _run(scenario, {"pakistan.base_intensity": ceiling}, seed).weekly
            assert (weekly["operation_intensity"] == 1.0).all()
    for scenario in scenario_names():
        values = scenario_values(scenario)
        assert ("iran_posture" in scenario_notes(scenario)) == values["iran.posture_fixed"]


def test_panel_loads_scenarios_and_feeds_reset() -> None:
    panel = Panel()
    assert panel.scenario == "baseline"
    assert panel.overrides() == {k.path: scenario_values("baseline")[k.path] for k in KNOBS}
    panel.load("chinese_troops")
    assert panel.values["accept_chinese_troops"] is True
    m = DashboardModel(seed="4", panel=panel)  # what SolaraViz's Reset does
    assert m.scenario_name == "chinese_troops" and m.seed == 4
    assert panel.pending(m.params) == []
    panel.set("chinese_troop_protection", 0.7000000000000001)
    assert panel.values["chinese_troop_protection"] == 0.7
    assert panel.pending(m.params) == ["chinese_troop_protection"]
    m2 = DashboardModel(seed=4, panel=panel)
    assert m2.params.attacks.chinese_troop_protection == 0.7
    assert panel.pending(m2.params) == []
    # a knob given by keyword wins over the panel
    assert DashboardModel(panel=panel, base_intensity=0.9).params.pakistan.base_intensity == 0.9


def test_wide_ranges_are_narrowed_to_a_usable_window() -> None:
    lo, hi, step = slider_range("investors.risk_aversion")  # declared 0-100, used near 1
    assert (lo, hi) == (0.0, 10.0) and step == 0.1
    assert slider_range("attacks.chinese_troop_protection") == (0.0, 1.0, 0.01)
    # 0 in every scenario, declared 0-100: the knob's own top
    assert slider_range("targeting.foreign_troop_provocation") == (0.0, 5.0, 0.01)


def test_reproduce_command_lists_only_changes_and_round_trips() -> None:
    m = DashboardModel(scenario_name="chinese_troops", seed=9, base_intensity=0.3)
    assert reproduce_command(m.scenario_name, m.seed, m.params) == (
        "cpec-sim run scenario=chinese_troops seed=9"
    )
    m = DashboardModel(
        scenario_name="chinese_troops",
        seed=9,
        public_trust_in_china=0.1,
        accept_chinese_troops=False,
        iran_posture="cooperative",
        risk_aversion=2.0,
    )
    command = reproduce_command(m.scenario_name, m.seed, m.params)
    assert command == (
        "cpec-sim run scenario=chinese_troops seed=9 investors.risk_aversion=2.0 "
        "iran.initial_posture=cooperative legitimacy.public_trust_in_china=0.1 "
        "pakistan.accept_chinese_troops=false"
    )
    overrides = {}
    for token in command.split()[4:]:
        key, value = token.split("=")
        overrides[key] = {"true": True, "false": False}.get(value, value)
        if key != "iran.initial_posture" and not isinstance(overrides[key], bool):
            overrides[key] = float(value)
    assert values_of(scenario_params("chinese_troops", overrides)) == values_of(m.params)


# --- the app without a browser (Solara's test renderer) ---------------------------------------
def test_app_scenario_choice_loads_its_values_and_reset_applies_sliders() -> None:
    solara = pytest.importorskip("solara")
    import ipyvuetify as v

    from sim.dashboard.app import Page

    @solara.component
    def Root() -> None:  # noqa: N802
        with solara.AppLayout():
            Page()

    _, rc = solara.render(Root(), handle_error=False)

    def slider(text: str) -> v.Slider:
        return next(w for w in rc.find(v.Slider).widgets if text in w.label)

    def html_text(marker: str) -> str:
        widgets = rc.find(solara.widgets.HTML).widgets
        return next(w.unsafe_innerHTML for w in widgets if marker in (w.unsafe_innerHTML or ""))

    def button(name: str) -> v.Btn:
        return next(w for w in rc.find(v.Btn).widgets if w.children == [name])

    assert "Week 0 of 104" in html_text("Week ")
    slider("troop protection").v_model = 0.7
    assert slider("troop protection").label == "Attacks: Chinese troop protection = 0.7 (fraction)"
    assert "Press <b>Reset</b>" in html_text("Changed: ")
    scenario = next(w for w in rc.find(v.Select).widgets if w.label == "Scenario")
    scenario.v_model = "chinese_troops"
    assert slider("troop protection").v_model == 0.5  # the scenario's value, not the old 0.7
    troops = next(w for w in rc.find(v.Checkbox).widgets if "accept Chinese troops" in w.label)
    assert troops.v_model is True
    button("Step").click()
    assert "Week 1 of 104" in html_text("Week ")
    slider("troop protection").v_model = 0.9
    button("Reset").click()
    assert "Week 0 of 104" in html_text("Week ")
    assert html_text("cpec-sim run") == (
        "cpec-sim run scenario=chinese_troops attacks.chinese_troop_protection=0.9"
    )


# --- the command line -----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["--port", "abc"], "expected a whole number"),
        (["--port=70000"], "out of range"),
        (["--port", "-1"], "out of range"),
        (["--port"], "needs a value"),
        (["--host="], "needs an address"),
        (["--bogus"], "unknown argument"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    argv: list[str], fragment: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert dash_cli.dashboard_command(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and fragment in err and "Traceback" not in err


def test_port_in_use_is_reported(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        assert dash_cli.dashboard_command(["--port", str(port)]) == 2
    assert "choose another --port" in capsys.readouterr().err


def test_defaults_and_server_command() -> None:
    assert dash_cli.parse_args([]) == ("127.0.0.1", 8765, False)
    assert dash_cli.parse_args(["--host", "0.0.0.0", "--port=9000", "--open"]) == (
        "0.0.0.0",
        9000,
        True,
    )
    cmd = dash_cli.server_command("127.0.0.1", 9000)
    assert cmd[cmd.index("--host") + 1] == "127.0.0.1" and "--production" in cmd
    assert "--no-check-version" in cmd and "--no-open" in cmd
    env = dash_cli.server_env()
    assert env["SOLARA_TELEMETRY_MIXPANEL_ENABLE"] == "False"
    assert env["SOLARA_ASSETS_PROXY"] == "True"
    assert urlsplit(env["SOLARA_ASSETS_CDN"]).hostname == "127.0.0.1"


# --- the app in a real browser ---------------------------------------------------------------
def _browser_or_skip() -> None:
    if CHROMIUM.exists():
        return
    if os.environ.get("CPEC_REQUIRE_BROWSER"):
        pytest.fail(
            f"{CHROMIUM} is missing and CPEC_REQUIRE_BROWSER is set (apt-get install chromium)"
        )
    pytest.skip(f"{CHROMIUM} is missing (set CPEC_REQUIRE_BROWSER=1 to make this a failure)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def _server(port: int, log: Path) -> Iterator[str]:
    url = f"http://127.0.0.1:{port}/"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "sim.dashboard", "--classic", "--port", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            deadline = time.monotonic() + 60
            while True:
                assert proc.poll() is None, f"server died:\n{log.read_text()}"
                try:
                    with urllib.request.urlopen(url, timeout=2) as response:
                        if response.status == 200:
                            break
                except OSError:
                    pass
                assert time.monotonic() < deadline, f"server not up in 60 s:\n{log.read_text()}"
                time.sleep(0.2)
            yield url
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def test_dashboard_in_a_browser_offline(tmp_path: Path) -> None:
    _browser_or_skip()
    from playwright.sync_api import expect, sync_playwright

    started = time.monotonic()
    urls: list[str] = []
    with _server(_free_port(), tmp_path / "server.log") as url, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": 1600, "height": 1000})
            context.on("request", lambda r: urls.append(r.url))
            page = context.new_page()
            page.on("websocket", lambda ws: urls.append(ws.url))
            page.goto(url)
            page.get_by_text("Week 0 of 104").wait_for(timeout=30_000)

            charts = page.locator("img.cpec-charts")
            before = charts.screenshot()
            for week in range(1, 6):
                page.get_by_role("button", name="Step").click()
                page.get_by_text(f"Week {week} of 104").wait_for(timeout=15_000)
            assert page.locator(".cpec-week").inner_text().startswith("Week 5 of 104")
            page.wait_for_timeout(300)
            assert charts.screenshot() != before, "the charts did not change after 5 weeks"
            assert page.locator(".cpec-log div").count() > 0

            thumb = page.locator(".v-input__slider", has_text="Chinese troop protection").locator(
                ".v-slider__thumb-container"
            )
            expect(thumb).to_have_attribute("aria-valuenow", "0.5", timeout=15_000)
            thumb.focus()
            for _ in range(20):
                page.keyboard.press("ArrowRight")
            expect(thumb).to_have_attribute("aria-valuenow", "0.7", timeout=15_000)
            # the server has the last key press before Reset is pressed
            page.get_by_text("Chinese troop protection → 0.7").wait_for(timeout=15_000)
            page.get_by_role("button", name="Reset").click()
            page.get_by_text("Week 0 of 104").wait_for(timeout=15_000)
            page.get_by_text("attacks.chinese_troop_protection=0.7").wait_for(timeout=15_000)
            assert page.locator(".cpec-command").inner_text() == (
                "cpec-sim run scenario=baseline attacks.chinese_troop_protection=0.7"
            )

            page.get_by_role("button", name="▶").click()
            page.get_by_role("button", name="❚❚").wait_for(timeout=15_000)  # playing
            # the clock passes week 3 (the page may draw weeks 2 and 4 without 3 between:
            # waiting for "Week 3" exactly failed about one run in four)
            page.wait_for_function(
                """() => { const m = /Week (\\d+) of 104/.exec(
                             document.querySelector('.cpec-week')?.textContent || '');
                           return m !== null && Number(m[1]) >= 3; }""",
                timeout=30_000,
            )
            page.get_by_role("button", name="❚❚").click()
            page.get_by_role("button", name="▶").wait_for(timeout=15_000)
            page.screenshot(path=str(tmp_path / "dashboard.png"))

            page.locator(".v-select", has_text="baseline").first.click()
            page.get_by_role("option", name="chinese_troops").click()
            page.get_by_text("Scenario chinese_troops").wait_for(timeout=15_000)
            page.get_by_text("Week 0 of 104").wait_for(timeout=15_000)
            # the scenario's own value (the slider re-renders after the week counter does)
            expect(thumb).to_have_attribute("aria-valuenow", "0.5", timeout=15_000)
            assert page.locator(".cpec-command").inner_text() == (
                "cpec-sim run scenario=chinese_troops"
            )
            page.get_by_role("button", name="Step").click()
            page.get_by_text("Week 1 of 104").wait_for(timeout=15_000)

            # A second browser session gets its own model.
            other = browser.new_context(viewport={"width": 1280, "height": 800})
            other.on("request", lambda r: urls.append(r.url))
            page2 = other.new_page()
            page2.on("websocket", lambda ws: urls.append(ws.url))
            page2.goto(url)
            page2.get_by_text("Week 0 of 104").wait_for(timeout=30_000)
            assert page2.locator(".cpec-command").inner_text() == ("cpec-sim run scenario=baseline")
            page2.get_by_role("button", name="Step").click()
            page2.get_by_text("Week 1 of 104").wait_for(timeout=15_000)
            page.wait_for_timeout(300)
            assert page.locator(".cpec-week").inner_text().startswith("Week 1 of 104")
        finally:
            browser.close()

    assert (tmp_path / "dashboard.png").stat().st_size > 50_000
    offsite = sorted(
        {
            u
            for u in urls
            if not u.startswith(("data:", "blob:")) and urlsplit(u).hostname not in LOCAL_HOSTS
        }
    )
    assert urls and not offsite, f"requests left this machine: {offsite}"
    elapsed = time.monotonic() - started
    print(f"browser test: {elapsed:.1f} s, {len(urls)} requests, all local")
    assert elapsed < 90, f"browser test took {elapsed:.0f} s"
