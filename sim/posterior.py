"""Scenarios over a stored posterior: the ``parameters`` run key.

A calibration stores its posterior as ``posterior.parquet``: one row per equal-weight draw,
one float column per dotted model-parameter key (``groups.bla.attack_rate``, ...), and
optionally an integer column ``draw`` (0..n-1, the rows' order). ``parameters=defaults`` (the
default) runs every replicate with the scenario's parameters; any other value names a
posterior file (or a directory holding ``posterior.parquet``; ``posterior`` alone is
``results/calibration/full/posterior.parquet`` if one has calibrated, else the documented
calibration's posterior shipped in ``sim/data/posterior/``), and replicate ``r`` then runs with draw
``r % n`` applied on top of the scenario's values: for a calibrated key, the posterior wins
over the scenario file and the command line.

This module reads and checks the file (one-line :class:`ParameterError` for anything wrong)
and describes the source for manifests and reports. It imports neither Hydra nor, unless
``results/calibration/full/`` holds a calibration whose currency must be checked, the model.
"""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import math
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sim.params import ModelParams, ParameterError, ParamInfo, check_value, iter_params

#: The ``parameters`` value that keeps every replicate at the scenario's parameters.
DEFAULTS = "defaults"
#: Where ``parameters=posterior`` looks first: one's own ``cpec-sim calibrate``.
DEFAULT_CALIBRATION_DIR = Path("results/calibration/full")
#: ... and then: the documented calibration's posterior, shipped with the package.
SHIPPED_POSTERIOR_DIR = Path(__file__).resolve().parent / "data" / "posterior"
POSTERIOR_FILE = "posterior.parquet"
#: The optional column holding each row's draw number.
DRAW_COLUMN = "draw"


@dataclass(frozen=True)
class Posterior:
    """Equal-weight posterior draws of some model parameters (small, picklable)."""

    path: str
    sha256: str
    columns: tuple[str, ...]
    rows: tuple[tuple[float | int, ...], ...]
    #: Why ``parameters=posterior`` chose this file, when the choice may surprise (or "").
    note: str = ""
    #: Columns of the file left out: its calibration's placebos (not applied to runs).
    left_out: tuple[str, ...] = ()
    #: Why its calibration is not one of this model, record and the documented settings.
    problems: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        """What identifies the draws a run applies: the file's SHA-256 and what it left out."""
        return self.sha256 + _without(self.left_out)

    @property
    def draws(self) -> int:
        """Number of draws (rows)."""
        return len(self.rows)

    @property
    def distinct(self) -> int:
        """Number of different draws: a posterior resampled from weighted particles repeats
        many (the shipped one: 337 of 1,000)."""
        return len(set(self.rows))

    def draws_said(self) -> str:
        """``1,000 draws (the file's 1,000 hold 337 distinct)``, or ``1,000 draws`` when none
        repeats (said of the file, whatever share of its draws a run uses)."""
        repeats = (
            f" (the file's {self.draws:,} hold {self.distinct:,} distinct)"
            if self.distinct < self.draws
            else ""
        )
        return f"{self.draws:,} draws{repeats}"

    def draw_of(self, replicate: int) -> int:
        """The draw replicate ``replicate`` runs with: ``replicate % draws``."""
        return replicate % len(self.rows)

    def overrides(self, draw: int) -> dict[str, Any]:
        """Draw ``draw`` as dotted-key overrides."""
        return dict(zip(self.columns, self.rows[draw], strict=True))

    def manifest(self) -> dict[str, Any]:
        """The ``parameters`` entry of a run's manifest."""
        return {
            "source": "posterior",
            "path": self.path,
            "sha256": self.sha256,
            "draws": self.draws,
            "columns": list(self.columns),
            **({"left_out": list(self.left_out)} if self.left_out else {}),
            **({"problems": list(self.problems)} if self.problems else {}),
        }


def posterior_path(value: str) -> Path | None:
    """The file a ``parameters`` value names (None for ``defaults``)."""
    return resolve_posterior(value)[0]


