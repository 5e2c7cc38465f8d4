"""Scenario comparison: outcome statistics, differences from a reference, event probabilities.

:func:`compare` reads several run directories (or one sweep directory) and returns one row per
scenario and outcome; :func:`write_comparison` writes ``comparison.csv`` and the comparison
figures; :func:`format_table` renders the table as text for the terminal.
"""

from __future__ import annotations

import enum
import math
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TextIO, cast

import numpy as np
import pandas as pd

from sim.analysis import stats, style, survival
from sim.analysis.numbers import (
    MIN_REPLICATES_TO_TEST,
    fmt_median_interval,
    fmt_number,
    fmt_numbers,
)
from sim.analysis.outputs import COMPARISON_TABLE
from sim.analysis.runs import (
    LABELLING_RUN_KEYS,
    ResultsError,
    Run,
    RunSet,
    SkippedJob,
    is_parameter_key,
    load_runs,
    readable_scenario,
    run_key,
    streams_of,
)
from sim.files import atomic_write_text, remove_stale_temporary_files
from sim.posterior import NOT_COMPARABLE, source_key

if TYPE_CHECKING:
    from matplotlib.figure import Figure

#: Columns of the comparison table, in order.
COLUMNS: tuple[str, ...] = (
    "label",
    "scenario",
    "dir",
    "weeks",
    "reference",
    "outcome",
    "kind",
    "n",
    "median",
    "mean",
    "q05",
    "q95",
    "diff_mean",
    "diff_mean_lo",
    "diff_mean_hi",
    "diff_median",
    "diff_median_lo",
    "diff_median_hi",
    "diff_mean_p",
    "diff_median_p",
    "diff_mean_significant",
    "diff_median_significant",
    "paired",
    "pair_r",
    "successes",
    "probability",
    "prob_lo",
    "prob_hi",
)

#: Bootstrap settings (fixed so that a comparison is reproducible).
N_BOOT = 2000
BOOT_SEED = 20241118
#: Family-wise error rate of the differences marked significant (Holm's correction).
FAMILY_ALPHA = 0.05

#: Outcomes shown in a sweep heatmap (median over the two swept parameters).
HEATMAP_OUTCOMES: tuple[str, ...] = (
    "chinese_killed",
    "attacks_total",
    "capital_deployed_final",
    "legitimacy_final",
)


#: Characters a line of a run's label takes beside a panel; a longer label is wrapped (a run of
#: seven overrides squeezed the boxes into a third of the figure).
TICK_LABEL_WIDTH = 38


def tick_label(label: str) -> str:
    """A run's label as a tick label: wrapped at :data:`TICK_LABEL_WIDTH` characters."""
    import textwrap

    return "\n".join(textwrap.wrap(label, TICK_LABEL_WIDTH, break_on_hyphens=False)) or label


def event_values(summary: pd.DataFrame, name: str, run: str = "") -> np.ndarray | None:
    """Yes/no outcome per replicate (``any_withdrawal``: investors_withdrawn > 0); a value
    missing is refused (:class:`ResultsError`), not read as "no"."""
    if name == "any_withdrawal":
        if "investors_withdrawn" not in summary.columns:
            return None
        return (summary["investors_withdrawn"].to_numpy(dtype=float) > 0).astype(bool)
    if name not in summary.columns:
        return None
    missing = int(summary[name].isna().sum())
    if missing:  # counted as "no", they had shrunk the share (helper-182)
        where = f"{run}: " if run else ""
        raise ResultsError(
            f"{where}the yes/no outcome {name} is missing in {missing} of {len(summary)} "
            "replicates, which cpec-sim never writes (its summary was changed after the run: "
            "run it again into a new folder)"
        )
    return summary[name].to_numpy(dtype=bool)


def resolve_reference(runs: RunSet, reference: str | None) -> Run | None:
    """The run a reference name designates (label, scenario name or directory), or None.

    Raises :class:`ResultsError` if ``reference`` matches no run, or several runs only by
    scenario name.
    """
    if reference is None:
        return None
    exact = [r for r in runs.runs if r.label == reference.strip()]
    if len(exact) == 1:  # labels are unique; two may differ only in case
        return exact[0]
    want = reference.strip().casefold()
    short = _strip_scenario(runs.labels) or {}
    by_label = [
        r for r in runs.runs if want in (r.label.casefold(), short.get(r.label, "").casefold())
    ]
    if len(by_label) == 1:
        return by_label[0]
    if len(by_label) > 1:
        raise _ambiguous(reference, by_label)
    by_scenario = [r for r in runs.runs if r.scenario.casefold() == want]
    if len(by_scenario) == 1:
        return by_scenario[0]
    by_dir = [r for r in runs.runs if r.path.name.casefold() == want or str(r.path) == reference]
    if len(by_dir) == 1:
        return by_dir[0]
    by_values = _matching_values(runs.runs, reference) if not by_dir else []
    if len(by_values) == 1:
        return by_values[0]
    if len(by_values) > 1:
        raise _ambiguous(reference, by_values)
    scenarios = [r.scenario for r in runs.runs]
    if len(set(scenarios)) == len(scenarios):
        allowed = "one of " + ", ".join(scenarios)
    else:
        dirs = ", ".join(dict.fromkeys(r.path.name for r in runs.runs))
        allowed = (
            f"a directory name ({dirs}), a run label such as {runs.runs[0].label!r} or the "
            "values a run sets (key=value)"
        )
    if len(by_scenario) > 1 or len(by_dir) > 1:
        raise _ambiguous(reference, by_scenario if len(by_scenario) > 1 else by_dir)
    raise ResultsError(f"unknown reference {reference!r}: choose {allowed}")


def _matching_values(runs: Sequence[Run], reference: str) -> list[Run]:
    """The runs that set exactly the parameters a reference spelt as overrides names (beyond
    those every run sets alike), however it spells their keys and values:
    ``initial_patience=1``, ``china.initial_patience=1.0``,
    ``Baseline [china.initial_patience=1]`` or a folder's name, ``baseline,...,replicates=5``
    (helper-186: the label says ``1.0`` where the command and the folder said ``1``); none if
    the reference is not of that form."""
    parsed = _spelt_overrides(reference)
    if parsed is None:
        return []
    head, pairs = parsed
    shared = _shared_settings(runs)
    found = []
    for run in runs:
        named = _keys_set(run, pairs) if _scenario_named(run, head) else None
        if named is not None and all(  # a run setting more than the reference names, where
            # other runs differ, is another run (helper-191)
            k in named or (k, _value_of(v)) in shared
            for k, v in run.overrides.items()
        ):
            found.append(run)
    return found


def _shared_settings(runs: Sequence[Run]) -> set[tuple[str, tuple[str, object]]]:
    """The parameter values every run sets alike (a sweep's fixed settings)."""
    sets = [{(k, _value_of(v)) for k, v in r.overrides.items()} for r in runs]
    return set.intersection(*sets) if sets else set()


def _spelt_overrides(reference: str) -> tuple[str, dict[str, str]] | None:
    """``Scenario [a=1, b=2]`` or ``scenario,a=1,b=2`` or ``a=1`` as (scenario, pairs)
    without the settings that do not change a run's results (``sweep_name=``, ``jobs=``);
    None if not so, or if it names a run key a label does not tell apart (``backend=``,
    ``parameters=``: helper-191 found them dropped, and a run of other settings chosen)."""
    text = reference.strip()
    if text.endswith("]") and "[" in text:
        head, _, inner = text[:-1].partition("[")
    else:
        first, _, rest = text.partition(",")
        head, inner = ("", text) if "=" in first else (first, rest)
    items = [item.strip() for item in inner.split(",") if item.strip()]
    if not items or not all("=" in item for item in items):
        return None
    pairs = {}
    for item in items:
        key, _, value = item.partition("=")
        key = key.strip().lstrip("+~")
        if key in LABELLING_RUN_KEYS or is_parameter_key(key):
            pairs[key] = value.strip()
        elif key.split(".")[0] not in RESULTS_UNCHANGED:
            return None
    return (head.strip(), pairs) if pairs else None


#: Settings in a folder's name that do not change a run's results.
RESULTS_UNCHANGED = ("sweep_name", "jobs", "plots", "chunk_size", "experiment", "hydra")


def _scenario_named(run: Run, head: str) -> bool:
    """Whether ``head`` is empty or names the run's scenario (``Baseline`` or ``baseline``)."""
    want = head.casefold()
    return not want or want in (run.scenario.casefold(), readable_scenario(run.scenario).casefold())


def _keys_set(run: Run, pairs: dict[str, str]) -> set[str] | None:
    """The run's parameter keys that ``pairs`` names (by its full dotted key or its last
    parts), if the run sets each to the value given, compared by kind and value
    (:func:`_value_of`); else None."""
    named = set()
    for key, value in pairs.items():
        if key in LABELLING_RUN_KEYS:
            have = run_key(run, key)
        else:
            keys = [k for k in run.overrides if k == key or k.endswith("." + key)]
            have = run.overrides[keys[0]] if len(keys) == 1 else None
            named.update(keys[:1])
        if have is None or _value_of(have) != _value_of(value):
            return None
    return named


def _ambiguous(reference: str, among: Sequence[Run]) -> ResultsError:
    """The refusal of a reference several runs match, naming their labels (each accepted)."""
    names = ", ".join(repr(r.label) for r in among)
    return ResultsError(
        f"reference {reference!r} is ambiguous: {len(among)} runs match; choose one by its "
        f"label: {names}"
    )


def _default_of[J: (Run, SkippedJob, Run | SkippedJob)](jobs: Sequence[J]) -> J:
    """The baseline if exactly one job is (or one without overrides), else the first job.

    Several baselines without overrides with results (:func:`_best_baseline`) are the same
    scenario run at other sizes, seeds, horizons or parameters: the one the most other runs
    can be tested against, then with the most replicates. A stranger's 5-replicate baseline,
    added to a sweep's 60, became the reference of every difference, which then had no
    tests."""
    best = _best_baseline([j for j in jobs if isinstance(j, Run)])
    if best is not None:
        return cast(J, best)
    base = [j for j in jobs if j.scenario == "baseline" and not j.overrides]
    if len(base) != 1:
        base = [j for j in jobs if j.scenario == "baseline"]
    return base[0] if len(base) == 1 else jobs[0]


