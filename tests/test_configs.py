"""Every config composes through Hydra's Compose API; scenarios and experiments stay minimal."""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from omegaconf import OmegaConf

from sim.cli import _register, experiment_names
from sim.config import (
    config_dir,
    load_scenario,
    model_params_from_config,
    scenario_names,
    scenario_params,
)
from sim.params import ModelParams, flatten, to_dict


@pytest.fixture(scope="module")
def hydra_ready() -> Iterator[None]:
    _register()
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(config_dir()), version_base="1.3"):
        yield
    GlobalHydra.instance().clear()


@pytest.mark.parametrize("name", scenario_names())
def test_every_scenario_composes_and_matches_its_file(hydra_ready: None, name: str) -> None:
    cfg = compose(config_name="config", overrides=[f"scenario={name}"])
    assert cfg.scenario.name == name and len(cfg.scenario.description) > 40
    from_hydra = model_params_from_config(cfg)
    assert from_hydra == scenario_params(name)  # the Hydra and non-Hydra paths agree
    changed = {
        k
        for k, v in flatten(to_dict(from_hydra)).items()
        if v != flatten(to_dict(ModelParams()))[k]
    }
    listed = set(flatten({k: v for k, v in load_scenario(name).items() if k != "scenario"}))
    assert changed == listed  # a scenario lists only what it changes, and changes it


def test_full_pressure_is_the_union_of_the_pressure_scenarios() -> None:
    union: dict[str, Any] = {}
    for name in (
        "decisive_operation",
        "joint_operation",
        "chinese_troops",
        "iran_border",
        "investment_freeze",
    ):
        union.update(flatten({k: v for k, v in load_scenario(name).items() if k != "scenario"}))
    full = flatten({k: v for k, v in load_scenario("full_pressure").items() if k != "scenario"})
    assert full == union


@pytest.mark.parametrize("name", experiment_names())
def test_every_experiment_composes_and_lists_only_what_it_sweeps(
    hydra_ready: None, name: str
) -> None:
    cfg = compose(config_name="config", overrides=[f"+experiment={name}"], return_hydra_config=True)
    params = cfg.hydra.sweeper.params
    assert params and all("," in str(v) for v in params.values())
    file = OmegaConf.to_container(OmegaConf.load(config_dir() / "experiment" / f"{name}.yaml"))
    assert isinstance(file, dict)
    assert set(file) <= {"defaults", "sweep_name", "hydra"}
    assert cfg.sweep_name == name


def test_defaults_of_the_run_keys(hydra_ready: None) -> None:
    cfg = compose(config_name="config")
    assert (cfg.replicates, cfg.weeks, cfg.seed, cfg.jobs, cfg.scenario.name) == (
        100,
        104,
        0,
        None,
        "baseline",
    )


def test_a_run_of_other_rules_has_another_configuration_hash(monkeypatch) -> None:
    """Resuming a run after a rule changed would mix replicates of two models."""
    from sim.config import config_hash, scenario_params

    params = scenario_params("baseline")
    before = config_hash(params, 0, 104, "baseline")
    monkeypatch.setattr("sim.fingerprint.rules_fingerprint", lambda: "other rules")
    assert config_hash(params, 0, 104, "baseline") != before


def test_a_run_of_other_data_has_another_configuration_hash(tmp_path, monkeypatch) -> None:
    """A reviewer halved an investor's capital in investors.csv and re-ran: the run resumed,
    old replicates beside new ones."""
    import shutil

    from sim import fingerprint
    from sim.config import config_hash, scenario_params

    params = scenario_params("baseline")
    before = config_hash(params, 0, 104, "baseline")
    copies = [Path(shutil.copy(p, tmp_path / p.name)) for p in fingerprint.MODEL_DATA]
    monkeypatch.setattr(fingerprint, "MODEL_DATA", tuple(copies))
    assert config_hash(params, 0, 104, "baseline") == before  # the same bytes
    investors = tmp_path / "investors.csv"
    investors.write_text(investors.read_text().replace("1600", "200"))
    assert config_hash(params, 0, 104, "baseline") != before


