"""Seeded hostile ``cpec-sim run`` command lines with their oracle (issue 15).

:func:`hostile_lines` draws command lines (the arguments after ``cpec-sim run``): valid ones
(keys within their declared bounds, right types, names that exist, small sweeps) and invalid
ones by construction (wrong types, NaN, huge numbers, unicode, path tricks, Hydra grammar).
Each :class:`Case` says whether a correct CLI must accept it. The oracle comes from the
declarations in :mod:`sim.params` (type, bounds, choices) and the limits below; it never asks
the code under test. The helpers at the end run a line in-process (``sim.cli.prevalidate``)
or through the real CLI and judge the outcome; the test and the benchmark share them.
"""

from __future__ import annotations

import math
import os
import random
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

# --- the limits and literals the oracle uses (align these with sim/) ------------------------
#: Declared upper limits: above these a line is invalid.
MAX_REPLICATES = 1_000_000
MAX_WEEKS = 5_200
MAX_SWEEP_JOBS = 10_000
MAX_JOBS = 256
MAX_SEED = 2**63 - 1

#: The only literals a boolean accepts ("booleans are booleans"; Hydra reads them as bools).
BOOL_LITERALS = ("true", "false", "True", "False")
#: Literals a boolean must refuse (OmegaConf alone converts several of them).
NOT_BOOL_LITERALS = ("2", "0.5", "1", "0", "-1", "yes", "no", "on", "off", "y", "n", "abc")
#: A scenario or sweep name that is safe as one folder name (and has no "..").
SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.,=+-]{0,99}")
#: Prefix of every escape target under /tmp (a tag makes them unique per run).
ESCAPE_PREFIX = "cpec-hostile-"
#: Seconds after which one in-process line counts as a hang (the issue's threshold).
LINE_SECONDS = 60.0
#: Seconds after which one CLI line counts as a hang.
CLI_SECONDS = 60.0
#: Appended to CLI lines (for keys the line does not set) so that a run is short.
FAST = ("plots=false", "replicates=2", "weeks=4", "jobs=1")
#: Kinds that only the real CLI can judge (argv flags other than a leading -m).
CLI_ONLY_KINDS = frozenset({"flag_after_override", "cfg_bad", "cfg_ok", "help", "unknown_flag"})
#: Kinds the CLI sample leaves out, with the reason.
NOT_IN_CLI_SAMPLE = {"valid_sweep_at_limit": "a 10,000-job sweep cannot run in a test"}


@dataclass
class Case:
    """One command line (after ``cpec-sim run``), whether it must be accepted, and its kind."""

    args: list[str]
    valid: bool
    kind: str

    @property
    def cli_only(self) -> bool:
        """Whether only the real CLI can judge it (flags that argv parsing must handle)."""
        return self.kind in CLI_ONLY_KINDS

    @property
    def line(self) -> str:
        """The arguments, printable (non-ASCII or control characters escaped)."""
        return " ".join(a if a.isascii() and a.isprintable() and a else ascii(a) for a in self.args)


# --- the declarations ------------------------------------------------------------------------
@dataclass(frozen=True)
class Key:
    """A key a line can set: its type, bounds (inclusive) and choices."""

    path: str
    type: str  # float | int | bool | str
    bounds: tuple[float, float] | None = None
    choices: tuple[str, ...] | None = None
    default: Any = None


@cache
def model_keys() -> tuple[Key, ...]:
    """Every model parameter, from the declarations in :mod:`sim.params`."""
    from sim.params import ModelParams, iter_params

    return tuple(
        Key(i.path, i.type, i.bounds, i.choices, i.value) for i in iter_params(ModelParams())
    )


#: The numeric run keys and their declared limits.
RUN_INT_KEYS = (
    Key("replicates", "int", (1, MAX_REPLICATES), default=100),
    Key("weeks", "int", (1, MAX_WEEKS), default=104),
    Key("seed", "int", (0, MAX_SEED), default=0),
    Key("jobs", "int", (1, MAX_JOBS)),
    Key("chunk_size", "int", (1, MAX_REPLICATES)),
)
OPTIONAL_RUN_KEYS = ("jobs", "chunk_size")  # null allowed
BACKENDS = ("compiled", "mesa")
ORDERINGS = (
    ("china.demand_below", "china.hold_below", "china.pressure_below"),
    ("investors.withdraw_below", "investors.pause_below", "investors.invest_above"),
)
NONZERO_SUM = (
    "targeting.prior_chinese",
    "targeting.prior_security",
    "targeting.prior_infrastructure",
)
CROSS_KEYS = frozenset(k for group in (*ORDERINGS, NONZERO_SUM) for k in group)
#: Keys the shipped experiments sweep (not set beside them).
EXPERIMENT_SWEPT = {
    "compare_all": ("scenario",),
    "patience": ("china.patience_loss_per_death", "china.patience_recovery"),
    "troops_vs_trust": ("attacks.chinese_troop_protection", "legitimacy.public_trust_in_china"),
}


def config_dir() -> Path:
    """The shipped Hydra configs (read for names only)."""
    from sim.config import config_dir as where

    return where()


@cache
def scenarios() -> tuple[str, ...]:
    """Names of the shipped scenarios."""
    return tuple(sorted(p.stem for p in (config_dir() / "scenario").glob("*.yaml")))


@cache
def experiments() -> tuple[str, ...]:
    """Names of the shipped experiments."""
    return tuple(sorted(p.stem for p in (config_dir() / "experiment").glob("*.yaml")))


def keys_of(type_: str, run: bool = False) -> list[Key]:
    """Model keys (and with ``run``, run keys) of one type; ``num`` means int or float."""
    pool = [*model_keys(), *(RUN_INT_KEYS if run else ())]
    if type_ == "num":
        return [k for k in pool if k.type in ("int", "float")]
    return [k for k in pool if k.type == type_]


def cross_ok(values: dict[str, float]) -> bool:
    """The cross-parameter rules (orderings, priors not all 0) over defaults plus ``values``."""
    merged = {k.path: k.default for k in model_keys()} | values
    for chain in ORDERINGS:
        got = [float(merged[k]) for k in chain]
        if got != sorted(got):
            return False
    return sum(float(merged[k]) for k in NONZERO_SUM) > 0


