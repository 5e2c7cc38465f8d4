"""``cpec-sim sensitivity`` and ``cpec-sim discover``: exploration from the command line.

Both read a study file (``experiments/uncertainty/*.yaml``: scenario, uncertainties with
ranges, outcomes), evaluate its points with replicates into a study directory (resumable:
re-running the same command continues an interrupted study and reuses finished points), then
print a table and write CSV files and a plot (PNG and SVG). Bad input prints one line naming
the problem and returns 2, before anything is written.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sim.commands import Parser, a_number, run_command, whole_number
from sim.config import MAX_JOBS, MAX_REPLICATES, MAX_SEED, MAX_WEEKS, STREAMS, resolved_jobs
from sim.explore.execution import Execution
from sim.explore.space import (
    Study,
    StudyError,
    check_contrast,
    check_points,
    default_study_path,
    load_study,
)
from sim.provenance import scenario_files

#: Declared upper limits (the run limits of sim.config; points of a design: 1,000,000).
LIMITS = {
    "weeks": MAX_WEEKS,
    "replicates": MAX_REPLICATES,
    "samples": 1_000_000,
    "seed": MAX_SEED,
}
FAST = {"weeks": 8, "replicates": 2, "sobol": 8, "morris": 4, "discover": 40}


def _common(parser: argparse.ArgumentParser, spec: str) -> None:
    parser.add_argument(
        "--spec",
        type=Path,
        default=None,
        help=f"study file (default: experiments/uncertainty/{spec}.yaml)",
    )
    for option, text in (
        ("--samples", "points (LHS) or base samples/trajectories"),
        ("--replicates", "replicates per point (averaged)"),
        ("--weeks", "weeks per replicate"),
        ("--seed", "root seed of the design and the replicates"),
        ("--jobs", "worker processes (default: every CPU it may use)"),
    ):
        parser.add_argument(option, type=whole_number, help=text)
    parser.add_argument(
        "--engine",
        choices=("local", "dask"),
        help="local process pool (the default), or Dask (a local cluster, or --scheduler "
        "ADDRESS, which implies dask)",
    )
    parser.add_argument("--scheduler", help="Dask scheduler address, e.g. tcp://10.0.0.5:8786")
    parser.add_argument("--out", type=Path, help="study directory (default: under results/)")
    parser.add_argument(
        "--contrast",
        metavar="SCENARIO",
        help="analyse each outcome's difference between SCENARIO and the study's scenario, "
        "replicate by replicate (the same seeds): how the effect of that choice depends on "
        "the uncertainties",
    )
    parser.add_argument(
        "--streams",
        choices=STREAMS,
        help="what the rules draw from: one NumPy stream a replicate (single, the default), "
        "or keyed streams, which a contrast's two runs share wherever their steps do (far "
        "less noise in its differences)",
    )
    parser.add_argument(
        "--fast",
        action="store_true",
        help="smoke test: 8 weeks, 2 replicates, a small design (explicit options still win)",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


@dataclass
class Settings:
    """The resolved settings of a command: explicit option > --fast > study file > default."""

    study: Study
    samples: int
    replicates: int
    weeks: int
    seed: int
    jobs: int


def _resolve(
    args: argparse.Namespace, name: str, default_samples: int, fast_samples: int
) -> Settings:
    study = load_study(args.spec or default_study_path(name))

    def pick(key: str, fast: int, from_study: Any, default: int) -> int:
        explicit = getattr(args, key)
        given = f"--{key}={{}}"  # where the value came from, as the message names it
        if explicit is not None:
            value = int(explicit)
        elif args.fast:
            value = fast
        else:
            value = int(from_study if from_study is not None else default)
            if from_study is not None:
                given = f"{args.spec or default_study_path(name)}: {key}: {{}}"
        minimum = 0 if key == "seed" else 1
        maximum = LIMITS.get(key)
        if value < minimum or (maximum is not None and value > maximum):
            allowed = f"from {minimum} to {maximum:,}" if maximum else f"at least {minimum}"
            raise StudyError(f"{given.format(value)} is not allowed: need {allowed}")
        return value

    samples = pick("samples", fast_samples, study.samples, default_samples)
    replicates = pick("replicates", FAST["replicates"], study.replicates, 10)
    weeks = pick("weeks", FAST["weeks"], study.weeks, 104)
    seed = pick("seed", study.seed, study.seed, 0)
    if args.contrast is not None:
        check_contrast(args.contrast, study.scenario, study.space, study.overrides, "--contrast")
        study.contrast = args.contrast
    if args.streams is not None:
        study.streams = args.streams
    if args.jobs is not None and not 1 <= args.jobs <= MAX_JOBS:  # as `run` allows (helper-189)
        raise StudyError(f"--jobs={args.jobs} is not allowed: give 1 to {MAX_JOBS}")
    jobs = resolved_jobs(args.jobs)
    if args.scheduler and args.engine == "local":
        raise StudyError("--scheduler needs --engine dask (or no --engine: it implies dask)")
    args.engine = args.engine or ("dask" if args.scheduler else "local")  # as calibrate does
    return Settings(study, samples, replicates, weeks, seed, jobs)


def crisis_outcome_names(defined: bool = False) -> list[str]:
    """Per-point outcome names of the crisis model (yes/no outcomes as ``*_share``); with
    ``defined``, only those defined in every replicate (the default set of a study: a point
    whose replicates include an undefined value has no mean to analyse)."""
    import pyarrow as pa

    from sim.analysis import survival
    from sim.record import UNDEFINED_WHEN
    from sim.results import RUN_COLUMNS, SCHEMAS

    names = []
    for f in SCHEMAS["summary"]:
        if f.name in RUN_COLUMNS:
            continue
        if not (defined and f.name in UNDEFINED_WHEN):
            names.append(f"{f.name}_share" if f.type == pa.bool_() else f.name)
        if f.name == survival.FIRST_PAUSE:  # and what the point function derives from it
            names.append(survival.PAUSE_FREE)
    return names


def _check_outcomes(requested: Sequence[str]) -> list[str]:
    """The outcomes asked for, checked before anything runs: known names, and none that is
    undefined in some replicates (it would fail only after the whole study)."""
    from sim.explore.sensitivity import resolve_outcomes
    from sim.record import UNDEFINED_WHEN

    for name in requested:
        if name in UNDEFINED_WHEN:
            raise StudyError(
                f"outcome {name!r} is undefined in replicates where {UNDEFINED_WHEN[name]}: "
                "a point's mean leaves them out, and is undefined where all are; choose "
                "another (pause_free_weeks: the week of the first pause, the horizon where "
                "none came; or investment_hold_share)"
            )
    return resolve_outcomes(requested, crisis_outcome_names(defined=True))


def _point_function(settings: Settings) -> Any:
    from sim.explore.evaluate import ContrastOutcomes, CrisisOutcomes

    study = settings.study
    overrides = tuple(sorted(study.overrides.items()))
    if study.contrast is not None:
        return ContrastOutcomes(
            study.scenario, study.contrast, settings.weeks, overrides, study.streams
        )
    return CrisisOutcomes(study.scenario, settings.weeks, overrides, study.streams)


def _subject(s: Settings) -> str:
    """What a study runs: ``baseline``, or ``joint_operation - baseline`` for a contrast."""
    study = s.study
    subject = study.scenario if study.contrast is None else f"{study.contrast} - {study.scenario}"
    return subject if study.streams == "single" else f"{subject} ({study.streams} streams)"


def _arms(s: Settings) -> int:
    """Model runs per replicate: two for a contrast (one per scenario)."""
    return 1 if s.study.contrast is None else 2


def _say_contrast(s: Settings) -> None:
    """What a contrast's outcomes are (printed above its tables)."""
    study = s.study
    if study.contrast is None:
        return
    head = (
        f"Each outcome is a difference, {study.contrast} minus {study.scenario}, replicate "
        "by replicate (both run with the same seed); a point's value is the mean "
        "difference over its replicates. "
    )
    if study.streams == "keyed":
        print(
            head + "With keyed streams the two runs of a replicate share their draws "
            "wherever their steps are the same, so a difference carries far less noise than "
            "two independent runs' would: read the noise lines all the same."
        )
    else:
        print(
            head + "Once a draw differs the two runs of a replicate can be nearly "
            "independent (joint_operation against baseline, for one: r ~0), and their "
            "difference then carries both runs' noise: read the noise lines, or give "
            "--streams keyed."
        )


