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
    (folder,) = (tmp_path / "results" / "comparisons").iterdir()
    assert folder.name.startswith("baseline_vs_full_pressure-")
    csv = folder / "comparison.csv"
    table = pd.read_csv(csv)
    assert set(table["scenario"]) == {"baseline", "full_pressure"}


def test_compare_of_a_sweep_writes_into_the_sweep(tmp_path: Path, make_sweep, capsys) -> None:
    sweep = make_sweep(tmp_path / "sweep", {"a.x": [1, 2], "b.y": [3, 4]}, n=3)
    assert cli.compare_command([str(sweep), "--no-plots"]) == 0
    assert (sweep / "comparison.csv").is_file()
    assert "All runs: scenario Chinese troops" in capsys.readouterr().out


def test_comparisons_of_other_runs_of_the_same_scenarios_never_share_a_folder(
    tmp_path: Path, make_run, monkeypatch, capsys
) -> None:
    a = make_run(tmp_path / "runs" / "baseline", scenario="baseline", n=5, weeks=2)
    b = make_run(tmp_path / "runs" / "full", scenario="full_pressure", n=5, weeks=2, shift=3)
    c = make_run(tmp_path / "other" / "full", scenario="full_pressure", n=5, weeks=2, shift=9)
    monkeypatch.chdir(tmp_path)
    assert cli.compare_command([str(a), str(b)]) == 0
    assert cli.compare_command([str(a), str(c), "--no-plots"]) == 0
    assert cli.compare_command(["runs/baseline", "runs/full", "--no-plots"]) == 0  # = the first
    folders = sorted((tmp_path / "results" / "comparisons").iterdir())
    assert len(folders) == 2 and all("baseline_vs_full_pressure-" in f.name for f in folders)
    for folder in folders:  # the table of the runs compared, and no figures of another
        assert not list(folder.glob("compare_*.png")), folder
    assert cli.report_command([str(a), str(b)]) == 0  # the command's default: every figure
    # the runs' own figures left out: they are not what names a report (~20 s of drawing)
    assert cli.report_command([str(a), str(c), "--no-run-plots"]) == 0
    assert len(list((tmp_path / "results" / "reports").glob("*.html"))) == 2
    capsys.readouterr()


def test_the_same_run_given_twice_is_refused(tmp_path: Path, make_run, capsys) -> None:
    a = make_run(tmp_path / "runs" / "baseline", n=5, weeks=2)
    assert cli.compare_command([str(a), f"{a}/../baseline/", "--no-plots"]) == 2
    _one_line_error(capsys, "the same run is given twice")


def test_an_unfinished_run_says_how_to_finish_it(tmp_path: Path, capsys) -> None:
    run = tmp_path / "runs" / "stopped"
    run.mkdir(parents=True)
    (run / "manifest.json").write_text('{"status": "interrupted"}')
    assert cli.compare_command([str(run), "--no-plots"]) == 2
    _one_line_error(capsys, "did not finish", "interrupted", "resume")


def test_compare_of_a_sweep_says_which_jobs_have_no_results(
    tmp_path: Path, make_run, capsys
) -> None:
    import json

    sweep = tmp_path / "sweep"
    for scenario in ("baseline", "chinese_troops", "full_pressure"):
        make_run(sweep / scenario, scenario=scenario, n=4, weeks=2)
    (sweep / "baseline" / "summary.parquet").unlink()
    jobs = [
        {
            "dir": "baseline",
            "overrides": {"scenario": "baseline"},
            "status": "refused",
            "message": "unknown key attacks.x",
        },
        {"dir": "chinese_troops", "overrides": {"scenario": "chinese_troops"}},
        {"dir": "full_pressure", "overrides": {"scenario": "full_pressure"}},
    ]
    (sweep / "sweep.json").write_text(json.dumps({"swept": ["scenario"], "jobs": jobs}))
    assert cli.compare_command([str(sweep), "--no-plots"]) == 0
    out = capsys.readouterr().out
    assert (
        "Not included: sweep job baseline has no results (refused: unknown key attacks.x)." in out
    )
    assert "Reference: Chinese troops (standing in for the baseline, sweep job" in out


