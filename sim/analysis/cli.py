"""``cpec-sim plot | compare | report | precision``: command functions taking ``argv`` and
returning a code.

Bad input (a missing directory, a directory without ``summary.parquet``, an unknown reference,
an unknown option) prints one line to stderr naming what is wrong and what is allowed and
returns 2, without a traceback and before any file is written.
"""

from __future__ import annotations

import argparse
import hashlib
import math
import os
import re
import sys
from collections.abc import Sequence
from pathlib import Path

from sim.analysis import survival
from sim.analysis.outputs import REPORT_FILE, is_report_file
from sim.analysis.runs import (
    EVENTS_FILE,
    MANIFEST_FILE,
    SUMMARY_FILE,
    SWEEP_FILE,
    TIMESERIES_FILE,
    ResultsError,
    RunSet,
    is_sweep_dir,
    load_runs,
)
from sim.commands import Parser, run_command

#: Where ``compare`` and ``report`` write when given several runs and no ``--out``.
COMPARISONS_DIR = Path("results/comparisons")
REPORTS_DIR = Path("results/reports")


def _slug(names: Sequence[str]) -> str:
    text = "_vs_".join(dict.fromkeys(names)) or "comparison"
    text = re.sub(r"[^A-Za-z0-9_.=-]+", "-", text).strip("-")
    return text[:120]


def default_name(runs: RunSet) -> str:
    """``baseline_vs_chinese_troops-1a2b3c4d``: the scenarios, and a hash of the runs' folders
    (in order), so that comparisons of other runs of the same scenarios never share a name
    and the same runs always get the same one."""
    folders = "\n".join(str(r.path.resolve()) for r in runs.runs)
    return f"{_slug(runs.names())}-{hashlib.sha256(folders.encode()).hexdigest()[:8]}"


def _warn_uncertainty(prog: str, runs: RunSet) -> None:
    """One line on stderr when the runs' intervals include different uncertainty."""
    warning = runs.uncertainty_warning()
    if warning:
        print(f"{prog}: {warning}", file=sys.stderr)


# --- plot -------------------------------------------------------------------------------------


def plot_command(argv: Sequence[str]) -> int:
    """``cpec-sim plot DIR``: write a run's figures (PNG and SVG) into ``DIR/plots/``.

    For a sweep directory, every job's run directory gets its figures.
    """
    parser = Parser(
        prog="cpec-sim plot",
        description="Draw the figures of a run directory into DIR/plots/ (PNG and SVG).",
    )
    parser.add_argument("dir", type=Path, metavar="DIR", help="run directory (or sweep directory)")

    def body(args: argparse.Namespace) -> int:
        from sim.files import unwritable

        runs = load_runs([args.dir])  # validates everything before writing
        for run in runs.runs:  # before any figure is drawn
            problem = unwritable(run.path / "plots")
            if problem:
                raise ResultsError(f"{run.path}: its figures cannot be written: {problem}")
        total = 0
        for run in runs.runs:
            paths = plot_locked(run.path)
            total += len(paths)
            print(f"{run.path / 'plots'}: {len(paths)} files")
        print(f"wrote {total} figure files")
        return 0

    return run_command(parser, argv, body, expected=(ResultsError,))


def plot_locked(run_dir: Path) -> list[Path]:
    """A run's figures, drawn holding its folder's lock: a run started meanwhile in the same
    folder is refused until they are drawn (helper-189: one that rewrote the results left
    figures of the earlier ones, titled with their replicates); one already writing it
    refuses the plot. Under the lock no other command writes ``plots/``, so a hidden
    temporary file there is one a stopped plot left (a ``kill -9``): it is removed."""
    from sim.analysis.plots import plot_run
    from sim.files import remove_temporary_files
    from sim.runner import FolderBusy, exclusive

    try:
        with exclusive(run_dir):
            if (run_dir / "plots").is_dir():
                remove_temporary_files(run_dir / "plots")
            return plot_run(run_dir)
    except FolderBusy as exc:
        raise ResultsError(str(exc)) from None


# --- compare ----------------------------------------------------------------------------------


def default_compare_out(dirs: Sequence[Path], runs: RunSet) -> Path:
    """A sweep directory itself, else ``results/comparisons/<name>`` (:func:`default_name`)."""
    if len(dirs) == 1 and is_sweep_dir(Path(dirs[0])):
        return Path(dirs[0])
    return COMPARISONS_DIR / default_name(runs)


