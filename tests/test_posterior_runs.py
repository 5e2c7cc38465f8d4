"""Scenarios over a stored posterior (``parameters=``): draws, reproducibility, bad files,
the config hash, and what compare/report/validate say about the intervals."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest

from sim.analysis import report
from sim.analysis.runs import load_runs
from sim.cli import main
from sim.config import config_hash, scenario_params
from sim.engine import simulate
from sim.params import ParameterError
from sim.posterior import DEFAULTS_TEXT, load_posterior, uncertainty_text
from sim.results import tables_from_replicates
from sim.runner import RunSpec, replicate_seed, run
from sim.validation import validate, validate_command
from tests.conftest import cpec

WEEKS = 8
TABLES = ("summary", "timeseries", "events")
DRAWS = {
    "cells.shatter_probability": [0.04, 0.06, 0.09],
    "groups.bla.attack_rate": [0.6, 1.15, 1.8],
    "targeting.prior_chinese": [0.05, 0.2, 0.4],
}


def write_posterior(path: Path, columns: dict[str, list] | None = None, draw: bool = True) -> Path:
    """A posterior.parquet in ``path`` (a directory) or at ``path`` (a .parquet file)."""
    file = path if path.suffix == ".parquet" else path / "posterior.parquet"
    file.parent.mkdir(parents=True, exist_ok=True)
    data = dict(DRAWS if columns is None else columns)
    frame = pd.DataFrame(data)
    if draw:
        frame.insert(0, "draw", range(len(frame)))
    frame.to_parquet(file)
    return file


def _spec(posterior_dir: Path | None, **kw: object) -> RunSpec:
    base: dict[str, object] = {
        "params": scenario_params("baseline"),
        "replicates": 5,
        "weeks": WEEKS,
        "chunk_size": 2,
        "posterior": load_posterior(str(posterior_dir)) if posterior_dir else None,
    }
    return RunSpec(**{**base, **kw})  # type: ignore[arg-type]


def _same_files(a: Path, b: Path) -> bool:
    return all(
        (a / f"{t}.parquet").read_bytes() == (b / f"{t}.parquet").read_bytes() for t in TABLES
    )


def test_each_replicate_runs_its_draw_and_equals_a_direct_run(tmp_path: Path) -> None:
    post = tmp_path / "cal"
    write_posterior(post)
    outcome = run(_spec(post, seed=3), tmp_path / "run", progress=None)
    assert outcome.status == "complete"
    stored = {t: pd.read_parquet(tmp_path / "run" / f"{t}.parquet") for t in TABLES}
    assert list(stored["summary"]["posterior_draw"]) == [0, 1, 2, 0, 1]
    for r in range(5):
        draw = r % 3
        row = {key: values[draw] for key, values in DRAWS.items()}
        seed = replicate_seed(3, r)
        direct = simulate(scenario_params("baseline", row), WEEKS, seed)
        expected = tables_from_replicates([(r, seed, direct)], {r: draw})
        for t in TABLES:
            mine = stored[t][stored[t]["replicate"] == r].reset_index(drop=True)
            pd.testing.assert_frame_equal(mine, expected[t].to_pandas())
    # the draw matters: replicate 0 without it (same seed) chooses its targets otherwise
    fixed = simulate(scenario_params("baseline"), WEEKS, replicate_seed(3, 0))
    drawn = stored["timeseries"][stored["timeseries"]["replicate"] == 0]
    assert list(drawn["share_chinese_target"]) != list(fixed.weekly["share_chinese_target"])
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    entry = manifest["parameters"]
    assert entry["source"] == "posterior" and entry["draws"] == 3
    assert entry["columns"] == list(DRAWS) and entry["path"] == str(post / "posterior.parquet")
    assert len(entry["sha256"]) == 64


def test_defaults_record_no_draw_and_keep_the_old_hash(tmp_path: Path) -> None:
    spec = _spec(None, replicates=2)
    assert spec.config_hash == config_hash(spec.params, spec.seed, spec.weeks, spec.scenario)
    run(spec, tmp_path / "run", progress=None)
    summary = pd.read_parquet(tmp_path / "run" / "summary.parquet")
    assert list(summary["posterior_draw"]) == [-1, -1]
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    assert manifest["parameters"] == {"source": "defaults"}


def test_chunks_stored_before_the_column_are_assembled_with_no_draw(tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    from sim.results import run_store

    run(_spec(None, replicates=4), tmp_path / "run", progress=None)
    store = run_store(tmp_path / "run", "any")
    old = store.path(0, "summary")
    pq.write_table(pq.read_table(old).drop_columns(["posterior_draw"]), old)
    store.assemble(range(2))
    summary = pd.read_parquet(tmp_path / "run" / "summary.parquet")
    assert list(summary["posterior_draw"]) == [-1] * 4 and list(summary["replicate"]) == [
        0,
        1,
        2,
        3,
    ]


def test_one_and_two_workers_write_identical_results(tmp_path: Path) -> None:
    post = tmp_path / "cal"
    write_posterior(post)
    one = run(_spec(post, replicates=6, jobs=1), tmp_path / "one", progress=None)
    two = run(_spec(post, replicates=6, jobs=2), tmp_path / "two", progress=None)
    assert one.status == two.status == "complete"
    assert _same_files(tmp_path / "one", tmp_path / "two")


def test_the_mesa_backend_writes_the_same_bytes(tmp_path: Path) -> None:
    post = tmp_path / "cal"
    write_posterior(post)
    run(_spec(post, replicates=3), tmp_path / "engine", progress=None)
    run(_spec(post, replicates=3, backend="mesa"), tmp_path / "mesa", progress=None)
    assert _same_files(tmp_path / "engine", tmp_path / "mesa")


def test_another_posterior_file_is_another_configuration(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    write_posterior(a)
    changed = {**DRAWS, "groups.bla.attack_rate": [0.6, 1.15, 1.9]}
    write_posterior(b, changed)
    spec_a, spec_b = _spec(a), _spec(b)
    assert spec_a.config_hash != spec_b.config_hash
    assert spec_a.config_hash != _spec(None).config_hash
    assert _spec(a).config_hash == spec_a.config_hash  # same bytes, same hash
    run(spec_a, tmp_path / "run", progress=None)
    with pytest.raises(ParameterError) as refused:
        run(spec_b, tmp_path / "run", progress=None)
    assert spec_a.posterior is not None and spec_b.posterior is not None
    then = spec_a.posterior.path
    said = f"holds a run over the posterior in {then} (now {spec_b.posterior.path})"
    assert said in str(refused.value)  # helper-171: the message did not name the posterior
    with pytest.raises(ParameterError, match="holds a run of another configuration"):
        run(replace(spec_a, seed=spec_a.seed + 1), tmp_path / "run", progress=None)
    with pytest.raises(ParameterError, match=re.escape(f"posterior in {then} (now none)")):
        run(_spec(None), tmp_path / "run", progress=None)
    run(_spec(None), tmp_path / "plain", progress=None)
    with pytest.raises(ParameterError, match=re.escape(f"without a posterior (now {then})")):
        run(spec_a, tmp_path / "plain", progress=None)


def _bad_files(root: Path) -> list[tuple[str, str]]:
    """(parameters value, expected message) pairs for bad posterior files."""
    cases = [(str(root / "missing.parquet"), "no posterior file")]
    text = root / "text" / "posterior.parquet"
    text.parent.mkdir(parents=True)
    text.write_text("draw,x\n0,1\n")
    cases.append((str(text), "is not a readable Parquet file"))
    unknown = write_posterior(root / "unknown", {"groups.bla.atack_rate": [1.0, 1.0, 1.0]})
    cases.append((str(unknown), "'groups.bla.atack_rate' is not a numeric model parameter"))
    lever = write_posterior(root / "lever", {"pakistan.accept_chinese_troops": [True] * 3})
    cases.append((str(lever), "'pakistan.accept_chinese_troops' is not a numeric model parameter"))
    bounds = write_posterior(root / "bounds", {"cells.shatter_probability": [0.1, 1.5, 0.2]})
    cases.append((str(bounds), "row 1: cells.shatter_probability=1.5 is out of bounds"))
    empty = write_posterior(root / "empty", {"cells.shatter_probability": []})
    cases.append((str(empty), "no draws"))
    nan = write_posterior(root / "nan", {"cells.shatter_probability": [0.1, float("nan"), 0.2]})
    cases.append((str(nan), "row 1: cells.shatter_probability is missing"))
    order = write_posterior(root / "order", {"china.hold_below": [0.2, 0.9, 0.2]})
    cases.append((str(order), "row 1: china thresholds must satisfy"))
    return cases


def test_bad_posterior_files_stop_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    # "posterior" falls back to the shipped one; without that too, it is a missing file
    monkeypatch.setattr("sim.posterior.SHIPPED_POSTERIOR_DIR", tmp_path / "not_shipped")
    cases = [*_bad_files(tmp_path / "bad"), ("posterior", "no posterior file")]
    for value, message in cases:
        code = main(["run", f"parameters={value}", "replicates=2", f"weeks={WEEKS}"])
        err = capsys.readouterr().err
        assert code == 2, (value, err)
        assert message in err, (value, err)
        assert err.count("\n") == 1 and "Traceback" not in err, err
        assert not (tmp_path / "results").exists()
    code = validate_command(["--parameters", cases[2][0], "--out", str(tmp_path / "v")])
    err = capsys.readouterr().err
    assert code == 2 and cases[2][1] in err and err.count("\n") == 1
    assert not (tmp_path / "v").exists()


def test_the_cli_runs_a_posterior_and_refuses_to_resume_another(workdir: Path) -> None:
    write_posterior(workdir / "cal")
    args = ("run", "parameters=cal", "replicates=4", f"weeks={WEEKS}", "plots=false")
    first = cpec(*args, cwd=workdir)
    assert first.returncode == 0, first.stderr
    assert "model randomness and the uncertainty of the calibrated parameters" in first.stdout
    name = "baseline,parameters=cal,replicates=4,weeks=8"
    run_dir = workdir / "results" / "runs" / name
    summary = pd.read_parquet(run_dir / "summary.parquet")
    assert list(summary["posterior_draw"]) == [0, 1, 2, 0]
    assert summary["attacks_total"].tolist()  # ran
    write_posterior(workdir / "cal", {**DRAWS, "cells.events_per_week": [30] * 3})
    again = cpec(*args, cwd=workdir)
    said = "holds a run over an earlier version of the posterior in "
    assert again.returncode == 2 and said in again.stderr, again.stderr


@pytest.mark.parametrize(
    "given",
    [
        ["groups.bla.attack_rate=2"],
        ["-m", "groups.bla.attack_rate=1,2"],
        ["-m", "parameters=defaults,cal", "groups.bla.attack_rate=2"],
    ],
)
def test_a_value_the_posterior_draws_is_refused_on_the_command_line(
    workdir: Path, given: list[str]
) -> None:
    """A stranger: runs with parameters=posterior and attacks.lethality_security=1.2 or 2.4
    were identical, yet their folders, config.yaml and compare's labels named the values, and
    compare read the sweep as "no effect". A value the posterior draws is refused, before
    anything is written; one it does not draw is run."""
    write_posterior(workdir / "cal")
    base = ("run", "parameters=cal", "replicates=2", f"weeks={WEEKS}", "plots=false")
    args = [a for a in base if not (a == "parameters=cal" and "parameters=defaults,cal" in given)]
    refused = cpec(*args, *given, cwd=workdir)
    assert refused.returncode == 2 and refused.stderr.count("\n") == 1, refused.stderr
    assert "groups.bla.attack_rate is not allowed with parameters=cal" in refused.stderr
    assert not (workdir / "results").exists()
    kept = cpec(*base, "groups.blf.attack_rate=2", cwd=workdir)  # not drawn: it is used
    assert kept.returncode == 0, kept.stderr


def test_compare_and_report_say_which_uncertainty(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    post = tmp_path / "cal"
    file = write_posterior(post)
    run(_spec(None, replicates=3), tmp_path / "fixed", progress=None)
    run(_spec(post, replicates=3), tmp_path / "drawn", progress=None)
    drawn_text = (
        "model randomness and the uncertainty of the calibrated parameters "
        f"(posterior: {file}, 3 draws"
    )

    code = main(["compare", str(tmp_path / "fixed"), "--no-plots", "--out", str(tmp_path / "c")])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert f"Intervals include {DEFAULTS_TEXT}." in out and "not comparable" not in err + out

    both = [str(tmp_path / "fixed"), str(tmp_path / "drawn")]
    code = main(["compare", *both, "--no-plots", "--out", str(tmp_path / "c2")])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert DEFAULTS_TEXT in out and drawn_text in out
    assert "Caution: the runs' intervals are not comparable" in out
    warnings = [line for line in err.splitlines() if "not comparable" in line]
    assert len(warnings) == 1 and warnings[0].startswith("cpec-sim compare: warning:")

    monkeypatch.setattr(report, "comparison_figures", lambda runs, table: iter(()))
    html = report.build_report(load_runs(both), per_run_plots=False)
    assert DEFAULTS_TEXT in html and drawn_text in html
    assert "intervals are not comparable" in html and "posterior_draw" in html


def test_validate_reports_the_posterior_predictive(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    post = tmp_path / "cal"
    write_posterior(post)
    table = validate(
        replicates=4,
        seed=1,
        jobs=1,
        weeks=52,
        out_dir=tmp_path / "v",
        plots=False,
        parameters=str(post),
    )
    assert table.attrs["parameters"]["source"] == "posterior"
    summary = pd.read_parquet(tmp_path / "v" / "baseline" / "summary.parquet")
    assert list(summary["posterior_draw"]) == [0, 1, 2, 0]
    argv = ["--replicates", "4", "--seed", "1", "--jobs", "1", "--weeks", "52", "--no-plots"]
    code = validate_command([*argv, "--out", str(tmp_path / "v"), "--parameters", str(post)])
    out = capsys.readouterr().out
    assert code == 0
    assert "Baseline posterior predictive (3 draws) vs the observed record" in out
    assert (
        "Model intervals include model randomness and the uncertainty of the calibrated parameters"
        in out
    )
    code = validate_command([*argv, "--out", str(tmp_path / "v")])
    captured = capsys.readouterr()
    assert code == 0 and "Baseline vs the observed record" in captured.out
    assert DEFAULTS_TEXT in captured.out and "replacing" in captured.err  # another configuration


def test_a_calibration_that_did_not_finish_is_refused_as_a_posterior(tmp_path: Path) -> None:
    """A review found ``parameters=DIR`` using the posterior of a calibration that crashed
    or was killed while resuming (its manifest still says 'running'; the posterior file may
    be an earlier one's). A posterior file without a calibration's manifest is one's own."""
    folder = tmp_path / "cal"
    write_posterior(folder)
    assert load_posterior(str(folder)) is not None
    (folder / "manifest.json").write_text(json.dumps({"status": "running"}), encoding="utf-8")
    with pytest.raises(ParameterError, match=r"did not finish \(status 'running'\)"):
        load_posterior(str(folder))
    with pytest.raises(ParameterError, match="did not finish"):
        load_posterior(str(folder / "posterior.parquet"))
    (folder / "manifest.json").write_text(json.dumps({"status": "complete"}), encoding="utf-8")
    assert load_posterior(str(folder)) is not None


def test_runs_over_a_calibration_leave_its_placebo_out(tmp_path: Path) -> None:
    """A review found the calibration's placebo (investors' risk aversion, drawn from its
    prior because the record cannot inform it) applied to every run over the shipped
    posterior, widening the investment outcomes. A calibration's posterior leaves it out
    (and says so); a posterior file of one's own keeps every column."""
    import shutil

    from sim.posterior import SHIPPED_POSTERIOR_DIR

    shipped = load_posterior("posterior")
    assert shipped is not None and shipped.left_out == ("investors.risk_aversion",)
    assert "investors.risk_aversion" not in shipped.columns
    assert shipped.manifest()["left_out"] == ["investors.risk_aversion"]
    assert shipped.key != shipped.sha256  # runs made before this are not resumed as equal
    own = tmp_path / "own"
    own.mkdir()
    shutil.copy(SHIPPED_POSTERIOR_DIR / "posterior.parquet", own / "posterior.parquet")
    mine = load_posterior(str(own))
    assert mine is not None and "investors.risk_aversion" in mine.columns and not mine.left_out
    assert mine.key == mine.sha256 == shipped.sha256
    assert "without the placebo investors.risk_aversion" in uncertainty_text(shipped.manifest())
    # a calibration's own record of its placebos decides (another calibration file may mark
    # none), and one made with another space than the default file's drops nothing
    import json

    cal = tmp_path / "cal"
    shutil.copytree(SHIPPED_POSTERIOR_DIR, cal)
    manifest = json.loads((cal / "manifest.json").read_text(encoding="utf-8"))
    (cal / "manifest.json").write_text(json.dumps({**manifest, "placebo": []}), encoding="utf-8")
    recorded = load_posterior(str(cal))
    assert recorded is not None and not recorded.left_out
    # (a calibration made before manifests recorded their placebos: judged by its space)
    older = {k: v for k, v in manifest.items() if k != "placebo"}
    (cal / "manifest.json").write_text(json.dumps(older), encoding="utf-8")
    assert load_posterior(str(cal)).left_out == ("investors.risk_aversion",)  # type: ignore[union-attr]
    other_space = {**older, "space": {**manifest["space"], "weeks": 52}}
    (cal / "manifest.json").write_text(json.dumps(other_space), encoding="utf-8")
    other = load_posterior(str(cal))
    assert other is not None and not other.left_out


def test_a_calibration_of_other_settings_is_named_and_a_stale_shipped_one_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A review found a 40-particle ``--fast`` calibration, and a shipped posterior whose model
    had changed since (its fingerprint no longer matched), both used without a word."""
    import shutil

    from sim.calibration import shipped
    from sim.posterior import SHIPPED_POSTERIOR_DIR

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))  # no remembered checks
    assert load_posterior("posterior").problems == ()  # type: ignore[union-attr]
    cal = tmp_path / "cal"
    shutil.copytree(SHIPPED_POSTERIOR_DIR, cal)
    manifest = json.loads((cal / "manifest.json").read_text(encoding="utf-8"))
    fast = {**manifest, "settings": {**manifest["settings"], "population": 40}}
    (cal / "manifest.json").write_text(json.dumps(fast), encoding="utf-8")
    post = load_posterior(str(cal))
    assert post is not None and len(post.problems) == 1
    assert post.problems[0].endswith("are not the documented ones: population 40 (documented 400)")
    # (a stranger read 'not a calibration of this model, record and the documented settings'
    # as all three differing; the parenthesis says which)
    assert "is not the documented calibration of this model and record (" in post.note
    assert post.manifest()["problems"] == list(post.problems)
    # the check is remembered: the same files are not checked again ...
    monkeypatch.setattr(shipped, "calibration_problems", lambda *a, **k: ["checked again"])
    assert load_posterior(str(cal)).problems == post.problems  # type: ignore[union-attr]
    # ... until one of them changes
    (cal / "manifest.json").write_text(json.dumps(fast, indent=1), encoding="utf-8")
    assert load_posterior(str(cal)).problems == ("checked again",)  # type: ignore[union-attr]
    # parameters=posterior refuses a shipped posterior that is not this model's
    monkeypatch.chdir(tmp_path)  # no calibration of one's own
    monkeypatch.setattr("sim.posterior.SHIPPED_POSTERIOR_DIR", cal)
    with pytest.raises(ParameterError, match="is not a calibration of this model and record"):
        load_posterior("posterior")


def test_a_posterior_says_how_many_of_its_draws_differ() -> None:
    """A stranger: the shipped posterior's 1,000 equal-weight draws are 331 different ones
    (resampled from the ABC's weighted particles), and the notes said only 1,000."""
    from sim.posterior import Posterior

    repeated = Posterior("p", "x", ("a", "b"), ((1.0, 2), (1.0, 2), (1.5, 2), (1.0, 3)))
    assert (
        repeated.distinct == 3 and repeated.draws_said() == "4 draws (the file's 4 hold 3 distinct)"
    )
    unique = Posterior("p", "x", ("a",), ((1.0,), (2.0,)))
    assert unique.draws_said() == "2 draws"


def test_reading_a_posterior_starts_no_thread(tmp_path: Path) -> None:
    """A run refused after reading its posterior aborted in a few exits of a hundred:
    "terminate called without an active exception", exit 134 (apache/arrow#34314: Arrow's
    dataset layer, behind ``pq.read_table``, starts a thread even with ``use_threads=False``,
    and exiting while it starts aborts). The posterior is read without starting one."""
    write_posterior(tmp_path / "cal")
    code = (
        "import os, sys\n"
        "import numpy, pandas, pyarrow.parquet\n"
        "from sim.posterior import load_posterior\n"
        "threads = lambda: len(os.listdir('/proc/self/task'))\n"
        "before = threads()\n"
        "assert load_posterior(sys.argv[1]).draws == 3\n"
        "print(before, threads())\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "cal")], capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    before, after = map(int, out.stdout.split())
    assert after == before
