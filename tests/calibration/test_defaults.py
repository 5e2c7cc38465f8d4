"""The defaults as a posterior summary, and the shipped posterior's currency."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.calibration.defaults import (
    JOINT_ROW,
    broken,
    joint_percentile,
    percentile,
    review_defaults,
    rounded,
)
from sim.calibration.shipped import (
    SHIPPED_DIR,
    behaviour_fingerprint,
    calibration_problems,
    shipped_record,
)
from sim.calibration.space import load_space

NOT = "not identified (indistinguishable from its prior)"


def synthetic(verdicts: dict[str, str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Independent posterior draws 0, 0.001, ..., 1 for every quantity (median 0.5, quartiles
    0.25 and 0.75, 5% and 95% quantiles 0.05 and 0.95) and an identifiability table."""
    grid = np.linspace(0.0, 1.0, 1001)
    rng = np.random.default_rng(0)
    posterior = pd.DataFrame({f"k.{name}": rng.permutation(grid) for name in verdicts})
    parameters = pd.DataFrame(
        {
            "parameter": list(verdicts),
            "keys": [f"k.{n}" for n in verdicts],
            "verdict": list(verdicts.values()),
        }
    )
    return posterior, parameters


def each(review: pd.DataFrame) -> pd.DataFrame:
    """The review's rows of single quantities (without the joint row)."""
    return review[review["parameter"] != JOINT_ROW].reset_index(drop=True)


def test_percentile_is_the_mid_rank_among_the_draws() -> None:
    assert percentile(np.array([1.0, 2.0, 3.0, 4.0]), 2.5) == 0.5
    assert percentile(np.array([1.0, 2.0, 3.0, 4.0]), 2.0) == pytest.approx(0.375)
    assert percentile(np.array([1.0, 2.0]), 0.0) == 0.0
    assert rounded(0.0049591842) == 0.00496


def test_each_verdict_sets_how_closely_the_default_follows_the_posterior() -> None:
    verdicts = {"a": "identified", "b": "partly identified", "c": NOT}
    posterior, parameters = synthetic(verdicts)
    keeps = review_defaults(posterior, parameters, {"a": 0.5, "b": 0.27, "c": 0.06})
    assert keeps["holds"].all() and not broken(keeps)
    # identified: only the median (3 significant figures) will do, and is proposed
    off = each(review_defaults(posterior, parameters, {"a": 0.52, "b": 0.73, "c": 0.94}))
    assert off["holds"].tolist() == [False, True, True]
    assert off["proposal"].iloc[0] == 0.5
    # partly: the central 50%; not identified: the central 90%; the least move is proposed,
    # not the median (which, for an unidentified parameter, is the prior's midpoint)
    out = review_defaults(posterior, parameters, {"a": 0.5, "b": 0.2, "c": 0.04})
    assert each(out)["holds"].tolist() == [True, False, False]
    assert each(out)["proposal"].tolist()[1:] == [0.25, 0.05]
    lines = broken(out)
    assert "b = 0.2 (partly identified) should be in the central 50% interval" in lines[0]
    assert "e.g. 0.05" in lines[1]


def test_a_borderline_verdict_is_held_to_its_own_calibrations_verdict() -> None:
    flagged = "borderline (partly identified here; another calibration would say not ...)"
    posterior, parameters = synthetic({"a": flagged, "b": NOT})
    out = each(review_defaults(posterior, parameters, {"a": 0.06, "b": 0.06}))
    assert out["holds"].tolist() == [False, True]  # a: the central 50%, as partly identified
    assert (
        out["rule"].iloc[0]
        == each(review_defaults(*synthetic({"a": "partly identified"}), {"a": 0.06}))["rule"].iloc[
            0
        ]
    )