def _alike(run: Run, ref: Run) -> tuple[bool, bool]:
    """Whether ``run`` can be tested against ``ref`` (the same horizon and source of
    parameters), and whether it is paired with it (:func:`paired_with`)."""
    testable = run.weeks == ref.weeks and run.uncertainty == ref.uncertainty
    return testable, testable and paired_with(run, ref)


def _best_baseline(runs: Sequence[Run]) -> Run | None:
    """Of two or more baselines without overrides, the one the most other runs can be tested
    against, then paired with, then with the most replicates (the first of equals); None
    unless there are two or more."""
    base = [r for r in runs if r.scenario == "baseline" and not r.overrides]
    if len(base) < 2:
        return None

    def merit(ref: Run) -> tuple[int, int, int]:
        alike = [_alike(r, ref) for r in runs if r is not ref]
        return sum(t for t, _ in alike), sum(p for _, p in alike), ref.replicates

    return max(base, key=merit)


class DefaultReference(enum.Enum):
    """The type of :data:`BY_DEFAULT`."""

    REFERENCE = "the default reference"


#: ``reference``'s default in :func:`compare`, :func:`compare_runs` and
#: :func:`write_comparison`: the reference ``cpec-sim compare`` and
#: :func:`sim.analysis.report.report` choose when none is asked for (the baseline if exactly
#: one run is, else the first run: :func:`default_reference`). None computes no differences.
BY_DEFAULT = DefaultReference.REFERENCE
Reference = str | None | DefaultReference


def default_reference(runs: RunSet) -> str:
    """``baseline`` if exactly one run is the baseline, else the first run's label, chosen
    among every job given, with results or not: where that job has none, the same rule
    among the runs with results chooses one to stand in (:func:`reference_note`)."""
    meant = _default_of(runs.jobs)
    return meant.label if isinstance(meant, Run) else _default_of(runs.runs).label


def reference_note(runs: RunSet, by_default: bool) -> str:
    """When the reference was chosen ``by_default`` (no reference was asked for) and the job
    the default would choose has no results (the baseline, or the first job of a sweep of
    one scenario), what the reference stands in for; else ''."""
    meant = _default_of(runs.jobs)
    if not by_default:
        return ""
    if isinstance(meant, Run):
        base = [r for r in runs.runs if r.scenario == "baseline" and not r.overrides]
        if meant is _best_baseline(runs.runs):
            return (
                f"of the {len(base)} baseline runs, the one the most other runs can be tested "
                "against (the same weeks and parameters), then paired with (the same seed), "
                "then with the most replicates; --reference chooses another"
            )
        return ""
    baselines = sum(job.scenario == "baseline" for job in runs.jobs)
    chosen_as_baseline = meant.scenario == "baseline" and (
        meant is not runs.jobs[0] or baselines == 1
    )
    role = "the baseline" if chosen_as_baseline else "the first job"
    return (
        f"standing in for {role}, sweep job {meant.path.name}, which has no results; "
        "--reference chooses another"
    )


def _row(run: Run, ref: Run | None, outcome: str, kind: str) -> dict[str, Any]:
    return {
        "label": run.label,
        "scenario": run.scenario,
        "dir": str(run.path),
        "weeks": run.weeks,
        "reference": ref.label if ref is not None else "",
        "outcome": outcome,
        "kind": kind,
    }


def paired_with(run: Run, ref: Run) -> bool:
    """Whether ``run`` and ``ref`` are paired replicate by replicate: the same base seed and
    seed scheme, the same kind of random streams and the same replicate numbers, so replicate
    i of each draws the same random numbers (common random numbers) and their differences
    are bootstrapped in pairs."""
    seeds = [r.manifest.get(k) for r in (run, ref) for k in ("seed", "replicate_seeds")]
    if seeds[0] is None or seeds[1] is None or seeds[:2] != seeds[2:]:
        return False
    if streams_of(run) != streams_of(ref):
        return False
    ids = [r.summary.get("replicate") for r in (run, ref)]
    if ids[0] is None or ids[1] is None or not ids[0].is_unique or not ids[1].is_unique:
        return False
    return set(ids[0]) == set(ids[1])


def _aligned(run: Run, ref: Run, x: Any, y: Any, paired: bool) -> tuple[np.ndarray, np.ndarray]:
    """Values ``x`` of the run's summary and ``y`` of the reference's (in their rows' order):
    matched by replicate number if paired (the bootstrap drops unpaired missing values)."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if not paired:
        return x, y
    by_replicate = pd.Series(x, index=run.summary["replicate"])
    matched = pd.Series(y, index=ref.summary["replicate"]).reindex(by_replicate.index)
    return by_replicate.to_numpy(), matched.to_numpy()


#: Pairs are resampled together where at least this many of them differ, or none does (see
#: :func:`resample_in_pairs`): with common
#: random numbers an outcome a change rarely touches differs in a pair or two, and the paired
#: bootstrap then gives [0, 0] or an interval too narrow (a reviewer: 26-52% coverage of the
#: true difference at 0.5-1.5% of pairs differing, 93% at 7%); resampled apart, the two
#: samples' intervals are conservative (their correlation is positive).
MIN_DIFFERING_PAIRS = 10


def resample_in_pairs(a: Any, b: Any) -> bool:
    """Whether the pairs ``(a[i], b[i])`` (both finite) are resampled together: if none of
    them differs (the runs agree in every replicate: the difference is 0 for these seeds, as
    for an unchanged fork) or at least :data:`MIN_DIFFERING_PAIRS` do; with 1 to 9 differing
    pairs the paired interval runs too narrow, so the samples are resampled apart."""
    x, y = stats.finite_pairs(a, b)
    differing = int(np.count_nonzero(x != y))
    return differing == 0 or differing >= MIN_DIFFERING_PAIRS


def _pairs(
    run: Run, ref: Run, x: Any, y: Any, paired: dict[int, bool]
) -> tuple[np.ndarray, np.ndarray, bool]:
    """The values to compare and whether they are resampled in pairs: the run's pairing
    (:func:`paired_with`), unless only 1 to ``MIN_DIFFERING_PAIRS - 1`` pairs differ
    (:func:`resample_in_pairs`)."""
    if paired[id(run)]:
        a, b = _aligned(run, ref, x, y, True)
        if resample_in_pairs(a, b):
            return a, b, True
    a, b = _aligned(run, ref, x, y, False)
    return a, b, False


#: Fewer pairs than this give no correlation (``pair_r``): too few to estimate it.
MIN_PAIRS_FOR_R = 10


def _correlation(x: np.ndarray, y: np.ndarray) -> float:
    """Pearson's correlation of paired values (NaN with fewer than :data:`MIN_PAIRS_FOR_R`
    pairs, or if one side is constant)."""
    x, y = stats.finite_pairs(x, y)
    if x.size < MIN_PAIRS_FOR_R or np.ptp(x) == 0 or np.ptp(y) == 0:
        return math.nan
    return float(np.corrcoef(x, y)[0, 1])


def _diff(x: Any, y: Any, stat: stats.Statistic, paired: bool) -> stats.DiffCI:
    return stats.bootstrap_diff_ci(x, y, stat, N_BOOT, seed=BOOT_SEED, paired=paired)


def _outcomes(runs: RunSet) -> list[str]:
    """The headline outcomes (stored or derived) that any of the runs holds, in order."""
    return [c for c in style.OUTCOMES if any(c in r.outcomes.columns for r in runs.runs)]


def compare_runs(
    runs: RunSet, reference: Reference = BY_DEFAULT, by_default: bool = False
) -> pd.DataFrame:
    """The comparison table of already-loaded runs (see :func:`compare`); ``by_default``:
    :func:`default_reference` chose ``reference`` (the notes say if it stands in for a
    baseline without results), as it does when ``reference`` is :data:`BY_DEFAULT`."""
    if reference is BY_DEFAULT:
        reference, by_default = default_reference(runs), True
    ref = resolve_reference(runs, reference)
    refs = references(runs, ref)
    paired = {id(r): id(r) in refs and paired_with(r, refs[id(r)]) for r in runs.runs}
    rows: list[dict[str, Any]] = []
    for outcome in _outcomes(runs):
        for run in runs.runs:
            if outcome not in run.outcomes.columns:
                continue
            own = refs.get(id(run))
            s = stats.summarise(run.outcomes[outcome], counts=outcome not in stats.NOT_COUNTS)
            row = _row(run, own or run if ref is not None else None, outcome, "continuous")
            row.update(n=s.n, median=s.median, mean=s.mean, q05=s.q05, q95=s.q95)
            if own is not None and outcome in own.outcomes:
                x, y, pair = _pairs(run, own, run.outcomes[outcome], own.outcomes[outcome], paired)
                dm, dmed = _diff(x, y, "mean", pair), _diff(x, y, "median", pair)
                row.update(diff_mean=dm.estimate, diff_mean_lo=dm.low, diff_mean_hi=dm.high)
                row.update(diff_median=dmed.estimate, diff_median_lo=dmed.low)
                row.update(diff_median_hi=dmed.high, diff_mean_p=dm.p, diff_median_p=dmed.p)
                row.update(paired=pair, pair_r=_correlation(x, y) if pair else math.nan)
            rows.append(row)
    for event in style.EVENTS:
        for run in runs.runs:
            values = event_values(run.summary, event, str(run.path))
            if values is None:
                continue
            own = refs.get(id(run))
            k, n = int(values.sum()), int(values.size)
            lo, hi = stats.wilson_interval(k, n)
            row = _row(run, own or run if ref is not None else None, event, "event")
            row.update(n=n, mean=k / n if n else math.nan, successes=k)
            row.update(probability=k / n if n else math.nan, prob_lo=lo, prob_hi=hi)
            ref_e = event_values(own.summary, event, str(own.path)) if own is not None else None
            if own is not None and ref_e is not None:
                pair = paired[id(run)]  # paired yes/no values: however few pairs disagree
                x, y = _aligned(run, own, values, ref_e, pair)
                d = (
                    stats.paired_proportion_diff(x, y)
                    if pair
                    else stats.independent_proportion_diff(x, y)
                )
                row.update(diff_mean=d.estimate, diff_mean_lo=d.low, diff_mean_hi=d.high)
                row.update(diff_mean_p=d.p, paired=pair)
                row.update(pair_r=_correlation(x, y) if pair else math.nan)
            rows.append(row)
    table = pd.DataFrame(rows).reindex(columns=list(COLUMNS))
    other_source = sorted(
        r.label
        for r in runs.runs
        if id(r) in refs and source_key(r.parameters) != source_key(refs[id(r)].parameters)
    )
    _mark_significant(table, {r.label: r for r in runs.runs}, other_source)
    table.attrs["other_source"] = other_source
    table["n"] = table["n"].astype("Int64")
    table["successes"] = table["successes"].astype("Int64")
    table["paired"] = table["paired"].astype("boolean")
    table.attrs["reference"] = ref.label if ref is not None else None
    table.attrs["reference_note"] = reference_note(runs, by_default) if ref is not None else ""
    table.attrs["job_notes"] = runs.notes()
    table.attrs["uncertainty"] = {run.label: run.uncertainty for run in runs.runs}
    table.attrs["uncertainty_mixed"] = runs.uncertainty_mixed()
    table.attrs["rests_on"] = scenario_values(runs.runs)
    table.attrs["keyed_runs"] = [
        r.label for r in runs.runs if paired[id(r)] and streams_of(r) == "keyed"
    ]  # a run pairs only with its own kind of streams
    table.attrs["paired_runs"] = [r.label for r in runs.runs if paired[id(r)]]
    table.attrs["seed_references"] = {
        r.label: refs[id(r)].label for r in runs.runs if id(r) in refs and refs[id(r)] is not ref
    }
    table.attrs["by_construction"] = by_construction(runs.runs, refs)
    return table


def references(runs: RunSet, ref: Run | None) -> dict[int, Run]:
    """Each compared run's reference, by the run's ``id``: ``ref`` if the run pairs with it
    (:func:`alike`), else a run of ``ref``'s scenario and parameters that does (a sweep over
    seeds: ``Joint operation [seed=2]`` against ``Baseline [seed=2]``, in pairs, rather than
    against ``Baseline [seed=1]``, apart; over horizons, streams or parameter sources too),
    else the first of them it can be tested against apart (the same horizon and source),
    else ``ref``. A run that is some run's reference has none itself; ``ref``'s other runs
    that no run pairs with are compared with ``ref``. Empty without a reference."""
    if ref is None:
        return {}
    same = [
        r
        for r in runs.runs
        if r is not ref and r.scenario == ref.scenario and same_values(r.overrides, ref.overrides)
    ]
    same_ids = {id(r) for r in same}
    candidates = (ref, *same)
    out: dict[int, Run] = {}
    for run in runs.runs:
        if run is ref or id(run) in same_ids:
            continue
        out[id(run)] = next((r for r in candidates if alike(run, r)), None) or next(
            (r for r in candidates if testable_against(run, r)), ref
        )
    chosen = {id(r) for r in out.values()}
    out.update({id(r): ref for r in same if id(r) not in chosen})
    return out


def same_values(a: dict[str, str], b: dict[str, str]) -> bool:
    """Whether two runs' overrides set the same values, however their text spells them: a
    run stored before labels were written in one form says ``0.20`` or ``1`` where a later
    run of the same change says ``0.2`` or ``1.0`` (helper-186: a grown sweep's new jobs were
    then not paired with the old)."""
    return a.keys() == b.keys() and all(_value_of(a[k])[1] == _value_of(b[k])[1] for k in a)


def _value_of(text: str) -> tuple[str, object]:
    """An override's value for comparing: a number as a float, a switch as a bool, text
    without its quotes, each tagged with its kind. A reference compares kinds too (``true``
    names no run of ``1.0``: helper-191); :func:`same_values` compares the values alone, as a
    switch stored as ``1`` before labels were written in one form is ``true`` (helper-192)."""
    t = text.strip()
    if t.lower() in ("true", "false"):
        return "switch", t.lower() == "true"
    try:
        return "number", float(t.replace("_", ""))
    except ValueError:
        quoted = len(t) >= 2 and t[0] == t[-1] and t[0] in "'\""
        return "text", t[1:-1] if quoted else t


def alike(run: Run, other: Run) -> bool:
    """Whether ``run`` can be tested against ``other`` in pairs: paired replicate by replicate
    (:func:`paired_with`) and :func:`testable_against` it."""
    return paired_with(run, other) and testable_against(run, other)


def testable_against(run: Run, other: Run) -> bool:
    """Whether a difference of ``run`` from ``other`` can be tested at all: over the same
    horizon, with parameters from the same source (:func:`_mark_significant`)."""
    return run.weeks == other.weeks and source_key(run.parameters) == source_key(other.parameters)


def by_construction(runs: Sequence[Run], refs: dict[int, Run]) -> dict[str, dict[str, str]]:
    """Per compared run's label, the outcomes that a parameter value of the run, or of its
    reference (``refs``, as :func:`references` gives them), sets by the model's own rule and
    the other's does not (``Run.by_construction``): a difference there restates the value."""
    out: dict[str, dict[str, str]] = {}
    for run in runs:
        if id(run) not in refs:
            continue
        mine, theirs = run.by_construction, refs[id(run)].by_construction
        marked = {k: v for k, v in mine.items() if theirs.get(k) != v}  # another claim too
        marked.update({k: f"in the reference, {v}" for k, v in theirs.items() if k not in mine})
        if marked:
            out[run.label] = marked
    return out