def test_a_refused_job_with_earlier_results_is_included_with_a_note(
    tmp_path: Path, make_run, capsys
) -> None:
    """A stranger (helper-140): after a scenario file changed, the sweep's command refused a
    job whose folder held the old configuration's results, and compare showed them as the
    sweep's without a word. They are compared as stored, with a line saying so."""
    import json

    sweep = tmp_path / "sweep"
    for scenario in ("baseline", "surge"):
        make_run(sweep / scenario, scenario=scenario, n=4, weeks=2)
    jobs = [
        {"dir": "baseline", "overrides": {"scenario": "baseline"}, "status": "complete"},
        {
            "dir": "surge",
            "overrides": {"scenario": "surge"},
            "status": "refused",
            "message": "surge holds a run of another configuration\nmore",
        },
    ]
    (sweep / "sweep.json").write_text(json.dumps({"swept": ["scenario"], "jobs": jobs}))
    assert cli.compare_command([str(sweep), "--no-plots"]) == 0
    out = capsys.readouterr().out
    assert (
        "Included as stored: sweep job surge holds the results of an earlier command; the "
        "sweep's latest command refused it (surge holds a run of another configuration)" in out
    )
    assert "sweep job baseline holds" not in out


@pytest.mark.parametrize(
    "name", ["summary.parquet", "manifest.json", "config.yaml", "chunks/summary-0.parquet"]
)
def test_report_never_writes_over_a_runs_records(
    tmp_path: Path, make_run, capsys, monkeypatch, name: str
) -> None:
    from sim.analysis import report

    run = make_run(tmp_path / "victim", n=3, weeks=2)
    before = {p: p.read_bytes() for p in run.rglob("*") if p.is_file()}
    drawn: list[int] = []
    monkeypatch.setattr(report, "build_report", lambda *a, **k: drawn.append(1) or "")
    assert cli.report_command([str(run), "--no-run-plots", "--out", str(run / name)]) == 2
    _one_line_error(capsys, f"--out {run / name}", "ending in .html")
    assert not drawn  # refused before rendering
    assert {p: p.read_bytes() for p in run.rglob("*") if p.is_file()} == before


@pytest.mark.parametrize(
    "name", ["Summary.PARQUET", "MANIFEST.json", "plots/new.png", "chunks/x.done.json", "r.txt"]
)
def test_report_out_is_html_and_no_record_in_any_case(
    tmp_path: Path, make_run, capsys, monkeypatch, name: str
) -> None:
    """A report's name ends in .html or .htm; a record's name is refused in any case (one
    file on a case-insensitive disk)."""
    from sim.analysis import report

    run = make_run(tmp_path / "victim", n=3, weeks=2)
    (run / "plots").mkdir()
    before = {p: p.read_bytes() for p in run.rglob("*") if p.is_file()}
    drawn: list[int] = []
    monkeypatch.setattr(report, "build_report", lambda *a, **k: drawn.append(1) or "")
    assert cli.report_command([str(run), "--no-run-plots", "--out", str(run / name)]) == 2
    _one_line_error(capsys, f"--out {run / name}", "ending in .html")
    assert not drawn
    assert {p: p.read_bytes() for p in run.rglob("*") if p.is_file()} == before
    cli.check_report_out(tmp_path / "elsewhere.HTM")  # the suffix in any case


@pytest.mark.parametrize(
    "name",
    [
        "summary.html",
        "Report.html",
        "plots/report.html",
        "chunks/report.html",
        "failures/r.html",
        ".hydra/r.html",
        "new/report.html",
    ],
)
@pytest.mark.parametrize("sweep", [False, True])
def test_a_report_in_a_run_or_sweep_folder_is_report_html_so_that_it_can_run_again(
    tmp_path: Path, make_run, make_sweep, capsys, monkeypatch, name: str, sweep: bool
) -> None:
    """In a run or sweep folder (or a folder of one) a report is written only as
    report.html beside the records, the one name the run command accepts there: any other
    left the folder refused ('holds files that are not a run of cpec-sim')."""
    from sim.analysis import report
    from sim.cli import check_output_dir
    from sim.folders import is_run_folder, is_sweep_folder

    if sweep:
        folder = make_sweep(tmp_path / "sweep", {"attacks.x": [1, 2], "attacks.y": [1]}, n=3)
        inside = [folder, next(p for p in folder.iterdir() if p.is_dir())]
        ours = is_sweep_folder
    else:
        folder = make_run(tmp_path / "run", n=3, weeks=2)
        inside = [folder]
        ours = is_run_folder
    drawn: list[int] = []
    monkeypatch.setattr(report, "build_report", lambda *a, **k: drawn.append(1) or "x")
    for where in inside:
        if (where / "manifest.json").is_file():  # a run's folders
            for sub in ("plots", "chunks", "failures", ".hydra"):
                (where / sub).mkdir(exist_ok=True)
        out = where / name
        assert cli.report_command([str(folder), "--no-run-plots", "--out", str(out)]) == 2
        _one_line_error(capsys, f"--out {out}", "only as the report.html", str(where))
        assert not out.exists() and not drawn
        assert ours(folder)
    # report.html beside the records of the folder reported: written, and it runs again
    out = folder / "report.html"
    assert cli.report_command([str(folder), "--no-run-plots", "--out", str(out)]) == 0
    assert out.read_text() == "x"
    capsys.readouterr()
    assert ours(folder)
    check_output_dir(folder, "hydra.run.dir", ["attacks.x", "attacks.y"] if sweep else None)
    if sweep:  # a sweep's report is not a job's report.html (a reviewer: it sat as the job's)
        job = inside[1] / "report.html"
        assert cli.report_command([str(folder), "--no-run-plots", "--out", str(job)]) == 2
        assert not job.exists()


