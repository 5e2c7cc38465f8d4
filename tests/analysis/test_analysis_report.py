"""The HTML report: self-contained, complete, and honest about what was run."""

from __future__ import annotations

import base64
import importlib
import re
from html import escape as html_escape
from pathlib import Path

import pytest

from sim.analysis import plots, report, survival
from sim.analysis.drawing import RunFigure, draw_figures
from sim.analysis.runs import ResultsError, load_run, load_runs


@pytest.fixture
def two_runs(tmp_path: Path, make_run) -> list[Path]:
    a = make_run(tmp_path / "baseline", scenario="baseline", n=6, weeks=4, seed=1)
    b = make_run(
        tmp_path / "troops",
        scenario="chinese_troops",
        n=6,
        weeks=4,
        seed=2,
        shift=5.0,
        overrides=["attacks.chinese_troop_protection=0.9"],
    )
    return [a, b]


def test_report_is_self_contained(tmp_path: Path, two_runs, monkeypatch) -> None:
    # per-run figures: every builder is exercised by the plot tests; one suffices here
    monkeypatch.setattr(plots, "RUN_FIGURES", {"severity_ccdf": plots.RUN_FIGURES["severity_ccdf"]})
    out = report.report(two_runs, tmp_path / "out" / "report.html")
    assert out == tmp_path / "out" / "report.html"
    html = out.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>") and html.rstrip().endswith("</html>")
    images = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', html)
    # comparison figures (boxes, ECDFs, differences, events, first pause) + one per run
    assert len(images) == 5 + 2
    for data in images:
        assert base64.b64decode(data)[:8] == b"\x89PNG\r\n\x1a\n"
    assert not re.search(r"https?://", html)  # no external scripts, styles or fonts
    assert "<script" not in html and "<link" not in html
    assert "<style>" in html
    assert not list((tmp_path / "out").glob(".*"))  # no temporary file left behind
    # a screen reader names the run a figure shows, not "run0" (a stranger's review)
    assert (
        'alt="severity_ccdf: Chinese troops [chinese_troop_protection=0.9] — 6 replicates' in html
    )


def test_report_says_what_was_run_and_how_to_read_it(tmp_path: Path, two_runs, monkeypatch) -> None:
    monkeypatch.setattr(report, "comparison_figures", lambda runs, table: iter(()))  # speed
    html = report.report(two_runs, tmp_path / "r.html", per_run_plots=False).read_text()
    assert "Chinese troops [chinese_troop_protection=0.9]" in html  # scenario + overrides
    assert "attacks.chinese_troop_protection=0.9" in html  # parameters changed, verbatim
    assert "none (the scenario as its file sets it)" in html  # the baseline changed nothing
    assert "SeedSequence(seed, spawn_key=(i,))" in html and "0.1.0" in html
    assert "Reference: Baseline." in html
    for phrase in ("replicates", "90% interval", "bootstrap", "Wilson", "median"):
        assert phrase in html
    assert "Comparison table" in html and "Attacks in total (attempts)" in html
    assert "Figures of each run" not in html


def test_report_of_a_single_run_has_a_summary_table(tmp_path: Path, make_run, monkeypatch) -> None:
    monkeypatch.setattr(plots, "RUN_FIGURES", {"target_mix": plots.RUN_FIGURES["target_mix"]})
    run = make_run(tmp_path / "run", n=4, weeks=3)
    html = report.report([run], tmp_path / "one.html").read_text()
    assert "Summary table" in html and "Reference:" not in html
    # the run's figure, and its first-pause curve (compare draws it; its own figures do not)
    assert html.count("data:image/png;base64,") == 2
    assert "<h2>First pause</h2>" in html and "Comparison figures" not in html
    assert 'id="comparison-compare_first_pause"' in html
    assert html_escape(report.CAPTIONS["compare_first_pause"]) in html


