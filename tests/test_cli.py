"""`cpec-sim run` through real subprocesses: the contract, bad input, sweeps, experiments."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from sim.cli import _canonical
from sim.config import RUN_KEYS
from sim.record import EVENT_COLUMNS, SUMMARY_COLUMNS
from tests.conftest import cpec

FAST = ("replicates=4", "weeks=8", "plots=false")


def test_run_writes_the_run_directory_of_the_contract(workdir: Path) -> None:
    out = cpec("run", "scenario=chinese_troops", "jobs=2", *FAST, cwd=workdir)
    assert out.returncode == 0, out.stderr
    run_dir = workdir / "results/runs/chinese_troops,replicates=4,weeks=8"
    assert f"run directory: {run_dir}" in out.stdout
    assert "Chinese nationals killed" in out.stdout and "90% interval" in out.stdout
    summary = pd.read_parquet(run_dir / "summary.parquet")
    assert list(summary["replicate"]) == [0, 1, 2, 3]
    assert {"replicate", "seed", *SUMMARY_COLUMNS} <= set(summary.columns)
    assert summary["chinese_troops_deployed"].all()
    events = pd.read_parquet(run_dir / "events.parquet")
    assert {"replicate", *EVENT_COLUMNS} <= set(events.columns)
    assert events.groupby("replicate").size().reindex(range(4), fill_value=0).tolist() == (
        summary["attacks_total"].tolist()
    )
    ts = pd.read_parquet(run_dir / "timeseries.parquet")
    assert len(ts) == 4 * 8 and ts["week"].max() == 8
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["status"] == "complete" and manifest["scenario"] == "chinese_troops"
    assert manifest["replicates"] == 4 and len(manifest["config_hash"]) == 16
    config = (run_dir / "config.yaml").read_text()
    assert "accept_chinese_troops: true" in config


def test_any_parameter_is_addressable_and_changes_the_run(workdir: Path) -> None:
    a = cpec("run", "china.initial_patience=0.1", *FAST, cwd=workdir)
    assert a.returncode == 0, a.stderr
    summary = pd.read_parquet(
        workdir
        / "results/runs/baseline,china.initial_patience=0.1,replicates=4,weeks=8"
        / "summary.parquet"
    )
    assert summary["investment_hold"].all()  # patience 0.1 starts China at the top of the ladder


def test_equal_values_spelled_differently_name_one_run_folder(workdir: Path) -> None:
    """``0.10`` is 0.1 to Hydra, ``+4`` is 4 and ``1_000`` 1000: each ran into a folder of its
    own, running everything again."""
    assert _canonical("replicates=1_000") == "replicates=1000"
    assert _canonical("plots=True") == "plots=true" and _canonical("seed=07") == "seed=07"
    assert _canonical("a.b=-0.0") == "a.b=0.0"
    odd = cpec("run", "china.initial_patience=0.10", "replicates=+4", "weeks=8", "plots=false",
               cwd=workdir)  # fmt: skip
    plain = cpec("run", "china.initial_patience=0.1", *FAST, cwd=workdir)
    assert odd.returncode == 0 and plain.returncode == 0, odd.stderr + plain.stderr
    folder = workdir / "results/runs/baseline,china.initial_patience=0.1,replicates=4,weeks=8"
    assert f"run directory: {folder}" in odd.stdout and f"run directory: {folder}" in plain.stdout
    assert [p.name for p in (workdir / "results/runs").iterdir()] == [folder.name]
    # and label it alike, as a run made from Python labels it (0.10 had been stored as typed)
    labels = json.loads((folder / "manifest.json").read_text())["overrides"]
    assert labels == ["china.initial_patience=0.1", "replicates=4", "weeks=8", "plots=false"]


BAD = [
    (["scenario=nope"], "unknown scenario 'nope'"),
    (["chinese_troops"], "'chinese_troops' is a scenario: write scenario=chinese_troops"),
    (["troops_vs_trust"], "is an experiment: write +experiment=troops_vs_trust"),
    (["nope"], "'nope' is not an override: write key=value"),
    (["scenario.name=iran_border"], "is another scenario's name: run it with scenario=iran_border"),
    (["scenario.name='iran_border,replicates=3'"], "commas and = separate the overrides"),
    (["china.nope=1"], "unknown key 'china.nope'"),
    (["china.patiense_loss_per_death=1"], "did you mean china.patience_loss_per_death?"),
    (["output_dir=elsewhere"], "choose another with hydra.run.dir=PATH"),
    (["china.patience_loss_per_death=1.5"], "china.patience_loss_per_death=1.5 is out of bounds"),
    (["pakistan.ssd_troops=-5"], "pakistan.ssd_troops=-5 is out of bounds"),
    (["replicates=0"], "replicates=0 is not allowed"),
    (["china.patience_recovery=abc"], "china.patience_recovery='abc' is not allowed"),
    (["weeks=many"], "weeks='many' is not allowed"),
    (["iran.initial_posture=friendly"], "choose one of hostile, neutral, cooperative"),
    (["+experiment=nope"], "unknown experiment 'nope'"),
    (["-m", "scenario=baseline,nope"], "unknown scenario 'nope'"),
    (["-m", "china.patience_recovery=0.1,7"], "china.patience_recovery=7.0 is out of bounds"),
]


@pytest.mark.parametrize(("args", "message"), BAD, ids=[" ".join(a) for a, _ in BAD])
def test_bad_input_gets_one_clear_line_and_leaves_nothing(
    workdir: Path, args: list[str], message: str
) -> None:
    given = {a.split("=")[0] for a in args}
    base = [a for a in ("replicates=2", "weeks=2") if a.split("=")[0] not in given]
    out = cpec("run", *base, *args, cwd=workdir)
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], out.stderr
    assert "Traceback" not in out.stderr + out.stdout
    assert not (workdir / "results").exists()


def test_an_output_directory_that_is_a_file_is_refused(workdir: Path) -> None:
    (workdir / "results").mkdir()
    (workdir / "results" / "taken").write_text("not a directory")
    out = cpec("run", "hydra.run.dir=results/taken", *FAST, cwd=workdir)
    assert out.returncode == 2 and "is a file" in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1
    assert (workdir / "results" / "taken").read_text() == "not a directory"


def test_cfg_job_and_help_pass_through_to_hydra(workdir: Path) -> None:
    cfg = cpec("run", "--cfg", "job", "scenario=iran_border", cwd=workdir)
    assert cfg.returncode == 0 and "initial_posture: cooperative" in cfg.stdout
    helped = cpec("run", "--help", cwd=workdir)
    assert helped.returncode == 0 and "scenario" in helped.stdout
    assert not (workdir / "results").exists()
    # every run key is explained (the help was Hydra's "cli is powered by Hydra" and a dump)
    keys = helped.stdout.split("== Run keys ==")[1].split("==")[0]
    explained = {line.split("=")[0] for line in keys.splitlines() if "=" in line}
    assert explained == set(RUN_KEYS), explained ^ set(RUN_KEYS)


def test_the_command_line_loads_no_compiled_rules_where_its_workers_run_them(
    workdir: Path,
) -> None:
    """Importing Numba costs every command ~0.3 s: ``scenarios``, ``compare``, and a run whose
    replicates worker processes compute, check and hash their settings without it."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from sim.cli import main\n"
        "main(['scenarios'])\n"
        "main(['run', 'replicates=4', 'weeks=4', 'plots=false', 'jobs=2'])\n"
        "main(['run', 'replicates=4', 'weeks=4', 'plots=false', 'jobs=2', 'seed=1'])\n"
        "main(['compare', 'results/runs/baseline,replicates=4,weeks=4',\n"
        "      'results/runs/baseline,replicates=4,seed=1,weeks=4', '--no-plots'])\n"
        "print('numba imported:', 'numba' in sys.modules, file=sys.stderr)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=workdir, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert (workdir / "results" / "comparisons").is_dir()  # the three commands did their work
    assert done.stderr.splitlines()[-1] == "numba imported: False"