@pytest.mark.parametrize(
    ("scenario", "overrides"),
    [
        ("investment_freeze", {}),
        ("full_pressure", {}),
        ("baseline", {"china.force_investment_hold": True}),
        ("investment_freeze", {"investors.risk_aversion": 0.0, "china.initial_patience": 1.0}),
    ],
)
def test_what_a_value_sets_by_construction_holds_in_every_replicate(
    scenario: str, overrides: dict
) -> None:
    """compare marks these outcomes '(by construction)' wherever the value is set: the
    claims must be true in every replicate (a stranger found the freeze's certain hold and
    capped capital starred as findings; a reviewer, the marks kept on a run that had
    turned the freeze off)."""
    from sim.analysis.runs import claim
    from sim.config import scenario_params, with_overrides
    from sim.engine import run_replicate
    from sim.space import load_investors

    claims = claim("imposed freeze").outcomes
    assert set(claims) == {"investment_hold", "capital_deployed_final", "pause_free_weeks"}
    assert "week 4" in claims["pause_free_weeks"]
    cap = sum(i["deployed"] + (i["committed"] - i["deployed"]) * (not i["state_firm"])
              for i in load_investors())  # fmt: skip
    assert "3,250" in claims["capital_deployed_final"] and cap == 3250
    params = with_overrides(scenario_params(scenario), overrides)
    assert params.china.force_investment_hold
    for seed in range(40):
        s = run_replicate(params, 104, seed).summary
        assert s["investment_hold"] and s["capital_deployed_final"] <= cap
        assert s["weeks_to_first_pause"] == 4
    for seed in range(5):  # the claim needs week 4 (FIXED_FROM_WEEK): before it, no decision
        assert math.isnan(run_replicate(params, 3, seed).summary["weeks_to_first_pause"])
        assert run_replicate(params, 4, seed).summary["weeks_to_first_pause"] == 4


@pytest.mark.parametrize(
    ("scenario", "overrides"),
    [
        ("chinese_troops", {}),
        ("full_pressure", {}),
        ("baseline", {"pakistan.accept_chinese_troops": True, "china.troops_available": 1}),
    ],
)
def test_accepted_troops_are_deployed_in_every_replicate(scenario: str, overrides: dict) -> None:
    """The troops claim of FIXED_BY holds wherever a run accepts them and has any troops."""
    from sim.analysis.runs import claim
    from sim.config import scenario_params, with_overrides
    from sim.engine import run_replicate
    from sim.params import flatten, to_dict

    accepted = claim("troops accepted")
    assert set(accepted.outcomes) == {"chinese_troops_deployed"}
    params = with_overrides(scenario_params(scenario), overrides)
    assert accepted.holds(flatten(to_dict(params)))
    for seed in range(40):
        assert run_replicate(params, 104, seed).summary["chinese_troops_deployed"]
    assert run_replicate(params, 1, 0).summary["chinese_troops_deployed"]  # from week 1


@pytest.mark.parametrize("scenario", ["baseline", "chinese_troops", "full_pressure"])
def test_with_no_troops_available_none_deploy(scenario: str) -> None:
    """FIXED_BY's claim for ``china.troops_available`` 0, and why accepted troops are not
    claimed there (a reviewer: 0 against 300 troops was starred unmarked)."""
    from sim.analysis.runs import claim
    from sim.config import scenario_params, with_overrides
    from sim.engine import run_replicate
    from sim.params import flatten, to_dict

    params = with_overrides(scenario_params(scenario), {"china.troops_available": 0})
    values = flatten(to_dict(params))
    assert claim("no troops available").holds(values)
    assert not claim("troops accepted").holds(values)
    assert not any(
        run_replicate(params, 104, s).summary["chinese_troops_deployed"] for s in range(20)
    )