def _outcome_name(outcome: str) -> str:
    """An outcome's or a yes/no event's name in a note (without its unit)."""
    return style.EVENTS.get(outcome) or style.outcome_label(outcome, with_unit=False)


def by_construction_notes(marked: dict[str, dict[str, str]], short: dict[str, str]) -> list[str]:
    """One line per run whose scenario sets some outcomes by its own rule (the rows marked
    "(by construction)")."""
    if not marked:
        return []
    notes = [
        "(by construction): a parameter value of the run (or of the reference) sets that "
        "outcome by the model's own rule, so its difference restates the value rather than "
        "finding anything:"
    ]
    for label, outcomes in marked.items():
        shown = "; ".join(f"{_outcome_name(k)}: {why}" for k, why in outcomes.items())
        notes.append(f"  {short.get(label, label)}: {shown}.")
    return notes


def scenario_values(runs: Sequence[Run]) -> dict[str, dict[str, list[Any]]]:
    """When runs of several scenarios are compared: per scenario, the values its effect rests
    on (``Run.rests_on``), each with the distinct values its runs used, in order (several when
    a sweep moved it). Empty when the runs share one scenario."""
    out: dict[str, dict[str, list[Any]]] = {}
    if len({run.scenario for run in runs}) < 2:
        return out
    for run in runs:
        for key, value in run.rests_on.items():
            seen = out.setdefault(run.scenario, {}).setdefault(key, [])
            if value not in seen:
                seen.append(value)
    return out


def rests_on_notes(rests_on: dict[str, dict[str, list[Any]]]) -> list[str]:
    """The values, set and not calibrated, that each compared scenario's effect rests on
    (:func:`scenario_values`; one line each; a value its runs moved shows each)."""
    if not rests_on:
        return []
    notes = [
        "Scenario effects rest on values set, not calibrated (the record cannot measure a "
        "counterfactual): sweep them before reading a difference as a finding."
    ]
    for scenario, values in sorted(rests_on.items()):
        shown = ", ".join(
            f"{k}={' / '.join(map(str, v))}" + (" (varied here)" if len(v) > 1 else "")
            for k, v in values.items()
        )
        notes.append(f"  {readable_scenario(scenario)} rests on {shown}.")
    return notes


def _mark_significant(
    table: pd.DataFrame, runs: dict[str, Run], other_source: Sequence[str] = ()
) -> None:
    """Mark the differences that stay significant after Holm's correction for every
    difference in the table (means, medians and probabilities: one family), and whose
    95% interval excludes 0. Not tested: runs with too few replicates, or whose reference
    (``runs``: every run by label) has too few, runs over another horizon than their
    reference's, whose totals differ by construction, and runs whose parameters come from
    another source (``other_source``: a posterior against fixed values), whose differences
    mix the scenario's effect with the change of parameters."""
    untested = table["n"].astype(float) < MIN_REPLICATES_TO_TEST
    untested |= table["label"].isin(list(other_source))
    ref_replicates = table["reference"].map(lambda r: runs[r].replicates if r in runs else 0)
    untested |= table["reference"].isin(list(runs)) & (ref_replicates < MIN_REPLICATES_TO_TEST)
    ref_weeks = table["reference"].map(lambda r: runs[r].weeks if r in runs else None)
    untested |= table["weeks"].notna() & ref_weeks.notna() & (table["weeks"] != ref_weeks)
    for p in ("diff_mean_p", "diff_median_p"):
        table.loc[untested, p] = math.nan
    tests = [("diff_mean_p", "diff_mean"), ("diff_median_p", "diff_median")]
    pvalues = np.concatenate([table[p].to_numpy(dtype=float) for p, _ in tests])
    reject = stats.holm(pvalues, FAMILY_ALPHA).reshape(len(tests), len(table))
    for (p, d), rejected in zip(tests, reject, strict=True):
        flag = pd.Series(rejected & _excludes_zero(table, d), index=table.index, dtype="boolean")
        table[f"{d}_significant"] = flag.mask(table[p].isna())


def differences_counted(table: pd.DataFrame) -> tuple[int, int, int]:
    """How many differences the table tests, how many 95% intervals exclude 0, and how many
    differences stay significant after Holm's correction."""
    tested = excluded = kept = 0
    for d in ("diff_mean", "diff_median"):
        has = table[f"{d}_p"].notna().to_numpy()
        tested += int(has.sum())
        excluded += int(_excludes_zero(table, d)[has].sum())
        kept += int(table[f"{d}_significant"][has].fillna(False).sum())
    return tested, excluded, kept


def _excludes_zero(table: pd.DataFrame, d: str) -> np.ndarray:
    """Whether each row's 95% interval of difference ``d`` excludes 0."""
    lo, hi = table[f"{d}_lo"].to_numpy(dtype=float), table[f"{d}_hi"].to_numpy(dtype=float)
    return np.asarray((lo > 0) | (hi < 0))