def test_report_reuses_stored_plots_only_if_drawn_by_this_code_from_these_results(
    tmp_path: Path, make_run, make_frames, monkeypatch
) -> None:
    """plots/drawn.json records what drew the figures: another plotting code (an upgrade),
    other results or another title, and the report draws them again."""
    monkeypatch.setattr(plots, "RUN_FIGURES", {"target_mix": plots.RUN_FIGURES["target_mix"]})
    run_dir = make_run(tmp_path / "run", n=3, weeks=2)
    plots.plot_run(run_dir, jobs=1)
    assert plots.figures_up_to_date(run_dir)
    stored = (run_dir / "plots" / "target_mix.png").read_bytes()
    run = load_run(run_dir)
    run.label = "Baseline"
    assert plots.drawn_figures(run) == {"target_mix": stored}
    assert report.run_pngs([run]) == [[("target_mix", stored)]]

    run.label = "Baseline (another label)"
    assert plots.drawn_figures(run) is None
    run.label = "Baseline"
    monkeypatch.setattr(plots, "drawing_fingerprint", lambda: "newer plotting code")
    assert plots.drawn_figures(run) is None
    assert not plots.figures_up_to_date(run_dir)  # a run re-run draws them again too
    monkeypatch.undo()

    monkeypatch.setattr(plots, "RUN_FIGURES", {"target_mix": plots.RUN_FIGURES["target_mix"]})
    summary, _, _ = make_frames(n=3, weeks=2, seed=9)
    summary.to_parquet(run_dir / "summary.parquet")  # other results (same file times or not)
    changed = load_run(run_dir)
    changed.label = "Baseline"
    assert plots.drawn_figures(changed) is None
    plots.remove_run_figures(run_dir)
    assert not (run_dir / "plots").exists()  # drawn.json went with the figures


@pytest.mark.parametrize("fmt", ["png", "svg"])
def test_a_stored_figure_that_is_not_the_one_drawn_is_drawn_again(
    tmp_path: Path, make_run, monkeypatch, fmt: str
) -> None:
    """An older checkout's `cpec-sim plot`, a notebook or a copied plots/ leaves a drawn.json
    that matches: each file's SHA-256 in it tells the figure drawn from another."""
    monkeypatch.setattr(plots, "RUN_FIGURES", {"target_mix": plots.RUN_FIGURES["target_mix"]})
    run_dir = make_run(tmp_path / "run", n=3, weeks=2)
    plots.plot_run(run_dir, jobs=1)
    run = load_run(run_dir)
    run.label = "Baseline"
    drawn = (run_dir / "plots" / "target_mix.png").read_bytes()
    assert plots.drawn_figures(run) == {"target_mix": drawn}
    figure = run_dir / "plots" / f"target_mix.{fmt}"
    figure.write_bytes(figure.read_bytes() + b" ")  # drawn by other code, say
    assert plots.drawn_figures(run) is None
    assert not plots.figures_up_to_date(run_dir)
    assert report.run_pngs([run]) == [[("target_mix", drawn)]]  # drawn again, the same
    figure.unlink()
    assert plots.drawn_figures(run) is None


def test_stored_figures_are_drawn_again_when_their_title_would_change(
    tmp_path: Path, make_run, monkeypatch
) -> None:
    """The title says the run's status (Run.title): a run whose manifest now says otherwise
    has figures titled wrongly."""
    import json

    monkeypatch.setattr(plots, "RUN_FIGURES", {"target_mix": plots.RUN_FIGURES["target_mix"]})
    run_dir = make_run(tmp_path / "run", n=3, weeks=2)
    manifest = json.loads((run_dir / "manifest.json").read_text())
    (run_dir / "manifest.json").write_text(json.dumps({**manifest, "status": "failed"}))
    plots.plot_run(run_dir, jobs=1)
    assert plots.figures_up_to_date(run_dir)
    assert "(status: failed)" in (run_dir / "plots" / "target_mix.svg").read_text()
    (run_dir / "manifest.json").write_text(json.dumps(manifest))  # complete
    assert not plots.figures_up_to_date(run_dir)