def test_a_hold_that_outlasts_a_short_run_caps_its_capital() -> None:
    """A reviewer (helper-142): patience 0.3 recovers past 0.35 + 0.1 only in week 38, so a
    run of 37 weeks holds throughout and its capital is capped in every replicate; a run of
    60 weeks is not, and its capital passes the cap in some."""
    from sim.analysis.runs import claim
    from sim.config import scenario_params, with_overrides
    from sim.engine import run_replicate
    from sim.params import flatten, to_dict

    through = claim("hold through the run")
    params = with_overrides(scenario_params("baseline"), {"china.initial_patience": 0.3})
    for weeks, claimed in ((37, True), (38, False), (60, False)):
        values = {**flatten(to_dict(params)), "weeks": weeks}
        assert through.holds(values) is claimed
    capital = [run_replicate(params, 37, s).summary["capital_deployed_final"] for s in range(60)]
    assert max(capital) <= 3250
    capital = [run_replicate(params, 60, s).summary["capital_deployed_final"] for s in range(60)]
    assert max(capital) > 3250


@pytest.mark.parametrize(
    ("scenario", "overrides"),
    [
        ("baseline", {"pakistan.acceptance_rate": 0.0}),
        ("baseline", {"pakistan.officer_resistance": 1.0}),
        # a reviewer (helper-142): a rate so small that the rule's product rounds to 0
        ("baseline", {"pakistan.acceptance_rate": 5e-324, "pakistan.officer_resistance": 0.5}),
        ("joint_operation", {"pakistan.officer_resistance": 1.0, "china.initial_patience": 0.1}),
    ],
)
def test_where_pakistan_never_yields_no_troops_deploy(scenario: str, overrides: dict) -> None:
    """A yielding chance of 0 deploys no troops in any replicate (a leftover of stop 49:
    marked now); with the defaults some replicates yield, so the check can fail."""
    from sim.analysis.runs import claim
    from sim.config import scenario_params, with_overrides
    from sim.engine import run_replicate
    from sim.params import flatten, to_dict

    never = claim("Pakistan never yields")
    for values, yields in ((overrides, False), ({}, True)):
        params = with_overrides(scenario_params(scenario), values)
        assert never.holds(flatten(to_dict(params))) is not yields
        deployed = [
            run_replicate(params, 104, s).summary["chinese_troops_deployed"] for s in range(40)
        ]
        assert any(deployed) is yields


@pytest.mark.parametrize(
    ("overrides", "claims"),
    [
        ({"china.patience_recovery": 0.004}, {"hold from the start", "hold to the first decision"}),
        (
            {"china.patience_recovery": 0.0125},
            {"hold from the start", "hold to the first decision"},
        ),
        ({"china.patience_recovery": 0.05}, {"hold from the start"}),  # 0.3 + 4 x 0.05 > 0.45
        # a reviewer (helper-141): 0.1 + 4 x 0.15 is 0.7 = 0.4 + 0.3 in a closed form, but the
        # rule's weekly sums pass 0.7 in week 4, and 21% of replicates paused later
        (
            {
                "china.initial_patience": 0.1,
                "china.patience_recovery": 0.15,
                "china.hold_below": 0.4,
                "china.hysteresis": 0.3,
            },
            {"hold from the start"},
        ),
        (
            {"china.patience_recovery": 0.5, "china.hysteresis": 0.7},  # 0.35 + 0.7 >= 1
            {"hold from the start", "hold to the first decision", "hold that never lifts"},
        ),
        (  # a reviewer (helper-142): with no recovery the hold never lifts either
            {"china.patience_recovery": 0.0},
            {"hold from the start", "hold to the first decision", "hold that never lifts"},
        ),
    ],
)
def test_a_hold_from_the_start_is_claimed_as_far_as_it_holds(
    overrides: dict, claims: set[str]
) -> None:
    """China's patience below the hold's threshold at the start holds state investment from
    week 1, pauses the state firms at their first decision, and (where patience can never
    pass the threshold plus the hysteresis) caps capital, in every replicate, as far as
    patience cannot recover past the threshold plus the hysteresis in that time. Each claim
    made holds in every replicate; each not made fails in some (so the bounds are needed)."""
    from sim.analysis.runs import FIXED_BY, FIXED_FROM_WEEK
    from sim.config import scenario_params, with_overrides
    from sim.engine import run_replicate
    from sim.params import flatten, to_dict

    assert FIXED_FROM_WEEK["pause_free_weeks"] == 4
    params = with_overrides(
        scenario_params("baseline"), {"china.initial_patience": 0.3, **overrides}
    )
    values = flatten(to_dict(params))
    made = {c.name for c in FIXED_BY if c.name.startswith("hold ") and c.holds(values)}
    assert made == claims
    summaries = [run_replicate(params, 104, seed).summary for seed in range(60)]
    fixed = {
        "hold from the start": all(s["investment_hold"] for s in summaries),
        "hold to the first decision": all(s["weeks_to_first_pause"] == 4 for s in summaries),
        "hold that never lifts": all(s["capital_deployed_final"] <= 3250 for s in summaries),
    }
    for name, seen in fixed.items():
        assert seen if name in claims else not seen, name
    default = scenario_params("baseline")  # patience 0.45: no claim is made, nor true
    assert not any(c.holds(flatten(to_dict(default))) for c in FIXED_BY)