def test_defaults_each_inside_but_jointly_at_the_edge_break_the_rule() -> None:
    """Five unidentified quantities, every default at the 6th or 94th percentile: each keeps
    its own rule, together they are further out than 90% of the draws."""
    verdicts = {name: NOT for name in "abcde"}
    posterior, parameters = synthetic(verdicts)
    edge = dict(zip(verdicts, [0.06, 0.94, 0.06, 0.94, 0.06], strict=True))
    review = review_defaults(posterior, parameters, edge)
    assert each(review)["holds"].all()
    joint = review[review["parameter"] == JOINT_ROW].iloc[0]
    assert not joint["holds"] and joint["default_percentile"] > 0.99
    assert broken(review)[0].startswith("the defaults together should be jointly")
    centre = review_defaults(posterior, parameters, dict.fromkeys(verdicts, 0.5))
    assert centre["holds"].all()
    # a known answer: for draws of a standard normal, the joint percentile of a point at
    # Mahalanobis distance r is the chi-square cdf of r^2 (2 dimensions: 1 - exp(-r^2 / 2))
    normal = np.random.default_rng(1).standard_normal((200_000, 2))
    assert joint_percentile(normal, np.array([1.0, 1.0])) == pytest.approx(
        1 - np.exp(-1.0), abs=0.01
    )


def test_an_unknown_verdict_is_refused() -> None:
    posterior, parameters = synthetic({"a": "somewhat identified"})
    with pytest.raises(ValueError, match="unknown identifiability verdict"):
        review_defaults(posterior, parameters, {"a": 0.5})


# --- the shipped posterior ------------------------------------------------------------------
def shipped() -> tuple[pd.DataFrame, pd.DataFrame]:
    return (
        pd.read_parquet(SHIPPED_DIR / "posterior.parquet"),
        pd.read_csv(SHIPPED_DIR / "parameters.csv"),
    )


def test_the_shipped_defaults_are_a_summary_of_the_shipped_posterior() -> None:
    posterior, parameters = shipped()
    review = review_defaults(posterior, parameters, load_space().defaults())
    assert broken(review) == []
    assert len(each(review)) == len(load_space().priors)


def test_a_mis_set_default_breaks_the_rule() -> None:
    """The Baloch groups' attack rate (partly identified) set near its posterior's 95th
    percentile is no longer in the central 50%."""
    posterior, parameters = shipped()
    defaults = load_space().defaults() | {"baloch_attack_rate": 1.44}
    lines = broken(review_defaults(posterior, parameters, defaults))
    assert len(lines) == 1 and lines[0].startswith("baloch_attack_rate = 1.44 (partly identified)")
    assert "central 50% interval" in lines[0]


def test_the_shipped_posterior_belongs_to_this_model_and_this_record() -> None:
    """Fails after any change of the rules, the summary statistics or the distance that
    changes a result, and after a change of the calibration file or the record: re-run
    ``cpec-sim calibrate --jobs 2`` and ``scripts/ship_posterior.py``."""
    assert calibration_problems(SHIPPED_DIR) == []
    record = shipped_record()
    for name, digest in record["sha256"].items():  # the files are the ones shipped
        assert hashlib.sha256((SHIPPED_DIR / name).read_bytes()).hexdigest() == digest, name