def resolve_posterior(value: str) -> tuple[Path | None, str]:
    """The file a ``parameters`` value names (None for ``defaults``), and a note when
    ``posterior`` passes over one's own calibration for the shipped one (else "").

    ``posterior`` is ``results/calibration/full/`` if that holds a complete calibration at the
    documented settings, on the current record, calibration file and model (checked by
    :func:`sim.calibration.shipped.calibration_problems`); otherwise the shipped posterior.
    """
    value = str(value).strip()
    if value == DEFAULTS:
        return None, ""
    if value == "posterior":
        own = DEFAULT_CALIBRATION_DIR / POSTERIOR_FILE
        shipped = SHIPPED_POSTERIOR_DIR / POSTERIOR_FILE
        if not own.exists():
            return shipped, ""
        from sim.calibration.shipped import checked_problems

        problems = checked_problems(DEFAULT_CALIBRATION_DIR)
        if not problems:
            return own.resolve(), ""
        return shipped, (
            f"parameters=posterior: using the shipped posterior, not {DEFAULT_CALIBRATION_DIR}/ "
            f"({'; '.join(problems)}); give parameters={DEFAULT_CALIBRATION_DIR} to use it anyway"
        )
    path = Path(value).expanduser()
    if path.is_dir():
        return path / POSTERIOR_FILE, ""
    return path, ""


def numeric_parameters() -> dict[str, ParamInfo]:
    """Every numeric model parameter by dotted key (what a posterior column may be)."""
    return {
        info.path: info
        for info in iter_params(ModelParams())
        if info.type in ("int", "float") and info.choices is None
    }