@pytest.mark.parametrize(
    ("name", "overrides", "outcome", "value"),
    [
        ("hold out of reach", {"china.patience_loss_per_death": 0.0}, "investment_hold", False),
        (
            "hold out of reach",
            {"china.hold_below": 0.0, "china.demand_below": 0.0},
            "investment_hold",
            False,
        ),
        (
            "demand out of reach",
            {"china.patience_loss_per_death": 0.0, "china.initial_patience": 0.3},
            "chinese_troops_deployed",
            False,
        ),
        ("demand out of reach", {"china.demand_below": 0.0}, "chinese_troops_deployed", False),
        (
            "Pakistan yields at once",
            {
                "china.initial_patience": 0.15,
                "pakistan.acceptance_rate": 1.0,
                "pakistan.officer_resistance": 0.0,
            },
            "chinese_troops_deployed",
            True,
        ),
    ],
)
def test_what_the_ladder_cannot_or_must_reach_holds_in_every_replicate(
    name: str, overrides: dict, outcome: str, value: bool
) -> None:
    """A reviewer (helper-139): with no patience lost per death the ladder never climbs, and
    a certain yield at a demand from the start deploys troops in week 1; compare starred both
    unmarked. Each claim holds in every replicate; the baseline's replicates differ there, so
    the check can fail."""
    from sim.analysis.runs import claim
    from sim.config import scenario_params, with_overrides
    from sim.engine import run_replicate
    from sim.params import flatten, to_dict

    c = claim(name)
    assert outcome in c.outcomes
    base = scenario_params("baseline")
    params = with_overrides(base, overrides)
    assert c.holds(flatten(to_dict(params))) and not c.holds(flatten(to_dict(base)))
    assert all(run_replicate(params, 104, s).summary[outcome] is value for s in range(40))
    assert not all(run_replicate(base, 104, s).summary[outcome] is value for s in range(40))


def test_without_the_value_the_claims_fail() -> None:
    """The check above can fail: with the hold not forced, capital passes the cap."""
    from sim.config import scenario_params, with_overrides
    from sim.engine import run_replicate

    params = with_overrides(
        scenario_params("investment_freeze"), {"china.force_investment_hold": False}
    )
    summaries = [run_replicate(params, 104, seed).summary for seed in range(40)]
    assert not all(s["investment_hold"] for s in summaries)
    assert max(s["capital_deployed_final"] for s in summaries) > 3250
    assert not all(s["weeks_to_first_pause"] == 4 for s in summaries)


# --- one's own scenarios ($CPEC_SCENARIO_PATH) -----------------------------------------------
SURGE = """scenario:
  name: security_surge
  description: Pakistan raises the SSD and runs operations harder.
  rests_on: [pakistan.ssd_troops]
pakistan:
  ssd_troops: 45000
  base_intensity: 0.6
"""