def _execution(args: argparse.Namespace, settings: Settings, command: str) -> Execution:
    """How the command runs its points; the manifest records the command and the study."""
    study = settings.study
    meta = {
        "command": command,
        "study_file": str(study.path),
        "scenario": study.scenario,
        **({} if study.contrast is None else {"contrast": study.contrast}),
        **scenario_files(scenario_file=study.scenario, contrast_file=study.contrast),
        "weeks": settings.weeks,
        "overrides": study.overrides,
    }
    return Execution(
        replicates=settings.replicates,
        seed=settings.seed,
        jobs=settings.jobs,
        engine=args.engine,
        scheduler=args.scheduler,
        progress=None if args.quiet else sys.stderr,
        meta=meta,
    )


def _dir_name(kind: str, method: str, s: Settings) -> Path:
    stem = s.study.path.stem if s.study.path else kind
    if s.study.contrast is not None:
        stem += f"-{s.study.contrast}-minus-{s.study.scenario}"
    tag = f"{method}-n{s.samples}-r{s.replicates}-w{s.weeks}-s{s.seed}"
    if s.study.streams != "single":
        tag += f"-{s.study.streams}"
    return Path("results") / kind / stem / tag


def _check_before_the_banner(args: argparse.Namespace, out: Path) -> None:
    """What the study would refuse without running anything, refused before the command says
    what it will run (one line, not the banner and then the error)."""
    from sim.explore.evaluate import refuse_foreign_out

    refuse_foreign_out(out)
    if args.scheduler:
        from sim.calibration.abc import SchedulerError, scheduler_address

        try:
            scheduler_address(args.scheduler)
        except SchedulerError as exc:
            raise StudyError(str(exc)) from None