# --- values ----------------------------------------------------------------------------------
def fmt(x: float, type_: str) -> str:
    """A number as a Hydra literal."""
    return str(int(x)) if type_ == "int" else format(x, ".6g")


def valid_number(rng: random.Random, key: Key) -> str:
    """A literal within the key's bounds (sometimes exactly a bound)."""
    lo, hi = key.bounds or (0.0, 1.0)
    roll = rng.random()
    if roll < 0.15:
        return fmt(rng.choice((lo, hi)), key.type)
    if key.type == "int":
        top = hi if rng.random() < 0.3 else min(hi, lo + 50)
        return str(rng.randint(int(lo), int(top)))
    if roll < 0.25 and math.ceil(lo) <= math.floor(hi):
        return str(rng.randint(math.ceil(lo), math.floor(hi)))
    for _ in range(20):
        text = format(rng.uniform(lo, hi), rng.choice((".3g", ".6g", ".4e")))
        if lo <= float(text) <= hi:
            return text
    return fmt(lo, key.type)


def valid_value(rng: random.Random, key: Key) -> str:
    """A literal the key must accept."""
    if key.type == "bool":
        return rng.choice(BOOL_LITERALS)
    if key.choices:
        return rng.choice(key.choices)
    return valid_number(rng, key)


def out_of_bounds(rng: random.Random, key: Key) -> str:
    """A literal of the right type just or far outside the bounds."""
    lo, hi = key.bounds or (0.0, 1.0)
    span = max(hi - lo, 1.0)
    below = rng.random() < 0.5
    for _ in range(20):
        gap = span * rng.choice((1e-3, 0.1, 1.0, 10.0))
        if key.type == "int":
            text = str(int(lo) - max(1, int(gap)) if below else int(hi) + max(1, int(gap)))
        else:
            text = format(lo - gap if below else hi + gap, ".6g")
        if not lo <= (int(text) if key.type == "int" else float(text)) <= hi:
            return text
    return fmt(lo - span if below else hi + span, key.type)


def safe_name(rng: random.Random) -> str:
    """A name that is safe as a directory name."""
    word = rng.choice(("study", "run", "my_test", "alpha-2", "Sweep7", "x"))
    name = f"{word}{rng.randint(0, 999)}"
    assert SAFE_NAME.fullmatch(name)
    return name


def decoys(rng: random.Random, count: int, exclude: set[str]) -> list[str]:
    """Up to ``count`` valid ``key=value`` overrides of other model keys (no cross rules)."""
    pool = [k for k in model_keys() if k.path not in exclude and k.path not in CROSS_KEYS]
    return [f"{k.path}={valid_value(rng, k)}" for k in rng.sample(pool, count)]


def shuffled(rng: random.Random, items: list[str]) -> list[str]:
    """``items`` in a random order."""
    return rng.sample(items, len(items))


def key_of(arg: str) -> str:
    """The key an override sets (``+``/``~`` and any package stripped)."""
    return arg.split("=", 1)[0].lstrip("+~").split("@", 1)[0]


# --- valid kinds ------------------------------------------------------------------------------
Gen = Callable[[random.Random, str], Case]


def params_case(rng: random.Random, pairs: list[tuple[Key, str]], kind: str) -> Case:
    """Model overrides; a line that breaks a cross-parameter rule is ``cross_constraint``."""
    values = {k.path: float(v) for k, v in pairs if k.type in ("int", "float")}
    args = [f"{k.path}={v}" for k, v in pairs]
    if not cross_ok(values):
        return Case(args, False, "cross_constraint")
    return Case(args, True, kind)


def valid_params(rng: random.Random, tag: str) -> Case:
    keys = rng.sample(model_keys(), rng.randint(1, 4))
    return params_case(rng, [(k, valid_value(rng, k)) for k in keys], "valid_params")


def valid_boundary(rng: random.Random, tag: str) -> Case:
    roll = rng.random()
    if roll < 0.25:
        return Case([f"replicates={rng.choice((1, MAX_REPLICATES))}"], True, "valid_boundary")
    if roll < 0.5:
        return Case([f"weeks={rng.choice((1, MAX_WEEKS))}"], True, "valid_boundary")
    key = rng.choice([k for k in model_keys() if k.bounds])
    assert key.bounds is not None
    value = fmt(rng.choice(key.bounds), key.type)
    return params_case(rng, [(key, value)], "valid_boundary")


def valid_long_line(rng: random.Random, tag: str) -> Case:
    pool = sorted((k for k in model_keys() if k.path not in CROSS_KEYS), key=lambda k: -len(k.path))
    keys = rng.sample(pool[:30], rng.randint(7, 10))
    return Case([f"{k.path}={valid_value(rng, k)}" for k in keys], True, "valid_long_line")


def valid_run_keys(rng: random.Random, tag: str) -> Case:
    args = [f"{k.path}={valid_number(rng, k)}" for k in rng.sample(RUN_INT_KEYS, rng.randint(1, 3))]
    extra = [
        f"plots={rng.choice(BOOL_LITERALS)}",
        f"backend={rng.choice(BACKENDS)}",
        "parameters=defaults",
    ]
    args += rng.sample(extra, rng.randint(0, 2))
    return Case(shuffled(rng, args), True, "valid_run_keys")


def valid_null_optional(rng: random.Random, tag: str) -> Case:
    args = [f"{k}=null" for k in rng.sample(OPTIONAL_RUN_KEYS, rng.randint(1, 2))]
    return Case(args + decoys(rng, rng.randint(0, 1), set()), True, "valid_null_optional")


def valid_scenario(rng: random.Random, tag: str) -> Case:
    args = [f"scenario={rng.choice(scenarios())}", *decoys(rng, rng.randint(0, 2), set())]
    return Case(shuffled(rng, args), True, "valid_scenario")


def valid_bool(rng: random.Random, tag: str) -> Case:
    keys = rng.sample(keys_of("bool"), rng.randint(1, 3))
    args = [f"{k.path}={rng.choice(BOOL_LITERALS)}" for k in keys]
    if rng.random() < 0.3:
        args.append(f"plots={rng.choice(BOOL_LITERALS)}")
    return Case(args, True, "valid_bool")