def test_a_scenario_of_ones_own_folder_runs_lists_and_records_its_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A stranger could keep a scenario only inside the package: a replication package had
    to ship a fork. A folder named by $CPEC_SCENARIO_PATH adds its files to the scenarios,
    no `# @package` line needed, and the run's manifest records which file it came from."""
    import json

    from tests.conftest import cpec

    mine = tmp_path / "scenarios"
    mine.mkdir()
    (mine / "security_surge.yaml").write_text(SURGE)
    monkeypatch.setenv("CPEC_SCENARIO_PATH", str(mine))
    listed = cpec("scenarios", cwd=tmp_path)
    assert listed.returncode == 0
    assert "security_surge" in listed.stdout and "pakistan.ssd_troops=45000" in listed.stdout
    done = cpec(
        "run", "scenario=security_surge", "replicates=2", "weeks=3", "plots=false",
        cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    run_dir = tmp_path / "results" / "runs" / "security_surge,replicates=2,weeks=3"
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["scenario_file"] == str((mine / "security_surge.yaml").resolve())
    config = OmegaConf.load(run_dir / "config.yaml")
    assert config.pakistan.ssd_troops == 45000 and config.pakistan.base_intensity == 0.6
    assert config.scenario.rests_on == ["pakistan.ssd_troops"]
    monkeypatch.delenv("CPEC_SCENARIO_PATH")
    gone = cpec("run", "scenario=security_surge", "replicates=2", cwd=tmp_path)
    assert gone.returncode == 2 and "unknown scenario 'security_surge'" in gone.stderr


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("pakistan: {ssd_troops: 3}", "a scenario file begins with a `scenario:` block"),
        ("scenario: {name: bad}", "scenario.description is missing"),
        ("scenario: {name: worse, description: x}", "scenario.name is 'worse': it must be"),
        (
            "scenario: {name: bad, description: x, rests_on: [pakistan.ssd_trops]}",
            "rests_on names 'pakistan.ssd_trops', not a parameter: did you mean "
            "pakistan.ssd_troops?",
        ),
        (
            "scenario: {name: bad, description: x}\npakistan: {ssd_troop: 3}",
            "'pakistan.ssd_troop' is not a parameter: did you mean pakistan.ssd_troops?",
        ),
        (
            "scenario: {name: bad, description: x}\npakistan: {ssd_troops: -3}",
            "pakistan.ssd_troops=-3 is out of bounds",
        ),
        ("scenario: {name: bad, description: x, colour: red}", "scenario.colour is not"),
        ("scenario: [", "not a scenario file (line 2:"),
        ("scenario: {name: 'a,b', description: x}", "a scenario's file name is its name"),
        ("scenario: {name: 'null', description: x}", "a scenario's file name is its name"),
        ("scenario: {name: '123', description: x}", "a scenario's file name is its name"),
        ("scenario: {name: bad, description: x, seed_passage: [1]}", "must be text"),
    ],
)
def test_a_bad_scenario_file_is_refused_in_one_line_naming_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str, said: str
) -> None:
    """Before: a file without a description broke `cpec-sim scenarios` with an internal
    KeyError, a misspelt rests_on key was shown as =None, and a misspelt parameter was named
    without its file."""
    from tests.conftest import cpec

    odd = re.search(r"name: '([^']+)'", text)
    bad = tmp_path / f"{odd.group(1) if odd else 'bad'}.yaml"
    bad.write_text(text + "\n")
    monkeypatch.setenv("CPEC_SCENARIO_PATH", str(tmp_path))
    for args in (("scenarios",), ("run", "scenario=bad", "replicates=1")):
        refused = cpec(*args, cwd=tmp_path)
        assert refused.returncode == 2, refused.stderr
        assert refused.stderr.startswith(f"cpec-sim: error: {bad}: ")
        assert said in refused.stderr and len(refused.stderr.splitlines()) == 1
        assert not (tmp_path / "results").exists()


def test_a_scenario_name_in_two_folders_or_a_missing_folder_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sim.config import scenario_names
    from sim.params import ParameterError

    (tmp_path / "baseline.yaml").write_text(SURGE.replace("security_surge", "baseline"))
    monkeypatch.setenv("CPEC_SCENARIO_PATH", str(tmp_path))
    with pytest.raises(ParameterError, match="scenario 'baseline' is in two files"):
        scenario_names()
    monkeypatch.setenv("CPEC_SCENARIO_PATH", str(tmp_path / "nowhere"))
    with pytest.raises(ParameterError, match=r"names .*nowhere, which is not a folder"):
        scenario_names()