def load_posterior(value: str) -> Posterior | None:
    """Read and check the posterior a ``parameters`` value names (None for ``defaults``).

    Raises :class:`ParameterError` (one line) for a missing or unreadable file, a file without
    draws, a column that is not a numeric model parameter, or a value outside its bounds.
    """
    path, note = resolve_posterior(value)
    if path is None:
        return None
    where = f"parameters={value}"
    calibration = _calibration_manifest(path.parent)
    unfinished = _unfinished_calibration(path.parent, calibration)
    if unfinished:
        raise ParameterError(f"{where}: {unfinished}")
    if not path.exists():
        hint = (
            " (run the calibration first, or give parameters=defaults)"
            if str(value).strip() == "posterior"
            else ""
        )
        raise ParameterError(f"{where}: no posterior file {path}{hint}")
    if not path.is_file():
        raise ParameterError(f"{where}: {path} is not a file")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ParameterError(f"{where}: cannot read {path} ({exc.strerror or exc})") from None
    problems = tuple(_calibration_problems(path.parent, calibration))
    if problems and str(value).strip() == "posterior":
        raise ParameterError(
            f"{where}: {path.parent}/ is not a calibration of this model and record "
            f"({'; '.join(problems)}): calibrate again (`cpec-sim calibrate --jobs 2`), or give "
            f"parameters={path.parent} to use it anyway"
        )
    if problems:
        note = " ".join(
            part
            for part in (
                note,
                f"{where}: {path.parent}/ is not the documented calibration of this model "
                f"and record ({'; '.join(problems)}): the run's intervals are "
                "conditional on it (recorded in the run's manifest)",
            )
            if part
        )
    table = _read_table(data, path, where)
    names = list(table.column_names)
    params = numeric_parameters()
    placebos = _placebo_columns(calibration)
    left_out = tuple(c for c in names if c in placebos)  # recorded in the run's manifest
    columns = [c for c in names if c != DRAW_COLUMN and c not in left_out]
    if not columns:
        raise ParameterError(
            f"{path}: no parameter columns (expected dotted keys such as groups.bla.attack_rate)"
        )
    for column in columns:
        if column not in params:
            close = difflib.get_close_matches(column, list(params), n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            raise ParameterError(
                f"{path}: column {column!r} is not a numeric model parameter{hint}: "
                "see `cpec-sim run --cfg job` for the keys"
            )
    if table.num_rows == 0:
        raise ParameterError(f"{path}: the posterior has no draws (0 rows)")
    order = _draw_order(table, path) if DRAW_COLUMN in names else list(range(table.num_rows))
    values: list[list[float | int]] = []
    for column in columns:
        info = params[column]
        col = table.column(column)
        if not _is_number_type(col.type):
            raise ParameterError(f"{path}: column {column!r} holds {col.type}, not numbers")
        raw = col.to_pylist()
        converted: list[float | int] = []
        for row, v in enumerate(raw):
            if v is None or (isinstance(v, float) and math.isnan(v)):
                raise ParameterError(f"{path}: row {row}: {column} is missing (null or NaN)")
            check = dataclasses.replace(info, value=v)
            try:
                check_value(check)
            except ParameterError as exc:
                raise ParameterError(f"{path}: row {row}: {exc}") from None
            converted.append(int(v) if info.type == "int" else float(v))
        values.append([converted[i] for i in order])
    rows = tuple(tuple(vals) for vals in zip(*values, strict=True))
    return Posterior(
        path=str(path.resolve()),
        sha256=hashlib.sha256(data).hexdigest(),
        columns=tuple(columns),
        rows=rows,
        note=note,
        left_out=left_out,
        problems=problems,
    )


def _calibration_problems(folder: Path, manifest: dict[str, Any] | None) -> list[str]:
    """Why the calibration in ``folder`` is not one of this model, record and the documented
    settings (:func:`sim.calibration.shipped.checked_problems`); none for a posterior file
    without a calibration's manifest (nothing to check it against)."""
    if manifest is None:
        return []
    from sim.calibration.shipped import checked_problems

    return checked_problems(folder)


def _calibration_manifest(folder: Path) -> dict[str, Any] | None:
    """The manifest of the calibration in ``folder`` ({} if unreadable); None if there is
    none (a posterior file of one's own)."""
    path = folder / "manifest.json"
    if not path.is_file():
        return None
    from sim.files import read_json_object

    return read_json_object(path) or {}


def _placebo_columns(manifest: dict[str, Any] | None) -> set[str]:
    """The placebo keys of a calibration, as its manifest records them; for a calibration
    made before manifests did, the default calibration file's, if it calibrated exactly that
    file's space (the shipped one). None for a posterior file of one's own."""
    if manifest is None:
        return set()
    if isinstance(manifest.get("placebo"), list):
        return {str(key) for key in manifest["placebo"]}
    if "space" not in manifest:
        return set()
    from sim.calibration.space import load_space
    from sim.explore.space import StudyError

    try:
        space = load_space()
    except StudyError:  # a broken calibration file: keep every column
        return set()
    return set(space.placebo_keys) if manifest["space"] == space.as_dict() else set()


def _unfinished_calibration(folder: Path, manifest: dict[str, Any] | None) -> str:
    """Why the calibration in ``folder`` (its ``manifest``) cannot be used yet ('' if it
    finished, or if there is none: a posterior file of one's own has no manifest)."""
    if manifest is None:
        return ""
    status = manifest.get("status")
    if status is None or status == "complete":
        return ""
    from sim.calibration.settings import resume_command

    line = resume_command(manifest, folder)
    how = f"`{line}`" if line else "the settings it was made with"
    return (
        f"the calibration in {folder} did not finish (status {status!r}): its posterior "
        f"may be an earlier one; resume it with {how}, or give another posterior"
    )


def parquet_table(data: bytes) -> Any:
    """The Parquet table in ``data``, read on this thread.

    ``pq.read_table`` reads through Arrow's dataset layer, which starts a thread of its own
    even with ``use_threads=False`` (so does reading from a path); a process that exited a
    moment later (a run refused after reading its posterior) then aborted in a few exits of a
    hundred ("terminate called without an active exception", exit 134: apache/arrow#34314,
    pyarrow 26). ``ParquetFile`` over the bytes, read without threads, starts none."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    return pq.ParquetFile(pa.BufferReader(data)).read(use_threads=False)


def _read_table(data: bytes, path: Path, where: str) -> Any:
    """:func:`parquet_table` of ``data`` (read from ``path``); :class:`ParameterError` (one
    line) if it is not Parquet."""
    try:
        return parquet_table(data)
    except Exception as exc:  # pyarrow raises several types; report one line
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ParameterError(f"{where}: {path} is not a readable Parquet file ({first})") from None


def _is_number_type(t: Any) -> bool:
    import pyarrow.types as pt

    return bool(pt.is_integer(t) or pt.is_floating(t))


def _draw_order(table: Any, path: Path) -> list[int]:
    """Row order by the ``draw`` column, which must number the rows 0..n-1."""
    import pyarrow.types as pt

    col = table.column(DRAW_COLUMN)
    n = table.num_rows
    draws = col.to_pylist()
    if not pt.is_integer(col.type) or sorted(draws) != list(range(n)):
        raise ParameterError(
            f"{path}: column 'draw' must number the rows 0..{n - 1} (integers, each once)"
        )
    order = [0] * n
    for row, d in enumerate(draws):
        order[d] = row
    return order


def check_posterior(posterior: Posterior, params: ModelParams, replicates: int) -> None:
    """Check the draws a run of ``replicates`` uses, applied to ``params`` (the cross-parameter
    orderings, e.g. China's thresholds); raise :class:`ParameterError` naming the row."""
    from sim.config import with_overrides

    for draw in range(min(posterior.draws, replicates)):
        try:
            with_overrides(params, posterior.overrides(draw))
        except ParameterError as exc:
            raise ParameterError(f"{posterior.path}: row {draw}: {exc}") from None


def refuse_drawn_keys(posterior: Posterior, keys: Iterable[str], value: str) -> None:
    """Raise :class:`ParameterError` (one line) if the command line sets one of ``keys`` that
    the posterior draws in every replicate: the value would not be used, yet the run's folder,
    ``config.yaml`` and labels would name it (runs differing only there read as "no effect")."""
    given = set(keys)
    drawn = [c for c in posterior.columns if c in given]
    if drawn:
        raise ParameterError(
            f"{drawn[0]} is not allowed with parameters={value}: the posterior draws it in "
            "every replicate, so the value given would not be used (its folder, config.yaml "
            "and labels would still name it); drop it, or run with parameters=defaults"
        )


def shadowed_keys(posterior: Posterior, scenario: str, overrides: list[str]) -> list[str]:
    """Keys the scenario file or the command line sets that the posterior replaces."""
    from sim.config import load_scenario
    from sim.params import flatten

    data = {k: v for k, v in load_scenario(scenario).items() if k != "scenario"}
    given = set(flatten(data)) | {str(o).split("=", 1)[0].lstrip("+~") for o in overrides}
    return [c for c in posterior.columns if c in given]


# --- describing the source (manifests, compare, report, validate) --------------------------
DEFAULTS_TEXT = "model randomness only (parameters fixed at the values of the run, none drawn)"


def parameters_entry(posterior: Posterior | None) -> dict[str, Any]:
    """The manifest's ``parameters`` entry."""
    return {"source": DEFAULTS} if posterior is None else posterior.manifest()


def manifest_parameters(manifest: dict[str, Any]) -> dict[str, Any]:
    """A manifest's ``parameters`` entry (runs stored before the key ran with the defaults)."""
    entry = manifest.get("parameters")
    return dict(entry) if isinstance(entry, dict) else {"source": DEFAULTS}


def uncertainty_text(entry: dict[str, Any], draws_used: int | None = None) -> str:
    """What a run's intervals include, from its ``parameters`` entry (and how many of the
    posterior's draws its replicates used, when known: ``K of N draws`` if fewer than all)."""
    if entry.get("source") != "posterior":
        return DEFAULTS_TEXT
    return (
        "model randomness and the uncertainty of the calibrated parameters "
        f"(posterior: {entry.get('path', '?')}, {draws_text(entry.get('draws'), draws_used)}"
        f"{placebo_text(entry)}; the values scenario effects rest on stay fixed)"
    )


def placebo_text(entry: dict[str, Any]) -> str:
    """``, without the placebo KEY`` for a run that left its calibration's placebo out."""
    left_out = entry.get("left_out") or []
    return f", without the placebo {', '.join(left_out)}" if left_out else ""


def _without(left_out: Any) -> str:
    """What a posterior's key adds for the columns it left out."""
    return "".join(f" without {c}" for c in left_out or [])


def draws_text(draws: Any, used: Any = None) -> str:
    """``N draws``, or ``K of N draws`` when only K of them were used."""
    if not isinstance(draws, int):
        return f"{draws if draws is not None else '?'} draws"
    if isinstance(used, int) and used < draws:
        return f"{used:,} of {draws:,} draws"
    return f"{draws:,} draws"


def draws_used(summary: Any) -> int | None:
    """How many distinct posterior draws a run's replicates used (its summary table's
    ``posterior_draw`` column, from a DataFrame or a mapping of column arrays; None for a
    run without one)."""
    import numpy as np

    if "posterior_draw" not in summary:
        return None
    column = np.asarray(summary["posterior_draw"])
    return len(np.unique(column[column >= 0]))


def source_key(entry: dict[str, Any]) -> tuple[str, str]:
    """Runs with equal keys have comparable intervals (same source, same posterior file)."""
    return (
        str(entry.get("source", DEFAULTS)),
        str(entry.get("sha256", "")) + _without(entry.get("left_out")),
    )


NOT_COMPARABLE = (
    "the runs' intervals are not comparable: they include different uncertainty "
    "(parameters fixed at the values of each run, or drawn from different posteriors)"
)