def test_scenarios_lists_every_scenario_file_and_the_eight_shipped(workdir: Path) -> None:
    """Every file of configs/scenario, the eight the project ships among them (a scenario
    one adds there is listed too; one's own folder: $CPEC_SCENARIO_PATH, tests/test_configs)."""
    from sim.config import config_dir

    out = cpec("scenarios", cwd=workdir)
    lines = out.stdout.splitlines()
    names = [line.split()[0] for line in lines if not line.startswith(" ")]
    assert any(
        "rests on values set, not calibrated: attacks.joint_intel_interdiction=0.15" in x
        for x in lines
    )
    assert names == sorted(p.stem for p in (config_dir() / "scenario").glob("*.yaml"))
    shipped = {
        "baseline",
        "decisive_operation",
        "joint_operation",
        "chinese_troops",
        "iran_border",
        "investment_freeze",
        "full_pressure",
        "reform_and_development",
    }
    assert shipped <= set(names)


@pytest.mark.parametrize(
    ("name", "jobs"), [("compare_all", 8), ("troops_vs_trust", 16), ("patience", 9)]
)
def test_every_experiment_runs_in_fast_mode(workdir: Path, name: str, jobs: int) -> None:
    out = cpec("run", f"+experiment={name}", "replicates=2", "weeks=3", "jobs=1", cwd=workdir)
    assert out.returncode == 0, out.stderr
    sweep = json.loads((workdir / f"results/sweeps/{name}/sweep.json").read_text())
    assert sweep["experiment"] == name
    assert len(sweep["jobs"]) == jobs and {j["status"] for j in sweep["jobs"]} == {"complete"}
    for job in sweep["jobs"]:
        s = pd.read_parquet(workdir / f"results/sweeps/{name}" / job["dir"] / "summary.parquet")
        assert len(s) == 2


def test_joblib_launcher_runs_sweep_jobs(workdir: Path) -> None:
    out = cpec(
        "run",
        "-m",
        "hydra/launcher=joblib",
        "scenario=baseline,iran_border",
        *FAST,
        "jobs=1",
        cwd=workdir,
    )
    assert out.returncode == 0, out.stderr
    dirs = sorted(p.name for p in (workdir / "results/sweeps/multirun").iterdir() if p.is_dir())
    assert len(dirs) == 2 and all(
        (workdir / "results/sweeps/multirun" / d / "summary.parquet").exists() for d in dirs
    )