def valid_choice(rng: random.Random, tag: str) -> Case:
    key = rng.choice(keys_of("str"))
    assert key.choices is not None
    args = [f"{key.path}={rng.choice(key.choices)}"]
    if rng.random() < 0.5:
        args.append(f"backend={rng.choice(BACKENDS)}")
    return Case(args, True, "valid_choice")


def _meaning(text: str) -> object:
    """The value a sweep's element stands for: a number, else its lower-case text."""
    try:
        return float(text)
    except ValueError:
        return text.strip("'\"").lower()


def sweep_values(rng: random.Random, key: Key, count: int) -> str:
    """``count`` distinct valid values of ``key`` in a random sweep notation."""
    values: list[str] = []
    while len(values) < count:
        v = valid_value(rng, key)
        if _meaning(v) not in map(_meaning, values):  # True and true are one value
            values.append(v)
    return rng.choice(("{}", "choice({})", "sort({})")).format(",".join(values))


def valid_sweep_args(rng: random.Random) -> list[str]:
    """Sweep overrides of at most 12 jobs in all (no -m)."""
    roll = rng.random()
    if roll < 0.2:
        return [f"scenario={','.join(rng.sample(scenarios(), rng.randint(2, 3)))}"]
    if roll < 0.3:
        return [rng.choice(("scenario=glob(*)", "scenario=glob(*troops*)", "scenario=glob(*_*)"))]
    if roll < 0.5:
        start = rng.randint(0, 100)
        return [f"seed=range({start},{start + rng.randint(2, 4)})"]
    pool = [k for k in model_keys() if k.path not in CROSS_KEYS and k.type != "str"]
    keys = rng.sample(pool, rng.randint(1, 2))
    return [f"{k.path}={sweep_values(rng, k, 2 if k.type == 'bool' else 3)}" for k in keys]


def valid_sweep(rng: random.Random, tag: str) -> Case:
    flag = rng.choice(("-m", "--multirun"))
    args = valid_sweep_args(rng)
    if rng.random() < 0.3:
        args.append(f"replicates={rng.randint(1, 20)}")
    return Case([flag, *args], True, "valid_sweep")


def valid_sweep_at_limit(rng: random.Random, tag: str) -> Case:
    if rng.random() < 0.5:
        return Case(["-m", f"seed=range(0,{MAX_SWEEP_JOBS})"], True, "valid_sweep_at_limit")
    side = math.isqrt(MAX_SWEEP_JOBS)
    args = ["-m", f"seed=range(0,{side})", f"weeks=range(1,{side + 1})"]
    return Case(args, True, "valid_sweep_at_limit")


def valid_experiment(rng: random.Random, tag: str) -> Case:
    name = rng.choice(experiments())
    args = [f"+experiment={name}"]
    if rng.random() < 0.5:
        args.insert(0, "-m")
    args += [f"seed={rng.randint(0, 99)}"] if rng.random() < 0.5 else []
    args += [f"replicates={rng.randint(1, 10)}"] if rng.random() < 0.5 else []
    return Case(args, True, "valid_experiment")


def valid_names(rng: random.Random, tag: str) -> Case:
    roll = rng.random()
    if roll < 0.4:
        return Case([f"scenario.name={safe_name(rng)}"], True, "valid_names")
    if roll < 0.8:
        sweep = valid_sweep_args(rng) if rng.random() < 0.7 else []
        return Case(["-m", f"sweep_name={safe_name(rng)}", *sweep], True, "valid_names")
    text = rng.choice(("my_note", "a/b", "tested", "v2"))
    return Case([f"scenario.description={text}"], True, "valid_names")


def valid_run_dir(rng: random.Random, tag: str) -> Case:
    """A relative folder inside results/, or an absolute one that is not a system folder."""
    roll = rng.random()
    if roll < 0.4:
        return Case([f"hydra.run.dir=results/custom/{safe_name(rng)}"], True, "valid_run_dir")
    if roll < 0.7:
        folder = f"/tmp/{escape(tag, 'abs')}/{safe_name(rng)}"  # judged in-process only
        return Case([f"hydra.run.dir={folder}"], True, "valid_run_dir")
    args = ["-m", f"hydra.sweep.dir=results/custom/{safe_name(rng)}", "seed=1,2"]
    return Case(args, True, "valid_run_dir")


# --- invalid kinds ----------------------------------------------------------------------------
def one(rng: random.Random, kind: str, args: list[str], valid: bool = False) -> Case:
    """A case with 0-2 valid decoy overrides around ``args``."""
    if args and args[0] in ("-m", "--multirun"):
        return Case(args, valid, kind)
    taken = {key_of(a) for a in args}
    return Case(shuffled(rng, args + decoys(rng, rng.randint(0, 2), taken)), valid, kind)


def wrong_type(rng: random.Random, tag: str) -> Case:
    if rng.random() < 0.2:
        bad = rng.choice(("scenario=1", "backend=fast", "backend=1", "parameters=1"))
        return one(rng, "wrong_type", [bad])
    key = rng.choice(keys_of("num", run=True))
    bad = rng.choice(("abc", "true", "false", "0x10", "1.2.3", "--1", "1e", "five", "1/2", "$1"))
    return one(rng, "wrong_type", [f"{key.path}={bad}"])


def int_fraction(rng: random.Random, tag: str) -> Case:
    key = rng.choice(keys_of("int", run=True))
    lo, hi = key.bounds or (0, 1)
    value = rng.choice((lo + 0.5, (lo + min(hi, lo + 10)) / 2 + 0.25, lo + 0.001))
    return one(rng, "int_fraction", [f"{key.path}={value}"])


def not_bool(rng: random.Random, tag: str) -> Case:
    key = rng.choice([*keys_of("bool"), Key("plots", "bool")])
    return one(rng, "not_bool", [f"{key.path}={rng.choice(NOT_BOOL_LITERALS)}"])


