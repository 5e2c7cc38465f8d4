"""Measure the model's answers to the seed's questions, and the artefacts that would fake them.

    .venv/bin/python benchmarks/mechanisms.py                  # 100 replicates a point
    .venv/bin/python benchmarks/mechanisms.py --replicates 200 --only substitution

Prints, for the issues "Honest mechanisms I and II":

* ``scenarios``: attacks on Chinese targets and Chinese killed (median, 90% interval) per
  scenario, over paired seeds;
* ``substitution``: a common cost (interdiction 0.10 -> 0.25) against a Chinese-site cost
  (guards' protection up): share of attacks on Chinese targets and successful attacks;
* ``severity``: Chinese killed per successful attack on a Chinese target, by group (max,
  mean) against the record;
* ``trend``: fighters at week 0 and 104, militants killed and captured a year, recruits;
* ``clustering``: dispersion of weekly attack counts and burstiness B;
* ``backlash``: decisive operation against baseline, by collateral harm;
* ``constant``: summary columns constant across the replicates of a scenario;
* ``iran``: share of weeks hostile / cooperative and strikes in the baseline.

Everything runs in-process on all cores (replicate i uses the runner's seed of (seed, i)).
"""

from __future__ import annotations

import argparse
import math
import multiprocessing as mp
import time
from typing import Any

import numpy as np

from sim.config import scenario_names, scenario_params
from sim.params import ModelParams
from sim.runner import replicate_seed


def _one(args: tuple[ModelParams, int, int]) -> dict[str, Any]:
    from sim.engine import run_replicate
    from sim.space import load_groups

    params, seed, weeks = args
    f0 = sum(sum(g["fighters"].values()) for g in load_groups().values())
    r = run_replicate(params, weeks, seed)
    out = dict(r.summary)
    out["fighters_start"] = f0
    out["recruits"] = float(r.weekly["recruits"].sum())
    out["weekly_attacks"] = r.weekly["attacks"].copy()
    out["iran_posture"] = r.weekly["iran_posture"].copy()
    ev = r.events
    out["events"] = {
        k: np.asarray(ev[k])
        for k in ("group", "target", "success", "chinese_killed", "killed", "week")
    }
    return out


def runs(pool: Any, params: ModelParams, n: int, weeks: int = 104) -> list[dict[str, Any]]:
    return pool.map(_one, [(params, replicate_seed(0, i), weeks) for i in range(n)], chunksize=4)


def q(x: Any) -> str:
    a = np.asarray(x, dtype=float)
    a = a[np.isfinite(a)]
    if a.size == 0:
        return "n/a"
    lo, med, hi = np.quantile(a, [0.05, 0.5, 0.95])
    return f"{med:7.1f} [{lo:.1f}, {hi:.1f}]"


def col(rs: list[dict[str, Any]], key: str) -> np.ndarray:
    return np.array([r[key] for r in rs], dtype=float)


def share_chinese(rs: list[dict[str, Any]]) -> float:
    a = col(rs, "attacks_on_chinese").sum()
    t = col(rs, "attacks_total").sum()
    return a / t if t else math.nan


def successes_on_chinese(rs: list[dict[str, Any]]) -> np.ndarray:
    return np.array(
        [int(((r["events"]["target"] == "chinese") & r["events"]["success"]).sum()) for r in rs]
    )


def scenarios(pool: Any, n: int) -> None:
    print(f"\n== scenarios ({n} replicates, paired seeds): median [90%] over 104 weeks")
    print(f"{'scenario':24s} {'attacks_on_chinese':>24s} {'chinese_killed':>24s} {'share':>7s}")
    for name in scenario_names():
        rs = runs(pool, scenario_params(name), n)
        print(
            f"{name:24s} {q(col(rs, 'attacks_on_chinese')):>24s} "
            f"{q(col(rs, 'chinese_killed')):>24s} {share_chinese(rs):7.3f}"
        )


def substitution(pool: Any, n: int) -> None:
    print(f"\n== substitution ({n} paired replicates, baseline)")
    cases = {
        "baseline": {},
        "interdiction 0.25 (common cost)": {"attacks.interdiction_base": 0.25},
        "guards x4 (Chinese sites only)": {"pakistan.ssd_troops": 60000},
    }
    for label, ov in cases.items():
        rs = runs(pool, scenario_params("baseline", ov), n)
        succ = successes_on_chinese(rs)
        print(
            f"{label:34s} share on Chinese {share_chinese(rs):.4f}"
            f"  attacks {q(col(rs, 'attacks_total'))}"
            f"  successful on Chinese {q(succ)}  on Chinese {q(col(rs, 'attacks_on_chinese'))}"
        )


RECORD = "(record: Baloch 0-3, TTP 5-9)"


def severity(pool: Any, n: int) -> None:
    print(f"\n== severity: Chinese killed per successful attack on a Chinese target ({n} x 2 yr)")
    rs = runs(pool, scenario_params("baseline"), n)
    groups: dict[str, list[int]] = {}
    for r in rs:
        e = r["events"]
        m = (e["target"] == "chinese") & e["success"]
        for g, k in zip(e["group"][m], e["chinese_killed"][m], strict=True):
            groups.setdefault(str(g), []).append(int(k))
    for g, ks in sorted(groups.items()):
        a = np.array(ks)
        print(f"{g:14s} n={a.size:5d} mean {a.mean():.2f} max {a.max()}", RECORD)
    killed = np.concatenate([r["events"]["killed"] for r in rs])
    print(f"deadliest attack over all: {killed.max() if killed.size else 0}")


