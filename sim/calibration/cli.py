"""``cpec-sim calibrate``: Bayesian calibration against the record, its diagnostics and the
scored hindcast (a thin face over :func:`sim.calibration.pipeline.calibrate`)."""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from sim.commands import ErrorTypes, Parser, run_command, whole_number

PROG = "cpec-sim calibrate"
#: Printed after a --fast calibration (docs/calibration.md, "Does the method work?").
FAST_NOTE = (
    "--fast posteriors are over-confident (few effective particles narrow the intervals by "
    "chance, not by information): use them for teaching and smoke tests, not for conclusions"
)

DESCRIPTION = """\
Calibrate the parameters declared in experiments/uncertainty/calibration.yaml against the
observed record (sim/data) by ABC-SMC (pyabc), and write the posterior, posterior predictive
checks, an identifiability table and figures into --out (default results/calibration/full,
or .../hindcast; "-fast" appended with --fast). Re-running the same command resumes (with
--generations at least the number the folder holds).

  cpec-sim calibrate --fast --jobs 2         # a small calibration (about a minute)
  cpec-sim calibrate --jobs 2                # the documented one (docs/calibration.md)
  cpec-sim calibrate --hindcast --jobs 2     # calibrate to 2023, forecast 2024, score it
  cpec-sim calibrate --scheduler tcp://10.0.0.5:8786   # on a Dask cluster's workers
  cpec-sim run parameters=results/calibration/full   # scenarios over the posterior
"""