def test_a_sweep_job_refused_at_run_time_is_not_listed_as_complete(workdir: Path) -> None:
    args = ("run", "-m", "seed=1,2", "replicates=2", "weeks=4", "plots=false", "jobs=1")
    assert cpec(*args, cwd=workdir).returncode == 0
    sweep = workdir / "results" / "sweeps" / "multirun"
    job = next(p for p in sorted(sweep.iterdir()) if "seed=2" in p.name)
    manifest = json.loads((job / "manifest.json").read_text())
    (job / "manifest.json").write_text(json.dumps({**manifest, "config_hash": "another"}))

    again = cpec(*args, cwd=workdir)
    assert again.returncode == 2 and "holds a run of another configuration" in again.stderr
    jobs = {j["dir"]: j for j in json.loads((sweep / "sweep.json").read_text())["jobs"]}
    assert jobs[job.name]["status"] == "refused"
    assert "another configuration" in jobs[job.name]["message"]
    assert [j["status"] for n, j in jobs.items() if n != job.name] == ["complete"]


def test_a_refused_run_leaves_the_hydra_record_of_the_run_already_there(workdir: Path) -> None:
    """A reviewer: Hydra wrote a refused command's .hydra/ over the finished run's record, so
    that .hydra/overrides.yaml said weeks=5 of a run of 4 weeks."""
    folder = workdir / "results" / "mine"
    first = cpec("run", "replicates=2", "weeks=4", "plots=false", "jobs=1",
                 f"hydra.run.dir={folder}", cwd=workdir)  # fmt: skip
    assert first.returncode == 0, first.stderr
    record = {p.name: p.read_bytes() for p in (folder / ".hydra").iterdir()}
    assert set(record) == {"config.yaml", "hydra.yaml", "overrides.yaml"}
    assert "- weeks=4" in record["overrides.yaml"].decode()

    again = cpec("run", "replicates=2", "weeks=5", "plots=false", "jobs=1",
                 f"hydra.run.dir={folder}", cwd=workdir)  # fmt: skip
    assert again.returncode == 2 and "another configuration" in again.stderr
    assert {p.name: p.read_bytes() for p in (folder / ".hydra").iterdir()} == record


def test_a_compared_and_reported_sweep_or_run_resumes_and_a_foreign_file_is_refused(
    workdir: Path,
) -> None:
    sweep_args = ("run", "-m", "scenario=baseline,iran_border", *FAST, "jobs=1")
    run_args = ("run", *FAST, "jobs=1")
    assert cpec(*sweep_args, cwd=workdir).returncode == 0
    assert cpec(*run_args, cwd=workdir).returncode == 0
    sweep = workdir / "results" / "sweeps" / "multirun"
    run = next((workdir / "results" / "runs").iterdir())
    assert cpec("compare", str(sweep), cwd=workdir).returncode == 0
    report = cpec("report", str(run), "--no-run-plots", cwd=workdir)  # the name in a sweep
    assert report.returncode == 0, report.stderr
    written = {p.name for p in sweep.iterdir() if p.is_file()}
    assert {"comparison.csv", "compare_boxes.png", "compare_boxes.svg", "sweep.json"} <= written

    for args in (sweep_args, run_args):  # resumed: nothing recomputed, nothing refused
        again = cpec(*args, cwd=workdir)
        assert again.returncode == 0, again.stderr
    assert (sweep / "comparison.csv").exists() and (run / "report.html").exists()

    (sweep / "notes.txt").write_text("mine")
    refused = cpec(*sweep_args, cwd=workdir)
    assert refused.returncode == 2 and "not a sweep of cpec-sim" in refused.stderr


def test_a_sweep_says_when_its_folder_holds_runs_of_other_commands(workdir: Path) -> None:
    first = ("run", "-m", "scenario=baseline,iran_border", *FAST, "jobs=1")
    assert "note:" not in cpec(*first, cwd=workdir).stdout
    again = cpec(*first, cwd=workdir)  # resumed: its own runs only
    assert again.returncode == 0 and "note:" not in again.stdout

    other = cpec("run", "-m", "scenario=baseline,chinese_troops", *FAST, "jobs=1", cwd=workdir)
    assert other.returncode == 0, other.stderr
    note = next(line for line in other.stdout.splitlines() if line.startswith("note:"))
    assert "holds 1 run(s) of other commands" in note and "scenario=iran_border" in note
    assert "sweep_name=NAME" in note


def test_analysis_files_count_as_ours_only_beside_a_manifest_or_sweep_index(
    tmp_path: Path,
) -> None:
    from sim.folders import is_run_folder, is_sweep_folder

    folder = tmp_path / "comparison"
    folder.mkdir()
    (folder / "comparison.csv").write_text("outcome\n")
    (folder / "report.html").write_text("<html>")
    assert not is_run_folder(folder) and not is_sweep_folder(folder)  # a comparison's folder
    (folder / "sweep.json").write_text("{}")
    assert is_sweep_folder(folder)
    killed = tmp_path / "killed"  # a sweep killed before its index, then compared
    (killed / "seed=1").mkdir(parents=True)
    (killed / "comparison.csv").write_text("outcome\n")
    assert not is_sweep_folder(killed)  # an empty folder is no evidence
    (killed / "seed=1" / "manifest.json").write_text('{"package": "cpec-sim"}')
    assert not is_sweep_folder(killed)  # a copied run beside one's own comparison: not ours
    (killed / "multirun.yaml").write_text("hydra: {}\n")
    assert is_sweep_folder(killed)
    run = tmp_path / "run"
    run.mkdir()
    (run / "report.html").write_text("<html>")
    assert not is_run_folder(run)
    (run / "manifest.json").write_text('{"package": "cpec-sim"}')
    assert is_run_folder(run)