def test_a_report_out_under_the_home_folder_is_written_there(
    tmp_path: Path, make_run, capsys, monkeypatch
) -> None:
    """--out=~/x.html reaches the command unexpanded: it made a folder named ~ here."""
    from sim.analysis import report

    run = make_run(tmp_path / "run", n=3, weeks=2)
    home, here = tmp_path / "home", tmp_path / "here"
    home.mkdir()
    here.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(here)
    monkeypatch.setattr(report, "build_report", lambda *a, **k: "x")
    assert cli.report_command([str(run), "--no-run-plots", "--out=~/reports/x.html"]) == 0
    assert (home / "reports" / "x.html").read_text() == "x" and not (here / "~").exists()
    assert str(home / "reports" / "x.html") in capsys.readouterr().out


def test_a_link_or_dotdot_cannot_lead_a_report_into_a_run(
    tmp_path: Path, make_run, capsys, monkeypatch
) -> None:
    """A reviewer: --out link/../evil.html (link to run/plots) was checked as ./evil.html and
    written into the run; run/newdir/../report.html made run/newdir; both left the run
    refused by the run command."""
    from sim.analysis import report
    from sim.folders import is_run_folder

    run = make_run(tmp_path / "run", n=3, weeks=2)
    (run / "plots").mkdir(exist_ok=True)
    other = make_run(tmp_path / "other", n=3, weeks=2)
    (tmp_path / "plink").symlink_to(run / "plots")
    monkeypatch.setattr(report, "build_report", lambda *a, **k: "x")
    for out in (
        tmp_path / "plink" / ".." / "evil.html",
        tmp_path / "plink" / "evil.html",
        other / "report.html",  # another run's report.html: not a report of it
    ):
        assert cli.report_command([str(run), "--no-run-plots", "--out", str(out)]) == 2, out
        capsys.readouterr()
    assert (
        cli.report_command(
            [str(run), "--no-run-plots", "--out", str(run / "newdir" / ".." / "report.html")]
        )
        == 0
    )
    capsys.readouterr()
    assert not (run / "newdir").exists() and (run / "report.html").read_text() == "x"
    assert is_run_folder(run) and is_run_folder(other)


def test_report_replaces_only_a_report_it_wrote(tmp_path: Path, make_run, capsys) -> None:
    run = make_run(tmp_path / "run", n=3, weeks=2)
    mine = tmp_path / "notes.html"
    mine.write_text("<!DOCTYPE html><html><head><title>my notes</title></head></html>")
    assert cli.report_command([str(run), "--no-run-plots", "--out", str(mine)]) == 2
    _one_line_error(capsys, f"--out {mine}", "not a report of cpec-sim")
    assert "my notes" in mine.read_text()
    out = tmp_path / "r.html"
    assert cli.report_command([str(run), "--no-run-plots", "--out", str(out)]) == 0
    assert cli.report_command([str(run), "--no-run-plots", "--out", str(out)]) == 0  # again
    older = tmp_path / "older.html"  # written before reports carried their marker
    older.write_text(
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">\n'
        "<title>cpec-sim report: Baseline</title></head></html>"
    )
    assert cli.report_command([str(run), "--no-run-plots", "--out", str(older)]) == 0
    capsys.readouterr()


def test_report_checks_where_it_writes_before_rendering(
    tmp_path: Path, make_run, capsys, monkeypatch
) -> None:
    from sim.analysis import report

    run = make_run(tmp_path / "run", n=3, weeks=2)
    (tmp_path / "rep1.html").write_text("a file, not a folder")
    drawn: list[int] = []
    monkeypatch.setattr(report, "build_report", lambda *a, **k: drawn.append(1) or "")
    out = tmp_path / "rep1.html" / "x.html"
    assert cli.report_command([str(run), "--no-run-plots", "--out", str(out)]) == 2
    _one_line_error(capsys, f"--out {out}", "rep1.html is not a folder")
    assert not drawn