def bad_choice(rng: random.Random, tag: str) -> Case:
    key = rng.choice(keys_of("str"))
    bad = rng.choice(("friendly", "NEUTRAL", "Hostile", "1", "hostile,", "none", "null"))
    if rng.random() < 0.3:
        return one(rng, "bad_choice", [f"backend={rng.choice(('Compiled', 'numba', 'null'))}"])
    return one(rng, "bad_choice", [f"{key.path}={bad}"])


def out_of_bounds_case(rng: random.Random, tag: str) -> Case:
    key = rng.choice([k for k in keys_of("num", run=True) if k.bounds])
    return one(rng, "out_of_bounds", [f"{key.path}={out_of_bounds(rng, key)}"])


def nonfinite(rng: random.Random, tag: str) -> Case:
    key = rng.choice(keys_of("num", run=True))
    bad = rng.choice(("nan", "NaN", "inf", "-inf", "+inf", "INF", "Infinity", "-Infinity"))
    return one(rng, "nonfinite", [f"{key.path}={bad}"])


def huge_number(rng: random.Random, tag: str) -> Case:
    bounded = [k for k in keys_of("num", run=True) if k.bounds]
    key = rng.choice(bounded)
    huge = ("1e308", "1e400", "1" + "0" * 30, "9" * 40, "1e30", "-1e308", "-" + "9" * 40)
    return one(rng, "huge_number", [f"{key.path}={rng.choice(huge)}"])


def over_limit(rng: random.Random, tag: str) -> Case:
    roll = rng.random()
    if roll < 0.4:
        n = rng.choice((MAX_REPLICATES + 1, MAX_REPLICATES * 10, 10**12))
        return one(rng, "over_limit", [f"replicates={n}"])
    n = rng.choice((MAX_WEEKS + 1, 10_000, 100_000))
    return one(rng, "over_limit", [f"weeks={n}"])


def sweep_over_limit(rng: random.Random, tag: str) -> Case:
    side = math.isqrt(MAX_SWEEP_JOBS) + 1
    forms = (
        ["-m", "seed=range(0,100000)"],
        ["-m", f"seed=range(0,{MAX_SWEEP_JOBS + 1})"],
        ["-m", f"seed=range(0,{side})", f"weeks=range(1,{side + 1})"],
    )
    return Case(list(rng.choice(forms)), False, "sweep_over_limit")


def negative_count(rng: random.Random, tag: str) -> Case:
    key = rng.choice(("replicates", "weeks", "jobs", "chunk_size", "seed"))
    lowest = -1 if key == "seed" else 0
    value = rng.choice((lowest, lowest - 1, -100, -(10**6)))
    return one(rng, "negative_count", [f"{key}={value}"])


UNICODE_NUMBERS = ("０.５", "٣", "𝟏", "½", "1\u200b", "１e3", "٠.٥", "²", "1\u00a0")
UNICODE_NAMES = ("basеline", "🙂", "\u202ebaseline", "baseline\u200b", "ｂａｓｅｌｉｎｅ", "ﬁ")


def unicode_value(rng: random.Random, tag: str) -> Case:
    roll = rng.random()
    if roll < 0.5:
        key = rng.choice(keys_of("num", run=True))
        return one(rng, "unicode_value", [f"{key.path}={rng.choice(UNICODE_NUMBERS)}"])
    if roll < 0.7:
        key = rng.choice(keys_of("bool"))
        return one(rng, "unicode_value", [f"{key.path}={rng.choice(('ｔｒｕｅ', 'truе', '✓'))}"])
    target = rng.choice(("scenario", "scenario.name", "sweep_name", "iran.initial_posture"))
    return one(rng, "unicode_value", [f"{target}={rng.choice(UNICODE_NAMES)}"])


CONTROL = ("a\tb", "a\nb", "\x1b[31mred", "x\x00y", "del\x7f", "baseline\r", "\x08back", "a\x85b")


def control_char(rng: random.Random, tag: str) -> Case:
    if rng.random() < 0.5:
        key = rng.choice(keys_of("num", run=True))
        value = rng.choice(("0.\x005", "1\x1b2", "\x07", "2\n3"))
        return one(rng, "control_char", [f"{key.path}={value}"])
    target = rng.choice(("scenario", "scenario.name", "sweep_name", "backend", "parameters"))
    return one(rng, "control_char", [f"{target}={rng.choice(CONTROL)}"])


def unknown_key(rng: random.Random, tag: str) -> Case:
    bad = rng.choice(
        (
            "nope=1",
            "china.nope=1",
            "China.initial_patience=0.5",
            "groups.nope.attack_rate=1",
            "china.initial_patience.x=1",
            "scenario.nope=1",
            "Replicates=2",
            "replicate=2",
            "week=4",
            "hydra.nope=1",
            "hydra.run.nope=x",
            "groups.bla.nope=1",
            "china.initial-patience=0.5",
        )
    )
    return one(rng, "unknown_key", [bad])


def unicode_key(rng: random.Random, tag: str) -> Case:
    bad = rng.choice(
        (
            "chína.initial_patience=0.5",
            "china.initial_patіence=0.5",
            "ｃｈｉｎａ.initial_patience=0.5",
            "🙂=1",
            "china.initial_patience\u200b=0.5",
            "replicatеs=2",
            "wee\u00adks=4",
        )
    )
    return one(rng, "unicode_key", [bad])


def add_key(rng: random.Random, tag: str) -> Case:
    bad = rng.choice(
        (
            "+foo=bar",
            "+china.nope=1",
            "++foo=bar",
            "+groups.new.attack_rate=1",
            "+replicates=2",
            "+scenario.extra=x",
            "+scenario=baseline",
            "++china.nope=1",
        )
    )
    return one(rng, "add_key", [bad])


def delete_key(rng: random.Random, tag: str) -> Case:
    bad = rng.choice(
        (
            "~china",
            "~replicates",
            "~scenario",
            "~china.initial_patience",
            "~groups.bla",
            "~seed=0",
            "~hydra",
            "~nope",
            "~groups",
            "~scenario.name",
        )
    )
    return one(rng, "delete_key", [bad])


