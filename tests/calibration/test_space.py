"""The calibration file: ranges that could give an invalid model, and unreadable files, are
refused when it is loaded, in one line, before anything is written."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sim.calibration.space import load_space
from sim.cli import main
from sim.explore.space import StudyError

CHINA = ("demand_below", "hold_below", "pressure_below")
#: Two quantities no relation ties, so that the corners are those of subsets of the file's.
UNRELATED = {
    "attacks.lethality_security": (1.2, 2.4),
    "pakistan.attrition_at_full_intensity": (0.003, 0.008),
}


def calibration_file(folder: Path, ranges: dict[str, tuple[float, float]]) -> Path:
    """A calibration file of one quantity per dotted key, named after the key's last part."""
    lines = ["parameters:"]
    for key, (low, high) in ranges.items():
        lines += [f"  {key.split('.')[-1]}:", f"    keys: [{key}]", f"    range: [{low}, {high}]"]
    path = folder / "calibration.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_china_threshold_ranges_are_refused_exactly_when_they_can_break_the_ordering(
    tmp_path: Path,
) -> None:
    """Known answer: ranges of demand <= hold <= pressure can break the ordering if and only
    if one's top exceeds the next one's bottom. 60 random boxes (seeded): 26 can."""
    rng = np.random.default_rng(3)
    bad = 0
    for _ in range(60):
        lows = np.sort(rng.uniform(0.05, 0.85, 3))
        highs = lows + rng.uniform(0.0, 0.12, 3)
        keys = [f"china.{k}" for k in CHINA]
        ranges = {
            k: (round(lo, 3), round(hi, 3)) for k, lo, hi in zip(keys, lows, highs, strict=True)
        }
        demand, hold, pressure = ranges.values()
        can_break = demand[1] > hold[0] or hold[1] > pressure[0]
        path = calibration_file(tmp_path, {**UNRELATED, **ranges})
        if can_break:
            with pytest.raises(StudyError, match="can give an invalid model"):
                load_space(path)
            bad += 1
        else:
            assert len(load_space(path).priors) == 5
    assert 15 <= bad <= 45  # both answers were asked for


def test_the_message_names_the_quantities_and_the_relation(tmp_path: Path) -> None:
    pair = {"china.hold_below": (0.3, 0.6), "china.pressure_below": (0.4, 0.9)}
    with pytest.raises(StudyError) as err:
        load_space(calibration_file(tmp_path, pair))
    message = str(err.value)
    assert "\n" not in message and "hold_below [0.3, 0.6], pressure_below [0.4, 0.9]" in message
    assert "demand_below <= hold_below <= pressure_below" in message
    # three target priors that may all be 0 together
    priors = {f"targeting.prior_{k}": (0.0, 0.5) for k in ("chinese", "security", "infrastructure")}
    with pytest.raises(StudyError, match="must not all be 0"):
        load_space(calibration_file(tmp_path, priors))
    # the shipped file passes; one range alone that breaks the defaults' ordering does not
    load_space()
    with pytest.raises(StudyError, match=r"range of hold_below \[0.1, 0.9\] .* narrow it"):
        load_space(calibration_file(tmp_path, {"china.hold_below": (0.1, 0.9)}))


def test_the_command_refuses_such_a_file_and_a_non_utf8_one_in_one_line(
    tmp_path: Path, capsys
) -> None:
    out = tmp_path / "out"
    broken = calibration_file(tmp_path, {"china.hold_below": (0.1, 0.9)})
    assert main(["calibrate", "--fast", "--file", str(broken), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "hold_below" in err and "Traceback" not in err
    assert not out.exists()  # refused before the pilot: no folder left behind
    latin1 = tmp_path / "latin1.yaml"
    latin1.write_bytes("description: caf\u00e9\nparameters: {}\n".encode("latin-1"))
    assert main(["calibrate", "--fast", "--file", str(latin1), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not UTF-8" in err and "internal error" not in err
    assert not out.exists()


def test_an_unknown_scenario_names_the_scenarios_and_an_unexpected_error_is_not_hidden(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """helper-188: every exception of loading the scenario read "unknown scenario 'baseline'"
    (a script named ``attr.py`` had shadowed a package)."""
    path = calibration_file(tmp_path, UNRELATED)
    path.write_text(path.read_text() + "scenario: nope\n")
    with pytest.raises(StudyError, match="unknown scenario 'nope': choose one of baseline"):
        load_space(path)

    def broken(name: str) -> None:
        raise ImportError("cannot import name 'define' from 'attr'")

    monkeypatch.setattr("sim.config.load_scenario", broken)
    with pytest.raises(ImportError, match="attr"):
        load_space(calibration_file(tmp_path, UNRELATED))