def test_a_run_with_new_results_drops_the_figures_of_its_earlier_ones(workdir: Path) -> None:
    """A reviewer re-ran with more replicates and plots=false and found figures of the
    earlier run beside the new summary; a second found the first fix deleting a user's own
    files in plots/. Only the figures cpec-sim draws go, and only when the results are new."""
    run_dir = workdir / "results" / "runs" / "r"
    args = ("run", "weeks=8", "plots=false", f"hydra.run.dir={run_dir}")
    assert cpec(*args, "replicates=4", cwd=workdir).returncode == 0
    plots = run_dir / "plots"
    plots.mkdir()
    (plots / "fan_violence.png").write_bytes(b"the earlier run's figure")
    (plots / "my_notes.txt").write_text("mine")
    (run_dir / "report.html").write_text("<html>the earlier run</html>")
    again = cpec(*args, "replicates=4", cwd=workdir)  # already complete: nothing new
    assert (plots / "fan_violence.png").exists() and "earlier results" not in again.stderr
    # a damaged file rebuilt with the same bytes: the report still describes the results
    summary = run_dir / "summary.parquet"
    original = summary.read_bytes()
    summary.write_bytes(original[:100])
    repaired = cpec(*args, "replicates=4", cwd=workdir)
    assert repaired.returncode == 0 and summary.read_bytes() == original, repaired.stderr
    assert (plots / "fan_violence.png").exists() and "earlier results" not in repaired.stderr
    # a hand-edited config.yaml, written again with other run keys (jobs): the same results
    config = run_dir / "config.yaml"
    config.write_text(config.read_text().replace("weeks: 8", "weeks: 9"))
    rewritten = cpec(*args, "replicates=4", "jobs=1", cwd=workdir)
    assert "config.yaml was damaged" in rewritten.stderr and "weeks: 8" in config.read_text()
    assert (plots / "fan_violence.png").exists() and "earlier results" not in rewritten.stderr
    more = cpec(*args, "replicates=6", cwd=workdir)
    assert not (plots / "fan_violence.png").exists() and (plots / "my_notes.txt").exists()
    assert "report.html in" in more.stderr and "describes its earlier results" in more.stderr
    drawn = cpec("run", "weeks=8", f"hydra.run.dir={run_dir}", "replicates=6", cwd=workdir)
    assert drawn.returncode == 0
    assert (plots / "fan_violence.png").exists()  # complete, but its figures were gone: drawn


def test_the_sweep_index_says_why_a_job_failed(tmp_path: Path) -> None:
    """A reviewer's full disk: sweep.json said "failed" and nothing more (the job's manifest
    had the reason)."""
    from sim.cli import Plan, write_sweep_index

    job = tmp_path / "seed=1"
    job.mkdir()
    message = "cannot write the results: No space left on device (summary.parquet)"
    (job / "manifest.json").write_text(json.dumps({"status": "failed", "message": message}))
    (tmp_path / "seed=2").mkdir()
    (tmp_path / "seed=2" / "manifest.json").write_text('{"status": "complete", "message": ""}')
    assert write_sweep_index(Plan(sweep_dir=tmp_path, swept={"seed": ["1", "2"]})) == {
        "seed=1": "failed",
        "seed=2": "complete",
    }
    jobs = json.loads((tmp_path / "sweep.json").read_text())["jobs"]
    assert jobs[0]["message"] == message and "message" not in jobs[1]