def compare(
    dirs: Sequence[Path | str] | Path | str, reference: Reference = BY_DEFAULT
) -> pd.DataFrame:
    """Compare run directories (or one sweep directory, given alone or in a list) outcome by
    outcome.

    One row per scenario label and outcome: ``n``, ``median``, ``mean``, ``q05``, ``q95``;
    for every run but the reference, the difference in means and in medians from the
    reference with a percentile-bootstrap 95% CI (``N_BOOT`` resamples, fixed seed); for the
    yes/no events (``investment_hold``, ``any_withdrawal``, ``chinese_troops_deployed``) the
    probability with a Wilson 95% interval and the difference in probability.

    ``reference`` is matched against labels, scenario names and directory names; by default
    it is the baseline if exactly one run is, else the first run (as ``cpec-sim compare``
    chooses); None computes no differences. An unknown reference raises :class:`ResultsError`.
    """
    return compare_runs(load_runs(dirs), reference)


# --- text output -------------------------------------------------------------------------------


def fmt_ci(
    est: Any,
    lo: Any,
    hi: Any,
    sign: bool = True,
    significant: Any = None,
    decimals: int | None = None,
) -> str:
    """``+1.2 [0.3, 2.1] *``: the star when ``significant`` (see :func:`_mark_significant`);
    ``–`` if missing; ``decimals`` as :func:`fmt_numbers` takes them."""
    if est is None or pd.isna(est):
        return "–"
    e, low, high = fmt_numbers(est, lo, hi, decimals=decimals)
    text = f"{'+' if sign and float(est) > 0 and e.strip('0.,') else ''}{e} [{low}, {high}]"
    if significant is not None and not pd.isna(significant) and bool(significant):
        text += " *"
    return text


def _strip_scenario(labels: list[str]) -> dict[str, str] | None:
    """``Scenario [a=1]`` -> ``a=1`` when every label starts with the same scenario."""
    heads = {lbl.split(" [", 1)[0] for lbl in labels}
    if len(heads) != 1 or not all(" [" in lbl and lbl.endswith("]") for lbl in labels):
        return None
    return {lbl: lbl.split(" [", 1)[1][:-1] for lbl in labels}


def layout(
    header: list[str], rows: list[list[str]], right: set[int], indent: str = "  "
) -> list[str]:
    """Rows of cells as aligned text after ``indent``, two spaces between columns; the
    columns in ``right`` aligned right."""
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    out = []
    for r in [header, *rows]:
        cells = [
            c.rjust(w) if i in right else c.ljust(w)
            for i, (c, w) in enumerate(zip(r, widths, strict=True))
        ]
        out.append((indent + "  ".join(cells)).rstrip())
    return out


def _row_label(row: pd.Series, outcome: Any, fixed: set[tuple[str, Any]]) -> str:
    """A row's run label, marked where its scenario sets the outcome by construction."""
    label = str(row["label"])
    return f"{label} (by construction)" if (label, outcome) in fixed else label


Blocks = list[tuple[str, list[str], list[list[str]]]]


def table_blocks(table: pd.DataFrame) -> tuple[list[str], Blocks]:
    """The comparison as notes plus blocks of (title, header, rows) of formatted cells: the
    notes that say how to read the table, then those that explain it (:func:`table_parts`).
    The HTML report's form."""
    head, blocks, more = table_parts(table)
    return [*head, *more], blocks


def table_parts(table: pd.DataFrame) -> tuple[list[str], Blocks, list[str]]:
    """(notes needed to read the table, blocks of (title, header, rows) of formatted cells,
    notes that explain it further: pairing, the intervals of yes/no outcomes, zero widths).

    The text table prints the first before the blocks and the others after them. When every
    run has the same scenario the labels shrink to the parameters that differ.
    """
    ref = table.attrs.get("reference") or (table["reference"].iloc[0] if len(table) else None)
    ref = ref or None
    notes: list[str] = list(table.attrs.get("job_notes") or [])
    more: list[str] = []
    uncertainty = dict(table.attrs.get("uncertainty") or {})
    mixed = bool(table.attrs.get("uncertainty_mixed"))
    short = _strip_scenario(list(table["label"]))
    if short is not None:
        scenario = readable_scenario(str(table["scenario"].iloc[0]))
        notes.append(f"All runs: scenario {scenario}; rows differ in the parameters shown.")
        table = table.assign(
            label=table["label"].map(short),
            reference=table["reference"].map(lambda r: short.get(r, r)),
        )
        ref = short.get(ref, ref) if ref else ref
        uncertainty = {short.get(k, k): v for k, v in uncertainty.items()}
    if ref:
        why = table.attrs.get("reference_note")
        shown = f"{ref} ({why})" if why else ref
        if table.attrs.get("seed_references"):
            shown += ", or the run of its scenario and parameters that pairs with a run (notes)"
        notes.append(
            f"Reference: {shown}. Δ = run minus reference, with a 95% "
            + (
                "interval in [ ] (a bootstrap's; a yes/no outcome's: see the notes)."
                if _paired_events(table) or _independent_events(table)
                else "bootstrap interval in [ ]."
            )
        )
        star, explained = _difference_notes(table, ref, short)
        notes.extend(star)
        more.extend(explained)
    notes.append("90% interval = 5th to 95th percentile of replicates; P = share of replicates.")
    if survival.PAUSE_FREE in set(table["outcome"]):
        more.append(f"{survival.MEANING}.")
    notes.extend(uncertainty_notes(uncertainty, mixed))
    notes.extend(rests_on_notes(table.attrs.get("rests_on") or {}))
    marked = dict(table.attrs.get("by_construction") or {})
    notes.extend(by_construction_notes(marked, short or {}))
    fixed = {(str(short.get(k, k)) if short else k, o) for k, v in marked.items() for o in v}
    horizons = sorted({int(w) for w in table["weeks"].dropna()}) if "weeks" in table else []
    if len(horizons) > 1:
        notes.append(
            "Caution: the runs cover different horizons "
            f"({', '.join(map(str, horizons))} weeks), so totals are not comparable."
        )
    blocks: Blocks = []
    for outcome, block in table.groupby("outcome", sort=False):
        rows: list[list[str]] = []
        if block["kind"].iloc[0] == "event":
            title = style.EVENTS.get(str(outcome), str(outcome))
            header = ["run", "n", "P", "95% Wilson"] + (["Δ P [95% CI]"] if ref else [])
            for _, r in block.iterrows():
                row = [_row_label(r, outcome, fixed), str(r["n"]), f"{r['probability']:.2f}"]
                row.append(f"{r['prob_lo']:.2f}–{r['prob_hi']:.2f}")
                if ref:
                    is_ref = r["label"] == r["reference"]
                    diff = fmt_ci(*_diff_cells(r, "diff_mean"), decimals=2)  # as P
                    row.append("(reference)" if is_ref else diff)
                rows.append(row)
        else:
            title = style.outcome_label(str(outcome))
            header = ["run", "n", "median", "90% interval", "mean"]
            if ref:
                header += ["Δ mean [95% CI]", "Δ median [95% CI]"]
            for _, r in block.iterrows():
                med, lo, hi = fmt_median_interval(r["median"], r["q05"], r["q95"])
                label = _row_label(r, outcome, fixed)
                interval = {0: "–", 1: "– (one value)"}.get(int(r["n"]), f"{lo}–{hi}")
                row = [label, str(r["n"]), med, interval, fmt_number(r["mean"])]
                if ref:
                    is_ref = r["label"] == r["reference"]
                    dmean = fmt_ci(*_diff_cells(r, "diff_mean"))
                    dmed = fmt_ci(*_diff_cells(r, "diff_median"))
                    row += ["(reference)", ""] if is_ref else [dmean, dmed]
                rows.append(row)
        blocks.append((title, header, rows))
    return notes, blocks, more


def _diff_cells(row: pd.Series, d: str) -> tuple[Any, Any, Any, bool, Any]:
    return row[d], row[f"{d}_lo"], row[f"{d}_hi"], True, row[f"{d}_significant"]