def _where_run(args: argparse.Namespace, s: Settings) -> str:
    if args.scheduler:
        return f"dask cluster at {args.scheduler}"
    workers = f"{s.jobs} worker{'s' if s.jobs > 1 else ''}"
    return f"{'local dask cluster' if args.engine == 'dask' else 'local'}, {workers}"


def _report_status(evaluation: Any) -> int:
    if evaluation.status == "interrupted":
        print(
            f"interrupted: {evaluation.out_dir} keeps the finished points; "
            "re-run the same command to resume",
            file=sys.stderr,
        )
    elif evaluation.status == "failed":
        print(f"failed: {evaluation.message}", file=sys.stderr)
    return int(evaluation.exit_code)


# --- sensitivity ------------------------------------------------------------------------------
def sensitivity_parser() -> Parser:
    """Options of ``cpec-sim sensitivity``."""
    p = Parser(
        prog="cpec-sim sensitivity",
        description="Global sensitivity analysis (SALib): Sobol indices with confidence "
        "intervals, or a Morris screen, over the uncertainties of a study file.",
    )
    _common(p, "sensitivity")
    p.add_argument("--method", choices=("sobol", "morris"), default="sobol")
    p.add_argument(
        "--outcome",
        action="extend",
        nargs="+",
        default=None,
        help="outcome(s) to analyse (summary columns, yes/no ones as *_share, and "
        "pause_free_weeks: the week of the first investor pause, the horizon if none)",
    )
    return p