def list_value(rng: random.Random, tag: str) -> Case:
    bad = rng.choice(
        (
            "seed=[1,2]",
            "china.initial_patience=[0.1]",
            "scenario=[baseline,iran_border]",
            "pakistan.accept_chinese_troops=[true]",
            "iran.initial_posture=[hostile]",
            "sweep_name=[a]",
            "china.initial_patience={a:1}",
            "replicates={}",
            "weeks=[]",
            "backend=[compiled]",
        )
    )
    return one(rng, "list_value", [bad])


def group_as_scalar(rng: random.Random, tag: str) -> Case:
    bad = rng.choice(
        ("china=1", "groups.bla=2", "groups=x", "china=null", "recruitment=[]", "china={nope:1}")
    )
    return one(rng, "group_as_scalar", [bad])


def path_group(rng: random.Random, tag: str) -> Case:
    bad = rng.choice(
        (
            "scenario=../experiment/patience",
            "scenario=../experiment/compare_all",
            "scenario=../config",
            "scenario=../hydra/launcher/local",
            "scenario=/etc/passwd",
            "scenario=./baseline",
            "scenario=baseline/../baseline",
            "scenario=../scenario/baseline",
            "+experiment=../scenario/baseline",
            "+experiment=uncertainty/calibration",
            "+experiment=../config",
            "+experiment=/etc/passwd",
        )
    )
    return Case([bad], False, "path_group")


def escape(tag: str, what: str) -> str:
    """The name of an escape target under /tmp."""
    return f"{ESCAPE_PREFIX}{tag}-{what}"


def path_name(rng: random.Random, tag: str) -> Case:
    up = "../" * 12
    forms = (
        [f"scenario.name={up}tmp/{escape(tag, 'name')}"],
        ["scenario.name=../../x"],
        ["scenario.name=/abs"],
        ["scenario.name=.."],
        ["scenario.name=."],
        ["scenario.name=a/b"],
        [f"scenario.name={'y' * 300}"],
        ["scenario.name="],
        ["-m", f"sweep_name=/{up}tmp/{escape(tag, 'sweep')}", "seed=1,2"],
        ["-m", "sweep_name=/../../tmp/Y", "seed=1,2"],
        ["-m", "sweep_name=.."],
        ["-m", "sweep_name=../x"],
        ["-m", f"sweep_name={'z' * 300}"],
        [f"sweep_name={up}tmp/{escape(tag, 'single')}"],
        ["sweep_name=."],
    )
    return Case(list(rng.choice(forms)), False, "path_name")


def path_run_dir(rng: random.Random, tag: str) -> Case:
    """System folders, /, the home folder, and relative folders outside results/."""
    forms = (
        ["hydra.run.dir=${oc.env:HOME}"],
        ["hydra.run.dir=out/x"],
        ["hydra.run.dir=../outside"],
        ["hydra.run.dir=results/../../x"],
        ["hydra.run.dir=/"],
        [f"hydra.run.dir=/proc/{escape(tag, 'run')}"],
        ["hydra.run.dir=/etc"],
        ["hydra.run.dir=/sys/kernel/x"],
        ["hydra.run.dir=/dev"],
        ["hydra.run.dir="],
        ["-m", "hydra.sweep.dir=/etc", "seed=1,2"],
        ["-m", "hydra.sweep.dir=/", "seed=1,2"],
        ["-m", f"hydra.sweep.dir=/proc/{escape(tag, 'sweep')}", "seed=1,2"],
    )
    return Case(list(rng.choice(forms)), False, "path_run_dir")


def path_parameters(rng: random.Random, tag: str) -> Case:
    bad = rng.choice(
        (
            "/etc/passwd",
            "/dev/zero",
            "/proc/self/environ",
            "../../../../nope.parquet",
            "/",
            "''",
            f"/tmp/{escape(tag, 'none')}",
        )
    )
    return one(rng, "path_parameters", [f"parameters={bad}"])


def sweep_bad_function(rng: random.Random, tag: str) -> Case:
    bad = rng.choice(
        (
            "seed=interval(0,1)",
            "china.initial_patience=interval(0,1)",
            "seed=glob(*)",
            "china.initial_patience=glob(*)",
            "seed=range(5,0)",
            "seed=range(0,10,0)",
            "china.initial_patience=0.1,nan",
            "china.initial_patience=0.1,7",
            "seed=choice()",
            "seed=1,,2",
            "scenario=glob(nope*)",
            "seed=range(0,1.5,0.5)",
            "scenario=baseline,nope",
            "pakistan.accept_chinese_troops=true,2",
        )
    )
    return Case(["-m", bad], False, "sweep_bad_function")


def sweep_without_m(rng: random.Random, tag: str) -> Case:
    return one(rng, "sweep_without_m", valid_sweep_args(rng))


def interpolation(rng: random.Random, tag: str) -> Case:
    bad = rng.choice(
        (
            "seed=${oc.env:HOME}",
            "replicates=${oc.env:CPEC_HOSTILE_UNSET}",
            "scenario.name=${oc.env:HOME}",
            "sweep_name=${hydra:runtime.cwd}",
            "seed=${seed}",
            "china.initial_patience=${oc.decode:'[1]'}",
            "weeks=${nope}",
            "scenario=${oc.env:HOME}",
        )
    )
    return one(rng, "interpolation", [bad])


def empty(rng: random.Random, tag: str) -> Case:
    bad = rng.choice(
        (
            "",
            "=",
            "replicates=",
            "sweep_name=",
            "scenario=",
            "china.initial_patience=",
            "=5",
            "replicates",
            " ",
            "sweep_name=''",
            "replicates==2",
            "plots=",
        )
    )
    return Case([bad], False, "empty")


def duplicate_key(rng: random.Random, tag: str) -> Case:
    roll = rng.random()
    if roll < 0.2:
        return Case(["-m", "seed=1,2", "seed=3,4"], False, "duplicate_key")
    if roll < 0.4:
        a, b = rng.sample(scenarios(), 2)
        return Case([f"scenario={a}", f"scenario={b}"], False, "duplicate_key")
    key = rng.choice([*model_keys(), *RUN_INT_KEYS[:3]])
    first, second = valid_value(rng, key), valid_value(rng, key)
    return one(rng, "duplicate_key", [f"{key.path}={first}", f"{key.path}={second}"])