def _count(minimum: int, maximum: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        value = whole_number(text)
        if not minimum <= value <= maximum:
            raise argparse.ArgumentTypeError(f"must be {minimum} to {maximum}, got {value}")
        return value

    return parse


def parser() -> argparse.ArgumentParser:
    """The command's arguments."""
    p = Parser(prog=PROG, description=DESCRIPTION, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--fast", action="store_true", help="small population, 3 generations")
    p.add_argument(
        "--hindcast",
        action="store_true",
        help="calibrate on the record to 2023 only and score the model's 2024 forecast",
    )
    p.add_argument("--jobs", type=_count(1, 256), default=1, help="worker processes")
    p.add_argument("--out", type=Path, help="output directory")
    p.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="run the simulations on a Dask cluster (tcp://host:8786) instead of --jobs "
        "local processes; same result",
    )
    p.add_argument("--population", type=_count(10, 100_000), help="particles per generation")
    p.add_argument("--generations", type=_count(1, 100), help="ABC-SMC generations")
    p.add_argument("--seed", type=_count(0, 2**31 - 1), help="root seed (default 0)")
    p.add_argument("--file", type=Path, help="calibration file (default: the shipped one)")
    return p


def _print_summary(result: object) -> None:
    from sim.calibration.pipeline import CalibrationResult

    assert isinstance(result, CalibrationResult)
    t = result.parameters
    ess = float(t["ess"].iloc[0])
    print(
        "\nparameters (posterior median [90% interval]; sd ratio = posterior sd / prior sd;"
        f"\n verdicts against the null of {ess:.0f} effective particles: a ratio below "
        f"{float(t['null_sd_ratio_low'].iloc[0]):.2f} or a shift beyond "
        f"{float(t['null_shift_high'].iloc[0]):.2f} prior sd)"
    )
    for r in t.itertuples():
        print(
            f"  {r.parameter:22s} {r.posterior_median:9.4g} [{r.posterior_q05:.4g}, "
            f"{r.posterior_q95:.4g}]  default {r.default:g}  sd ratio {r.sd_ratio:.2f}  "
            f"{r.verdict}"
        )
    _print_defaults(result.defaults)
    c = result.predictive
    inside = int(c["inside_90"].sum())
    joint = c.attrs.get("joint_p")
    together = _joint_text(joint)
    print(
        f"\nposterior predictive: {inside} of {len(c)} observed statistics inside 90% intervals"
        f"{together}\n (the statistics the calibration was fitted to: passing is expected, "
        "not a validation)"
    )
    for r in c.itertuples():
        mark = "" if r.inside_90 else "   <- outside"
        observed = _observed_text(r.observed, r.observed_half_width)
        print(
            f"  {r.statistic:28s} observed {observed:>7s}  "
            f"predictive {r.predictive_median:7.4g} "
            f"[{r.predictive_q05:.4g}, {r.predictive_q95:.4g}]{mark}"
        )
    if result.hindcast is not None:
        print(
            "\nhindcast of 2024 (lower is better): the model's year 2 fitted to 2023, its year 1, "
            "the unfitted priors,\nthe shipped defaults and naive baselines. Not out of sample: "
            "the priors' ranges and the model's fixed\nparts were set knowing 2024, so compare "
            "'model' with 'prior' and 'defaults' before reading any skill."
        )
        from sim.calibration.diagnostics import HINDCAST_FORECASTS

        names = HINDCAST_FORECASTS  # as hindcast.csv names them (crps_NAME, interval_score_NAME)
        widths = [max(9, len(n)) for n in names]
        for score, title in (("crps", "CRPS"), ("interval_score", "90% interval score")):
            print(f"  {title} (hindcast.csv: {score}_NAME)")
            head = " ".join(f"{n:>{w}s}" for n, w in zip(names, widths, strict=True))
            print(f"  {'quantity':20s} {'observed':>8s} {head}")
            for rec in result.hindcast.to_dict("records"):
                cells = " ".join(
                    f"{float(rec.get(f'{score}_{n}', math.nan)):{w}.3g}"
                    for n, w in zip(names, widths, strict=True)
                )
                print(f"  {rec['quantity']!s:20s} {float(rec['observed_2024']):8.4g} {cells}")
        _print_model_differences(result.hindcast)
    parts = "; ".join(f"{name} {n:,}" for name, n in result.parts.items() if n)
    print(
        f"\n{result.simulations:,} simulations in the calibration"
        + (f" ({parts})" if parts else "")
        + f", {result.session_simulations:,} of them this session ({result.seconds:.0f} s)"
    )
    if result.parts.get("first tolerance"):
        print(
            f"  (first tolerance: the {result.parts['first tolerance']:,} draws from the prior "
            "that pyabc simulates to set generation 1's epsilon)"
        )
    print(f"calibration directory: {result.out_dir}")


def _print_model_differences(table: Any) -> None:
    """The model's CRPS minus each of its own references', with the bootstrap interval."""
    names = [
        c.removeprefix("crps_model_minus_")
        for c in table.columns
        if c.startswith("crps_model_minus_") and not c.endswith(("_low", "_high"))
    ]
    if not names:
        return
    print(
        "  the model's CRPS minus each reference's (< 0: the model is better), 95% bootstrap "
        "interval over\n  the replicates: Monte Carlo noise only, one observed year each "
        "(hindcast.csv: crps_model_minus_NAME)"
    )
    for rec in table.to_dict("records"):
        parts = [
            f"{n} {rec[f'crps_model_minus_{n}']:+.3g} "
            f"[{rec[f'crps_model_minus_{n}_low']:+.3g}, {rec[f'crps_model_minus_{n}_high']:+.3g}]"
            for n in names
        ]
        print(f"  {rec['quantity']!s:20s} " + "; ".join(parts))


def _joint_text(joint: float | None) -> str:
    """The joint predictive p-value's clause (none with too few replicates or a missing value)."""
    from sim.calibration.diagnostics import MIN_JOINT_REPLICATES

    if joint is None:
        return ""
    if math.isnan(joint):
        return (
            f"; all at once, no p (fewer than {MIN_JOINT_REPLICATES} replicates,"
            " or a statistic missing)"
        )
    return f"; all at once, p = {joint:.2f}"


def _observed_text(observed: Any, half: Any) -> str:
    """An observed value, or the range ``low-high`` of one known only as a range."""
    value, half_width = float(observed), float(half)
    if half_width > 0:
        return f"{value - half_width:.4g}-{value + half_width:.4g}"
    return f"{value:.4g}"


def _print_defaults(review: Any) -> None:
    """The defaults against the posterior (``sim.calibration.defaults``'s rule)."""
    from sim.calibration.defaults import JOINT_ROW, broken

    lines = broken(review)
    alone = review[review["parameter"] != JOINT_ROW]
    together = review[review["parameter"] == JOINT_ROW]
    jointly = (
        ""
        if together.empty
        else (
            "; together they keep it too"
            if bool(together["holds"].all())
            else "; together they do not"
        )
    )
    print(
        f"\ndefaults as a posterior summary: {int(alone['holds'].sum())} of {len(alone)} keep "
        f"the rule{jointly} (the rule: a default is the posterior's median if the record "
        "identifies the parameter, inside its central 50% if partly, its central 90% if "
        "not;\n together, inside the central 90% region; a borderline verdict follows this "
        "calibration's)"
    )
    for line in lines:
        print(f"  {line}")


def calibrate_command(argv: Sequence[str]) -> int:
    """Entry point of ``cpec-sim calibrate``."""
    return run_command(
        parser(),
        argv,
        _calibrate,
        expected=_input_errors,
        interrupted="interrupted; run the same command again to resume",
    )


def _input_errors() -> ErrorTypes:
    """The errors that mean bad input (imported only when needed: pyabc is slow to import)."""
    from sim.calibration.abc import SchedulerError
    from sim.calibration.pipeline import CalibrationError
    from sim.explore.space import StudyError

    return (CalibrationError, SchedulerError, StudyError)


def _calibrate(args: argparse.Namespace) -> int:
    from sim.calibration.pipeline import FAST, FULL, calibrate
    from sim.calibration.space import load_space

    settings = FAST if args.fast else FULL
    changes = {
        k: v
        for k, v in (
            ("population", args.population),
            ("generations", args.generations),
            ("seed", args.seed),
        )
        if v is not None
    }
    result = calibrate(
        window="hindcast" if args.hindcast else "full",
        fast=args.fast,
        settings=replace(settings, **changes),
        jobs=args.jobs,
        out_dir=args.out,
        scheduler=args.scheduler,
        space=load_space(args.file),
        progress=lambda line: print(line, flush=True),
    )
    _print_summary(result)
    if args.fast:
        print(f"note: {FAST_NOTE}", file=sys.stderr)
    return 0