def sensitivity_command(argv: Sequence[str]) -> int:
    """``cpec-sim sensitivity``: sample, run (resumably), analyse, print, plot."""
    return run_command(sensitivity_parser(), argv, _sensitivity, expected=(StudyError,))


#: Designs of more points than this are announced before they are built and checked (which
#: took 25 s for 360,448 points, a reviewer measured), so that a mistyped size is seen at once.
BIG_DESIGN = 50_000


def _say_big_design(points: int, replicates: int) -> None:
    if points > BIG_DESIGN:
        print(
            f"building and checking a design of {points:,} points ({points * replicates:,} "
            "runs): Ctrl-C stops",
            file=sys.stderr,
            flush=True,
        )


def _sensitivity(args: argparse.Namespace) -> int:
    from sim.explore import sensitivity as sa

    method = args.method
    s = _resolve(args, "sensitivity", 64 if method == "sobol" else 20, FAST[method])
    outcomes = _check_outcomes(
        args.outcome or s.study.outcomes or crisis_outcome_names(defined=True)
    )
    fn = _point_function(s)
    out = args.out or _dir_name("sensitivity", method, s)
    _check_before_the_banner(args, out)
    space = s.study.space
    n = sa.n_points(method, s.samples, len(space))
    _say_big_design(n, s.replicates)
    unit = sa.unit_design(space, method, s.samples, s.seed)
    check_points(space.table(unit), fn.params)
    print(
        f"{method} sensitivity of {_subject(s)}: {len(space)} uncertainties, {n} points x "
        f"{s.replicates} replicates x {s.weeks} weeks = {n * s.replicates * _arms(s)} runs "
        f"({_where_run(args, s)})",
        file=sys.stderr,
    )
    result = sa.run_sensitivity(
        space,
        fn,
        out,
        method=method,
        samples=s.samples,
        outcomes=outcomes,
        execution=_execution(args, s, "sensitivity"),
        unit=unit,
    )
    if result.evaluation.status == "complete":
        _say_contrast(s)
        print(sa.format_indices(result))
        if args.fast:
            design = "base samples" if method == "sobol" else "trajectories"
            print(f"note: --fast's small design ({s.samples} {design}; here {s.weeks} weeks, "
                  f"{s.replicates} replicates) checks the pipeline; its indices are not results "
                  "to read")  # fmt: skip
        print(f"indices: {out / 'indices.csv'}")
        if result.replaced:
            print(f"note: indices.csv and the plot held the analysis of "
                  f"{', '.join(result.replaced)}, which this one replaced (the study's points "
                  "are kept: ask for those outcomes again to get it back in seconds)")  # fmt: skip
        print(f"plot: {out / 'plots' / 'sensitivity.png'} (and .svg)")
    print(f"study directory: {out}")
    return _report_status(result.evaluation)


# --- discovery --------------------------------------------------------------------------------
def discover_parser() -> Parser:
    """Options of ``cpec-sim discover``."""
    p = Parser(
        prog="cpec-sim discover",
        description="Scenario discovery: a Latin hypercube over the uncertainties of a study "
        "file, then PRIM (EMA Workbench) on a case of interest.",
    )
    _common(p, "discovery")
    p.add_argument(
        "--where",
        help="case of interest: a pandas expression over per-point outcomes (as for "
        "sensitivity's --outcome), e.g. "
        "'investment_hold_share > 0.5 and capital_deployed_final < initial'",
    )
    p.add_argument(
        "--min-density",
        type=a_number,
        default=0.0,
        help="choose the box maximising coverage x density among those this dense",
    )
    p.add_argument(
        "--box", type=whole_number, help="choose this box of the peeling trajectory instead"
    )
    p.add_argument("--mass-min", type=a_number, default=0.05, help="PRIM's smallest box (share)")
    p.add_argument(
        "--holdout",
        type=whole_number,
        default=0,
        help="check the chosen box on this many new points (another Latin hypercube, run "
        "with as many replicates on other seeds): PRIM's density is measured on the points "
        "it peeled",
    )
    return p