def test_a_scenario_file_with_another_ending_is_named_when_its_name_is_unknown(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A stranger (helper-140): a scenario saved as NAME.yml gave a plain "unknown
    scenario"; the line now names the file and the ending that is read."""
    from sim.config import load_scenario
    from sim.params import ParameterError

    (tmp_path / "security_surge.yml").write_text(SURGE)
    monkeypatch.setenv("CPEC_SCENARIO_PATH", str(tmp_path))
    with pytest.raises(ParameterError, match=r"security_surge\.yml is not read: .* end in \.yaml"):
        load_scenario("security_surge")
    with pytest.raises(ParameterError) as refused:
        load_scenario("other")
    assert "is not read" not in str(refused.value)


def test_the_servers_refuse_a_bad_scenario_file_before_they_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A reviewer: the dashboard and the workshop started with a bad file in the folder, and
    every slider of the page then failed (they read every scenario's values)."""
    from tests.conftest import cpec

    (tmp_path / "bad.yaml").write_bytes(b"scenario:\n  name: bad\n  description: caf\xe9\n")
    monkeypatch.setenv("CPEC_SCENARIO_PATH", str(tmp_path))
    for command in ("dashboard", "workshop"):
        refused = cpec(command, "--port", "0", cwd=tmp_path, timeout=60)
        assert refused.returncode == 2, refused.stderr
        assert refused.stderr.startswith(f"cpec-sim {command}: error: {tmp_path / 'bad.yaml'}: ")
        assert "not a scenario file" in refused.stderr  # not UTF-8: named, not an internal error


def test_scenario_folders_refuse_case_twins_and_broken_links_and_take_a_folder_twice(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sim.config import scenario_names
    from sim.params import ParameterError

    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "security_surge.yaml").write_text(SURGE)
    monkeypatch.setenv("CPEC_SCENARIO_PATH", f"{mine}:{mine}")
    assert "security_surge" in scenario_names()  # the same folder twice is one folder
    (mine / "Baseline.yaml").write_text(SURGE.replace("security_surge", "Baseline"))
    with pytest.raises(ParameterError, match="whatever the case of its letters"):
        scenario_names()
    (mine / "Baseline.yaml").unlink()
    (mine / "gone.yaml").symlink_to(tmp_path / "nowhere.yaml")
    with pytest.raises(ParameterError, match=r"gone\.yaml: not a file \(a broken link\?\)"):
        scenario_names()


def test_only_a_scenario_of_ones_own_folder_is_recorded_by_its_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What every manifest (run, study, calibration) records of its scenarios' files."""
    from sim.provenance import scenario_files

    (tmp_path / "security_surge.yaml").write_text(SURGE)
    monkeypatch.setenv("CPEC_SCENARIO_PATH", str(tmp_path))
    recorded = scenario_files(scenario_file="baseline", contrast_file="security_surge", x=None)
    assert recorded == {"contrast_file": str((tmp_path / "security_surge.yaml").resolve())}


def test_every_scenario_quotes_the_seed_article_faithfully() -> None:
    """Each scenario's ``seed_passage`` is the article's words (docs/seed.md, kept verbatim),
    its omissions marked "...": a reviewer (helper-139) found iran_border quoting the joint
    Iran-Pakistan operation as fact, where the article reports Jaish al-Adl's claim and
    Pakistan's denial."""
    import yaml

    from sim.config import scenario_files

    def plain(text: str) -> str:
        for curly, straight in (("’", "'"), ("‘", "'"), ("“", '"'), ("”", '"')):
            text = text.replace(curly, straight)
        return " ".join(text.split())

    article = plain((Path(__file__).parent.parent / "docs" / "seed.md").read_text())
    for name, path in scenario_files().items():
        passage = yaml.safe_load(path.read_text())["scenario"]["seed_passage"]
        for part in (p.strip().rstrip(".") for p in plain(passage).split("...")):
            assert part and part.casefold() in article.casefold(), (name, part)
    iran = yaml.safe_load(scenario_files()["iran_border"].read_text())["scenario"]
    assert "fake news" in iran["seed_passage"]