def cross_constraint(rng: random.Random, tag: str) -> Case:
    forms = (
        ("china.demand_below", lambda: rng.uniform(0.36, 1.0)),
        ("china.pressure_below", lambda: rng.uniform(0.0, 0.34)),
        ("china.hold_below", lambda: rng.uniform(0.71, 1.0)),
        ("investors.withdraw_below", lambda: rng.uniform(0.01, 10.0)),
        ("investors.invest_above", lambda: rng.uniform(-10.0, -0.01)),
    )
    if rng.random() < 0.15:
        return one(rng, "cross_constraint", [f"{k}=0" for k in NONZERO_SUM])
    key, draw = rng.choice(forms)
    return one(rng, "cross_constraint", [f"{key}={draw():.3f}"])


def group_misuse(rng: random.Random, tag: str) -> Case:
    bad = rng.choice(
        (
            "experiment=patience",
            "scenario@foo=baseline",
            "hydra/launcher=nope",
            "scenario=null",
            "+experiment=nope",
            "scenario=nope",
            "scenario=Baseline",
            "scenario=baseline.yaml",
            "+experiment=patience@foo",
        )
    )
    return Case([bad], False, "group_misuse")


# --- CLI-only kinds ---------------------------------------------------------------------------
def flag_after_override(rng: random.Random, tag: str) -> Case:
    """Options after overrides: valid (docs/reliability.md: options may come anywhere)."""
    first = f"replicates={rng.randint(1, 5)}"
    forms = (
        [first, "-m", "seed=1,2"],
        [first, "--multirun", "seed=1,2"],
        [first, "--cfg", "job", "seed=3"],
        ["seed=1", "-m", "scenario=baseline,iran_border"],
    )
    return Case(list(rng.choice(forms)), True, "flag_after_override")


def cfg_bad(rng: random.Random, tag: str) -> Case:
    bad = rng.choice(
        ("replicates=abc", "china.nope=1", "china.initial_patience=7", "~china", "+foo=bar")
    )
    return Case([rng.choice(("--cfg", "-c")), rng.choice(("job", "all")), bad], False, "cfg_bad")


def cfg_ok(rng: random.Random, tag: str) -> Case:
    key = rng.choice(model_keys())
    args = ["--cfg", rng.choice(("job", "hydra", "all")), f"{key.path}={valid_value(rng, key)}"]
    return Case(args, True, "cfg_ok")


def help_case(rng: random.Random, tag: str) -> Case:
    return Case([rng.choice(("--help", "-h", "--hydra-help", "--info"))], True, "help")


def unknown_flag(rng: random.Random, tag: str) -> Case:
    bad = rng.choice((["--nope"], ["-x"], ["--cfg", "nope"], ["--multirun=yes"], ["-m", "-m"]))
    return Case(bad, False, "unknown_flag")


#: Every kind: (weight, generator). Expensive kinds (slow sweeps) are rare.
KINDS: dict[str, tuple[float, Gen]] = {
    "valid_params": (12, valid_params),
    "valid_boundary": (5, valid_boundary),
    "valid_long_line": (2, valid_long_line),
    "valid_run_keys": (5, valid_run_keys),
    "valid_null_optional": (1, valid_null_optional),
    "valid_scenario": (5, valid_scenario),
    "valid_bool": (4, valid_bool),
    "valid_choice": (2, valid_choice),
    "valid_sweep": (5, valid_sweep),
    "valid_sweep_at_limit": (0.25, valid_sweep_at_limit),
    "valid_experiment": (2, valid_experiment),
    "valid_names": (2, valid_names),
    "valid_run_dir": (1.5, valid_run_dir),
    "wrong_type": (4, wrong_type),
    "int_fraction": (2, int_fraction),
    "not_bool": (4, not_bool),
    "bad_choice": (2, bad_choice),
    "out_of_bounds": (5, out_of_bounds_case),
    "nonfinite": (3, nonfinite),
    "huge_number": (3, huge_number),
    "over_limit": (2, over_limit),
    "sweep_over_limit": (0.3, sweep_over_limit),
    "negative_count": (2, negative_count),
    "unicode_value": (3, unicode_value),
    "control_char": (2, control_char),
    "unknown_key": (3, unknown_key),
    "unicode_key": (2, unicode_key),
    "add_key": (2, add_key),
    "delete_key": (2, delete_key),
    "list_value": (2, list_value),
    "group_as_scalar": (1.5, group_as_scalar),
    "path_group": (2, path_group),
    "path_name": (2.5, path_name),
    "path_run_dir": (2, path_run_dir),
    "path_parameters": (1.5, path_parameters),
    "sweep_bad_function": (3, sweep_bad_function),
    "sweep_without_m": (2, sweep_without_m),
    "interpolation": (1.5, interpolation),
    "empty": (2, empty),
    "duplicate_key": (2, duplicate_key),
    "cross_constraint": (1.5, cross_constraint),
    "group_misuse": (2, group_misuse),
    "flag_after_override": (1, flag_after_override),
    "cfg_bad": (1, cfg_bad),
    "cfg_ok": (0.5, cfg_ok),
    "help": (0.3, help_case),
    "unknown_flag": (0.5, unknown_flag),
}


def hostile_lines(n: int, seed: int, tag: str = "fuzz") -> list[Case]:
    """``n`` command lines drawn with ``random.Random(seed)``; ``tag`` names escape targets."""
    rng = random.Random(seed)
    names = list(KINDS)
    weights = [KINDS[k][0] for k in names]
    return [KINDS[rng.choices(names, weights)[0]][1](rng, tag) for _ in range(n)]


def in_process_lines(n: int, seed: int, tag: str = "fuzz") -> list[Case]:
    """``n`` lines that ``prevalidate`` can judge: one of every such kind first, then
    :func:`hostile_lines` without the CLI-only kinds."""
    rng = random.Random(seed)
    out = [gen(rng, tag) for kind, (_, gen) in KINDS.items() if kind not in CLI_ONLY_KINDS]
    batch = 0
    while len(out) < n:
        out += [c for c in hostile_lines(n, seed + 7919 * batch, tag) if not c.cli_only]
        batch += 1
    return out[:n]