def discover_command(argv: Sequence[str]) -> int:
    """``cpec-sim discover``: LHS, run (resumably), PRIM, print, plot."""
    return run_command(discover_parser(), argv, _discover, expected=(StudyError,))


def _discover(args: argparse.Namespace) -> int:
    from sim.explore import discovery as sd

    s = _resolve(args, "discovery", 200, FAST["discover"])
    where = args.where or s.study.where
    if not where:
        raise StudyError("no case of interest: give --where EXPRESSION or `where:` in the study")
    if s.study.contrast is not None and not args.where:
        print(
            f"note: the study file's where ({where}) is read on the differences, "
            f"{s.study.contrast} minus {s.study.scenario}, not on levels: give --where for a "
            "condition on the differences (chinese_killed < 0, say)",
            file=sys.stderr,
        )
    if not 0.0 <= args.min_density <= 1.0:
        raise StudyError(f"--min-density={args.min_density} is not allowed: choose 0 to 1")
    if not 0.0 < args.mass_min < 1.0:
        raise StudyError(
            f"--mass-min={args.mass_min} is not allowed: a share above 0 and below 1 (default 0.05)"
        )
    sd.check_holdout(args.holdout, "--holdout")  # before the design is built and checked
    if args.box is not None and args.box < 0:  # not only once the study has run
        raise StudyError(f"--box={args.box} is not allowed: a box of the trajectory, 0 or more")
    out = args.out or _dir_name("discovery", "lhs", s)
    _check_before_the_banner(args, out)  # before the design is built (a big one takes a while)
    fn = _point_function(s)
    space = s.study.space
    constants = fn.constants()
    _say_big_design(s.samples + args.holdout, s.replicates)
    points = space.table(sd.lhs_unit(space, s.samples, s.seed))
    # --where is tried on a row typed as the study's will be (switches are bools, not floats)
    trial = points.head(1).assign(**{c: 0.0 for c in crisis_outcome_names()})
    sd.cases_of_interest(trial, where, constants)
    check_points(points, fn.params)
    print(
        f"scenario discovery on {_subject(s)}: {len(space)} uncertainties, {s.samples} "
        f"points x {s.replicates} replicates x {s.weeks} weeks = "
        f"{s.samples * s.replicates * _arms(s)} runs "
        + (
            f"and {args.holdout} holdout points x {s.replicates} = "
            f"{args.holdout * s.replicates * _arms(s)} runs "
            if args.holdout
            else ""
        )
        + f"({_where_run(args, s)})",
        file=sys.stderr,
    )
    result = sd.run_discovery(
        space,
        fn,
        out,
        where,
        samples=s.samples,
        execution=_execution(args, s, "discover"),
        constants=constants,
        min_density=args.min_density,
        box=args.box,
        mass_min=args.mass_min,
        holdout=args.holdout,
    )
    checked = result.holdout_evaluation
    unchecked = checked is not None and checked.status != "complete"
    if result.prim is not None and not unchecked:
        _say_contrast(s)
        print(sd.format_discovery(result))
        if args.fast:
            print(f"note: --fast ({s.weeks} weeks, {s.replicates} replicates) checks the "
                  "pipeline; its box is not a result to read")  # fmt: skip
        print(f"tables: {out / 'peeling.csv'}, {out / 'box.csv'}")
        if result.replaced is not None:
            again = ("; with a holdout, each box it checks counts against it"
                     if result.holdout_evaluation is not None else "")  # fmt: skip
            print(f"note: the tables and the plot held the box of {result.replaced}, which "
                  "this one replaced (the study's points are kept: ask for it again to get it "
                  f"back in seconds{again})")  # fmt: skip
        print(f"plot: {out / 'plots' / 'discovery.png'} (and .svg)")
    print(f"study directory: {out}")
    if unchecked:
        return _report_status(checked)
    return _report_status(result.evaluation)