def _difference_notes(
    table: pd.DataFrame, ref: str, short: dict[str, str] | None = None
) -> tuple[list[str], list[str]]:
    """What the star means (to read the table), then how many intervals exclude 0 before the
    correction, which runs got no test, which are paired and how the intervals were taken
    (``short``: the shortened labels the table shows, by full label)."""
    tested, excluded, kept = differences_counted(table)
    untested = table["diff_mean"].notna() & table["diff_mean_p"].isna()
    weeks = table.drop_duplicates("label").set_index("label")["weeks"]
    ref_weeks = table["reference"].map(weeks)
    other_horizon = untested & ref_weeks.notna() & (table["weeks"] != ref_weeks)
    sources = [(short or {}).get(k, k) for k in table.attrs.get("other_source") or []]
    other_source = untested & table["label"].isin(sources)  # the labels as the table shows them
    small = untested & ~other_horizon & ~other_source
    few = (
        [
            f"Runs with fewer than {MIN_REPLICATES_TO_TEST} replicates (or a reference with "
            "fewer) get no test and no star, too few for a trustworthy p-value, and their "
            "95% intervals run narrow (on skewed counts they held a true difference of 0 in "
            "87-92% of comparisons at 5-10 replicates): read them as rough; a single "
            "replicate gets no interval either (it has no spread to resample)."
            + (
                " Their 90% intervals are rough too: a count's runs from the lowest replicate "
                "to the highest, another outcome's ends lie between the two lowest and the two "
                "highest."
                if (table.loc[small, "n"] > 1).any()
                else ""
            )
        ]
        if small.any()
        else []
    )
    if other_horizon.any():
        few.append(
            "Runs over another horizon than the reference's get no test and no star: their "
            "totals differ by construction."
        )
    if other_source.any():
        few.append(
            "Runs whose parameters come from another source than the reference's (a "
            "posterior against fixed values, or another posterior) get no test and no star: "
            "their differences mix the scenario's effect with the change of parameters; "
            "compare runs over the same parameters."
        )
    star, notes = list(few), []  # the cautions are read before the table
    if tested:
        star.append(
            f"* marks a difference that holds after Holm's correction for the {tested} "
            f"differences in this table (family-wise error {FAMILY_ALPHA:.0%}): {kept} of them."
        )
        notes.append(
            f"Of the {tested} differences, {excluded} of the 95% intervals exclude 0 before "
            f"the correction, and about {tested * 0.05:.1f} would by chance alone if nothing "
            "differed, on average: related outcomes move together, so by chance none may, or "
            "many at once (and more with few replicates, whose percentile intervals run a "
            "little narrow)."
        )
    diffs = table[table["diff_mean"].notna()]  # tested or not: every run with a difference
    pairs = diffs.groupby("label", sort=False)["paired"].any()
    keyed = {(short or {}).get(k, k) for k in table.attrs.get("keyed_runs") or []}
    if pairs.all():
        notes.append(
            "Every run shares its reference's seeds replicate by replicate (common random "
            f"numbers), so its differences are taken in pairs"
            f"{_pairing_strength(diffs, keyed)}."
        )
    elif pairs.any():
        names = ", ".join(str(lbl) for lbl, p in pairs.items() if p)
        notes.append(
            f"Paired with its reference replicate by replicate (same seeds and streams): "
            f"{names}; the others were resampled independently"
            f"{_pairing_strength(diffs, keyed)}."
        )
    if _paired_events(diffs):
        notes.append(
            "A yes/no outcome's difference between paired runs rests on the replicates where "
            "they disagree: its interval is Bonett & Price's for paired proportions (not a "
            "bootstrap's, which gives [0, 0] where few disagree; this one stays wide enough, "
            "93-100% coverage) and its test McNemar's mid-p."
        )
    if _independent_events(diffs):
        notes.append(
            "A yes/no outcome's difference between runs that do not pair takes Newcombe's "
            "hybrid score interval for independent proportions (it stays wide where neither "
            "run's replicates vary, as a bootstrap's [0, 0] does not) and the N - 1 "
            "chi-squared test (Fisher's exact, if larger, below p 0.01 or where an expected "
            "count is below 5)."
        )
    by_seed = dict(table.attrs.get("seed_references") or {})
    if by_seed:
        shown = "; ".join(
            f"{(short or {}).get(k, k)} against {(short or {}).get(v, v)}"
            for k, v in by_seed.items()
        )
        notes.append(
            "A run that does not pair with the reference (another seed, horizon, kind of "
            "random streams or source of parameters) is compared with the run of the "
            "reference's scenario and parameters that matches it in those (in pairs where "
            f"one pairs with it, else apart over the same horizon): {shown}."
        )
    apart = _resampled_apart(diffs, table.attrs.get("paired_runs"), short or {})
    if apart:
        notes.append(
            f"Only 1 to {MIN_DIFFERING_PAIRS - 1} pairs differ in {apart}: there the two "
            "runs' values were resampled apart (the paired bootstrap cannot see a difference "
            "that so few pairs carry, and would give an interval too narrow). Where no pair "
            "of a count differs, its interval is [0, 0]: the runs agree in every replicate."
        )
    flat = _zero_width(diffs)
    if flat:
        notes.append(
            f"An interval of zero width is no certainty ({flat}): at least 95% of the "
            "resamples gave the same difference there, as where paired runs agree, or differ "
            "by the same amount, in nearly every replicate, where both runs take one value "
            "throughout, or where their medians sit on a value most replicates of both "
            "share. What the replicates bound is rougher: a change seen in none of n "
            "replicates may still happen in up to about 3/n of them (95%, one-sided); where "
            "the mean's interval or the yes/no outcome's has a width, read that."
        )
    return star, notes


def _zero_width(diffs: pd.DataFrame) -> str:
    """``Investors withdrawn: mean and median; Chinese nationals killed: median``: the
    outcomes whose difference has an interval of zero width; '' if none."""
    found: dict[str, list[str]] = {}
    for stat in ("mean", "median"):
        lo, hi = diffs[f"diff_{stat}_lo"].astype(float), diffs[f"diff_{stat}_hi"].astype(float)
        level = np.isclose(lo, hi, rtol=1e-9, atol=1e-12)  # 0.9999999999999999 is [1, 1]
        flat = diffs[(diffs["kind"] == "continuous") & lo.notna() & level]
        for outcome in dict.fromkeys(flat["outcome"]):
            found.setdefault(style.outcome_label(outcome, with_unit=False), []).append(stat)
    return "; ".join(f"{name}: {' and '.join(stats_)}" for name, stats_ in found.items())


def _independent_events(table: pd.DataFrame) -> bool:
    """Whether some yes/no outcome's difference was taken between runs that do not pair."""
    events = (table["kind"] == "event") & table["diff_mean_lo"].notna()  # one value: none
    return bool((events & ~table["paired"].fillna(False).astype(bool)).any())


def _paired_events(table: pd.DataFrame) -> bool:
    """Whether some yes/no outcome's difference was taken between paired runs."""
    events = table["kind"] == "event"
    return bool((events & table["paired"].fillna(False).astype(bool)).any())


def _resampled_apart(diffs: pd.DataFrame, paired_runs: Any, short: dict[str, str]) -> str:
    """``Chinese troops: China's investment hold, ...`` for the outcomes of paired runs whose
    values were resampled apart (:func:`_pairs`); '' if none."""
    if not paired_runs:
        return ""
    names = {short.get(str(label), str(label)) for label in paired_runs}
    rows = diffs[diffs["label"].isin(names) & ~diffs["paired"].fillna(False).astype(bool)]
    rows = rows[rows["diff_mean_lo"].notna()]  # one replicate: nothing was resampled
    parts = [
        f"{label}: " + ", ".join(_outcome_name(str(o)) for o in dict.fromkeys(block["outcome"]))
        for label, block in rows.groupby("label", sort=False)
    ]
    return "; ".join(parts)


#: Runs named one by one in the note on pairing; beyond, their range.
PAIRING_RUNS_SHOWN = 8


#: A paired run's median correlation below which pairing is said to narrow little (an
#: interval then at least sqrt(1 - 0.3) = 0.84 times as wide as for independent samples).
WEAK_PAIRING = 0.3


def _run_name(label: str) -> str:
    """A run's label in a list of runs: quoted where it holds a comma itself (a run of a
    sweep over two keys, ``x=1, y=2``), so that the list's commas part runs, not keys."""
    return f"'{label}'" if "," in label else label


def _which_runs(labels: list[str], paired: int) -> str:
    """``labels`` named in a note: "the paired runs" if they are all ``paired`` of them, else
    the first few by name."""
    if len(labels) == paired:
        return "the paired runs"
    labels = [_run_name(label) for label in labels]
    if len(labels) > PAIRING_RUNS_SHOWN:
        return (
            f"{', '.join(labels[:PAIRING_RUNS_SHOWN])} and {len(labels) - PAIRING_RUNS_SHOWN} more"
        )
    return ", ".join(labels)


def _pairing_strength(diffs: pd.DataFrame, keyed: set[str] | None = None) -> str:
    """What pairing does to each paired run's intervals: a mean difference's interval is
    about sqrt(1 - r) times as wide as for independent samples, r the correlation of the
    paired values (``pair_r``), given per run as its median and range over the outcomes."""
    if "pair_r" not in diffs:
        return ""
    r = pd.to_numeric(diffs["pair_r"], errors="coerce")
    by_run = r.groupby(diffs["label"], sort=False).agg(["median", "min", "max"]).dropna()
    if by_run.empty:
        return ""
    shown = [
        f"{_run_name(str(label))} {row['median']:.2f} ({row['min']:.2f} to {row['max']:.2f})"
        for label, row in by_run.iterrows()
    ]
    medians = {str(label): float(m) for label, m in by_run["median"].items()}
    if len(shown) > PAIRING_RUNS_SHOWN:
        low, high = min(medians.values()), max(medians.values())
        every = f"... ({len(by_run)} runs: {low:.2f} to {high:.2f})"
        shown = [*shown[:PAIRING_RUNS_SHOWN], every]
    keyed = keyed or set()
    on_keyed = [label for label in medians if label in keyed]
    weak = [k for k, m in medians.items() if k not in keyed and m < WEAK_PAIRING]
    strong = [k for k, m in medians.items() if k not in keyed and m >= WEAK_PAIRING]
    reasons = {
        "keyed": (
            on_keyed,
            "drew from keyed streams (streams=keyed), so the runs of a replicate share their "
            "draws wherever their steps are the same",
        ),
        "strong": (
            strong,
            "drew from one stream a replicate, yet their pairs correlate: the runs share part "
            "of their histories (their start, the draws a change leaves alone, or their "
            "parameter draws), so pairing narrows their intervals",
        ),
        "weak": (
            weak,
            f"pair weakly (median r below {WEAK_PAIRING:g}), so pairing narrows little (and "
            "widens where r < 0): each "
            "replicate drew its random numbers from one stream, and once a change alters one "
            "draw the later ones serve other purposes; run every scenario with streams=keyed "
            "for common random numbers that hold",
        ),
    }
    why = "; ".join(
        f"{_which_runs(labels, len(medians))} {text}" for labels, text in reasons.values() if labels
    )
    return (
        "; a mean difference's interval is then about sqrt(1 - r) times as wide as for "
        "independent samples where the two runs spread alike (less narrow where they do not; "
        "wider where r < 0), r the correlation of the paired values (pair_r in "
        f"comparison.csv), here the median (and range) over each run's outcomes: "
        f"{'; '.join(shown)} ({why})"
    )


def uncertainty_notes(uncertainty: dict[str, str], mixed: bool) -> list[str]:
    """What each run's intervals include (one line if all the same), and the caution when
    runs with different sources are compared."""
    texts = list(dict.fromkeys(uncertainty.values()))
    if not texts:
        return []
    if len(texts) == 1:
        subject = "Intervals include" if len(uncertainty) == 1 else "Every run's intervals include"
        notes = [f"{subject} {texts[0]}."]
    else:
        notes = [f"Intervals of {label}: {text}." for label, text in uncertainty.items()]
    if mixed:
        notes.append(f"Caution: {NOT_COMPARABLE}.")
    return notes


#: Columns right-aligned in the text table, by header.
NUMERIC_HEADERS = frozenset({"n", "median", "mean", "P"})


def format_table(table: pd.DataFrame) -> str:
    """The comparison as a plain-text table, one block per outcome."""
    if table.empty:
        return "(nothing to compare)\n"
    head, blocks, more = table_parts(table)
    lines = [*head, ""]
    for title, header, rows in blocks:
        lines.append(title)
        right = {i for i, h in enumerate(header) if h in NUMERIC_HEADERS}
        lines.extend(layout(header, rows, right))
        lines.append("")
    if more:
        lines += ["Notes:", *(f"- {note}" for note in more), ""]
    return "\n".join(lines)


