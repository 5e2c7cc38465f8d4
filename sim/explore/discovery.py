"""Scenario discovery: a Latin hypercube over the uncertainties, then PRIM on a case of interest.

1. A Latin hypercube sample (scipy's ``qmc.LatinHypercube``, seeded) of the declared
   uncertainties; every point runs its replicates (:func:`sim.explore.evaluate.evaluate`), and
   each point gets its replicates' means and shares (``investment_hold_share``).
2. The *case of interest* is a pandas expression over those per-point outcomes, e.g.
   ``investment_hold_share > 0.5 and capital_deployed_final < initial`` (``initial`` is the
   capital deployed at the start, USD million; parameter columns with dots go in backticks).
3. PRIM, the Patient Rule Induction Method (Friedman & Fisher 1999) as implemented by the EMA
   Workbench (``ema_workbench.analysis.prim``; Bryant & Lempert 2010; Kwakkel 2017), peels the
   parameter space down to a box where the cases of interest are concentrated. Each step of
   the peeling trajectory trades *coverage* (share of all cases of interest inside the box)
   for *density* (share of the points inside the box that are cases of interest).
4. A box is chosen on the trajectory: by default the one with the largest
   coverage x density among those with density >= ``min_density``; or by its index.
"""

from __future__ import annotations

import json
import logging
import math
import textwrap
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from sim.analysis import style
from sim.explore.evaluate import Evaluation, PointFunction, evaluate, read_manifest
from sim.explore.execution import DEFAULT_EXECUTION, Execution
from sim.explore.space import Space, StudyError, check_points

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def lhs_unit(space: Space, samples: int, seed: int) -> np.ndarray:
    """A Latin hypercube of ``samples`` points on the unit hypercube, reproducible."""
    from scipy.stats import qmc

    if samples < 2:
        raise StudyError(f"samples={samples} is not allowed: need at least 2 points")
    return np.asarray(qmc.LatinHypercube(d=len(space), seed=seed).random(samples))


def cases_of_interest(
    points: pd.DataFrame, where: str, constants: Mapping[str, float] | None = None
) -> np.ndarray:
    """Boolean array: which points satisfy the pandas expression ``where``."""
    try:
        mask = points.eval(where, resolvers=[dict(constants or {})])
    except Exception as exc:
        names = [c for c in points.columns if c != "point"] + sorted(constants or {})
        detail = _unknown_name(where, str(exc), names) or " ".join(str(exc).split())
        raise StudyError(
            f"cannot evaluate --where {where!r}: {detail or type(exc).__name__} "
            f"(names: {', '.join(names)})"
        ) from None
    values = np.asarray(mask)
    if values.shape != (len(points),) or values.dtype != bool:
        raise StudyError(f"--where {where!r} must be a condition (true/false for each point)")
    return values


def _unknown_name(where: str, error: str, names: list[str]) -> str:
    """``unknown name 'x': did you mean 'y'?`` for a name of ``where`` that is none of
    ``names``, as typed ('' if none): pandas reports a name in backticks by its own mangled
    form (``BACKTICK_QUOTED_STRING_china_DOT_...``)."""
    import difflib
    import re

    typed = re.findall(r"`([^`]*)`", where)
    missing = re.search(r"name '([^']+)' is not defined", error)
    if missing and not missing.group(1).startswith("BACKTICK_QUOTED_STRING_"):
        typed.append(missing.group(1))
    for name in typed:
        if name not in names:
            close = difflib.get_close_matches(name, names, n=1)
            return f"unknown name {name!r}" + (f": did you mean {close[0]!r}?" if close else "")
    return ""


def _prim_module() -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from ema_workbench.analysis import prim
    logging.getLogger("EMA").setLevel(logging.WARNING)
    return prim


@dataclass
class PrimResult:
    """PRIM's peeling trajectory, the chosen box and its limits."""

    trajectory: pd.DataFrame  # id, coverage, density, mass, res_dim, n, k
    chosen: int
    limits: pd.DataFrame  # one row per restricted parameter
    box_lims: list[pd.DataFrame] = field(repr=False, default_factory=list)
    cases: int = 0
    n: int = 0
    #: The ``min_density`` asked for, when no box on the trajectory reaches it (else None).
    unmet_min_density: float | None = None

    @property
    def base_rate(self) -> float:
        """The share of all points that are cases (the density of the whole space)."""
        return self.cases / self.n