def test_the_fingerprint_covers_every_source_and_package_that_reaches_a_figure(
    monkeypatch,
) -> None:
    """Every module of sim/analysis (compare's number formats reach the histograms' text,
    drawing's formats and resolution every file), every other sim module the analysis
    imports unless its text reaches no figure, and the versions of the numerical packages."""
    import ast

    import sim

    package = Path(sim.__file__).parent
    sources = {path.relative_to(package).as_posix() for path in plots.drawing_sources()}
    assert {f"analysis/{p.name}" for p in (package / "analysis").glob("*.py")} <= sources
    assert {"analysis/compare.py", "analysis/drawing.py", "space.py"} <= sources
    # Imported by the analysis, but nothing of their text is drawn: file handling, run keys
    # (labels come from them: the title is recorded as text), what intervals include, which
    # model and libraries made the runs (notes of the text and the report's table), the run
    # folder's lock (`plot` draws holding it).
    not_drawn = {"files", "config", "params", "posterior", "workers", "commands", "provenance"}
    not_drawn |= {"runner"}
    imported = set()
    for path in (package / "analysis").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("sim."):
                imported.add(node.module.split(".")[1])
    for name in imported - {"analysis"}:
        assert f"{name}.py" in sources or name in not_drawn, name

    base = plots.drawing_fingerprint.__wrapped__()
    assert {"numpy", "scipy", "matplotlib", "powerlaw", "pillow"} <= set(plots._DRAWING_PACKAGES)
    version = plots._version
    for name in ("numpy", "scipy", "powerlaw"):
        monkeypatch.setattr(plots, "_version", lambda p, n=name: "0" if p == n else version(p))
        assert plots.drawing_fingerprint.__wrapped__() != base, name
    monkeypatch.undo()
    for name, module in plots._DRAWING_PACKAGES.items():  # read without importing
        assert plots._version(name) == importlib.import_module(module).__version__, name


def test_a_report_is_the_same_whether_plots_holds_its_figures_or_not(
    tmp_path: Path, make_run, monkeypatch
) -> None:
    """Stored figures and figures the report draws are the same bytes (same resolution):
    two reports of the same results differ only in the Generated line."""
    some = ("severity_ccdf", "target_mix")  # speed: one with log axes, one without
    monkeypatch.setattr(plots, "RUN_FIGURES", {name: plots.RUN_FIGURES[name] for name in some})
    run_dir = make_run(tmp_path / "run", n=4, weeks=3)
    without = report.report([run_dir], tmp_path / "without.html").read_text()
    plots.plot_run(run_dir, jobs=1)
    assert set(plots.drawn_figures(load_runs([run_dir]).runs[0]) or ()) == set(some)
    with_plots = report.report([run_dir], tmp_path / "with.html").read_text()
    assert without.count("data:image/png;base64,") == len(some) + 1  # and the first pause

    def generated(text: str) -> str:
        return re.sub(r"Generated \d{4}-\d\d-\d\d \d\d:\d\d UTC", "Generated …", text)

    assert generated(with_plots) == generated(without)


def test_figures_of_several_runs_are_the_same_whichever_process_draws_them(
    tmp_path: Path, two_runs
) -> None:
    """The report's figures are drawn by worker processes: each from its own run, titled with
    the report's label for it, byte for byte what this process would draw."""
    runs = load_runs(two_runs).runs
    labels = [run.label for run in runs]
    tasks = [
        RunFigure(run.path, run.label, name)
        for name in ("target_mix", "fan_violence")
        for run in runs
    ]
    called: list[int] = []
    serial = draw_figures(tasks, ("svg",), jobs=1, meanwhile=lambda: called.append(1))
    parallel = draw_figures(tasks, ("svg",), jobs=2, meanwhile=lambda: called.append(2))
    assert called == [1, 2]
    assert serial == parallel
    for task, drawn in zip(tasks, parallel, strict=True):
        assert drawn is not None
        svg = drawn["svg"].decode()
        label = task.label
        other = next(x for x in labels if x != label)
        assert label in svg and other not in svg
    pngs = draw_figures(tasks[:2], ("png",), report.REPORT_DPI, jobs=2)
    assert all(p is not None and p["png"][:8] == b"\x89PNG\r\n\x1a\n" for p in pngs)


def test_an_error_while_figures_are_drawn_stops_the_workers_at_once(
    tmp_path: Path, make_run, monkeypatch
) -> None:
    """The comparison drawn meanwhile fails: the error comes through, and the pool is stopped
    (tests/test_stop_pool.py: no queued figure is drawn first) rather than left to finish."""
    from sim import workers

    stopped: list[int] = []
    real_stop = workers.stop_pool

    def spy(pool, pending=()):  # type: ignore[no-untyped-def]
        pending = list(pending)
        stopped.append(sum(not f.done() for f in pending))
        real_stop(pool, pending)

    monkeypatch.setattr(workers, "stop_pool", spy)
    run = make_run(tmp_path / "run", n=4, weeks=3)
    tasks = [RunFigure(run, "run", "target_mix")] * 12

    def fail() -> None:
        raise ValueError("comparison failed")

    with pytest.raises(ValueError, match="comparison failed"):
        draw_figures(tasks, ("png",), jobs=2, meanwhile=fail)
    assert len(stopped) == 1 and stopped[0] > 0  # figures were still queued, and not drawn