def _sweep_with_troubled_jobs(path: Path, make_sweep) -> Path:
    """A sweep of one scenario over two keys (jobs 0-3): job 0 failed before it wrote
    anything, job 1 failed with results (one replicate of five raised), job 2 failed without
    results while sweep.json, written before it ran again, still says complete."""
    import json

    sweep = make_sweep(path, {"attacks.x": [1, 2], "attacks.y": [1, 2]}, n=4)
    for name in ("summary.parquet", "timeseries.parquet", "events.parquet", "manifest.json"):
        (sweep / "0" / name).unlink()
    manifest = json.loads((sweep / "1" / "manifest.json").read_text())
    manifest.update(status="failed", replicates=5, failed_replicates=[3])
    manifest["message"] = f"1 replicate(s) raised: see {sweep / '1' / 'failures'}"
    (sweep / "1" / "manifest.json").write_text(json.dumps(manifest))
    (sweep / "2" / "summary.parquet").unlink()
    manifest = json.loads((sweep / "2" / "manifest.json").read_text())
    manifest.update(status="failed", message="boom\nTraceback …")
    (sweep / "2" / "manifest.json").write_text(json.dumps(manifest))
    index = json.loads((sweep / "sweep.json").read_text())
    for job in index["jobs"]:
        job["status"] = "complete"
    (sweep / "sweep.json").write_text(json.dumps(index))
    return sweep


def test_a_sweep_stopped_before_any_job_finished_says_which_never_started(
    tmp_path: Path, capsys
) -> None:
    """A reviewer's Ctrl-C in the first job: compare said only that no job holds results."""
    import json

    sweep = tmp_path / "sweep"
    (sweep / "seed=1").mkdir(parents=True)
    (sweep / "seed=1" / "manifest.json").write_text('{"status": "interrupted"}')
    index = {"swept": ["seed"], "jobs": [{"dir": "seed=1", "status": "interrupted"}]}
    index["not_started"] = [{"seed": "2"}, {"seed": "3"}]
    (sweep / "sweep.json").write_text(json.dumps(index))
    assert cli.compare_command([str(sweep), "--no-plots"]) != 0
    assert (
        "sweep directory without any job holding summary.parquet (2 of its 3 jobs never "
        "started: re-run the command that started it to run them)" in capsys.readouterr().err
    )


def test_a_sweep_says_which_jobs_failed_with_and_without_results(
    tmp_path: Path, make_sweep, capsys
) -> None:
    """A failed job's surviving replicates are not a fair sample: the notes say it is included
    although it failed. A job without results says its manifest's status where sweep.json's
    says complete, and the reference stands in for the first job, which has none."""
    from sim.analysis import report

    sweep = _sweep_with_troubled_jobs(tmp_path / "sweep", make_sweep)
    notes = [
        "Not included: sweep job 0 has no results.",
        "Not included: sweep job 2 has no results (failed: boom).",
        f"Included although failed: sweep job 1 (4 of 5 replicates; 1 raised: see "
        f"{sweep / '1' / 'failures'}).",
    ]
    assert cli.compare_command([str(sweep), "--no-plots"]) == 0
    out = capsys.readouterr().out
    for note in notes:
        assert note in out
    assert (
        "Reference: x=1, y=2 (standing in for the first job, sweep job 0, which has no "
        "results; --reference chooses another)." in out
    )
    assert "no results (no results" not in out
    html = report.report([sweep], tmp_path / "r.html", per_run_plots=False).read_text()
    what_was_run = (
        html.split("<h2>What was run</h2>", 1)[1].split("<div class='wide'><table>", 1)[0].strip()
    )
    assert what_was_run == "".join(f"<p class='note'>{report._e(n)}</p>" for n in notes)
    assert "standing in for the first job, sweep job 0" in html
    assert cli.compare_command([str(sweep), "--no-plots", "--reference", "3"]) == 0
    assert "standing in" not in capsys.readouterr().out  # a reference asked for