def test_the_sweep_index_lists_the_jobs_that_never_started(tmp_path: Path) -> None:
    """Each of the command's jobs that no job in the folder runs, by the values that name its
    folder: a value spelled otherwise is the same job (nan too); a job of another command
    (other fixed values) is not one of them; keys that name no folder (jobs) share one; a job
    refused before its manifest is known by its note (a reviewer: its hashed folder name lost
    a key, and it was said never to have run); a later command does not forget the jobs an
    earlier one never started (a reviewer: re-running part of a stopped sweep hid the rest)."""
    from sim.cli import Plan, jobs_not_started, write_sweep_index

    plan = Plan(swept={"a": ["0.10", "2"], "b": ["x", "nan"]}, fixed={"replicates": "5"})
    started = [["a=0.1", "b=x", "replicates=5", "jobs=1"], ["+a=2", "b=NaN", "replicates=5"]]
    missing = [
        {"a": "0.10", "b": "nan", "replicates": "5"},
        {"a": "2", "b": "x", "replicates": "5"},
    ]
    assert jobs_not_started(plan, started) == missing
    other = [["a=0.1", "b=nan", "replicates=3"], ["a=2", "b=x"]]  # another command's jobs
    assert jobs_not_started(plan, started + other) == missing
    assert jobs_not_started(plan, [*started, None]) == []  # a job of unknown overrides
    by_jobs = Plan(swept={"jobs": ["1", "2"], "seed": ["1", "2"]})
    assert jobs_not_started(by_jobs, [["jobs=1", "seed=1"]]) == [{"seed": "2"}]
    assert jobs_not_started(Plan(), [["seed=1"]]) == []
    earlier = [{"seed": "7"}, {"seed": "1"}]  # seed=1 has run since
    assert jobs_not_started(by_jobs, [["seed=1"]], earlier) == [{"seed": "7"}, {"seed": "2"}]
    # a job of unknown overrides (a damaged manifest) drops no earlier record (a reviewer)
    assert jobs_not_started(by_jobs, [["seed=1"], None], earlier) == [{"seed": "7"}]

    def job(name: str, overrides: list[str], status: str) -> None:
        (tmp_path / name).mkdir()
        manifest = {"status": status, "overrides": overrides}
        (tmp_path / name / "manifest.json").write_text(json.dumps(manifest))

    job("seed=1", ["seed=1"], "complete")
    (tmp_path / ".jobs").mkdir()
    note = {"status": "refused", "message": "no", "overrides": ["seed=2"]}
    (tmp_path / ".jobs" / "f1be4695ac4e.json").write_text(json.dumps(note))
    write_sweep_index(Plan(sweep_dir=tmp_path, swept={"seed": ["1", "2", "3"]}))
    index = json.loads((tmp_path / "sweep.json").read_text())
    assert index["not_started"] == [{"seed": "3"}]
    write_sweep_index(Plan(sweep_dir=tmp_path, swept={"seed": ["1", "2"]}))  # a later command
    assert json.loads((tmp_path / "sweep.json").read_text())["not_started"] == [{"seed": "3"}]
    index = json.loads((tmp_path / "sweep.json").read_text())  # edited by hand: junk dropped
    index["not_started"] += [1, "x", None, {}, {"seed": [1, 2]}, {"seed": None}, {"seed": 4}]
    (tmp_path / "sweep.json").write_text(json.dumps(index))
    write_sweep_index(Plan(sweep_dir=tmp_path, swept={"seed": ["1", "2"]}))
    listed = json.loads((tmp_path / "sweep.json").read_text())["not_started"]
    assert listed == [{"seed": "3"}, {"seed": "4"}]


def test_a_comparison_older_than_a_job_of_its_sweep_is_named(tmp_path: Path) -> None:
    """A sweep compared while unfinished, then resumed: its comparison describes fewer jobs."""
    import os

    from sim.cli import older_analysis

    (tmp_path / "seed=1").mkdir()
    manifest = tmp_path / "seed=1" / "manifest.json"
    manifest.write_text('{"package": "cpec-sim"}')
    for name in ("comparison.csv", "report.html", "notes.txt"):
        (tmp_path / name).write_text("x")
        os.utime(tmp_path / name, (1_000, 1_000))
    assert older_analysis(tmp_path) == ["comparison.csv", "report.html"]
    os.utime(tmp_path / "comparison.csv", (manifest.stat().st_mtime + 5,) * 2)
    assert older_analysis(tmp_path) == ["report.html"]
    since = manifest.stat().st_mtime + 1  # no job changed during this command: no note
    assert older_analysis(tmp_path, since=since) == []


def test_a_sweep_given_its_folder_name_is_not_the_same_command_as_without(
    workdir: Path,
) -> None:
    args = ("run", "-m", "seed=1,2", *FAST, "jobs=1")
    assert "note:" not in cpec(*args, cwd=workdir).stdout
    named = cpec(*args, "sweep_name=multirun", cwd=workdir)  # job folders named with it
    assert named.returncode == 0 and "holds 2 run(s) of other commands" in named.stdout
    # it was given a sweep_name: the advice is another one (it said "give sweep_name=NAME")
    assert "a sweep_name that no other sweep uses" in named.stdout


def test_a_sweep_over_quoted_text_runs_each_value(workdir: Path) -> None:
    out = cpec("run", "-m", "scenario.description='a b','c'", *FAST, "jobs=1", cwd=workdir)
    assert out.returncode == 0, out.stderr
    assert "note:" not in out.stdout
    jobs = json.loads((workdir / "results/sweeps/multirun/sweep.json").read_text())["jobs"]
    assert sorted(j["overrides"]["scenario.description"] for j in jobs) == ["'a b'", "'c'"]