def prim_box(
    x: pd.DataFrame,
    y: np.ndarray,
    space: Space | None = None,
    peel_alpha: float = 0.05,
    paste_alpha: float = 0.05,
    mass_min: float = 0.05,
    min_density: float = 0.0,
    box: int | None = None,
) -> PrimResult:
    """Run PRIM on inputs ``x`` and the boolean case indicator ``y``; choose a box.

    ``space`` (if given) supplies the full ranges the limits are shown against; otherwise
    the data's extremes are used.
    """
    y = np.asarray(y, dtype=bool)
    if not y.any():
        raise StudyError("no point is a case of interest: loosen --where")
    if y.all():
        raise StudyError("every point is a case of interest: tighten --where")
    prim = _prim_module()
    x = x.reset_index(drop=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the library's own deprecation warnings
        finder = prim.Prim(x, y, peel_alpha=peel_alpha, paste_alpha=paste_alpha, mass_min=mass_min)
        found = finder.find_box()
    traj = found.peeling_trajectory[["id", "coverage", "density", "mass", "res_dim", "n", "k"]]
    traj = traj.astype({"id": int, "res_dim": int, "n": int, "k": int}).reset_index(drop=True)
    chosen = choose_box(traj, min_density) if box is None else box
    if not 0 <= chosen < len(traj):
        raise StudyError(f"--box {chosen} is not on the trajectory: choose 0 to {len(traj) - 1}")
    limits = box_limits(found.box_lims[chosen], finder.box_init, found.p_values[chosen], space)
    unmet = box is None and min_density > 0 and float(traj["density"].max()) < min_density
    return PrimResult(
        traj,
        chosen,
        limits,
        list(found.box_lims),
        int(y.sum()),
        len(y),
        min_density if unmet else None,
    )


def choose_box(trajectory: pd.DataFrame, min_density: float = 0.0) -> int:
    """Largest coverage x density among boxes with density >= ``min_density`` (else densest)."""
    density = trajectory["density"].to_numpy(dtype=float)
    score = trajectory["coverage"].to_numpy(dtype=float) * density
    ok = density >= min_density
    if not ok.any():
        return int(np.argmax(density))
    return int(np.argmax(np.where(ok, score, -np.inf)))


def box_limits(
    lims: pd.DataFrame,
    init: pd.DataFrame,
    p_values: Mapping[str, Any],
    space: Space | None = None,
) -> pd.DataFrame:
    """One row per restricted input: its limits, its full range and PRIM's quasi-p values."""
    ranges = {u.name: u for u in space.uncertainties} if space is not None else {}
    rows = []
    for name in lims.columns:
        lo, hi = lims[name].iloc[0], lims[name].iloc[1]
        ilo, ihi = init[name].iloc[0], init[name].iloc[1]
        qp = list(p_values.get(name, [math.nan, math.nan]))
        qp = [math.nan if (v is None or v < 0) else float(v) for v in qp]
        if isinstance(lo, (set, frozenset)):
            if set(lo) == set(ilo):
                continue
            u = ranges.get(name)
            order = list(u.values) if u is not None else sorted(ilo, key=str)
            kept = [v for v in order if v in lo]
            rows.append(
                {
                    "parameter": name,
                    "low": math.nan,
                    "high": math.nan,
                    "values": ", ".join(
                        str(v).lower() if isinstance(v, bool) else str(v) for v in kept
                    ),
                    "range_low": math.nan,
                    "range_high": math.nan,
                    "qp_low": qp[0],
                    "qp_high": math.nan,
                }
            )
            continue
        if lo == ilo and hi == ihi:
            continue
        u = ranges.get(name)
        full_lo, full_hi = (u.low, u.high) if u is not None else (float(ilo), float(ihi))
        rows.append(
            {
                "parameter": name,
                "low": float(lo) if lo != ilo else full_lo,
                "high": float(hi) if hi != ihi else full_hi,
                "values": "",
                "range_low": full_lo,
                "range_high": full_hi,
                "qp_low": qp[0],
                "qp_high": qp[1],
            }
        )
    return pd.DataFrame(
        rows,
        columns=[
            "parameter",
            "low",
            "high",
            "values",
            "range_low",
            "range_high",
            "qp_low",
            "qp_high",
        ],
    )


@dataclass
class DiscoveryResult:
    """The evaluation, the cases of interest and PRIM's answer."""

    where: str
    evaluation: Evaluation
    prim: PrimResult | None = None
    samples: int = 0
    replicates: int = 1
    space: Space | None = None
    #: The chosen box on new points (:func:`check_box`), if asked for.
    holdout: dict[str, Any] | None = None
    #: The evaluation of those points (its status says whether they were all run).
    holdout_evaluation: Evaluation | None = None
    #: What chose the box the folder's tables held before this one replaced them
    #: (``--where '...'``, with ``--box`` and the peeling's limits where they differed; None
    #: if they held this one's, or nothing).
    replaced: str | None = None
    #: What chose this box: the case of interest, ``--box``, ``--min-density``, ``--mass-min``.
    selection: dict[str, Any] = field(default_factory=dict)


def in_box(points: pd.DataFrame, limits: pd.DataFrame) -> np.ndarray:
    """Which points lie inside a box (its restricted inputs' limits; the others are free)."""
    inside = np.ones(len(points), dtype=bool)
    for _, r in limits.iterrows():
        column = points[r["parameter"]]
        if isinstance(r["values"], str) and r["values"]:  # (box.csv reads "" back as NaN)
            kept = set(str(r["values"]).split(", "))
            shown = [str(v).lower() if isinstance(v, bool | np.bool_) else str(v) for v in column]
            inside &= np.isin(shown, list(kept))
        else:
            x = column.to_numpy(dtype=float)
            inside &= (x >= r["low"]) & (x <= r["high"])
    return inside


def check_box(points: pd.DataFrame, y: np.ndarray, limits: pd.DataFrame) -> dict[str, Any]:
    """The box's coverage and density on points it was not found on, their base rate and the
    density outside the box (None where nothing to divide by), and whether the box's lift is
    more than chance: Fisher's exact test, one-sided, of cases inside against outside
    (``p_value``; None if every point is on one side)."""
    from scipy.stats import fisher_exact

    inside = in_box(points, limits)
    y = np.asarray(y, dtype=bool)
    cases, boxed, outside = int(y.sum()), int(inside.sum()), int((~inside).sum())
    hits, misses = int((y & inside).sum()), int((y & ~inside).sum())
    p_value = None
    if boxed and outside:
        table = [[hits, boxed - hits], [misses, outside - misses]]
        p_value = float(fisher_exact(table, alternative="greater").pvalue)
    return {
        "points": len(points),
        "cases": cases,
        "in_box": boxed,
        "cases_in_box": hits,
        "coverage": float(hits / cases) if cases else None,
        "density": float(hits / boxed) if boxed else None,
        "overall": float(cases / len(points)) if len(points) else None,
        "outside_density": float(misses / outside) if outside else None,
        "p_value": p_value,
    }


#: The boxes a holdout has checked (limits and its cases, with the ``--where``), in its folder.
HOLDOUT_CHECKS = "checks.json"
#: The lock commands checking boxes on one holdout take turns by.
HOLDOUT_LOCK = ".checks.lock"


def record_holdout_check(folder: Path, where: str, cases: np.ndarray, limits: pd.DataFrame) -> int:
    """Add a check to the holdout's log, once, and return how many different boxes the
    holdout has now checked. A check is the box's limits and the holdout's cases of interest
    (``cases``), which decide its test, so a ``--where`` spelled another way counts once
    while one that moves a threshold across a holdout value counts again; the ``--where`` is
    kept for the reader. A holdout kept in the study's folder is reused by every later
    ``--where`` or ``--box``: each check spends it. Concurrent commands take turns (a lock
    beside the log); a damaged log is refused (:func:`holdout_checks`)."""
    import fcntl
    import hashlib

    from sim.files import atomic_write_json

    folder.mkdir(parents=True, exist_ok=True)
    key = hashlib.sha256(np.packbits(np.asarray(cases, dtype=bool)).tobytes()).hexdigest()[:16]
    entry = {"where": where, "cases": key, "limits": json.loads(limits.to_json(orient="records"))}
    with open(folder / HOLDOUT_LOCK, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        checks = holdout_checks(folder)
        if not any((c.get("cases"), c.get("limits")) == (key, entry["limits"]) for c in checks):
            checks = [*checks, entry]
            atomic_write_json(folder / HOLDOUT_CHECKS, {"checks": checks})
    return len(checks)


def holdout_checks(folder: Path) -> list[dict[str, Any]]:
    """The holdout's log of the boxes it has checked (empty if none yet); StudyError if the
    log is there but is not one this command wrote (its count would restart unnoticed), or
    if its lock is not a file."""
    lock = folder / HOLDOUT_LOCK
    if lock.exists() and not lock.is_file():
        raise StudyError(f"{lock} is not a file: remove it (the holdout's log takes turns by it)")
    path = folder / HOLDOUT_CHECKS
    if not path.exists():
        return []
    try:
        log = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        log = None
    checks = log.get("checks") if isinstance(log, dict) else None
    entries = checks if isinstance(checks, list) else [None]
    if not all(isinstance(c, dict) and {"cases", "limits"} <= set(c) for c in entries):
        raise StudyError(
            f"{path} is damaged, so how many boxes this holdout has checked is unknown: "
            "restore it, or remove it (the count then starts again at this check)"
        )
    return list(entries)


def spend(p_value: float | None, checks: int) -> dict[str, Any]:
    """How many boxes the holdout has checked and the p-value corrected for them
    (Bonferroni: ``min(1, checks x p)``; the first check's is its own)."""
    corrected = None if p_value is None else min(1.0, checks * p_value)
    return {"checks": checks, "p_value_corrected": corrected}


def check_holdout(holdout: int, name: str = "holdout") -> None:
    """StudyError unless ``holdout`` is 0 (no holdout) or at least 2 points."""
    if holdout == 1 or holdout < 0:
        raise StudyError(f"{name}={holdout} is not allowed: 0 (none) or at least 2 points")


def holdout_seed(seed: int) -> int:
    """The holdout design's seed: another Latin hypercube than the study's, reproducibly."""
    return int(np.random.SeedSequence([seed, 17]).generate_state(1)[0])


def run_discovery(
    space: Space,
    fn: PointFunction,
    out_dir: Path,
    where: str,
    *,
    samples: int = 200,
    execution: Execution = DEFAULT_EXECUTION,
    check: Any = None,
    constants: Mapping[str, float] | None = None,
    min_density: float = 0.0,
    box: int | None = None,
    mass_min: float = 0.05,
    holdout: int = 0,
) -> DiscoveryResult:
    """Latin hypercube, evaluation (resumable, parallel), PRIM; write tables and the plot.

    ``execution.seed`` seeds the Latin hypercube as well as the replicates. Each point has
    its own replicate seeds (``execution.common_seeds`` is ignored): PRIM and its quasi-p
    count points as independent, and with shared seeds a switch that only reshuffles the
    random stream gives every point on one side the same luck. ``holdout`` points
    (another Latin hypercube, evaluated into ``out_dir/holdout``) check the chosen box on
    points and draws it was not found on: PRIM's density is measured on the points it
    peeled, which flatters a box. The tables and the plot are written once the holdout is
    complete.
    """
    check_holdout(holdout)
    if holdout:
        holdout_checks(out_dir / "holdout")  # a damaged log: refused before anything runs
    execution = replace(execution, common_seeds=False)
    design = space.table(lhs_unit(space, samples, execution.seed))
    if check is not None:
        check_points(design, check)
    study = {
        "kind": "discovery",
        "sampler": "latin hypercube (scipy.stats.qmc)",
        "samples": samples,
        "uncertainties": space.as_dict(),
    }
    evaluation = evaluate(design, fn, out_dir, execution.with_meta(study))
    result = DiscoveryResult(where, evaluation, None, samples, execution.replicates, space)
    if evaluation.status != "complete":
        return result
    points = evaluation.points
    y = cases_of_interest(points, where, constants)
    result.prim = prim_box(
        points[space.names], y, space, min_density=min_density, box=box, mass_min=mass_min
    )
    if holdout:
        # new points and new draws: with the study's seeds a chance box kept its lift
        other = replace(execution, seed=holdout_seed(execution.seed))
        fresh = space.table(lhs_unit(space, holdout, other.seed))
        if check is not None:
            check_points(fresh, check)
        study_holdout = {**study, "samples": holdout, "holdout_of_seed": execution.seed}
        try:
            checked = evaluate(fresh, fn, out_dir / "holdout", other.with_meta(study_holdout))
        except StudyError as exc:
            raise StudyError(
                f"{exc} (a different --holdout than before, or a holdout made when its points "
                "shared the study's seeds: remove that holdout folder)"
            ) from None
        result.holdout_evaluation = checked
        if checked.status != "complete":
            return result
        y_new = cases_of_interest(checked.points, where, constants)
        result.holdout = check_box(checked.points, y_new, result.prim.limits)
        spent = record_holdout_check(out_dir / "holdout", where, y_new, result.prim.limits)
        result.holdout.update(spend(result.holdout["p_value"], spent))
    result.selection = {"where": where, "box": result.prim.chosen, "min_density": min_density,
                        "mass_min": mass_min}  # fmt: skip  # the box chosen, however
    earlier = analysed_selection(out_dir)
    if earlier is not None and not same_selection(earlier, result.selection):
        result.replaced = selection_words(earlier, result.selection)
    write_outputs(out_dir, result)
    return result


def analysed_selection(out_dir: Path) -> dict[str, Any] | None:
    """What chose the box a study folder's ``discovery.json`` holds (None if none); a file
    written before the selection was recorded gives its ``--where`` alone."""
    try:
        found = json.loads((out_dir / "discovery.json").read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(found, dict) or not isinstance(found.get("where"), str):
        return None
    selection = found.get("selection")
    return selection if isinstance(selection, dict) else {"where": found["where"]}


def same_selection(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    """Whether two selections choose the same box: the same case of interest (spaces aside:
    ``a>1`` is ``a > 1``) and, where both record them, the same box and peeling limits."""
    if _where_tokens(str(a.get("where"))) != _where_tokens(str(b.get("where"))):
        return False
    return all(a[k] == b[k] for k in ("box", "min_density", "mass_min") if k in a and k in b)


def _where_tokens(where: str) -> list[object]:
    """A case of interest as its tokens, numbers by value: ``a>1`` is ``a > 1.0``
    (helper-192); its text without spaces where it does not tokenize."""
    import io
    import tokenize

    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(where).readline))
    except (tokenize.TokenError, SyntaxError):
        return ["".join(where.split())]
    out: list[object] = []
    for tok in tokens:
        if tok.type == tokenize.NUMBER:
            try:
                out.append(float(tok.string.replace("_", "")))
                continue
            except ValueError:
                pass
        if tok.string.strip():
            out.append(tok.string)
    return out


def selection_words(earlier: Mapping[str, Any], now: Mapping[str, Any]) -> str:
    """The earlier selection as options: ``--where '...'`` and any option that differed."""
    words = [f"--where {earlier.get('where')!r}"]
    if _where_tokens(str(earlier.get("where"))) != _where_tokens(str(now.get("where"))):
        return words[0]  # another case of interest: its box and limits were its own
    for key in ("box", "min_density", "mass_min"):
        if key in earlier and earlier[key] != now.get(key):
            option = f"--{key.replace('_', '-')}"
            words.append(
                f"without {option}" if earlier[key] is None else f"{option} {earlier[key]}"
            )
    return " ".join(words)


# --- presentation -----------------------------------------------------------------------------
def _fmt(v: float) -> str:
    return f"{v:.4g}"


#: Box limits whose quasi-p reaches this are marked weak (Bryant & Lempert 2010 read
#: restrictions with quasi-p above ~0.05-0.1 as not significant).
WEAK_QUASI_P = 0.1


def quasi_p(limit: pd.Series) -> float:
    """A box limit's quasi-p (the larger of its two ends'; -1 if it has none)."""
    qp = [q for q in (limit["qp_low"], limit["qp_high"]) if not math.isnan(q)]
    return max(qp) if qp else -1.0


def format_discovery(result: DiscoveryResult) -> str:
    """The peeling trajectory (abridged) and the chosen box's limits as text."""
    pr = result.prim
    assert pr is not None
    t = pr.trajectory
    lines = [
        f"cases of interest: {pr.cases} of {pr.n} points ({pr.base_rate:.0%})"
        f"  where {result.where}",
        *(
            [
                "note: weeks_to_first_pause is the mean over the replicates that paused at "
                "all (a point that paused in 1 of 10 reads as one that paused in all): "
                "read it with investors_paused_final, or use pause_free_weeks (the horizon "
                "where none paused)"
            ]
            if "weeks_to_first_pause" in result.where
            else []
        ),
        "",
        "peeling trajectory (coverage: share of all cases inside the box; density: share of the",
        "box's points that are cases):",
    ]
    step = max(1, len(t) // 12)
    shown = sorted({*range(0, len(t), step), len(t) - 1, pr.chosen})
    if len(shown) < len(t):  # a stranger looked for the boxes left out (helper-185)
        lines[-1] = f"box's points that are cases; {len(shown)} of its {len(t)} boxes, all in"
        lines.append("peeling.csv, any of which --box N chooses):")
    lines.append(f"  {'box':>4s} {'coverage':>9s} {'density':>8s} {'mass':>6s} {'restricted':>10s}")
    for i in shown:
        r = t.iloc[i]
        mark = "  <- chosen" if i == pr.chosen else ""
        lines.append(
            f"  {i:4d} {r['coverage']:9.2f} {r['density']:8.2f} {r['mass']:6.2f} "
            f"{int(r['res_dim']):10d}{mark}"
        )
    c = t.iloc[pr.chosen]
    lines += [
        "",
        f"box {pr.chosen}: coverage {c['coverage']:.2f}, density {c['density']:.2f}, "
        f"mass {c['mass']:.2f} ({int(c['n'])} points, {int(c['k'])} cases); "
        f"{_lift_text(float(c['density']), pr.base_rate)}",
    ]
    if hardly_denser(float(c["density"]), pr.base_rate):
        lines.append(
            "  caution: the box is hardly denser in cases than all the points (below "
            f"{MIN_LIFT:g} times the base rate, and closing under {MIN_GAP_CLOSED:.0%} of its "
            "gap to a box of cases only): it marks no condition; pick a later --box on the "
            "trajectory, or give --min-density"
        )
    if pr.unmet_min_density is not None:
        lines.append(
            f"  note: no box reaches --min-density {pr.unmet_min_density:g} (the densest, "
            f"{t['density'].max():.2f}, is shown): lower it, or describe another outcome"
        )
    if int(c["k"]) < FEW_CASES:
        lines.append(
            f"  caution: {int(c['k'])} cases in the box: too few to describe a condition "
            "(give more --samples, or a wider --where)"
        )
    if pr.limits.empty:
        lines.append("  (no parameter restricted)")
    width = max([9, *(len(p) for p in pr.limits["parameter"])])
    for _, r in pr.limits.iterrows():
        if r["values"]:
            text = f"in {{{r['values']}}}"
        else:
            text = (
                f"{_fmt(r['low'])} .. {_fmt(r['high'])}   "
                f"(range {_fmt(r['range_low'])} .. {_fmt(r['range_high'])})"
            )
        qp = quasi_p(r)
        qps = f"   quasi-p {qp:.2g}{'  (weak)' if qp >= WEAK_QUASI_P else ''}" if qp >= 0 else ""
        lines.append(f"  {r['parameter']:{width}s}  {text}{qps}")
    if any(quasi_p(r) >= WEAK_QUASI_P for _, r in pr.limits.iterrows()):
        lines.append(
            f"  (weak: quasi-p >= {WEAK_QUASI_P}: the restriction could be chance; drop it, or "
            "pick an earlier --box, before reading it as a condition)"
        )
    if not pr.limits.empty:
        lines.append(
            "  (quasi-p tests each limit on the points the box was peeled from and knows "
            "nothing of PRIM's search over peels and parameters: a small one does not make a "
            "limit real; --holdout N tests the box on new points)"
        )
    h = result.holdout
    if h is not None and not h["in_box"]:
        lines.append(f"on {h['points']} new points: none falls in the box (give more)")
    elif h is not None:
        coverage = "-" if h["coverage"] is None else f"{h['coverage']:.2f}"
        lines.append(
            f"on {h['points']} new points (another Latin hypercube, each point its own seeds): "
            f"{holdout_verdict(h)}; coverage {coverage} ({h['in_box']} points in the box, "
            f"{h['cases_in_box']} of them cases; {h['cases']} cases in all, {h['overall']:.2f} "
            "of the points); the box was found with "
            f"density {c['density']:.2f} against {pr.base_rate:.2f}"
        )
    elif result.holdout_evaluation is None:
        study = result.evaluation
        kept = read_manifest(study.out_dir / "holdout") if study is not None else None
        size = kept.get("points") if kept else None  # spent only when asked for
        lines.append(
            "(density and coverage are measured on the points the box was peeled from, which "
            "flatters it: "
            + (
                f"this study keeps a holdout of {size} points: --holdout {size} checks the "
                "box on it)"
                if isinstance(size, int)
                else "--holdout N checks it on N new points)"
            )
        )
        if pr.base_rate < RARE_CASES:
            lines.append(
                f"  caution: cases are rare ({pr.base_rate:.0%} of the points): on an "
                "outcome of pure noise as rare, PRIM's box restricts most parameters at about "
                "twice the base rate's density (a reviewer's check): give "
                + (f"--holdout {size}" if isinstance(size, int) else "--holdout N")
            )
    if h is not None and int(h.get("checks") or 1) > 1:
        lines.append(
            f"  caution: this holdout has checked {h['checks']} different boxes (other "
            "--where or --box on this study): each check spends it, and a box kept for "
            "passing one is selected on it, so its p-value is multiplied by that count "
            "(Bonferroni); a fresh holdout needs a new study (--seed)"
        )
    return "\n".join(lines)


#: Cases rarer than this share of the points, with no holdout, earn a caution.
RARE_CASES = 0.2
#: A chosen box hardly denser than the base rate earns a caution: below this multiple of it
#: and closing less than :data:`MIN_GAP_CLOSED` of the gap between it and a density of 1 (a
#: multiple alone cannot be reached where cases are common: 1.2 times 0.88 is above 1).
MIN_LIFT = 1.2
MIN_GAP_CLOSED = 0.2


def hardly_denser(density: float, base_rate: float) -> bool:
    """Whether a box of ``density`` is hardly denser in cases than ``base_rate``."""
    gap = base_rate + MIN_GAP_CLOSED * (1.0 - base_rate)
    return density < min(MIN_LIFT * base_rate, gap)


def _lift_text(density: float, base_rate: float) -> str:
    """The box's density against the base rate (above 0: :func:`prim_box` refuses a study
    without cases)."""
    return f"{density / base_rate:.2f} times the base rate of {base_rate:.2f}"


#: Fewer cases than this inside the chosen box earn a caution.
FEW_CASES = 10
#: A box holding more than this share of the new points excludes little (said).
BROAD_BOX = 0.9


def holdout_verdict(h: dict[str, Any]) -> str:
    """The box's density on new points inside against outside, and whether the difference is
    more than chance (one-sided Fisher's exact test at 5%); a box that holds nearly every
    new point is said to exclude little."""
    inside = f"density {h['density']:.2f} in the box"
    if h.get("outside_density") is None or h.get("p_value") is None:
        return f"{inside} (no new point outside it: nothing to compare)"
    p = h["p_value"]
    checks = int(h.get("checks") or 1)
    if checks > 1 and h.get("p_value_corrected") is not None:
        p = h["p_value_corrected"]
    verdict = (
        "denser than outside, more than chance"
        if p < 0.05
        else "not told from chance: the box is not confirmed"
    )
    test = f"one-sided p = {p:.2g}"
    if checks > 1:
        test = (
            f"one-sided p = {h['p_value']:.2g}, x {checks} boxes this holdout has checked = {p:.2g}"
        )
    outside = f"{h['outside_density']:.2f} outside"
    text = f"{inside} against {outside} (Fisher's exact test, {test}: {verdict})"
    share = h["in_box"] / h["points"]
    if share > BROAD_BOX:
        text += f"; it holds {share:.0%} of the points, so it excludes little"
    return text


def figure_discovery(result: DiscoveryResult) -> Figure:
    """Left: the coverage/density trade-off. Right: the chosen box's limits on each range."""
    pr = result.prim
    assert pr is not None
    t = pr.trajectory
    n_lim = max(1, len(pr.limits))
    fig = style.new_figure(figsize=(11.5, max(3.8, 1.6 + 0.5 * n_lim)))
    ax_t, ax_b = fig.subplots(1, 2, width_ratios=[1, 1.25])
    ax_t.plot(t["coverage"], t["density"], color="#BBBBBB", linewidth=0.8, zorder=1)
    top = max(1, int(t["res_dim"].max()))
    dots = ax_t.scatter(
        t["coverage"],
        t["density"],
        c=t["res_dim"],
        cmap="viridis",
        vmin=0,
        vmax=top,
        s=24,
        zorder=2,
    )
    bar = fig.colorbar(dots, ax=ax_t, shrink=0.8, pad=0.02)
    bar.set_label("restricted parameters")
    bar.set_ticks(sorted({0, top, *range(0, top + 1, max(1, top // 5))}))
    chosen = t.iloc[pr.chosen]
    ax_t.scatter(
        [chosen["coverage"]],
        [chosen["density"]],
        s=140,
        facecolors="none",
        edgecolors="#000000",
        linewidths=1.4,
        label="chosen box",
    )
    right = chosen["coverage"] > 0.75
    ax_t.annotate(
        f"box {pr.chosen}",
        (chosen["coverage"], chosen["density"]),
        xytext=(-12 if right else 12, -4),
        textcoords="offset points",
        ha="right" if right else "left",
        va="top",
        fontsize=8.5,
    )
    ax_t.set_xlim(-0.02, 1.05)
    ax_t.set_ylim(-0.02, 1.05)
    ax_t.set_xlabel("coverage (share of all cases of interest inside the box)")
    ax_t.set_ylabel("density (share of the box's points that are cases)")
    ax_t.set_title("PRIM peeling trajectory")
    ax_t.legend(loc="lower left", frameon=False, fontsize=8)

    lim = pr.limits
    title = f"box {pr.chosen}: coverage {chosen['coverage']:.2f}, density {chosen['density']:.2f}"
    h = result.holdout
    if h is not None and h["in_box"]:
        title += "\n" + textwrap.fill(f"on {h['points']} new points: {holdout_verdict(h)}", 80)
    ax_b.set_title(title, fontsize=9 if h is not None else None)
    if lim.empty:
        ax_b.text(0.5, 0.5, "no parameter restricted", ha="center", va="center")
        ax_b.set_axis_off()
    else:
        ypos = np.arange(len(lim))[::-1]
        for yv, (_, r) in zip(ypos, lim.iterrows(), strict=True):
            box_colour = style.OKABE_ITO[0] if quasi_p(r) < WEAK_QUASI_P else "#9DC3E6"
            if r["values"]:
                options = _options(result, str(r["parameter"]))
                kept = set(str(r["values"]).split(", "))
                k = len(options)
                for j, option in enumerate(options):
                    a, b = j / k + 0.01, (j + 1) / k - 0.01
                    colour = box_colour if option in kept else "#BBBBBB"
                    ax_b.plot([a, b], [yv, yv], color=colour, linewidth=6, solid_capstyle="butt")
                    ax_b.text((a + b) / 2, yv + 0.22, option, ha="center", fontsize=8)
                continue
            ax_b.plot([0, 1], [yv, yv], color="#BBBBBB", linewidth=6, solid_capstyle="butt")
            span = r["range_high"] - r["range_low"]
            a = (r["low"] - r["range_low"]) / span
            b = (r["high"] - r["range_low"]) / span
            ax_b.plot([a, b], [yv, yv], color=box_colour, linewidth=6, solid_capstyle="butt")
            if r["low"] != r["range_low"]:
                ax_b.text(a, yv + 0.22, _fmt(r["low"]), ha="center", fontsize=8)
            if r["high"] != r["range_high"]:
                ax_b.text(b, yv + 0.22, _fmt(r["high"]), ha="center", fontsize=8)
            ax_b.text(
                -0.02, yv - 0.3, _fmt(r["range_low"]), ha="right", fontsize=7, color="#555555"
            )
            ax_b.text(1.02, yv - 0.3, _fmt(r["range_high"]), ha="left", fontsize=7, color="#555555")
        labels = [
            f"{r['parameter']}\n(weak: quasi-p {quasi_p(r):.2g})"
            if quasi_p(r) >= WEAK_QUASI_P
            else str(r["parameter"])
            for _, r in lim.iterrows()
        ]
        ax_b.set_yticks(ypos, labels)
        ax_b.set_ylim(-0.8, len(lim) - 0.3)
        ax_b.set_xlim(-0.12, 1.12)
        ax_b.set_xticks([0, 0.5, 1], ["low end", "middle", "high end"])
        ax_b.set_xlabel(
            "position within the declared range (grey: whole range; blue: the box; pale blue: "
            f"a weak limit, quasi-p >= {WEAK_QUASI_P})"
        )
        ax_b.grid(False)
    fig.suptitle(f"Scenario discovery: {pr.cases} of {pr.n} points where {result.where}")
    return fig


def _options(result: DiscoveryResult, name: str) -> list[str]:
    """The values a categorical input can take, as shown (``false``, ``true``)."""
    for u in result.space.uncertainties if result.space is not None else ():
        if u.name == name:
            return [str(v).lower() if isinstance(v, bool) else str(v) for v in u.values]
    kept = result.prim.limits if result.prim is not None else pd.DataFrame()
    row = kept[kept["parameter"] == name]
    return str(row["values"].iloc[0]).split(", ") if len(row) else []


def write_outputs(out_dir: Path, result: DiscoveryResult) -> list[Path]:
    """``peeling.csv``, ``box.csv``, ``discovery.json`` and ``plots/discovery.{png,svg}``."""
    import json

    from sim.files import atomic_write_text

    pr = result.prim
    assert pr is not None
    chosen = pr.trajectory.iloc[pr.chosen]
    summary = {
        "where": result.where,
        "points": pr.n,
        "cases": pr.cases,
        "chosen_box": pr.chosen,
        "coverage": float(chosen["coverage"]),
        "density": float(chosen["density"]),
        "mass": float(chosen["mass"]),
        "limits": json.loads(pr.limits.to_json(orient="records")),
        "holdout": result.holdout,
        "selection": result.selection,
    }
    paths = [
        atomic_write_text(out_dir / "peeling.csv", pr.trajectory.to_csv(index=False)),
        atomic_write_text(out_dir / "box.csv", pr.limits.to_csv(index=False)),
        atomic_write_text(out_dir / "discovery.json", json.dumps(summary, indent=2) + "\n"),
    ]
    with style.context():
        fig = figure_discovery(result)
    return paths + style.write_rendered(out_dir / "plots", {"discovery": style.render(fig)})