def test_the_fingerprint_sees_the_model_and_the_distance_but_not_calibrated_defaults(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import json

    import sim.config
    import sim.params

    manifest = json.loads((SHIPPED_DIR / "manifest.json").read_text(encoding="utf-8"))
    posterior, _ = shipped()
    space = load_space()

    def fingerprint(scales: dict[str, float] | None = None) -> str:
        return behaviour_fingerprint(
            space, posterior, scales or manifest["scales"], manifest["observed"]
        )

    now = fingerprint()
    assert now == shipped_record()["behaviour_fingerprint"]
    # the distance: other scales
    assert fingerprint({k: 2 * v for k, v in manifest["scales"].items()}) != now
    # the model: a parameter the calibration does not set, changed in the scenario file
    original = sim.config.load_scenario

    def scenario_with(key: str, value: float) -> None:
        def load(name: str) -> dict:
            data = original(name)
            sim.params.set_dotted(data, {key: value})
            return data

        monkeypatch.setattr(sim.config, "load_scenario", load)

    scenario_with("groups.bla.lethality", 1.3)
    assert fingerprint() != now
    # a calibrated parameter's default: the calibration sets it, the fingerprint ignores it
    scenario_with("groups.bla.attack_rate", 1.2)
    assert fingerprint() == now


def test_an_output_added_to_the_model_leaves_the_fingerprint_as_it_was() -> None:
    """A stranger added a summary column and the shipped posterior was refused as "not a
    calibration of this model" (a re-run calibration gave the same posterior, byte for
    byte): a new output changes no result the calibration rests on. Changing a recorded
    output's value, or dropping one, still changes what is hashed."""
    from types import SimpleNamespace

    from sim.calibration.shipped import _canonical
    from sim.engine import run_replicate
    from sim.params import ModelParams

    result = run_replicate(ModelParams(), 6, 3)
    parts = {n: dict(getattr(result, n)) for n in ("weekly", "events", "summary")}
    before = _canonical(SimpleNamespace(**parts))
    added = {**parts, "summary": {**parts["summary"], "attacks_interdicted": 4}}
    assert _canonical(SimpleNamespace(**added)) == before
    changed = {**parts, "summary": {**parts["summary"], "attacks_total": -1}}
    assert _canonical(SimpleNamespace(**changed)) != before
    dropped = {
        **parts,
        "summary": {k: v for k, v in parts["summary"].items() if k != "fighters_final"},
    }
    assert _canonical(SimpleNamespace(**dropped)) != before


def test_the_fingerprint_does_not_depend_on_the_order_of_the_statistics() -> None:
    """A calibration fingerprints its statistics in the record's order and writes its manifest
    with sorted keys; the check reads them back sorted. A review found every new calibration
    failing its own check (the distance summed in another order differs in its last bits)."""
    import json

    from sim.calibration.record import observed

    manifest = json.loads((SHIPPED_DIR / "manifest.json").read_text(encoding="utf-8"))
    posterior, _ = shipped()
    in_record_order = {o.name: manifest["observed"][o.name] for o in observed("full")}
    assert list(in_record_order) != sorted(in_record_order)  # the two orders differ
    reversed_order = dict(reversed(list(in_record_order.items())))
    prints = {
        behaviour_fingerprint(load_space(), posterior, manifest["scales"], order)
        for order in (in_record_order, reversed_order, manifest["observed"])
    }
    assert prints == {shipped_record()["behaviour_fingerprint"]}


def test_parameters_posterior_uses_ones_own_calibration_only_if_it_belongs_to_this_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import json
    import shutil

    import sim.posterior as post

    own = tmp_path / "full"
    shutil.copytree(SHIPPED_DIR, own)
    manifest = json.loads((own / "manifest.json").read_text(encoding="utf-8"))
    manifest["behaviour_fingerprint"] = shipped_record()["behaviour_fingerprint"]
    (own / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    monkeypatch.setattr(post, "DEFAULT_CALIBRATION_DIR", own)
    used = post.load_posterior("posterior")
    assert used is not None and Path(used.path) == own / "posterior.parquet" and not used.note
    # a quick calibration (other settings) in the same place: the shipped one, with a note
    manifest["settings"]["population"] = 20
    (own / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    used = post.load_posterior("posterior")
    assert used is not None and Path(used.path) == SHIPPED_DIR / "posterior.parquet"
    assert "not the documented ones" in used.note and f"parameters={own}" in used.note


def test_parameters_posterior_falls_back_to_the_shipped_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sim.posterior as post

    monkeypatch.setattr(post, "DEFAULT_CALIBRATION_DIR", tmp_path / "none")
    loaded = post.load_posterior("posterior")
    assert loaded is not None and Path(loaded.path) == SHIPPED_DIR / "posterior.parquet"
    assert loaded.draws == 1000 and not loaded.note
    # a posterior file without its calibration's manifest is not taken for one
    own = tmp_path / "own"
    own.mkdir()
    pd.DataFrame({"groups.bla.attack_rate": [1.1, 1.2]}).to_parquet(own / "posterior.parquet")
    monkeypatch.setattr(post, "DEFAULT_CALIBRATION_DIR", own)
    mine = post.load_posterior("posterior")
    assert mine is not None and mine.draws == 1000 and "no readable manifest.json" in mine.note


def _copy_of_shipped(tmp_path: Path) -> tuple[Path, dict]:
    import json
    import shutil

    own = tmp_path / "full"
    shutil.copytree(SHIPPED_DIR, own)
    manifest = json.loads((own / "manifest.json").read_text(encoding="utf-8"))
    return own, manifest


def _write(own: Path, manifest: dict) -> None:
    import json

    (own / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")


def test_a_changed_range_in_the_record_or_a_damaged_manifest_is_a_problem(tmp_path: Path) -> None:
    own, manifest = _copy_of_shipped(tmp_path)
    ranged = next(k for k, v in manifest["observed"].items() if v["half_width"] > 0)
    manifest["observed"][ranged]["half_width"] = 1.0  # same midpoint, a narrower range
    _write(own, manifest)
    assert any("a value or a range" in p for p in calibration_problems(own))
    own, manifest = _copy_of_shipped(tmp_path / "b")
    manifest["observed"] = {k: 1.0 for k in manifest["observed"]}
    _write(own, manifest)
    assert "damaged" in calibration_problems(own)[0]
    own, manifest = _copy_of_shipped(tmp_path / "c")
    manifest["behaviour_fingerprint"] = "x"
    del manifest["scales"]
    _write(own, manifest)
    assert "damaged" in calibration_problems(own)[0]


def test_a_hindcast_is_checked_against_its_own_windows_record(tmp_path: Path) -> None:
    """A stranger: a hindcast made minutes before from the same files was said to have "the
    observed record (a value or a range) has changed since": it was compared with the full
    record, whose 2021-24 rates differ from its 2021-23 ones."""
    from sim.calibration.record import observed

    own, manifest = _copy_of_shipped(tmp_path)
    manifest["window"] = "hindcast"
    manifest["observed"] = {
        o.name: {"value": o.value, "half_width": o.half_width} for o in observed("hindcast")
    }
    _write(own, manifest)
    problems = calibration_problems(own, fingerprint=False)
    assert "it is a 'hindcast' calibration, not 'full'" in problems
    assert not any("a value or a range" in p for p in problems)
    first = next(iter(manifest["observed"]))
    manifest["observed"][first]["value"] += 1.0  # a changed record is still one
    _write(own, manifest)
    assert any("a value or a range" in p for p in calibration_problems(own, fingerprint=False))


def test_a_calibration_without_a_fingerprint_is_shipped_only_when_trusted(tmp_path: Path) -> None:
    from sim.calibration.shipped import ship

    own, manifest = _copy_of_shipped(tmp_path)
    del manifest["behaviour_fingerprint"]  # as calibrations made before they existed
    _write(own, manifest)
    with pytest.raises(ValueError, match="records no behaviour fingerprint"):
        ship(own, tmp_path / "out")
    assert not (tmp_path / "out").exists()
    record = ship(own, tmp_path / "out", trust_current_model=True)
    assert record["behaviour_fingerprint"] == shipped_record()["behaviour_fingerprint"]
    assert record["fingerprint_stamped_at_shipping"] is True


def test_a_calibration_holding_more_generations_than_documented_is_not_at_the_settings(
    tmp_path: Path,
) -> None:
    """A calibration run for 8 generations, then resumed asking for the documented 6 (which
    the old code allowed), says 6 in its settings but its posterior is of 8 generations."""
    own, manifest = _copy_of_shipped(tmp_path)
    assert calibration_problems(own, fingerprint=False) == []
    manifest["generations_done"] = 8
    manifest["files"]["generations.csv"]["rows"] = 8
    _write(own, manifest)
    problems = calibration_problems(own, fingerprint=False)
    assert problems == ["it holds 8 generations, not the documented 6"]
    del manifest["generations_done"]  # the table still says 8
    _write(own, manifest)
    assert calibration_problems(own, fingerprint=False) == problems
    del manifest["files"]["generations.csv"]
    _write(own, manifest)
    assert "does not record how many generations" in calibration_problems(own, fingerprint=False)[0]


def test_another_seed_is_the_same_calibration_and_other_settings_are_named(
    tmp_path: Path,
) -> None:
    """A reviewer's seed-1 calibration at the documented settings was called "not a
    calibration of this model ... and the documented settings", with the whole settings
    dict printed: the seed is Monte Carlo noise, and a difference names its key."""
    own, manifest = _copy_of_shipped(tmp_path)
    _write(own, {**manifest, "settings": {**manifest["settings"], "seed": 1}})
    assert calibration_problems(own, fingerprint=False) == []
    fast = {**manifest["settings"], "population": 40, "pilot": 40}
    _write(own, {**manifest, "settings": fast})
    assert calibration_problems(own, fingerprint=False) == [
        "its settings are not the documented ones: population 40 (documented 400), "
        "pilot 40 (documented 400)"
    ]


def test_the_remembered_check_sees_files_behind_a_symbolic_link(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In a clone configs/experiment links to experiments/, which holds the calibration
    file: a reviewer changed a prior's range there and the remembered check still said
    "no problems" (the hash did not enter the link)."""
    from sim.calibration import shipped

    configs, elsewhere = tmp_path / "configs", tmp_path / "experiments"
    configs.mkdir()
    (elsewhere / "uncertainty").mkdir(parents=True)
    study = elsewhere / "uncertainty" / "calibration.yaml"
    study.write_text("a: 1\n", encoding="utf-8")
    (configs / "experiment").symlink_to(elsewhere, target_is_directory=True)
    monkeypatch.setattr("sim.config.config_dir", lambda: configs)
    before = shipped._check_key(SHIPPED_DIR)
    study.write_text("a: 2\n", encoding="utf-8")
    assert shipped._check_key(SHIPPED_DIR) != before


def test_an_unreadable_file_under_the_package_does_not_stop_the_check(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A dangling symbolic link (an editor's lock file) beside the calibration file had made
    every run over a posterior fail: such a file is not hashed, and a file that cannot be
    read means checking afresh without remembering."""
    from sim.calibration import shipped

    configs = tmp_path / "configs"
    configs.mkdir()
    (configs / ".#calibration.yaml").symlink_to(tmp_path / "gone")
    monkeypatch.setattr("sim.config.config_dir", lambda: configs)
    shipped._check_key(SHIPPED_DIR)  # no error
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))

    def unreadable(directory: Path) -> str:
        raise PermissionError("unreadable")

    monkeypatch.setattr(shipped, "_check_key", unreadable)
    monkeypatch.setattr(shipped, "calibration_problems", lambda directory: ["checked afresh"])
    assert shipped.checked_problems(SHIPPED_DIR) == ["checked afresh"]
    assert not (tmp_path / "cache").exists()


def test_the_console_counts_the_parameters_and_the_joint_row_apart(capsys) -> None:
    """A stranger read "11 of 11 keep the rule" above a list of 10 parameters."""
    from sim.calibration.cli import _print_defaults
    from sim.calibration.defaults import JOINT_ROW

    review = pd.DataFrame(
        {"parameter": ["a", "b", JOINT_ROW], "holds": [True, True, False], "rule": "x",
         "default_percentile": 0.99, "default": 1.0, "verdict": "identified", "proposal": 1.0}
    )  # fmt: skip
    _print_defaults(review)
    assert "2 of 2 keep the rule; together they do not" in capsys.readouterr().out
    _print_defaults(review.assign(holds=True))
    assert "2 of 2 keep the rule; together they keep it too" in capsys.readouterr().out