def cli_sample(tag: str) -> list[Case]:
    """A fixed sample for the real CLI: every kind, chosen to be safe to run anywhere.

    ``hydra.run.dir=/`` and ``hydra.sweep.dir=/etc`` are judged in-process only (with a
    broken CLI they would write into / and /etc); /proc stands for an unwritable place.
    """
    up = "../" * 12
    rows: list[tuple[str, bool, list[str]]] = [
        ("valid_params", True, ["china.initial_patience=0.3", "groups.bla.attack_rate=2"]),
        ("valid_boundary", True, ["escalation.branching_ratio=0.95"]),
        ("valid_long_line", True, [f"{k.path}={k.default}" for k in long_line_keys()]),
        ("valid_run_keys", True, ["seed=7", "backend=compiled", "chunk_size=1"]),
        ("valid_null_optional", True, ["chunk_size=null"]),
        ("valid_scenario", True, ["scenario=iran_border"]),
        ("valid_bool", True, ["pakistan.accept_chinese_troops=true"]),
        ("valid_choice", True, ["iran.initial_posture=hostile"]),
        ("valid_sweep", True, ["-m", "seed=1,2"]),
        ("valid_experiment", True, ["+experiment=patience"]),
        ("valid_names", True, ["-m", "sweep_name=my_sweep", "scenario=baseline,iran_border"]),
        ("valid_run_dir", True, ["hydra.run.dir=results/custom/mine"]),
        ("cfg_ok", True, ["--cfg", "job", "china.initial_patience=0.3"]),
        ("help", True, ["--help"]),
        ("wrong_type", False, ["china.initial_patience=abc"]),
        ("int_fraction", False, ["weeks=2.5"]),
        ("not_bool", False, ["china.joint_operations=2"]),
        ("bad_choice", False, ["iran.initial_posture=friendly"]),
        ("out_of_bounds", False, ["pakistan.ssd_troops=200001"]),
        ("nonfinite", False, ["china.initial_patience=nan"]),
        ("huge_number", False, ["replicates=" + "1" + "0" * 30]),
        ("over_limit", False, ["weeks=100000"]),
        ("sweep_over_limit", False, ["-m", "seed=range(0,100000)"]),
        ("negative_count", False, ["jobs=0"]),
        ("unicode_value", False, ["weeks=٣"]),
        ("control_char", False, ["scenario.name=x\x1by"]),
        ("unknown_key", False, ["china.nope=1"]),
        ("unicode_key", False, ["chína.initial_patience=0.5"]),
        ("add_key", False, ["+foo=bar"]),
        ("delete_key", False, ["~china"]),
        ("list_value", False, ["scenario=[baseline,iran_border]"]),
        ("group_as_scalar", False, ["china=1"]),
        ("path_group", False, ["scenario=../experiment/patience"]),
        ("path_name", False, [f"scenario.name={up}tmp/{escape(tag, 'name')}"]),
        ("path_name", False, ["-m", f"sweep_name=/{up}tmp/{escape(tag, 'sweep')}", "seed=1,2"]),
        ("path_run_dir", False, [f"hydra.run.dir=/proc/{escape(tag, 'run')}"]),
        ("path_parameters", False, ["parameters=/etc/passwd"]),
        ("sweep_bad_function", False, ["-m", "seed=interval(0,1)"]),
        ("sweep_bad_function", False, ["-m", "seed=glob(*)"]),
        ("sweep_without_m", False, ["seed=1,2"]),
        ("interpolation", False, ["seed=${oc.env:HOME}"]),
        ("empty", False, ["replicates="]),
        ("duplicate_key", False, ["seed=1", "seed=2"]),
        ("cross_constraint", False, ["china.demand_below=0.9"]),
        ("group_misuse", False, ["scenario@foo=baseline"]),
        ("flag_after_override", True, ["replicates=1", "-m", "seed=1,2"]),
        ("cfg_bad", False, ["--cfg", "job", "replicates=abc"]),
        ("unknown_flag", False, ["--nope"]),
    ]
    return [Case(args, valid, kind) for kind, valid, args in rows]


def long_line_keys() -> list[Key]:
    """Nine model keys with the longest names (a long run-directory name)."""
    pool = [k for k in model_keys() if k.path not in CROSS_KEYS]
    return sorted(pool, key=lambda k: (-len(k.path), k.path))[:9]


def with_fast(case: Case) -> list[str]:
    """The case's arguments plus :data:`FAST` for the keys it does not set."""
    taken = {key_of(a) for a in case.args}
    return [*case.args, *(f for f in FAST if key_of(f) not in taken)]


# --- running and judging ----------------------------------------------------------------------
class Hang(BaseException):
    """A line ran past its time limit (BaseException: ``except Exception`` lets it through)."""


@contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Raise :class:`Hang` after ``seconds`` (SIGALRM; no limit outside the main thread)."""

    def alarm(signum: int, frame: Any) -> None:
        raise Hang

    try:
        old = signal.signal(signal.SIGALRM, alarm)
    except ValueError:  # not the main thread
        yield
        return
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


@dataclass
class Outcome:
    """What one in-process line did."""

    error: str | None = None
    exception: str | None = None
    hang: bool = False
    seconds: float = 0.0


@cache
def _register_once() -> None:
    """Register the CLI's config schema once per process, as ``cpec-sim`` does (registering
    it again for every line cost each line ~65 ms: half of the thousand lines' time)."""
    from sim import cli

    register = getattr(cli, "_register", None)
    if register is not None:
        register()


def run_in_process(case: Case, seconds: float = LINE_SECONDS) -> Outcome:
    """``sim.cli.prevalidate(case.args)`` under a time limit; nothing escapes."""
    _register_once()
    from sim import cli

    out = Outcome()
    start = time.perf_counter()
    try:
        with time_limit(seconds):
            out.error = cli.prevalidate(list(case.args)).error
    except Hang:
        out.hang = True
    except KeyboardInterrupt:
        raise
    except BaseException as exc:
        first = (str(exc).strip().splitlines() or [""])[0]
        out.exception = f"{type(exc).__name__}: {first[:200]}"
    out.seconds = time.perf_counter() - start
    return out