def test_parameters_changed_leaves_out_run_settings(tmp_path: Path, make_run, monkeypatch) -> None:
    monkeypatch.setattr(report, "comparison_figures", lambda runs, table: iter(()))  # speed
    a = make_run(tmp_path / "a", overrides=["replicates=6", "sweep_name=x", "seed=3"])
    b = make_run(tmp_path / "b", scenario="iran_border", overrides=["jobs=2", "iran.x=0.5"])
    html = report.report([a, b], tmp_path / "r.html", per_run_plots=False).read_text()
    cells = re.findall(r"<tr><td>[^<]*</td><td>[^<]*</td><td>([^<]*)</td>", html)
    assert "none (the scenario as its file sets it)" in cells and "iran.x=0.5" in cells
    assert not any(k in c for c in cells for k in ("replicates=", "sweep_name=", "jobs="))


def test_a_posterior_run_says_its_calibrated_parameters_changed(
    tmp_path: Path, make_run, monkeypatch
) -> None:
    """A run over a posterior did change parameters on its command line (one draw a
    replicate): its row must not read as the scenario's file alone."""
    import json

    monkeypatch.setattr(report, "comparison_figures", lambda runs, table: iter(()))  # speed
    a = make_run(tmp_path / "a", overrides=["iran.x=0.5"])
    manifest = json.loads((a / "manifest.json").read_text())
    manifest["parameters"] = {
        "source": "posterior", "path": "cal/posterior.parquet", "sha256": "0" * 64,
        "draws": 50, "columns": ["attacks.x", "society.y"],
    }  # fmt: skip
    (a / "manifest.json").write_text(json.dumps(manifest))
    html = report.report([a], tmp_path / "r.html", per_run_plots=False).read_text()
    cells = re.findall(r"<tr><td>[^<]*</td><td>[^<]*</td><td>([^<]*)</td>", html)
    assert cells == [
        "iran.x=0.5, the 2 calibrated parameters: a posterior draw a replicate "
        "(cal/posterior.parquet)"
    ]


def _sweep_with_a_failed_baseline(root: Path, make_run) -> Path:
    """A sweep of three scenarios whose baseline job failed: the state a failed job leaves (a
    manifest saying why, no result files, and its entry in sweep.json)."""
    import json

    scenarios = ("baseline", "chinese_troops", "full_pressure")
    jobs = []
    for i, scenario in enumerate(scenarios):
        folder = root / f"scenario={scenario}"
        make_run(
            folder, scenario=scenario, n=5, weeks=3, seed=i, overrides=[f"scenario={scenario}"]
        )
        job = {"dir": folder.name, "overrides": {"scenario": scenario}, "status": "complete"}
        if scenario == "baseline":
            for table in folder.glob("*.parquet"):
                table.unlink()
            manifest = json.loads((folder / "manifest.json").read_text())
            manifest.update(status="failed", message="No space left on device")
            (folder / "manifest.json").write_text(json.dumps(manifest))
            job.update(status="failed", message="No space left on device")
        jobs.append(job)
    meta = {"experiment": "compare_all", "swept": ["scenario"], "jobs": jobs}
    (root / "sweep.json").write_text(json.dumps(meta))
    return root


def test_a_sweep_report_says_which_jobs_failed_and_that_the_reference_stands_in(
    tmp_path: Path, make_run, monkeypatch
) -> None:
    monkeypatch.setattr(report, "comparison_figures", lambda runs, table: iter(()))  # speed
    sweep = _sweep_with_a_failed_baseline(tmp_path / "sweep", make_run)
    html = report.report([sweep], tmp_path / "r.html", per_run_plots=False).read_text()
    what_was_run = html.split("<h2>What was run</h2>", 1)[1].lstrip()
    assert what_was_run.startswith(
        "<p class='note'>Not included: sweep job scenario=baseline has no results "
        "(failed: No space left on device).</p>"
    )
    assert "(2 of 3 jobs)" in html
    assert "Reference: Chinese troops (standing in for the baseline, sweep job" in html
    chosen = report.report([sweep], tmp_path / "c.html", "full_pressure", per_run_plots=False)
    text = chosen.read_text()
    assert "Reference: Full pressure." in text and "Not included: sweep job" in text


