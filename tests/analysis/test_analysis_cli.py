"""The plot / compare / report commands: success paths and one-line errors on bad input."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from sim.analysis import cli


def _one_line_error(capsys: pytest.CaptureFixture[str], *needles: str) -> str:
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    for needle in needles:
        assert needle in lines[0]
    return lines[0]


@pytest.mark.parametrize("command", [cli.plot_command, cli.compare_command, cli.report_command])
def test_missing_directory(tmp_path: Path, command, capsys) -> None:
    assert command([str(tmp_path / "nope")]) == 2
    _one_line_error(capsys, "nope", "no such directory")


@pytest.mark.parametrize("command", [cli.plot_command, cli.compare_command, cli.report_command])
def test_directory_without_summary(tmp_path: Path, command, capsys) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    assert command([str(empty)]) == 2
    _one_line_error(capsys, "no summary.parquet")
    assert list(empty.iterdir()) == []


def test_unknown_reference_writes_nothing(tmp_path: Path, make_run, capsys) -> None:
    a = make_run(tmp_path / "a", scenario="baseline", n=3, weeks=2)
    b = make_run(tmp_path / "b", scenario="full_pressure", n=3, weeks=2)
    out = tmp_path / "out"
    code = cli.compare_command([str(a), str(b), "--reference", "nope", "--out", str(out)])
    assert code == 2
    _one_line_error(capsys, "unknown reference 'nope'", "baseline, full_pressure")
    assert not out.exists()
    code = cli.report_command(
        [str(a), str(b), "--reference", "nope", "--out", str(tmp_path / "r.html")]
    )
    assert code == 2
    _one_line_error(capsys, "unknown reference 'nope'")
    assert not (tmp_path / "r.html").exists()


def test_unknown_option_and_missing_argument(capsys) -> None:
    assert cli.compare_command(["--bogus"]) == 2
    _one_line_error(capsys, "cpec-sim compare")
    assert cli.report_command([]) == 2
    _one_line_error(capsys, "required")


def test_help_returns_zero(capsys) -> None:
    assert cli.compare_command(["--help"]) == 0
    assert "--reference" in capsys.readouterr().out


def test_compare_writes_csv_and_prints_table(tmp_path: Path, make_run, capsys, monkeypatch) -> None:
    a = make_run(tmp_path / "runs" / "baseline", scenario="baseline", n=5, weeks=2)
    b = make_run(tmp_path / "runs" / "full", scenario="full_pressure", n=5, weeks=2, shift=3)
    monkeypatch.chdir(tmp_path)
    assert cli.compare_command([str(a), str(b), "--no-plots"]) == 0
    out = capsys.readouterr().out
    assert "Reference: Baseline." in out and "Full pressure" in out
    csv = tmp_path / "results" / "comparisons" / "baseline_vs_full_pressure" / "comparison.csv"
    table = pd.read_csv(csv)
    assert set(table["scenario"]) == {"baseline", "full_pressure"}


def test_compare_of_a_sweep_writes_into_the_sweep(tmp_path: Path, make_sweep, capsys) -> None:
    sweep = make_sweep(tmp_path / "sweep", {"a.x": [1, 2], "b.y": [3, 4]}, n=3)
    assert cli.compare_command([str(sweep), "--no-plots"]) == 0
    assert (sweep / "comparison.csv").is_file()
    assert "All runs: scenario Chinese troops" in capsys.readouterr().out