def judge(case: Case, out: Outcome) -> str | None:
    """What is wrong with an in-process outcome (None: right)."""
    if out.hang:
        return f"hang (> {LINE_SECONDS:g} s)"
    if out.exception:
        return f"exception escaped: {out.exception}"
    if case.valid:
        return None if out.error is None else f"valid rejected: {out.error}"
    if out.error is None:
        return "invalid accepted"
    if not out.error.strip() or "\n" in out.error:
        return f"error is not one line: {out.error!r}"
    return None


@dataclass
class CliOutcome:
    """What one CLI line did."""

    code: int | None
    stdout: str
    stderr: str
    hang: bool
    seconds: float


def run_cli(args: list[str], cwd: Path, home: Path, timeout: float = CLI_SECONDS) -> CliOutcome:
    """``python -m sim.cli run ARGS`` in ``cwd`` with ``HOME=home``."""
    env = {k: v for k, v in os.environ.items() if k != "HYDRA_FULL_ERROR"}
    env |= {"HOME": str(home), "MPLBACKEND": "Agg", "CPEC_NUMBA_CACHE": numba_cache()}
    start = time.perf_counter()
    try:
        done = subprocess.run(
            [sys.executable, "-m", "sim.cli", "run", *args],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired as exc:
        text = [
            b.decode(errors="replace") if isinstance(b, bytes) else b or ""
            for b in (exc.stdout, exc.stderr)
        ]
        return CliOutcome(None, text[0], text[1], True, time.perf_counter() - start)
    return CliOutcome(done.returncode, done.stdout, done.stderr, False, time.perf_counter() - start)


def numba_cache() -> str:
    """The user's Numba cache (as sim.compiled finds it), so that a run with a scratch HOME
    does not compile the engine from cold."""
    if os.environ.get("CPEC_NUMBA_CACHE"):
        return os.environ["CPEC_NUMBA_CACHE"]
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return str(Path(base) / "cpec-sim" / "numba")


def judge_cli(case: Case, out: CliOutcome, new_files: list[str], outside: list[str]) -> list[str]:
    """Everything wrong with a CLI outcome; ``new_files`` are new paths in its working
    directory outside the places a valid run may write, ``outside`` new paths elsewhere."""
    problems = []
    if out.hang:
        problems.append(f"hang (> {CLI_SECONDS:g} s)")
    if "Traceback" in out.stdout + out.stderr:
        problems.append("traceback: " + last_line(out.stderr or out.stdout))
    if outside:
        problems.append(f"wrote outside its directory: {', '.join(outside[:3])}")
    if new_files:
        problems.append(f"wrote {', '.join(new_files[:3])}")
    if out.hang:
        return problems
    lines = [ln for ln in out.stderr.splitlines() if ln.strip()]
    if case.valid and out.code != 0:
        problems.append(f"valid rejected (exit {out.code}): {last_line(out.stderr)}")
    if not case.valid and out.code == 0:
        problems.append("invalid accepted (exit 0)")
    elif not case.valid and out.code != 2:
        problems.append(f"exit {out.code}, not 2: {last_line(out.stderr)}")
    elif not case.valid and len(lines) != 1:
        problems.append(f"stderr has {len(lines)} lines, not 1: {last_line(out.stderr)}")
    return problems


def last_line(text: str) -> str:
    """The last non-empty line of ``text`` (shortened)."""
    lines = [ln for ln in text.splitlines() if ln.strip()]
    return lines[-1][:200] if lines else "(empty)"


# --- watching for writes ----------------------------------------------------------------------
def repo_results() -> Path:
    """The repository's own results folder."""
    import sim

    return Path(sim.__file__).resolve().parent.parent / "results"


def listing(folder: Path) -> set[str]:
    """Names in ``folder`` (empty if it is not a readable folder)."""
    try:
        return set(os.listdir(folder))
    except OSError:
        return set()


@dataclass
class Watch:
    """Cheap snapshots of places no run may write: /, /tmp, the repository's results/."""

    tag: str
    before: dict[str, set[str]] = field(default_factory=dict)

    def places(self) -> list[Path]:
        res = repo_results()
        return [Path("/"), Path("/tmp"), res, res / "runs", res / "sweeps"]

    def start(self) -> Watch:
        self.before = {str(p): listing(p) for p in self.places()}
        return self

    def new(self) -> list[str]:
        """New entries since :meth:`start` that a run made (other /tmp traffic is ignored)."""
        found = []
        for place in self.places():
            for name in sorted(listing(place) - self.before.get(str(place), set())):
                path = place / name
                if place == Path("/tmp") and not (self.tag in name or looks_like_run(path)):
                    continue
                found.append(str(path))
        return found


def looks_like_run(path: Path) -> bool:
    """Whether ``path`` holds what a run or sweep writes."""
    marks = (".hydra", "manifest.json", "multirun.yaml", "sweep.json", "summary.parquet")
    return path.is_dir() and any((path / m).exists() for m in marks)


def escape_targets(tag: str) -> list[Path]:
    """Entries under /tmp named like this run's escape targets."""
    prefix = f"{ESCAPE_PREFIX}{tag}"
    return [Path("/tmp", n) for n in sorted(listing(Path("/tmp"))) if n.startswith(prefix)]


def files_under(root: Path) -> set[str]:
    """Every path under ``root``, relative."""
    return {str(p.relative_to(root)) for p in root.rglob("*")} if root.exists() else set()


def allowed_roots(case: Case) -> list[str]:
    """Where a valid line may write in its working directory."""
    roots = ["results"]
    for arg in case.args:
        key, _, value = arg.partition("=")
        if key in ("hydra.run.dir", "hydra.sweep.dir") and value and not value.startswith("/"):
            roots.append(value.rstrip("/"))
    return roots


def stray_files(case: Case, created: set[str]) -> list[str]:
    """New paths a line should not have made in its working directory."""
    if not case.valid:
        return sorted(created)
    roots = allowed_roots(case)
    ok = [p for p in created if any(p == r or p.startswith(r + "/") for r in roots)]
    parents = {str(Path(r).parent) for r in roots} | {"."}
    return sorted(p for p in created if p not in ok and p not in parents)