@pytest.mark.parametrize(
    ("values", "inside"),
    [
        # another outcome (not whole numbers): ends interpolated between two replicates
        ([v + 0.5 for v in range(5)], 3),
        ([v + 0.5 for v in range(10)], 8),
        ([v + 0.5 for v in range(20)], 18),
        ([v + 0.5 for v in range(40)], 36),
        # counts: each end a value some replicate had, all of them below 20 replicates
        (range(5), 5),
        (range(10), 10),
        (range(20), 19),
        (range(40), 37),
        (range(100), 91),
        ([0, 0, 0, 0, 3], 5),
        ([0, 0, 0, 0, 0], 5),
        ([0, 0, 0, 0, 0, 0, 0, 1, 1, 2], 10),
    ],
)
def test_what_the_report_says_a_90_percent_interval_holds_is_true(
    values: list[float], inside: int
) -> None:
    """Below 20 replicates the interval of the tables and figures runs from the lowest
    replicate to the highest for a count, and has its ends between the two lowest and between
    the two highest replicates for another outcome; from 20 on at most 5% of them plus one lie
    on each side; the report says so."""
    import numpy as np

    from sim.analysis import stats

    x = np.sort(np.asarray(values, dtype=float))
    s = stats.summarise(x)
    assert int(((x >= s.q05) & (x <= s.q95)).sum()) == inside
    n, whole = len(x), bool(np.all(x == np.round(x)))
    if whole:
        assert s.q05 in x and s.q95 in x  # values some replicate had
    if n < 20 and whole:
        assert (s.q05, s.q95) == (x[0], x[-1])
    elif n < 20:
        assert x[0] <= s.q05 <= x[1] and x[-2] <= s.q95 <= x[-1]
    else:
        assert (x < s.q05).sum() <= 0.05 * n + 1 and (x > s.q95).sum() <= 0.05 * n + 1
    text = " ".join(report.UNCERTAINTY_TEXT.split())
    assert "holds 90% of replicates" not in text and "middle n" not in text
    assert "a count's runs from the lowest replicate to the highest" in text
    assert "between the two lowest and between the two highest replicates" in text
    assert "of 5 replicates all different it holds the middle 3, of 10 the middle 8" in text
    caption = report.CAPTIONS["outcomes_histograms"]
    assert "holds 90%" not in caption and "holds fewer" not in caption
    assert "a count's runs from the lowest replicate to the highest" in caption


def test_a_single_run_report_does_not_explain_differences_it_does_not_show(
    tmp_path: Path, make_run, monkeypatch
) -> None:
    monkeypatch.setattr(report, "comparison_figures", lambda runs, table: iter(()))  # speed
    run = make_run(tmp_path / "run", n=4, weeks=3)
    html = report.report([run], tmp_path / "one.html", per_run_plots=False).read_text()
    assert "Holm" not in html and "bootstrap" not in html and "Wilson" in html
    other = make_run(tmp_path / "other", scenario="iran_border", n=4, weeks=3)
    html = report.report([run, other], tmp_path / "two.html", per_run_plots=False).read_text()
    assert "Holm's correction" in html and "bootstrap confidence interval" in html


def test_a_folder_that_merely_holds_runs_is_not_a_sweep(tmp_path: Path, make_run) -> None:
    """Only sweep.json, or Hydra's multirun.yaml beside a cpec-sim job (a sweep stopped before
    its index), makes a sweep: `report /tmp` gathered whatever runs lay there."""
    from sim.analysis.runs import ResultsError, is_sweep_dir

    make_run(tmp_path / "somewhere" / "a_run", n=3, weeks=2)
    assert not is_sweep_dir(tmp_path / "somewhere")
    with pytest.raises(ResultsError, match=r"no summary\.parquet here"):
        load_runs([tmp_path / "somewhere"])
    (tmp_path / "somewhere" / "multirun.yaml").write_text("hydra: {}\n")
    assert is_sweep_dir(tmp_path / "somewhere")
    assert [r.path.name for r in load_runs([tmp_path / "somewhere"]).runs] == ["a_run"]