def trend(pool: Any, n: int) -> None:
    print(f"\n== trend ({n} replicates, baseline)")
    rs = runs(pool, scenario_params("baseline"), n)
    f0, f1 = col(rs, "fighters_start"), col(rs, "fighters_final")
    print(f"fighters week 0 {q(f0)}  week 104 {q(f1)}  change {q(100 * (f1 / f0 - 1))} %")
    print(f"militants killed / yr {q(col(rs, 'militants_killed') / 2)}")
    if "militants_captured" in rs[0]:
        print(f"militants captured / yr {q(col(rs, 'militants_captured') / 2)}")
    print(f"recruits / yr {q(col(rs, 'recruits') / 2)}")
    print(f"attacks in Balochistan / yr {q(col(rs, 'attacks_balochistan') / 2)}")
    print(f"deaths in Balochistan / yr {q(col(rs, 'killed_balochistan') / 2)}")
    y1 = np.array([r["weekly_attacks"][:52].sum() for r in rs])
    y2 = np.array([r["weekly_attacks"][52:].sum() for r in rs])
    print(f"attacks year 2 / year 1 {q(y2 / np.maximum(y1, 1))}")


def _burstiness(weekly: np.ndarray, rng: np.random.Generator) -> float:
    w = np.repeat(np.arange(weekly.size), weekly.astype(int))
    t = np.sort(w + rng.random(w.size))
    g = np.diff(t)
    if g.size < 2:
        return math.nan
    return float((g.std() - g.mean()) / (g.std() + g.mean()))


def clustering(pool: Any, n: int) -> None:
    print(f"\n== clustering ({n} replicates, baseline)")
    rs = runs(pool, scenario_params("baseline"), n)
    rng = np.random.default_rng(0)
    disp = [r["weekly_attacks"].var(ddof=1) / r["weekly_attacks"].mean() for r in rs]
    b = [_burstiness(r["weekly_attacks"], rng) for r in rs]
    print(f"dispersion (var/mean) {q(disp)}   burstiness B {q(b)}")


#: (collateral_per_militant, backlash_recruits_per_harmed) pairs of docs/model.md's table.
BACKLASH_GRID = (
    (0.15, 0.5),
    (0.5, 0.5),
    (1.0, 0.5),
    (1.0, 1.0),
    (2.0, 0.5),
    (1.0, 2.0),
    (2.0, 1.0),
)


def backlash(pool: Any, n: int) -> None:
    print(f"\n== backlash ({n} paired replicates): baseline -> decisive_operation, means")
    print("collateral x recruits/harmed: fighters at the end; attacks (difference, 95% half-width)")
    for harm, per_harmed in BACKLASH_GRID:
        ov = {
            "pakistan.collateral_per_militant": harm,
            "recruitment.backlash_recruits_per_harmed": per_harmed,
        }
        base = runs(pool, scenario_params("baseline", ov), n)
        dec = runs(pool, scenario_params("decisive_operation", ov), n)
        cells = []
        for key in ("fighters_final", "attacks_total"):
            b, d = col(base, key), col(dec, key)
            half = 1.96 * (d - b).std(ddof=1) / math.sqrt(n)
            cells.append(f"{b.mean():.0f} -> {d.mean():.0f} ({(d - b).mean():+.0f} ± {half:.0f})")
        print(f"{harm} x {per_harmed}: " + "; ".join(cells))


def constant(pool: Any, n: int) -> None:
    print(f"\n== constant summary columns ({n} replicates a scenario)")
    skip = {"events", "weekly_attacks", "iran_posture", "fighters_start"}
    for name in scenario_names():
        rs = runs(pool, scenario_params(name), n)
        const = []
        for k in rs[0]:
            if k in skip:
                continue
            v = col(rs, k)
            if np.all(v == v[0]) or (np.all(np.isnan(v))):
                const.append(f"{k}={v[0]:g}")
        print(f"{name:24s} {', '.join(const) or '-'}")


def iran(pool: Any, n: int) -> None:
    print(f"\n== iran ({n} replicates, baseline)")
    rs = runs(pool, scenario_params("baseline"), n)
    s = np.concatenate([r["iran_posture"] for r in rs])
    print(
        f"weeks hostile {np.mean(s < -1 / 3):.3f}  cooperative {np.mean(s > 1 / 3):.3f}  "
        f"min {s.min():.2f} max {s.max():.2f}"
    )


SECTIONS = {
    "scenarios": scenarios,
    "substitution": substitution,
    "severity": severity,
    "trend": trend,
    "clustering": clustering,
    "backlash": backlash,
    "constant": constant,
    "iran": iran,
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--replicates", type=int, default=100)
    ap.add_argument("--only", choices=sorted(SECTIONS), action="append")
    a = ap.parse_args()
    start = time.perf_counter()
    with mp.get_context("fork").Pool() as pool:
        for name in a.only or SECTIONS:
            SECTIONS[name](pool, a.replicates)
    print(f"\n({time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