def _refuse_system_folder(folder: Path) -> None:
    from sim.files import is_system_folder

    if is_system_folder(folder):
        raise ResultsError(f"--out {folder}: a system or home folder (choose another)")


def _refuse_inside_results(out: Path, given: Sequence[Path]) -> None:
    """Refuse ``--out`` inside a run or sweep folder (a comparison's files there stop the run
    from being re-run), unless it is one of the folders compared (a sweep's own place)."""
    from sim.files import results_folder_holding

    holder = results_folder_holding(out)
    if holder is None:
        return
    if Path(os.path.realpath(out)) == holder and holder in {
        Path(os.path.realpath(d)) for d in given
    }:
        return
    raise ResultsError(
        f"--out {out}: lies in {holder}, a run or sweep folder (give a folder outside it, or "
        "that folder itself if it is one of those compared)"
    )


def _refuse_others_comparison(out: Path) -> None:
    """Refuse ``--out`` holding files with compare's names that compare did not write."""
    from sim.analysis.outputs import comparison_files_not_ours

    foreign = comparison_files_not_ours(out) if out.is_dir() else []
    if foreign:
        listed = ", ".join(foreign[:3]) + (" and more" if len(foreign) > 3 else "")
        raise ResultsError(
            f"--out {out}: {listed} there {'is' if len(foreign) == 1 else 'are'} not compare's "
            "(no comparison.csv of cpec-sim beside): move them away or choose another --out"
        )


def _refuse_unwritable(out: Path, folder: Path) -> None:
    """Refuse ``--out`` when ``folder`` (to hold it) cannot be made or written."""
    from sim.files import unwritable

    problem = unwritable(folder)
    if problem:
        raise ResultsError(f"--out {out}: {problem} (give a path in a folder you can write)")