def test_the_run_summary_says_when_its_intervals_are_rough(tmp_path: Path, make_run) -> None:
    """A stranger: 3 replicates printed intervals without a caution, 1 replicate "[528, 528]"."""
    from sim.results import summary_table

    assert "fewer than 20" in summary_table(make_run(tmp_path / "five", n=5))
    assert "fewer than 20" not in summary_table(make_run(tmp_path / "many", n=40))
    one = summary_table(make_run(tmp_path / "one", n=1))
    assert "(one replicate)" in one and "fewer than" not in one


def test_the_run_summary_shows_its_numbers_as_the_comparison_table(
    tmp_path: Path, make_run
) -> None:
    """A reviewer: the run's summary printed 'median 2.50 [0.00, 7.00]' where compare's table
    (and the report's, and the figures' titles) show 2.5 and 0–7: one format now."""
    import pandas as pd

    from sim.analysis.compare import compare_runs
    from sim.analysis.numbers import fmt_number, fmt_numbers
    from sim.results import HEADLINE, summary_table

    run = make_run(tmp_path / "run", n=20)
    summary = pd.read_parquet(run / "summary.parquet")
    summary["chinese_killed"] = [0] * 9 + [2, 3] + [5] * 8 + [9]  # median 2.5
    summary.to_parquet(run / "summary.parquet")
    text = summary_table(run)
    table = compare_runs(load_runs([run]), None).set_index("outcome")
    for column, label in HEADLINE:
        row = table.loc[column]
        lo, hi = fmt_numbers(row["q05"], row["q95"])
        line = next(x for x in text.splitlines() if x.startswith(label + " "))
        assert line.split()[-3:] == [fmt_number(row["median"]), f"[{lo},", f"{hi}]"], line
    assert "2.5 " in next(x for x in text.splitlines() if x.startswith("Chinese nationals"))


def test_the_report_is_no_wider_than_a_laptop_window(
    tmp_path: Path, make_run, make_sweep, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A stranger: a sweep's report was 1,515 px wide in a 1,300 px window (the folder names
    ran off the page; the same 'intervals include' text squeezed into 9 lines on every row)."""
    from tests.test_dashboard import CHROMIUM, _browser_or_skip

    _browser_or_skip()
    from playwright.sync_api import sync_playwright

    sweep = tmp_path / "results" / "sweeps" / "audit"
    runs = [
        make_run(
            sweep / f"china.initial_patience={p},replicates=20,scenario=baseline,sweep_name=audit",
            n=4,
            weeks=3,
            seed=i,
            overrides=[f"china.initial_patience={p}", "pakistan.base_intensity=0.45"],
        )
        for i, p in enumerate((0.35, 0.5, 0.65))
    ]
    monkeypatch.setattr(report, "comparison_figures", lambda *a, **k: [])  # speed: tables only
    page_file = report.report(runs, tmp_path / "report.html", per_run_plots=False)
    # a reviewer: a sweep's long folder, named in a paragraph, widened the page too
    long_sweep = make_sweep(tmp_path / ("sweep_" * 25), {"a": [1, 2], "b": [3]}, n=4)
    sweep_page = report.report([long_sweep], tmp_path / "sweep.html", per_run_plots=False)
    text = page_file.read_text()
    assert "<th>intervals include</th>" not in text  # the same for all: said once, below
    assert "Every run's intervals include" in text
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        try:
            for width in (1300, 1024):
                for shown in (page_file, sweep_page):
                    page = browser.new_page(viewport={"width": width, "height": 800})
                    page.goto(shown.as_uri())
                    wide = page.evaluate("document.documentElement.scrollWidth")
                    assert wide <= width, (shown.name, width)
                    page.close()
        finally:
            browser.close()


def test_the_report_says_where_chinese_nationals_were_killed(
    tmp_path: Path, make_frames, save_run, monkeypatch
) -> None:
    """A stranger found most Chinese deaths were the TTP's at Dasu, where a Balochistan-only
    policy cannot reach: the report now splits them by group and place, per replicate."""
    monkeypatch.setattr(report, "comparison_figures", lambda runs, table: iter(()))  # speed
    summary, ts, ev = make_frames(n=4, weeks=3, seed=1)
    ev = ev.iloc[:3].copy()
    ev["group"], ev["district"] = ["ttp", "ttp", "bla"], ["dasu", "dasu", "quetta"]
    ev["chinese_killed"] = [5, 1, 2]
    run = save_run(tmp_path / "a", summary, ts, ev)
    table = report.where_chinese_died(load_runs([run]))
    row = table.iloc[0]
    assert row["total"] == 2.0 and row["Tehrik-i-Taliban Pakistan"] == 1.5  # 8 and 6 over 4
    assert (
        row["Balochistan Liberation Army"] == 0.5 and row["places"] == "Dasu/Besham 75%, Quetta 25%"
    )
    html = report.report([run], tmp_path / "r.html", per_run_plots=False).read_text()
    assert "Where Chinese nationals were killed" in html and "Dasu/Besham 75%, Quetta 25%" in html


def test_captions_say_what_a_run_of_few_replicates_does_not_draw() -> None:
    """A reviewer: under a one-replicate run's fan chart the caption still read "median …,
    mean (dashed) … bands from the 25th to the 75th", none of which is drawn."""
    assert report.ONE_REPLICATE_CAPTION in report.caption("fan_violence", 1)
    assert report.ONE_REPLICATE_CAPTION not in report.caption("fan_violence", 100)
    few = report.caption("outcomes_histograms", 5)
    assert "no density curve" in few and report.ONE_REPLICATE_CAPTION not in few
    assert "no density curve" not in report.caption("outcomes_ecdf", 5)
    assert report.caption("compare_boxes", 1) == report.CAPTIONS["compare_boxes"]
    # another reviewer: the severity figure keeps its fit and the published band
    severity = report.caption("severity_ccdf", 1)
    assert report.ONE_REPLICATE_ATTACKS_CAPTION in severity
    assert report.ONE_REPLICATE_CAPTION not in severity
    assert set(report.HISTORY_FIGURES) < set(plots.RUN_FIGURES)