def print_table(table: pd.DataFrame, file: TextIO | None = None) -> None:
    """Print :func:`format_table` to ``file`` (stdout by default)."""
    print(format_table(table), file=file or sys.stdout)


# --- figures -----------------------------------------------------------------------------------


def _value_labels(labels: list[str]) -> tuple[list[str], list[str]] | None:
    """``a=1, b=2`` labels -> (``["1, 2", ...]``, ``["a", "b"]``) when all share the keys."""
    split = [[part.split("=", 1) for part in lbl.split(", ")] for lbl in labels]
    if not all(all(len(kv) == 2 for kv in parts) for parts in split):
        return None
    keys = {tuple(kv[0] for kv in parts) for parts in split}
    if len(keys) != 1:
        return None
    return [", ".join(kv[1] for kv in parts) for parts in split], list(next(iter(keys)))


def plot_labels(runs: RunSet) -> list[str]:
    """Short labels for figures: drop the scenario name when every run shares it, and for a
    sweep keep only the values (:func:`label_note` names the keys)."""
    short = _strip_scenario(runs.labels)
    if not short:
        return list(runs.labels)
    labels = [short[lbl] for lbl in runs.labels]
    values = _value_labels(labels)
    return values[0] if values else labels


def label_note(runs: RunSet) -> str:
    """What figure labels mean when they are bare parameter values ('' otherwise)."""
    short = _strip_scenario(runs.labels)
    values = _value_labels([short[lbl] for lbl in runs.labels]) if short else None
    return f"labels: {', '.join(values[1])}" if values else ""


def _title_suffix(runs: RunSet, label_note_line: bool = True) -> str:
    reps = sorted({r.replicates for r in runs.runs})
    rep_text = f"{reps[0]}" if len(reps) == 1 else f"{reps[0]}–{reps[-1]}"
    scen = runs.runs[0].scenario if len({r.scenario for r in runs.runs}) == 1 else None
    prefix = f"{runs.sweep.name}: " if runs.sweep else ""
    what = f"{style_scenario(scen)}, " if scen and runs.sweep else ""
    note = label_note(runs) if label_note_line else ""
    note = f"\n({note})" if note else ""
    weeks = sorted({r.weeks for r in runs.runs if r.weeks is not None})
    horizon = (
        f"; {', '.join(map(str, weeks))} weeks: totals not comparable" if len(weeks) > 1 else ""
    )
    n = len(runs.runs)  # one: a single run's report draws the first-pause curve
    unit = "replicate" if reps == [1] else "replicates"
    each = f"{unit} each" if n > 1 else unit
    return f"{prefix}{what}{n} run{'s' if n > 1 else ''}, {rep_text} {each}{horizon}{note}"


def style_scenario(name: str | None) -> str:
    """Readable scenario name ('' for None)."""
    return readable_scenario(name) if name else ""


def _grid_axes(fig: Figure, n: int, ncols: int, **kw: Any) -> list[Any]:
    nrows = math.ceil(n / ncols)
    axes = fig.subplots(nrows, ncols, squeeze=False, **kw).ravel()
    for ax in axes[n:]:
        ax.set_visible(False)
    return list(axes[:n])


def box_stats(x: np.ndarray, counts: bool = True) -> dict[str, Any]:
    """A box's statistics for ``Axes.bxp``: quartiles, the median, and whiskers at the 5th
    and 95th percentiles themselves, the table's 90% interval (``Axes.boxplot(whis=(5, 95))``
    ends them at the last replicate inside, which can be far short of the percentile)."""
    x = stats.finite(x)
    if x.size == 0:
        return {"med": np.nan, "q1": np.nan, "q3": np.nan, "whislo": np.nan, "whishi": np.nan}
    s = stats.summarise(x, counts)
    q1, _, q3 = stats.median_and_interval(x, 0.25, counts)  # a count's: values it took
    return {"med": s.median, "q1": q1, "q3": q3, "whislo": s.q05, "whishi": s.q95}


def _panel_outcomes(runs: RunSet) -> list[str]:
    """The outcomes the boxes and ECDFs draw a panel for: the weeks to the first pause are
    drawn whole as a curve (:func:`figure_first_pause`), its ECDF's complement."""
    return [c for c in _outcomes(runs) if c != survival.PAUSE_FREE]


def figure_boxes(runs: RunSet) -> Figure | None:
    """Box plots (whiskers at the 5th and 95th percentiles) per scenario, one panel per outcome."""
    outcomes = _panel_outcomes(runs)
    if not outcomes:
        return None
    labels = plot_labels(runs)
    cols = style.colours(len(labels))
    k = len(labels)
    ncols = 3
    height = max(2.2, 0.32 * k + 1.1)
    fig = style.new_figure(figsize=(14, height * math.ceil(len(outcomes) / ncols) + 0.8))
    axes = _grid_axes(fig, len(outcomes), ncols, sharey=True)
    rng = np.random.default_rng(0)
    for ax, outcome in zip(axes, outcomes, strict=True):
        data = [
            stats.finite(r.outcomes[outcome]) if outcome in r.outcomes else np.array([])
            for r in runs.runs
        ]
        pos = np.arange(k)[::-1]
        bp = ax.bxp(
            [box_stats(x, outcome not in stats.NOT_COUNTS) for x in data], positions=pos,
            orientation="horizontal",
            showfliers=False, widths=0.6, patch_artist=True,
            medianprops={"color": "black", "lw": 1.5},
        )  # fmt: skip
        for patch, c in zip(bp["boxes"], cols, strict=True):
            patch.set_facecolor(c)
            patch.set_alpha(0.45)
        for p, x, c in zip(pos, data, cols, strict=True):
            jitter = rng.uniform(-0.18, 0.18, size=x.size)
            ax.plot(x, p + jitter, "o", ms=2.2, color=c, alpha=0.7, zorder=3)
        ax.set_title(style.outcome_label(outcome, with_unit=False))
        ax.set_xlabel(style.outcome_label(outcome))
        style.whole_number_ticks(ax.xaxis, np.concatenate(data))
        ax.set_yticks(pos, [tick_label(lbl) for lbl in labels])
        ax.grid(axis="y", visible=False)
    fig.suptitle(
        "Outcomes by scenario: box = middle 50%, line = median, whiskers = 5th–95th percentile,"
        f" dots = replicates\n{_title_suffix(runs)}",
        fontsize=11.5,
    )
    return fig


def identical_runs(runs: RunSet) -> list[list[int]]:
    """Groups (two or more) of runs whose summaries are equal, every column of every replicate
    (a swept parameter that the scenario never reads), by index in ``runs.runs``."""
    groups: dict[tuple[tuple[str, ...], bytes], list[int]] = {}
    for i, run in enumerate(runs.runs):
        columns = tuple(sorted(map(str, run.summary.columns)))
        hashed = pd.util.hash_pandas_object(run.summary[list(columns)], index=False)
        groups.setdefault((columns, hashed.to_numpy().tobytes()), []).append(i)
    return [g for g in groups.values() if len(g) > 1]


def identical_note(runs: RunSet) -> str:
    """One line naming the runs with identical results ('' when there are none)."""
    groups = identical_runs(runs)
    if not groups:
        return ""
    named = "; ".join(" = ".join(runs.runs[i].label for i in g) for g in groups)
    same = all(
        len({runs.runs[i].manifest.get("config_hash") for i in g}) == 1
        and runs.runs[g[0]].manifest.get("config_hash")
        for g in groups
    )
    if same:  # two folders of one configuration (a copy, or the same change written twice)
        why = "each group is one configuration (the same parameters, seed and model) run twice"
    else:
        why = (
            "what sets them apart changed nothing the model records: a value its scenario "
            "never reads, or a rule at a bound (operation intensity at its cap of 1 stops a "
            "larger pakistan.decisive_boost or iran.joint_border_intensity from acting; "
            'docs/model.md, "Where an answer saturates")'
        )
    return f"identical results (every value of every replicate the same): {named}; {why}"


def figure_ecdfs(runs: RunSet) -> Figure | None:
    """Overlaid empirical CDFs per scenario, one panel per outcome; runs with identical
    results are drawn once (the others would lie hidden under the last one drawn)."""
    outcomes = _panel_outcomes(runs)
    if not outcomes:
        return None
    labels = plot_labels(runs)
    cols = style.colours(len(labels))
    groups = identical_runs(runs)
    hidden = {i for g in groups for i in g[1:]}
    for g in groups:
        labels[g[0]] += f" (= {len(g) - 1} more: identical)"
    fig = style.new_figure(figsize=(14, 2.8 * math.ceil(len(outcomes) / 3) + 1.0))
    axes = _grid_axes(fig, len(outcomes), 3)
    for ax, outcome in zip(axes, outcomes, strict=True):
        for i, (run, label, c) in enumerate(zip(runs.runs, labels, cols, strict=True)):
            if outcome not in run.outcomes or i in hidden:
                continue
            xs, ps = stats.ecdf(run.outcomes[outcome])
            if xs.size:
                ax.step(
                    np.r_[xs[0], xs], np.r_[0.0, ps], where="post", color=c,
                    ls=style.line_style(i, len(labels)), lw=1.5, label=label,
                )  # fmt: skip
        ax.set_title(style.outcome_label(outcome, with_unit=False))
        ax.set_xlabel(style.outcome_label(outcome))
        style.whole_number_ticks(
            ax.xaxis,
            np.concatenate(
                [np.empty(0)]
                + [stats.finite(r.outcomes[outcome]) for r in runs.runs if outcome in r.outcomes]
            ),
        )
        ax.set_ylabel("share of replicates ≤ x")
        ax.set_ylim(-0.02, 1.02)
    handles, names = axes[0].get_legend_handles_labels()
    fig.legend(handles, names, loc="outside lower center", ncols=min(len(names), 4), frameon=False)
    fig.suptitle(f"Outcome ECDFs by scenario — {_title_suffix(runs)}", fontsize=12)
    return fig