def compare_command(argv: Sequence[str]) -> int:
    """``cpec-sim compare DIR… [--reference NAME] [--out DIR]``."""
    prog = "cpec-sim compare"
    parser = Parser(
        prog=prog,
        description=(
            "Compare run directories (or one sweep directory): print a table and write "
            "comparison.csv and figures."
        ),
    )
    parser.add_argument("dirs", type=Path, nargs="+", metavar="DIR", help="run or sweep directory")
    parser.add_argument(
        "--reference",
        default=None,
        help="run to compare against: a scenario name, label or directory name "
        "(default: baseline if present, else the first run)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help="output directory (default: the sweep directory, or "
        "results/comparisons/<scenarios>-<hash of the run folders>)",
    )
    parser.add_argument("--no-plots", action="store_true", help="write only comparison.csv")

    def body(args: argparse.Namespace) -> int:
        from sim.analysis.compare import (
            default_reference,
            identical_note,
            print_table,
            write_comparison,
        )

        runs = load_runs(args.dirs)
        reference = args.reference if args.reference is not None else default_reference(runs)
        out = args.out if args.out is not None else default_compare_out(args.dirs, runs)
        if out.exists() and not out.is_dir():
            raise ResultsError(f"--out {out}: exists and is not a directory (give a directory)")
        _refuse_system_folder(out)
        _refuse_inside_results(out, args.dirs)
        _refuse_others_comparison(out)
        _refuse_unwritable(out, out)
        table, paths = write_comparison(
            runs,
            out,
            reference,
            plots=not args.no_plots,
            by_default=args.reference is None,
            jobs=None,  # the figures drawn by one worker process per CPU
        )
        _warn_uncertainty(prog, runs)
        print_table(table)
        same = identical_note(runs)
        if same:
            print(f"note: {same}")
        what = "comparison.csv" if args.no_plots else "comparison.csv and figures"
        print(f"wrote {len(paths)} file{'s' if len(paths) != 1 else ''} to {out} ({what})")
        return 0

    return run_command(parser, argv, body, expected=(ResultsError,))


# --- precision --------------------------------------------------------------------------------


def _number_in(text: str, what: str, low: float, high: float, example: str) -> float:
    """An option's number, which must lie in ``[low, high]`` (a one-line error otherwise)."""
    from sim.commands import UsageError, a_number

    try:
        value = a_number(text)
    except argparse.ArgumentTypeError as exc:
        raise UsageError(f"{what}: {exc}") from None
    if not (math.isfinite(value) and low <= value <= high):
        raise UsageError(f"{what}={text}: give a number from {low:g} to {high:g} ({example})")
    return value


def precision_command(argv: Sequence[str]) -> int:
    """``cpec-sim precision DIR… [--reference NAME] [--mean-within F] [--share-within P]
    [--csv]``."""
    from sim.analysis import precision

    prog = "cpec-sim precision"
    parser = Parser(
        prog=prog,
        description=(
            "How precisely each run's replicates pin down its outcomes (95% intervals of the "
            "mean, the median and each yes/no share) and, given several runs, the differences "
            "from a reference (compare's intervals), with how many replicates would pin each "
            "down to the precision asked for. Reads the stored summaries; writes nothing."
        ),
    )
    parser.add_argument("dirs", type=Path, nargs="+", metavar="DIR", help="run or sweep directory")
    parser.add_argument(
        "--reference",
        default=None,
        help="run the differences are taken from: a scenario name, label or directory name "
        "(default: baseline if present, else the first run)",
    )
    parser.add_argument(
        "--mean-within",
        default=str(precision.MEAN_WITHIN),
        metavar="F",
        help="target half-width of a mean (or of a difference of means), as a share of the "
        "(reference's) mean (default 0.05: ±5%%)",
    )
    parser.add_argument(
        "--share-within",
        default=str(precision.SHARE_WITHIN),
        metavar="P",
        help="target half-width of a yes/no share (or of a difference of shares), in "
        "probability (default 0.05)",
    )
    parser.add_argument("--csv", action="store_true", help="print CSV rows instead of tables")

    def body(args: argparse.Namespace) -> int:
        import pandas as pd

        from sim.analysis.compare import compare_runs, default_reference

        mean_within = _number_in(args.mean_within, "--mean-within", 0.001, 1, "0.05 for ±5%")
        share_within = _number_in(args.share_within, "--share-within", 0.001, 0.5, "0.05: ±0.05")
        runs = load_runs(args.dirs)
        diffs: list[precision.DifferencePrecision] = []
        if len(runs.runs) > 1:
            reference = args.reference if args.reference is not None else default_reference(runs)
            table = compare_runs(runs, reference, by_default=args.reference is None)
            diffs = precision.difference_precision(table, mean_within, share_within)
        elif args.reference is not None:
            raise ResultsError(
                "--reference needs two runs with results or more (a sweep, or several DIRs)"
            )
        _warn_uncertainty(prog, runs)
        if args.csv:
            frames = [
                precision.precision_frame(r.label, r.outcomes, mean_within, share_within)
                for r in runs.runs
            ] + [precision.difference_frame(diffs, mean_within, share_within)]
            sys.stdout.write(pd.concat(frames, ignore_index=True).to_csv(index=False))
            return 0
        blocks = [
            precision.precision_text(
                f"{r.title()}: {r.path}", r.outcomes, mean_within, share_within
            )
            for r in runs.runs
        ]
        if diffs:
            blocks.append(precision.difference_text(diffs, mean_within, share_within))
        print("\n\n".join(blocks))
        shown = any(survival.PAUSE_FREE in r.outcomes for r in runs.runs)
        notes = precision.precision_notes(mean_within, share_within, bool(diffs), shown)
        for line in notes + runs.notes():
            print(f"note: {line}")
        return 0

    return run_command(parser, argv, body, expected=(ResultsError,))


# --- report -----------------------------------------------------------------------------------


def default_report_out(dirs: Sequence[Path], runs: RunSet) -> Path:
    """``DIR/report.html`` for one run or sweep directory, else ``results/reports/<name>.html``
    (:func:`default_name`)."""
    if len(dirs) == 1:
        return Path(dirs[0]) / REPORT_FILE
    return REPORTS_DIR / f"{default_name(runs)}.html"


#: The files a run or sweep folder keeps its records in: never a report's name.
RECORD_FILES = frozenset(
    {SUMMARY_FILE, TIMESERIES_FILE, EVENTS_FILE, MANIFEST_FILE, SWEEP_FILE}
    | {"config.yaml", "multirun.yaml"}
)

#: The names a report may end with (in any case).
REPORT_SUFFIXES = (".html", ".htm")


def check_report_out(out: Path, given: Sequence[Path] = ()) -> Path:
    """Where the report goes: ``out`` in its real folder (symbolic links and ``..`` resolved,
    so that no link leads it into a run); refused, before anything is rendered, if it is a
    folder, has the name of a run's or sweep's records (or of a Parquet table) in any case,
    does not end in ``.html`` or ``.htm``, lies in a run or sweep folder other than as the
    ``report.html`` of a folder ``given`` to the report (or in a folder of one: ``plots/``,
    ``chunks/`` …), exists but is not a report cpec-sim wrote, or lies in a folder that cannot
    be made or written."""
    out = out.expanduser()  # --out=~/x.html reaches us unexpanded: the home folder is meant
    shown, out = out, Path(os.path.realpath(out.parent)) / out.name
    if out.is_dir():
        raise ResultsError(f"--out {shown}: is a directory (give a file name ending in .html)")
    if out.name.casefold() in RECORD_FILES or out.suffix.casefold() == ".parquet":
        raise ResultsError(
            f"--out {shown}: {out.name} is the name of a run's records (give a file name "
            "ending in .html)"
        )
    if out.suffix.casefold() not in REPORT_SUFFIXES:
        raise ResultsError(f"--out {shown}: a report is HTML (give a file name ending in .html)")
    from sim.files import results_folder_holding

    holder = results_folder_holding(out.parent)
    reported = {Path(os.path.realpath(d)) for d in given}
    if holder is not None and (
        out.name != REPORT_FILE or out.parent != holder or holder not in reported
    ):
        raise ResultsError(
            f"--out {shown}: {holder} holds a run or sweep, where a report is written only as "
            f"the {REPORT_FILE} of that run or sweep beside its records (another file stops it "
            f"from being run again; give {holder / REPORT_FILE} with {holder} among the "
            "folders reported, or a path outside it)"
        )
    if out.exists() and not is_report_file(out):
        raise ResultsError(
            f"--out {shown}: exists and is not a report of cpec-sim (give a new file name, or "
            "a report to replace)"
        )
    _refuse_system_folder(out.parent)
    _refuse_unwritable(out, out.parent)
    return out


def _say_what_is_drawn(prog: str, runs: int, per_run: bool) -> None:
    """A line before the figures are drawn (a sweep's report drew silently for ~50 s)."""
    if per_run:
        what = f"the figures of {runs} run{'s' if runs != 1 else ''}"
        if runs > 1:
            what += " and their comparison (--no-run-plots leaves each run's own out)"
    elif runs > 1:
        what = "the comparison figures"
    else:
        return
    print(f"{prog}: drawing {what} ...", file=sys.stderr, flush=True)


def report_command(argv: Sequence[str]) -> int:
    """``cpec-sim report DIR… [--out FILE]``: one self-contained HTML report."""
    prog = "cpec-sim report"
    parser = Parser(
        prog=prog,
        description="Write one self-contained HTML report (figures embedded, opens offline).",
    )
    parser.add_argument("dirs", type=Path, nargs="+", metavar="DIR", help="run or sweep directory")
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help="HTML file (default: DIR/report.html for one directory, else "
        "results/reports/<scenarios>-<hash of the run folders>.html)",
    )
    parser.add_argument(
        "--reference", default=None, help="run to compare against (default: baseline or first)"
    )
    parser.add_argument(
        "--no-run-plots",
        action="store_true",
        help="leave out each run's own figures (the slow part of a sweep's report, and most "
        "of its size)",
    )

    def body(args: argparse.Namespace) -> int:
        from sim.analysis.compare import BY_DEFAULT, resolve_reference
        from sim.analysis.report import build_report
        from sim.files import atomic_write_text

        runs = load_runs(args.dirs)
        resolve_reference(runs, args.reference)  # validate before the (slow) rendering
        out = args.out if args.out is not None else default_report_out(args.dirs, runs)
        target = check_report_out(out, args.dirs)
        _warn_uncertainty(prog, runs)
        _say_what_is_drawn(prog, len(runs.runs), per_run=not args.no_run_plots)
        reference = BY_DEFAULT if args.reference is None else args.reference
        text = build_report(runs, reference, per_run_plots=not args.no_run_plots)
        atomic_write_text(target, text)
        shown = out if Path(os.path.realpath(out)) == Path(os.path.realpath(target)) else target
        print(f"wrote {shown} ({target.stat().st_size / 1e6:.1f} MB)")
        return 0

    return run_command(parser, argv, body, expected=(ResultsError,))


def main(argv: Sequence[str] | None = None) -> int:
    """Stand-alone entry point: ``python -m sim.analysis.cli plot|compare|report …``."""
    args = list(sys.argv[1:] if argv is None else argv)
    commands = {
        "plot": plot_command,
        "compare": compare_command,
        "report": report_command,
        "precision": precision_command,
    }
    if not args or args[0] not in commands:
        print(
            "usage: python -m sim.analysis.cli {plot,compare,report,precision} …", file=sys.stderr
        )
        return 2
    return commands[args[0]](args[1:])


if __name__ == "__main__":
    sys.exit(main())
