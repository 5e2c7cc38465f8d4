"""The defaults as a posterior summary, and the shipped posterior's currency."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.calibration.defaults import broken, percentile, review_defaults, rounded
from sim.calibration.record import observed
from sim.calibration.shipped import SHIPPED_DIR, behaviour_fingerprint, shipped_record
from sim.calibration.space import load_space

NOT = "not identified (indistinguishable from its prior)"


def synthetic(verdicts: dict[str, str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Posterior draws 0, 0.001, ..., 1 for every quantity (median 0.5, quartiles 0.25 and
    0.75, 5% and 95% quantiles 0.05 and 0.95) and an identifiability table."""
    grid = np.linspace(0.0, 1.0, 1001)
    posterior = pd.DataFrame({f"k.{name}": grid for name in verdicts})
    parameters = pd.DataFrame(
        {
            "parameter": list(verdicts),
            "keys": [f"k.{n}" for n in verdicts],
            "verdict": list(verdicts.values()),
        }
    )
    return posterior, parameters


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
    # identified: only the median (3 significant figures) will do
    off = review_defaults(posterior, parameters, {"a": 0.52, "b": 0.73, "c": 0.94})
    assert off["holds"].tolist() == [False, True, True]
    assert off["proposal"].iloc[0] == 0.5
    # partly: the central 50%; not identified: the central 90%
    out = review_defaults(posterior, parameters, {"a": 0.5, "b": 0.2, "c": 0.04})
    assert out["holds"].tolist() == [True, False, False]
    lines = broken(out)
    assert (
        len(lines) == 2 and "b = 0.2 (partly identified) should be in the central 50%" in lines[0]
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
    assert len(review) == len(load_space().priors)


def test_a_mis_set_default_breaks_the_rule() -> None:
    """The Baloch groups' attack rate (partly identified) set near its posterior's 95th
    percentile is no longer in the central 50%."""
    posterior, parameters = shipped()
    defaults = load_space().defaults() | {"baloch_attack_rate": 1.44}
    lines = broken(review_defaults(posterior, parameters, defaults))
    assert len(lines) == 1 and lines[0].startswith("baloch_attack_rate = 1.44")


def test_the_shipped_posterior_belongs_to_this_model_and_this_record() -> None:
    """Fails after any change of the rules that changes a result, of the calibration file or of
    the record: re-run ``cpec-sim calibrate --jobs 2`` and ``scripts/ship_posterior.py``."""
    import json

    record = shipped_record()
    posterior, _ = shipped()
    manifest = json.loads((SHIPPED_DIR / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["space"] == load_space().as_dict()
    assert {k: v["value"] for k, v in manifest["observed"].items()} == {
        o.name: o.value for o in observed("full")
    }
    assert behaviour_fingerprint(posterior) == record["behaviour_fingerprint"], (
        "the model's results changed since the shipped calibration: re-run "
        "`cpec-sim calibrate --jobs 2` and `scripts/ship_posterior.py`"
    )


def test_the_fingerprint_sees_a_change_of_results() -> None:
    posterior, _ = shipped()
    assert behaviour_fingerprint(posterior, seeds=(0,), draws=(0,)) != behaviour_fingerprint(
        posterior, seeds=(1,), draws=(0,)
    )


def test_parameters_posterior_falls_back_to_the_shipped_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sim.posterior as post

    monkeypatch.setattr(post, "DEFAULT_CALIBRATION_DIR", tmp_path / "none")
    loaded = post.load_posterior("posterior")
    assert loaded is not None and Path(loaded.path) == SHIPPED_DIR / "posterior.parquet"
    assert loaded.draws == 1000
    own = tmp_path / "own"
    own.mkdir()
    pd.DataFrame({"groups.bla.attack_rate": [1.1, 1.2]}).to_parquet(own / "posterior.parquet")
    monkeypatch.setattr(post, "DEFAULT_CALIBRATION_DIR", own)
    mine = post.load_posterior("posterior")
    assert mine is not None and mine.draws == 2