def figure_events(table: pd.DataFrame, runs: RunSet) -> Figure | None:
    """Probability of each yes/no event by scenario, with Wilson 95% intervals."""
    ev = table[table["kind"] == "event"]
    if ev.empty:
        return None
    labels = plot_labels(runs)
    by_label = dict(zip(runs.labels, labels, strict=True))
    events = list(dict.fromkeys(ev["outcome"]))
    k = len(runs.runs)
    fig = style.new_figure(figsize=(14, max(2.6, 0.35 * k + 1.4)))
    axes = fig.subplots(1, len(events), squeeze=False, sharey=True).ravel()
    cols = style.colours(k)
    for ax, event in zip(axes, events, strict=True):
        block = ev[ev["outcome"] == event].set_index("label").reindex(runs.labels)
        pos = np.arange(k)[::-1]
        p = block["probability"].to_numpy(dtype=float)
        lo = block["prob_lo"].to_numpy(dtype=float)
        hi = block["prob_hi"].to_numpy(dtype=float)
        ax.barh(pos, p, color=cols, alpha=0.75)
        xerr = np.clip([p - lo, hi - p], 0, None)
        ax.errorbar(p, pos, xerr=xerr, fmt="none", ecolor="black", capsize=3, lw=1)
        for y, val, n in zip(pos, p, block["n"], strict=True):
            if math.isfinite(val):
                ax.text(1.02, y, f"{val:.2f} (n={n})", va="center", fontsize=8)
        ax.set_xlim(0, 1.3)
        ax.set_xticks([0, 0.25, 0.5, 0.75, 1.0])
        ax.set_yticks(pos, [tick_label(by_label[str(lbl)]) for lbl in block.index])
        ax.set_xlabel("probability (share of replicates)")
        # a share, not a difference: the runs whose own values set it (the table's note says
        # why), not those compared with such a reference
        fixed = [by_label[r.label] for r in runs.runs if event in r.by_construction]
        title = style.EVENTS.get(str(event), str(event))
        ax.set_title(title + (f"\n(by construction: {', '.join(fixed)})" if fixed else ""))
        ax.grid(axis="y", visible=False)
    fig.suptitle(
        f"How often events happen, with Wilson 95% intervals — {_title_suffix(runs)}", fontsize=12
    )
    return fig


def figure_first_pause(runs: RunSet) -> Figure | None:
    """Share of replicates in which no investor has paused yet, week by week, per run, with
    each curve's simultaneous 95% band (:mod:`sim.analysis.survival`); runs with the same
    curve are drawn once, the others named in its label (one would hide the other)."""
    curves = {
        i: survival.no_pause_curve(
            run.summary[survival.FIRST_PAUSE].to_numpy(dtype=float), int(run.weeks or 0)
        )
        for i, run in enumerate(runs.runs)
        if survival.FIRST_PAUSE in run.summary and run.weeks and run.replicates
    }
    if not curves:
        return None
    labels = plot_labels(runs)
    cols = style.colours(len(labels))
    groups: dict[tuple[int, bytes], list[int]] = {}
    for i, (_, share) in curves.items():
        groups.setdefault((runs.runs[i].replicates, share.tobytes()), []).append(i)
    shown = [g[0] for g in groups.values()]
    for g in groups.values():
        if len(g) > 1:
            labels[g[0]] += f" (= {_names([labels[j] for j in g[1:]])}: the same curve)"
    shaded = len(shown) <= MAX_SHADED_CURVES
    fig = style.new_figure(figsize=(9, 5.2))
    ax = fig.subplots()
    for i in shown:
        t, share = curves[i]
        # the last value held for one more week: a drop in the horizon's own week is seen
        t, share = np.append(t, t[-1] + 1), np.append(share, share[-1])
        c, ls = cols[i], style.line_style(i, len(labels))
        if shaded:
            h = survival.band_half_width(runs.runs[i].replicates)
            low, high = np.clip(share - h, 0, 1), np.clip(share + h, 0, 1)
            ax.fill_between(t, low, high, step="post", color=c, alpha=0.15, lw=0)
        ax.step(t, share, where="post", color=c, ls=ls, lw=1.6, label=labels[i])
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlim(0, max(int(curves[i][0][-1]) for i in shown) + 1)
    ax.set_xlabel("week")
    ax.set_ylabel("share of replicates with no investor paused yet")
    ax.legend(loc="upper right", frameon=False, fontsize=8)
    bands = _band_text([runs.runs[i] for i in shown], shaded)
    fig.suptitle(
        f"How soon an investor first pauses ({bands}) — {_title_suffix(runs)}", fontsize=12
    )
    return fig


def _names(labels: list[str], most: int = 2) -> str:
    """``A, B`` for a few labels, ``4 more`` beyond ``most``."""
    return ", ".join(labels) if len(labels) <= most else f"{len(labels)} more"


#: The first-pause figure shades each curve's band for at most this many curves; beyond, the
#: bands would hide one another, and the title gives their half-widths instead.
MAX_SHADED_CURVES = 3


def _band_text(shown: list[Run], shaded: bool) -> str:
    """What the first-pause figure says of its curves' simultaneous 95% bands."""
    if shaded:
        return "shaded: each curve's simultaneous 95% band"
    widths = sorted({survival.band_half_width(run.replicates) for run in shown})
    around = f"±{widths[0]:.2f}" if len(widths) == 1 else f"±{widths[0]:.2f} to ±{widths[-1]:.2f}"
    return f"each curve's simultaneous 95% band: {around}"


def figure_differences(table: pd.DataFrame, runs: RunSet) -> Figure | None:
    """Difference in means from the reference, with bootstrap 95% CIs, per outcome."""
    from matplotlib.ticker import MaxNLocator

    ref = table.attrs.get("reference")
    cont = table[(table["kind"] == "continuous") & table["diff_mean"].notna()]
    if not ref or cont.empty:
        return None
    labels = plot_labels(runs)
    by_label = dict(zip(runs.labels, labels, strict=True))
    others = [lbl for lbl in runs.labels if lbl in set(cont["label"])]  # not a reference
    cols = dict(zip(runs.labels, style.colours(len(runs.labels)), strict=True))
    outcomes = list(dict.fromkeys(cont["outcome"]))
    marked = dict(table.attrs.get("by_construction") or {})  # the table's note says why
    k = len(others)
    height = max(1.6, 0.3 * k + 1.0)
    fig = style.new_figure(figsize=(14, height * math.ceil(len(outcomes) / 3) + 0.8))
    axes = _grid_axes(fig, len(outcomes), 3, sharey=True)
    pos = np.arange(k)[::-1]
    for ax, outcome in zip(axes, outcomes, strict=True):
        block = cont[cont["outcome"] == outcome].set_index("label").reindex(others)
        d = block["diff_mean"].to_numpy(dtype=float)
        lo = block["diff_mean_lo"].to_numpy(dtype=float)
        hi = block["diff_mean_hi"].to_numpy(dtype=float)
        starred = block["diff_mean_significant"].fillna(False).to_numpy(dtype=bool)
        ax.axvline(0, color="0.3", lw=1)
        for y, di, li, hi_, lbl, star in zip(pos, d, lo, hi, others, starred, strict=True):
            ax.errorbar(
                di, y, xerr=[[di - li], [hi_ - di]], fmt="o", color=cols[lbl], capsize=3,
                markerfacecolor=cols[lbl] if star else "white", markersize=7 if star else 6,
            )  # fmt: skip
        ax.set_yticks(pos, [tick_label(by_label[lbl]) for lbl in others])
        ax.set_ylim(-0.6, k - 0.4)
        fixed = [by_label[lbl] for lbl in others if outcome in marked.get(lbl, {})]
        title = style.outcome_label(outcome, with_unit=False)
        ax.set_title(title + (f"\n(by construction: {', '.join(fixed)})" if fixed else ""))
        _, unit = style.OUTCOMES[outcome]
        ax.set_xlabel(f"difference in mean from reference ({unit})")
        ax.xaxis.set_major_locator(MaxNLocator(nbins=6))  # long labels (-0.0125) stay apart
        ax.grid(axis="y", visible=False)
    seeds = ", or its run that pairs with each run" if table.attrs.get("seed_references") else ""
    ci = "bootstrap 95% CI"
    if any(r.replicates == 1 for r in runs.runs):  # one history: a dot with no interval
        ci += " (none where a run has one replicate: its dot is one history's difference)"
    fig.suptitle(
        f"Difference in means from the reference ({by_label.get(ref, ref)}{seeds}), "
        f"{ci} — {_title_suffix(runs)}\n(filled dot: the difference holds after "
        "Holm's correction for every difference of the comparison, the * of the table; "
        "hollow: it does not, or the run is not tested)" + _rests_on_caption(table),
        fontsize=12,
    )
    return fig


def _rests_on_caption(table: pd.DataFrame) -> str:
    """A figure's reminder, when it compares scenarios, that their effects rest on values set,
    not calibrated (the comparison table names them)."""
    if not table.attrs.get("rests_on"):
        return ""
    return (
        "\nScenario effects rest on values set, not calibrated: the comparison table and "
        "`cpec-sim scenarios` name them"
    )


def _numeric(value: str) -> float | str:
    try:
        return float(value)
    except ValueError:
        return value


def _swept(run: Run, key: str) -> float | str | None:
    """A run's value of a swept key: the scenario's name for ``scenario`` (not a model
    override, so not among the run's overrides), else its override; None if it has none."""
    if key == "scenario":
        return run.scenario
    return _numeric(run.overrides[key]) if key in run.overrides else None


def _sweep_pivot(
    runs: RunSet, cell: Callable[[Run], Any], aggfunc: Literal["mean", "first"]
) -> pd.DataFrame | None:
    """A 2-D sweep's runs as a grid (rows = 2nd swept key, columns = 1st) of ``cell(run)``,
    runs without a value for either key or whose cell is None left out; None if not a 2-D
    sweep or nothing is left."""
    sweep = runs.sweep
    if sweep is None or len(sweep.swept) != 2:
        return None
    kx, ky = sweep.swept
    rows = []
    for run in runs.runs:
        x, y = _swept(run, kx), _swept(run, ky)
        value = cell(run) if x is not None and y is not None else None
        if value is not None:
            rows.append((x, y, value))
    if not rows:
        return None
    frame = pd.DataFrame(rows, columns=["x", "y", "value"])
    grid = frame.pivot_table(index="y", columns="x", values="value", aggfunc=aggfunc)
    grid.index.name, grid.columns.name = ky, kx
    return grid.sort_index().sort_index(axis=1)