def test_the_report_says_how_precise_its_numbers_are(
    tmp_path: Path, make_run, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each run's precision table and the differences', with `cpec-sim precision`'s counts."""
    from sim.analysis import precision
    from sim.analysis.numbers import fmt_number

    a = make_run(tmp_path / "baseline", scenario="baseline", n=30, seed=1)
    b = make_run(tmp_path / "troops", scenario="chinese_troops", n=30, seed=2, shift=5.0)
    monkeypatch.setattr(report, "comparison_figures", lambda *a, **k: [])  # speed: tables only
    html = report.report([a, b], tmp_path / "r.html", per_run_plots=False).read_text()
    section = html[html.index("How precise these numbers are") :]
    assert section.count("<details") == 3  # two runs, one difference
    values = load_run(a).summary["attacks_total"].to_numpy(dtype=float)
    needed = precision.replicates_for_mean(values, precision.MEAN_WITHIN)
    assert needed is not None
    row = section[section.index("Attacks in total") :].split("</tr>")[0]
    assert f'<td class="num">{precision.shown_count(needed):,}' in row
    low, high = precision.median_interval(values)
    assert f"[{fmt_number(low)}, {fmt_number(high)}]" in row
    assert "Chinese troops minus Baseline (30 replicates)" in section
    assert "Weeks to the first investor pause" in section.split("<details")[1]  # run.outcomes
    assert html_escape(survival.MEANING) in section


def test_a_report_reads_its_reference_as_compare_does(
    tmp_path: Path, two_runs, monkeypatch
) -> None:
    """None computes no differences and the default is compare's (a notebook had met the
    opposite readings of None in ``compare`` and ``report``)."""
    from sim.analysis.compare import compare

    monkeypatch.setattr(report, "comparison_figures", lambda runs, table: iter(()))  # speed
    html = report.report(two_runs, tmp_path / "d.html", per_run_plots=False).read_text()
    assert "Reference: Baseline." in html and report.DIFFERENCES_TEXT in html
    plain = report.report(two_runs, tmp_path / "n.html", None, per_run_plots=False).read_text()
    assert "Reference:" not in plain and report.DIFFERENCES_TEXT not in plain
    assert compare(two_runs, None)["diff_mean"].isna().all()
    assert "Comparison table" in plain and "Attacks in total (attempts)" in plain
    with pytest.raises(ResultsError, match="unknown reference 'nonsense'"):  # one run too
        report.report(two_runs[:1], tmp_path / "x.html", "nonsense", per_run_plots=False)
    assert not (tmp_path / "x.html").exists()