def test_of_two_baselines_alike_the_default_reference_is_the_larger(
    tmp_path: Path, make_run, capsys
) -> None:
    """A stranger added a 5-replicate baseline to a sweep's 60: it became the reference and
    every difference lost its test."""
    import json

    sweep = tmp_path / "sweep"
    plan = [("a", "baseline", 5), ("b", "baseline", 60), ("c", "joint_operation", 60)]
    for name, scenario, n in plan:
        make_run(sweep / name, scenario=scenario, n=n, weeks=2)
    jobs = [{"dir": name, "overrides": {"scenario": sc}} for name, sc, _ in plan]
    (sweep / "sweep.json").write_text(json.dumps({"swept": ["scenario"], "jobs": jobs}))
    assert cli.compare_command([str(sweep), "--no-plots"]) == 0
    out = capsys.readouterr().out
    assert "Reference: Baseline [replicates=60] (of the 2 baseline runs, the one the most" in out
    # a job without results among them changes nothing; one over another horizon is not
    # chosen for its replicates (a reviewer: the note named the wrong run "the most")
    make_run(sweep / "d", scenario="baseline", n=90, weeks=3)
    make_run(sweep / "e", scenario="baseline", n=4, weeks=2)
    (sweep / "e" / "summary.parquet").unlink()
    plan += [("d", "baseline", 90), ("e", "baseline", 4)]
    jobs = [{"dir": name, "overrides": {"scenario": sc}} for name, sc, _ in plan]
    (sweep / "sweep.json").write_text(json.dumps({"swept": ["scenario"], "jobs": jobs}))
    assert cli.compare_command([str(sweep), "--no-plots"]) == 0
    out = capsys.readouterr().out
    assert "Reference: Baseline [weeks=2, replicates=60] (of the 3 baseline runs, the" in out


def test_the_default_reference_moves_only_when_its_own_job_has_no_results(
    tmp_path: Path, make_run, capsys
) -> None:
    """Jobs full_pressure, baseline (failed), iran_border, baseline [x=2]: the first job is the
    reference with every job's results, and stays it when one baseline fails (it moved to
    the other baseline, the only one left)."""
    import json

    sweep = tmp_path / "sweep"
    plan = [("0", "full_pressure", []), ("1", "baseline", ["attacks.x=1"])]
    plan += [("2", "iran_border", []), ("3", "baseline", ["attacks.x=2"])]
    for name, scenario, overrides in plan:
        make_run(sweep / name, scenario=scenario, n=4, weeks=2, overrides=overrides)
    (sweep / "1" / "summary.parquet").unlink()
    jobs = [{"dir": name, "overrides": {"scenario": sc}} for name, sc, _ in plan]
    (sweep / "sweep.json").write_text(json.dumps({"swept": ["scenario"], "jobs": jobs}))
    assert cli.compare_command([str(sweep), "--no-plots"]) == 0
    out = capsys.readouterr().out
    assert "Reference: Full pressure." in out and "standing in" not in out


def test_plot_draws_holding_the_runs_lock(
    tmp_path: Path, make_run, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """helper-189: a run started in the folder while ``plot`` drew left figures of the
    earlier results; ``plot`` now holds the folder's lock while it draws."""
    from sim.files import being_written

    run_dir = make_run(tmp_path / "run")
    seen: list[bool] = []

    def drawing(path: Path) -> list[Path]:
        seen.append(being_written(path))
        return []

    monkeypatch.setattr("sim.analysis.plots.plot_run", drawing)
    assert cli.plot_command([str(run_dir)]) == 0
    assert seen == [True] and not being_written(run_dir)


def test_plot_removes_what_a_killed_plot_left_and_the_run_plots_under_the_lock(
    tmp_path: Path, make_run, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """reliability.md's known gap: a figure's hidden ``.*.tmp`` left by a ``kill -9`` stayed
    in ``plots/``. Under the folder's lock no other command writes there, so ``plot`` (and
    a run's own drawing, which now takes the lock too) removes it; a busy folder leaves the
    run's figures undrawn with one line saying how to draw them."""
    from sim.cli import _plot
    from sim.runner import exclusive

    run_dir = make_run(tmp_path / "run")
    (run_dir / "plots").mkdir(exist_ok=True)
    left = run_dir / "plots" / ".outcomes.png.x1y2.tmp"
    left.write_bytes(b"half a figure")
    kept = run_dir / "plots" / "notes.txt"
    kept.write_text("mine")
    drawn: list[Path] = []
    monkeypatch.setattr("sim.analysis.plots.plot_run", lambda path: drawn.append(path) or [])
    assert cli.plot_command([str(run_dir)]) == 0
    assert not left.exists() and kept.read_text() == "mine" and drawn == [run_dir]

    left.write_bytes(b"again")
    _plot(run_dir)
    assert not left.exists() and drawn == [run_dir, run_dir]
    with exclusive(run_dir):
        _plot(run_dir)
    err = capsys.readouterr().err
    assert drawn == [run_dir, run_dir]  # not drawn while another command held the folder
    assert "warning: figures not drawn: another cpec-sim process is writing" in err
    assert f"cpec-sim plot {run_dir}" in err