def sweep_grid(runs: RunSet, outcome: str) -> pd.DataFrame | None:
    """Median of ``outcome`` over a 2-D sweep: rows = 2nd swept key, columns = 1st."""

    def median(run: Run) -> float | None:
        if outcome not in run.outcomes:
            return None
        return stats.summarise(run.outcomes[outcome]).median

    return _sweep_pivot(runs, median, "mean")


def sweep_marks(runs: RunSet, table: pd.DataFrame | None, outcome: str) -> pd.DataFrame | None:
    """For a 2-D sweep's cells (as :func:`sweep_grid`): "ref" for a reference run, "*"
    where its median differs from its reference's after Holm's correction, "n.t." where it
    was not tested (too few replicates, another horizon or parameter source), "" otherwise."""
    if table is None:
        return None
    rows = table[table["outcome"] == outcome].set_index("label")

    def mark(run: Run) -> str | None:
        if run.label not in rows.index:
            return None
        row = rows.loc[[run.label]].iloc[0]
        starred = row["diff_median_significant"] is not pd.NA and bool(
            row["diff_median_significant"]
        )
        tested = bool(pd.notna(row["diff_median_p"]))
        is_ref = run.label == row["reference"]
        return "ref" if is_ref else "*" if starred else "" if tested else "n.t."

    return _sweep_pivot(runs, mark, "first")


def figure_heatmap(
    runs: RunSet, outcomes: Sequence[str] = HEATMAP_OUTCOMES, table: pd.DataFrame | None = None
) -> Figure | None:
    """For a 2-D sweep: heatmaps of outcome medians over the two swept parameters, each cell
    marked where its median differs from the reference's after Holm's correction (``table``:
    the comparison; a colour scale alone shows noise as a pattern)."""
    grids = [(o, g) for o in outcomes if (g := sweep_grid(runs, o)) is not None]
    if not grids:
        return None
    ncols = 2 if len(grids) > 1 else 1
    nrows = math.ceil(len(grids) / ncols)
    fig = style.new_figure(figsize=(6.2 * ncols, 4.8 * nrows + 0.6))
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    for ax in axes[len(grids) :]:
        ax.set_visible(False)
    import matplotlib as mpl

    cmap = mpl.colormaps["cividis"]
    for ax, (outcome, grid) in zip(axes, grids, strict=False):
        values = grid.to_numpy(dtype=float)
        marks = sweep_marks(runs, table, outcome)
        marked = marks is not None and marks.shape == grid.shape
        im = ax.imshow(values, origin="lower", cmap=cmap, aspect="auto")
        lo, hi = np.nanmin(values), np.nanmax(values)
        for (i, j), v in np.ndenumerate(values):
            if math.isfinite(v):
                light = (v - lo) / (hi - lo or 1) < 0.55
                cell = marks.iloc[i, j] if marked else ""  # type: ignore[union-attr]
                mark = cell if isinstance(cell, str) else ""  # (a missing cell: NaN)
                text = fmt_number(v) + (f"\n({mark})" if mark == "ref" else f" {mark}")
                ax.text(j, i, text.strip(), ha="center", va="center", fontsize=9,
                        color="white" if light else "black")  # fmt: skip
        ax.set_xticks(range(values.shape[1]), [f"{c:g}" if isinstance(c, float) else str(c)
                                               for c in grid.columns])  # fmt: skip
        ax.set_yticks(range(values.shape[0]), [f"{c:g}" if isinstance(c, float) else str(c)
                                               for c in grid.index])  # fmt: skip
        ax.set_xlabel(str(grid.columns.name))
        ax.set_ylabel(str(grid.index.name))
        ax.grid(False)
        ax.set_title(f"{style.outcome_label(outcome)}: median of replicates")
        cb = fig.colorbar(im, ax=ax, shrink=0.85)
        cb.set_label(f"median ({style.OUTCOMES.get(outcome, ('', ''))[1]})")
    note = (
        "each panel's colour scale spans its own range; * : the difference of medians from the "
        "reference (ref) holds after Holm's correction over every difference in the comparison "
        "table\nand its 95% interval excludes 0; n.t.: not tested (see the table's notes); an "
        "unstarred median is not told apart from the reference's (the differences of means can be)"
        if table is not None
        else "(each panel's colour scale spans its own range: read the numbers)"
    )
    fig.suptitle(
        f"Sweep over two parameters — {_title_suffix(runs, label_note_line=False)}\n{note}",
        fontsize=12,
    )
    return fig


#: Each comparison figure by its file name (the names ``sim.analysis.outputs`` lists).
COMPARISON_BUILDERS: dict[str, Callable[[RunSet, pd.DataFrame], Figure | None]] = {
    "compare_boxes": lambda runs, table: figure_boxes(runs),
    "compare_ecdf": lambda runs, table: figure_ecdfs(runs),
    "compare_differences": lambda runs, table: figure_differences(table, runs),
    "compare_events": lambda runs, table: figure_events(table, runs),
    "compare_first_pause": lambda runs, table: figure_first_pause(runs),
    "sweep_heatmap": lambda runs, table: figure_heatmap(runs, table=table),
}


#: The comparison figures that do not read the comparison table: workers draw them while
#: this process computes it (:func:`rendered_comparison`).
WITHOUT_TABLE = ("compare_boxes", "compare_ecdf", "compare_first_pause")


def comparison_figures(runs: RunSet, table: pd.DataFrame) -> Iterator[tuple[str, Figure]]:
    """Build the comparison figures one at a time (skipping those without data)."""
    for name in COMPARISON_BUILDERS:
        fig = _built(name, runs, table)
        if fig is not None:
            yield name, fig


def _built(name: str, runs: RunSet, table: pd.DataFrame | None) -> Figure | None:
    with style.context():
        return COMPARISON_BUILDERS[name](runs, cast(pd.DataFrame, table))


def _rendered_figure(
    name: str, pickled_runs: bytes, table: pd.DataFrame | None
) -> dict[str, bytes] | None:
    """In a drawing worker: comparison figure ``name`` built and rendered (None: no data)."""
    import pickle

    from sim.analysis.drawing import collect_less_once

    collect_less_once()
    fig = _built(name, pickle.loads(pickled_runs), table)
    return None if fig is None else style.render(fig)


def rendered_comparison(
    runs: RunSet,
    reference: Reference = BY_DEFAULT,
    by_default: bool = False,
    jobs: int | None = None,
) -> tuple[pd.DataFrame, dict[str, dict[str, bytes]]]:
    """The comparison table (:func:`compare_runs`) and its figures rendered, by name.

    Worker processes (``jobs``, default one per CPU; none for a script read from standard
    input; :class:`~sim.workers.DrawingWorkerDied` if one dies) draw the figures, those of
    :data:`WITHOUT_TABLE` while this process computes the table (its bootstrap, ~1 s for
    eight runs): ``cpec-sim compare`` drew them one after another after it. The bytes are
    those drawn here (tested).
    """
    import pickle

    from sim.workers import COMPARISON_PRELOAD, drawing_pool, drawing_processes

    workers = drawing_processes(jobs, len(COMPARISON_BUILDERS))
    if workers <= 1:
        table = compare_runs(runs, reference, by_default)
        return table, {name: style.render(fig) for name, fig in comparison_figures(runs, table)}
    with drawing_pool(COMPARISON_PRELOAD, workers) as (pool, submitted):
        # pickled here: the pool pickles its tasks in a thread of its own, and computing the
        # table fills in the runs' lazily read parts meanwhile
        pickled = pickle.dumps(runs)
        for name in WITHOUT_TABLE:
            submitted.append(pool.submit(_rendered_figure, name, pickled, None))
        table = compare_runs(runs, reference, by_default)
        pickled = pickle.dumps(runs)
        rest = [n for n in COMPARISON_BUILDERS if n not in WITHOUT_TABLE]
        for name in rest:
            submitted.append(pool.submit(_rendered_figure, name, pickled, table))
        by_name = dict(zip([*WITHOUT_TABLE, *rest], submitted, strict=True))
        drawn = {name: by_name[name].result() for name in COMPARISON_BUILDERS}
    return table, {name: files for name, files in drawn.items() if files is not None}


def table_csv(table: pd.DataFrame) -> str:
    """The table as CSV text (full float precision)."""
    return table.to_csv(index=False, float_format="%.10g")


def write_comparison(
    runs: RunSet,
    out: Path,
    reference: Reference = BY_DEFAULT,
    plots: bool = True,
    by_default: bool = False,
    jobs: int | None = 1,
) -> tuple[pd.DataFrame, list[Path]]:
    """Compute the comparison, then write ``comparison.csv`` (and figures) into ``out``.

    Everything is computed before the first file is written; each file is written atomically.
    Figures of an earlier comparison in ``out`` that this one does not draw (``plots=False``,
    or no data for them) are removed: a folder never holds a table and figures of two.
    ``by_default``: as for :func:`compare_runs`; ``jobs``: the processes that draw the
    figures (:func:`rendered_comparison`; None: one per CPU, as ``cpec-sim compare`` does).
    By default this process draws them: worker processes would not see what a notebook or
    script changed in this one (a module's setting, a class of its own), and cannot start
    from a script without ``if __name__ == "__main__":`` (helper-169).
    """
    from sim.workers import refuse_in_a_starting_worker

    refuse_in_a_starting_worker()
    if plots:
        table, rendered = rendered_comparison(runs, reference, by_default, jobs)
    else:
        table, rendered = compare_runs(runs, reference, by_default), {}
    out = Path(out)
    ours = [COMPARISON_TABLE, *(f"{n}.{fmt}" for n in COMPARISON_BUILDERS for fmt in style.FORMATS)]
    if out.is_dir():  # what a killed compare left (it takes no lock: only old ones)
        remove_stale_temporary_files(out, ours)
    paths = [atomic_write_text(out / COMPARISON_TABLE, table_csv(table))]
    paths.extend(style.write_rendered(out, rendered))
    for name in COMPARISON_BUILDERS.keys() - rendered.keys():  # an earlier comparison's
        for fmt in style.FORMATS:
            (out / f"{name}.{fmt}").unlink(missing_ok=True)
    return table, paths