def test_a_sweep_composes_each_job_once_after_validating_it(
    workdir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from hydra._internal.config_loader_impl import ConfigLoaderImpl
    from hydra.plugins.sweeper import Sweeper

    from sim.cli import run_command

    composed: list[list[str]] = []
    compose = ConfigLoaderImpl.load_sweep_config

    def counted(self: object, master_config: object, sweep_overrides: list[str]) -> object:
        composed.append(list(sweep_overrides))
        return compose(self, master_config, sweep_overrides)  # type: ignore[arg-type]

    monkeypatch.setattr(ConfigLoaderImpl, "load_sweep_config", counted)
    monkeypatch.chdir(workdir)
    check = Sweeper.validate_batch_is_legal
    args = ["-m", "seed=1,2,3", "replicates=1", "weeks=2", "jobs=1", "plots=false"]
    assert run_command(args) == 0, capsys.readouterr().err
    assert sorted(o for job in composed for o in job if o.startswith("seed")) == [
        "seed=1", "seed=2", "seed=3",
    ]  # fmt: skip
    assert Sweeper.validate_batch_is_legal is check  # Hydra's own check is back afterwards
    sweep = json.loads((workdir / "results/sweeps/multirun/sweep.json").read_text())
    assert [j["status"] for j in sweep["jobs"]] == ["complete"] * 3


def test_a_run_is_composed_once_as_hydra_composes_it(
    workdir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A run's configuration is composed once, by the validation, and Hydra runs it: the job
    sees the same configuration (and Hydra's record of it) as when Hydra composes it again."""
    from hydra._internal.config_loader_impl import ConfigLoaderImpl
    from hydra._internal.hydra import Hydra
    from hydra.core.hydra_config import HydraConfig
    from omegaconf import OmegaConf

    import sim.cli as cli

    composed: list[list[str]] = []
    load = ConfigLoaderImpl.load_configuration

    def counted(self: object, *args: object, **kwargs: object) -> object:
        composed.append(list(kwargs.get("overrides") or args[1]))  # type: ignore[call-overload]
        return load(self, *args, **kwargs)  # type: ignore[arg-type]

    seen: list[tuple[str, str]] = []
    job = cli._job

    def recorded(cfg: object) -> int:
        seen.append((OmegaConf.to_yaml(cfg), OmegaConf.to_yaml(HydraConfig.get())))
        return job(cfg)

    monkeypatch.setattr(ConfigLoaderImpl, "load_configuration", counted)
    monkeypatch.setattr(cli, "_job", recorded)
    monkeypatch.chdir(workdir)
    compose = Hydra.compose_config
    args = [
        "scenario=iran_border",
        "replicates=2",
        "weeks=3",
        "jobs=1",
        "plots=false",
        "china.patience_loss_per_death=0.05",
        "scenario.description='a b, c'",
    ]
    counts = []
    for reuse in (True, False):
        monkeypatch.setattr(cli, "REUSE_COMPOSED_RUN", reuse)
        composed.clear()
        assert cli.run_command(args) == 0, capsys.readouterr().err
        counts.append(len(composed))
    assert counts == [1, 2]  # the validation's, then Hydra's too
    assert Hydra.compose_config is compose  # Hydra's own afterwards
    (once, once_hydra), (twice, twice_hydra) = seen
    assert once == twice
    assert once_hydra == twice_hydra
    assert "a b, c" in once


def test_a_value_the_command_line_sets_is_not_swept_by_the_experiment() -> None:
    from sim.cli import _register, prevalidate

    _register()  # the run schema, as cpec-sim run registers it
    fixed = prevalidate(["+experiment=patience", "china.patience_loss_per_death=5"])
    assert fixed.error is not None and "patience_loss_per_death=5" in fixed.error
    one = prevalidate(["+experiment=compare_all", "scenario=iran_border", "replicates=2"])
    assert one.error is None and one.jobs == 1, one  # Hydra runs the one scenario given
    both = prevalidate(["+experiment=patience", "china.patience_loss_per_death=0.5"])
    assert both.error is None and both.jobs == 3
    assert "china.patience_loss_per_death" not in both.swept
    twice = prevalidate(["-m", "seed=1,1"])
    assert twice.error is not None and "gives 1 twice" in twice.error


def test_a_run_of_a_horizon_that_is_not_whole_weeks_writes_nothing(tmp_path: Path) -> None:
    from sim.params import ModelParams, ParameterError
    from sim.runner import RunSpec, run

    spec = RunSpec(ModelParams(), scenario="baseline", replicates=2, weeks=0, jobs=1)
    with pytest.raises(ParameterError, match="weeks=0 is not allowed"):
        run(spec, tmp_path / "run", progress=None)
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize(
    ("argv", "preload"),
    [
        (["plot", "no-such-run"], "DRAWING_PRELOAD"),
        (["report", "no-such-run"], "DRAWING_PRELOAD"),
        (["compare", "no-such-run"], "COMPARISON_PRELOAD"),
        (["plot", "--help"], None),
        (["compare", "--no-plots", "no-such-run"], None),
        (["scenarios"], None),
    ],
)
def test_commands_that_draw_start_their_drawing_workers_first(
    monkeypatch: pytest.MonkeyPatch, argv: list[str], preload: str | None
) -> None:
    """`plot`, `report` and `compare` start the drawing workers' fork server before their own
    imports (its Matplotlib imports overlap with them; `compare`'s also imports the
    comparison's builders); help, a comparison without figures and other commands do not."""
    import os

    import sim.cli
    import sim.workers

    calls: list[tuple[str, ...]] = []
    monkeypatch.setattr(sim.workers, "start_worker_server", lambda p: calls.append(tuple(p)))
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    sim.cli.main(argv)
    assert calls == ([getattr(sim.workers, preload)] if preload else [])


@pytest.mark.parametrize(
    "args", [("scenarios",), ("run", "--help"), ("run", "replicates=3", "weeks=4", "plots=false")]
)
def test_output_piped_into_head_is_no_error(workdir: Path, args: tuple[str, ...]) -> None:
    """`cpec-sim scenarios | head -3` printed "internal error: BrokenPipeError"; a run piped
    into head was reported as "cannot write the results: Broken pipe", exit 1."""
    import shlex
    import subprocess

    from tests.conftest import CPEC

    line = f"{shlex.quote(CPEC)} {shlex.join(args)} 2>err.txt | head -c 1 >/dev/null"
    done = subprocess.run(
        ["bash", "-c", line + '; echo "${PIPESTATUS[0]}"'],
        cwd=workdir, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    errors = [
        ln for ln in (workdir / "err.txt").read_text().splitlines() if ln.strip() and "%|" not in ln
    ]
    assert done.stdout.strip() == "0" and not errors, (done.stdout, errors)
    if args[0] == "run" and len(args) > 2:
        manifest = workdir / "results/runs/baseline,replicates=3,weeks=4/manifest.json"
        assert json.loads(manifest.read_text())["status"] == "complete"


def test_the_default_jobs_are_the_cpus_the_process_may_use(workdir: Path) -> None:
    """Under SLURM (or taskset, or a container's cpuset) a job may use fewer CPUs than the
    node has: the default was every core of the node, which oversubscribed the job's."""
    import os

    out = cpec(
        "run", *FAST, f"hydra.run.dir={workdir / 'one_cpu'}", cwd=workdir,
        preexec_fn=lambda: os.sched_setaffinity(0, {min(os.sched_getaffinity(0))}),
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert json.loads((workdir / "one_cpu" / "manifest.json").read_text())["jobs"] == 1
    assert "note: jobs=" not in out.stderr
    out = cpec(
        "run", *FAST, "jobs=2", f"hydra.run.dir={workdir / 'two_jobs'}", cwd=workdir,
        preexec_fn=lambda: os.sched_setaffinity(0, {min(os.sched_getaffinity(0))}),
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert "note: jobs=2 is more than the 1 CPU(s) this process may use" in out.stderr


@pytest.mark.parametrize(
    ("args", "hint"),
    [
        (["--replicates", "5"], " (a setting is given as key=value: replicates=5)"),
        (["--chunk-size=7"], " (a setting is given as key=value: chunk_size=7)"),
        (["--china.patience_loss_per_death", "-m"], ": china.patience_loss_per_death=VALUE)"),
        (["--scenario"], " (a setting is given as key=value: scenario=NAME)"),
        (["--foo", "5"], ""),
        (["-replicates", "5"], ""),
    ],
)
def test_an_option_that_names_a_setting_says_how_settings_are_given(
    args: list[str], hint: str
) -> None:
    """helper-171: ``cpec-sim run --replicates 5`` listed Hydra's options only."""
    from sim.cli import Refused, split_args

    with pytest.raises(Refused) as refused:
        split_args(args)
    said = str(refused.value)
    assert said.startswith(f"unknown option {args[0].split('=')[0]!r}{hint.split(':')[0]}")
    assert hint in said and ": choose from -m, --multirun" in said
    assert (hint == "") == ("key=value" not in said)


def test_a_command_line_label_is_what_a_python_run_of_the_same_change_stores() -> None:
    """The command line stored its overrides as typed (``0.90``, ``1`` for a real number,
    ``TRUE``), so one change run from each carried two labels (helper-181)."""
    from sim.cli import labels_of
    from sim.config import scenario_params, with_overrides
    from sim.runner import RunSpec, recorded

    change = {"attacks.chinese_troop_protection": 0.9, "china.initial_patience": 1.0}
    params = with_overrides(scenario_params("baseline"), change)
    typed = ["attacks.chinese_troop_protection=0.90", "china.initial_patience=1", "seed=+3"]
    assert labels_of(typed, params) == [
        "attacks.chinese_troop_protection=0.9",
        "china.initial_patience=1.0",
        "seed=3",
    ]
    python = recorded(RunSpec(params, scenario="baseline")).overrides
    assert sorted(python) == sorted(labels_of(typed, params)[:2])


def test_a_value_spelt_otherwise_resumes_the_folder_of_its_configuration(workdir: Path) -> None:
    """helper-186: ``china.initial_patience=1`` and ``=1.0`` name two folders (a folder is
    named as the command is typed), and the second ran every replicate again beside the
    first, labelled alike. The second now uses the first's folder; another value does not."""
    common = ("replicates=3", "weeks=4", "plots=false", "jobs=1")
    first = cpec("run", "china.initial_patience=1", *common, cwd=workdir)
    assert first.returncode == 0, first.stderr
    runs = workdir / "results" / "runs"
    (folder,) = runs.iterdir()
    before = (folder / "summary.parquet").read_bytes()
    again = cpec("run", "china.initial_patience=1.0", *common, cwd=workdir)
    assert again.returncode == 0, again.stderr
    assert "holds this configuration, its values spelt otherwise" in again.stderr
    assert "already complete" in again.stderr and folder.name in again.stdout.splitlines()[-1]
    assert list(runs.iterdir()) == [folder] and (folder / "summary.parquet").read_bytes() == before
    other = cpec("run", "china.initial_patience=0.9", *common, cwd=workdir)
    assert other.returncode == 0, other.stderr
    assert "spelt otherwise" not in other.stderr and len(list(runs.iterdir())) == 2
    # helper-191: a quoted value, and a name long enough to end in a hash of its text
    for first_spelling, second_spelling in (
        ("iran.initial_posture=hostile", "iran.initial_posture='hostile'"),
        ("china.initial_patience=1", "china.initial_patience=1.0"),
    ):
        long = [f"legitimacy.{k}=0.03" for k in ("harm_sensitivity", "max_harm_loss")]
        long += ["legitimacy.recovery_rate=0.02", "legitimacy.foreign_troop_cost=0.005"]
        before = set(runs.iterdir())
        a = cpec("run", first_spelling, *long, *common, cwd=workdir)
        b = cpec("run", second_spelling, *long, *common, cwd=workdir)
        assert a.returncode == b.returncode == 0, a.stderr + b.stderr
        assert "spelt otherwise" in b.stderr and len(set(runs.iterdir()) - before) == 1
    # helper-192: a folder asked for is used; a run made from Python is not taken and grown
    mine = "hydra.run.dir=results/runs/mine"
    asked = cpec("run", "china.initial_patience=1.0", *common, mine, cwd=workdir)
    assert asked.returncode == 0 and "spelt otherwise" not in asked.stderr, asked.stderr
    assert (runs / "mine" / "summary.parquet").exists()
    from sim.config import scenario_params
    from sim.runner import RunSpec, run

    change = {"china.initial_patience": 0.7}
    python = runs / "my_pilot"
    spec = RunSpec(scenario_params("baseline", change), scenario="baseline", replicates=3, weeks=4)
    assert run(spec, python, progress=None).status == "complete"
    typed = cpec("run", "china.initial_patience=0.70", *common, cwd=workdir)
    assert typed.returncode == 0 and "spelt otherwise" not in typed.stderr, typed.stderr
    assert json.loads((python / "manifest.json").read_text())["overrides"] == [
        "china.initial_patience=0.7"
    ]


def test_a_sweep_exits_by_its_own_jobs_not_another_commands_in_its_folder(
    workdir: Path,
) -> None:
    """helper-189: a sweep whose jobs all completed exited 130 because another command's job
    in the same sweep folder had been interrupted."""
    common = ("replicates=2", "weeks=4", "plots=false", "jobs=1", "sweep_name=S")
    first = cpec("run", "-m", "seed=5,8", *common, cwd=workdir)
    assert first.returncode == 0, first.stderr
    folder = workdir / "results" / "sweeps" / "S"
    other = next(p for p in folder.iterdir() if (p / "manifest.json").exists())
    manifest = json.loads((other / "manifest.json").read_text())
    manifest["status"] = "interrupted"  # as a Ctrl-C would leave it
    (other / "manifest.json").write_text(json.dumps(manifest))
    second = cpec("run", "-m", "seed=6,7", *common, cwd=workdir)
    assert second.returncode == 0, second.stdout + second.stderr
    assert second.stdout.count("complete ") == 2 and "other commands" in second.stdout
    statuses = [j["status"] for j in json.loads((folder / "sweep.json").read_text())["jobs"]]
    assert sorted(statuses) == ["complete", "complete", "complete", "interrupted"]
    # helper-192: a job of another command refused as it ran leaves a note and no manifest
    relations = ("replicates=2", "weeks=4", "plots=false", "jobs=1", "sweep_name=R")
    refusing = cpec("run", "-m", "china.hold_below=0.3,0.6", "china.pressure_below=0.5",
                    *relations, cwd=workdir)  # fmt: skip
    assert refusing.returncode != 0  # hold 0.6 above pressure 0.5: refused
    fine = cpec("run", "-m", "china.hold_below=0.3,0.6", "china.pressure_below=0.9", *relations,
                cwd=workdir)  # fmt: skip
    assert fine.returncode == 0, fine.stdout + fine.stderr


def test_a_run_bigger_than_the_free_disk_says_so_before_it_starts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """helper-189: ``replicates=1000000 weeks=5200`` announced 640 GB with 59 GB free and
    began, to stop hours later on a full disk."""
    from sim import cli

    out = tmp_path / "results" / "runs" / "big"
    huge = cli.Plan(replicates=1_000_000, weeks=5200, out_dir=out)
    asked: list[Path] = []
    monkeypatch.setattr(cli, "_free_bytes", lambda folder: asked.append(folder) or 59 * 10**9)
    cli._announce_big_run(huge)
    err = capsys.readouterr().err
    assert f"the disk that {out} is on has 59.0 GB free, less than the roughly" in err
    assert asked == [out]  # the run's folder, not the current one (helper-191)
    monkeypatch.setattr(cli, "_free_bytes", lambda folder: 10**15)
    cli._announce_big_run(huge)
    assert "GB free" not in capsys.readouterr().err
    monkeypatch.setattr(cli, "_free_bytes", lambda folder: 59 * 10**9)
    out.mkdir(parents=True)
    (out / "manifest.json").write_text("{}")  # resumed or grown: the estimate counts it all
    cli._announce_big_run(huge)
    assert "GB free" not in capsys.readouterr().err
    assert cli._free_bytes(tmp_path / "not" / "yet" / "made") is not None  # its parent's disk


def test_python_m_sim_console_runs_the_command(workdir: Path) -> None:
    """helper-188: ``python -m sim.console calibrate ...`` did nothing and exited 0."""
    import subprocess
    import sys

    ok = subprocess.run([sys.executable, "-m", "sim.console", "scenarios"], cwd=workdir,
                        capture_output=True, text=True, timeout=120)  # fmt: skip
    assert ok.returncode == 0 and ok.stdout.startswith("baseline"), ok.stderr
    bad = subprocess.run([sys.executable, "-m", "sim.console", "run", "nope=1"], cwd=workdir,
                         capture_output=True, text=True, timeout=120)  # fmt: skip
    assert bad.returncode == 2 and "nope" in bad.stderr
