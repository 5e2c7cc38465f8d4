"""Writing files so that a reader never sees half of one: every result goes through here.

A file is written to a temporary name in its own folder and renamed over the target, so it is
either the old file or the whole new one. Files get the permissions a plain ``open`` would
give (``0666`` less the umask), not the ``0600`` of a temporary file, so a results folder
shared by a group stays readable to it.
"""

from __future__ import annotations

import glob
import hashlib
import json
import os
import re
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


def user_cache_dir(name: str) -> Path:
    """``$XDG_CACHE_HOME/cpec-sim/<name>``, else ``~/.cache/cpec-sim/<name>``."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "cpec-sim" / name


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


#: Mode of every result file: what ``open(path, "w")`` would create.
FILE_MODE = 0o666 & ~_umask()


@contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """A temporary path next to ``path``; renamed over ``path`` if the block succeeds.

    On any error (or Ctrl-C) the temporary file is removed and ``path`` is untouched.
    """
    tmp = temporary_path(path)
    try:
        yield tmp
        move_into_place(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def temporary_path(path: Path) -> Path:
    """A new, empty temporary file next to ``path`` (hidden, ``.tmp``: what
    :func:`remove_temporary_files` removes), to be written and then :func:`move_into_place`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    return Path(name)


def move_into_place(tmp: Path, path: Path) -> None:
    """Give the written temporary file the result files' mode and rename it over ``path``."""
    os.chmod(tmp, FILE_MODE)
    os.replace(tmp, path)


def atomic_write_bytes(path: Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically; return ``path``."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def atomic_write_text(path: Path, text: str) -> Path:
    """Write UTF-8 ``text`` to ``path`` atomically; return ``path``."""
    return atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: Path, data: Any) -> Path:
    """Write JSON atomically (sorted keys, indented); return ``path``."""
    return atomic_write_text(path, json.dumps(data, indent=2, sort_keys=True, default=str) + "\n")


def atomic_write_with(path: Path, write: Callable[[Path], None]) -> Path:
    """Let ``write(tmp)`` write the file (e.g. Parquet), then rename it over ``path``."""
    with atomic_path(path) as tmp:
        write(tmp)
    return Path(path)


def sha256_of(path: Path) -> str:
    """SHA-256 of a file's bytes (hex)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_json_object(path: Path) -> dict[str, Any] | None:
    """A JSON object read from ``path``; None if it is missing, unreadable or not an object."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def file_record(path: Path, rows: int) -> dict[str, Any]:
    """What a manifest records of a finished file: its rows and its SHA-256."""
    return {"rows": int(rows), "sha256": sha256_of(path)}


def check_file(path: Path, record: Any) -> str | None:
    """What is wrong with ``path`` against its record (None: intact)."""
    if not isinstance(record, dict) or "sha256" not in record:
        return "no checksum recorded"
    if not Path(path).is_file():
        return "missing"
    if sha256_of(path) != record["sha256"]:
        return "contents differ from the recorded checksum"
    if Path(path).suffix == ".parquet" and "rows" in record:
        import pyarrow.parquet as pq

        rows = pq.read_metadata(path).num_rows
        if rows != record["rows"]:
            return f"holds {rows} rows, the record says {record['rows']}"
    return None


def damaged_files(folder: Path, records: Any) -> dict[str, str]:
    """Files of ``folder`` that do not match their records (name -> what is wrong)."""
    if not isinstance(records, dict):
        return {}
    out = {}
    for name, record in records.items():
        problem = check_file(Path(folder) / name, record)
        if problem:
            out[name] = problem
    return out


#: Folders no command writes into (or below), whatever the user asks; /var/tmp excepted.
SYSTEM_FOLDERS = tuple(
    Path(p)
    for p in ("/bin", "/boot", "/dev", "/etc", "/lib", "/lib32", "/lib64", "/libx32", "/proc")
) + tuple(Path(p) for p in ("/run", "/sbin", "/sys", "/usr", "/var"))


def is_system_folder(path: Path) -> bool:
    """``/``, the home folder itself, or a folder in or below a system folder."""
    where = Path(path).expanduser().resolve()
    system = any(where.is_relative_to(f) for f in SYSTEM_FOLDERS)
    if where in (Path("/"), Path.home().resolve()):
        return True
    return system and not where.is_relative_to(Path("/var/tmp"))


def being_written(folder: Path) -> bool:
    """Whether a process holds ``folder``'s lock (``folder/.lock``, :func:`sim.runner.exclusive`)
    now; checked without creating anything."""
    import fcntl

    path = folder / ".lock"
    if not path.is_file():  # none, or not a lock file (a FIFO would block the open)
        return False
    try:
        fh = open(path)  # noqa: SIM115 (closed below, after the check)
    except OSError:
        return False
    with fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(fh, fcntl.LOCK_UN)
    return False


def not_a_folder_to_write(folder: Path) -> str:
    """Why ``folder`` cannot hold a command's output whatever is in it (``is a file``, ``is a
    system or home folder``, lies in a run or sweep folder), or ``""``: the first checks of
    every ``--out``."""
    if folder.exists() and not folder.is_dir():
        return "is a file"
    if is_system_folder(folder):
        return "is a system or home folder"
    holder = results_folder_holding(folder)
    if holder is not None:
        return (
            f"lies in {holder}, a run or sweep folder (a file of another command there "
            "would stop it from being re-run)"
        )
    return ""


#: What marks a folder as a run's (besides a manifest cpec-sim wrote) or a sweep's.
RESULTS_MARKS = ("summary.parquet", "sweep.json", "multirun.yaml")


def results_folder_holding(path: Path) -> Path | None:
    """The nearest folder at or above ``path`` (its real path) that holds a run of cpec-sim
    (its manifest or ``summary.parquet``) or a sweep (``sweep.json``, Hydra's
    ``multirun.yaml``), if any."""
    where = Path(os.path.realpath(Path(path).expanduser()))
    for folder in (where, *where.parents):
        if _holds_results(folder):
            return folder
    return None


def _holds_results(folder: Path) -> bool:
    """A run's or sweep's marks in ``folder``: also those of a run interrupted before its
    summary and whose manifest was then lost or damaged (its chunks' markers, Hydra's record
    beside its config.yaml, an unreadable manifest)."""
    if any((folder / mark).is_file() for mark in RESULTS_MARKS):
        return True
    manifest = folder / "manifest.json"
    if manifest.is_file():
        data = read_json_object(manifest)
        if data is not None and data.get("package") == "cpec-sim":
            return True
        if data is None and (folder / "chunks").is_dir():  # a damaged manifest of ours
            return True
    if holds_run_chunks(folder):
        return True
    return (folder / ".hydra").is_dir() and (folder / "config.yaml").is_file()


def holds_run_chunks(folder: Path) -> bool:
    """Whether ``folder/chunks`` holds a finished chunk of a run (its marker lists
    replicates; a study's chunks list points)."""
    chunks = folder / "chunks"
    if not chunks.is_dir():
        return False
    marker = next(iter(sorted(chunks.glob("*.done.json"))), None)
    return marker is not None and "replicates" in (read_json_object(marker) or {})


#: What a run's or a study's ``chunks/`` holds: each chunk's tables and marker
#: (``00012.summary.parquet``, ``00012.done.json``), and a stopped writer's temporary files.
_CHUNK_FILE = re.compile(r"[0-9]{5,}\.[a-z_]+\.(parquet|json)|\..+\.tmp")


#: What file browsers and notebooks leave in any folder they show: never a user's work.
LITTER = frozenset({".DS_Store", "Thumbs.db", "desktop.ini", ".ipynb_checkpoints"})


def not_chunk_files(folder: Path) -> list[str]:
    """The names in ``folder/chunks`` that no run or study writes there (a user's file: a
    folder holding only ``chunks/`` had counted as ours whatever was in it)."""
    chunks = folder / "chunks"
    if not chunks.is_dir():
        return []
    return sorted(
        f"chunks/{p.name}"
        for p in chunks.iterdir()
        if not (_CHUNK_FILE.fullmatch(p.name) and p.is_file()) and p.name not in LITTER
    )


def unwritable(folder: Path) -> str:
    """Why ``folder`` (or, if it does not exist yet, its nearest existing parent) cannot be
    written, or ``""``. Tried with a temporary folder made and removed at once: ``os.access``
    misses read-only mounts and immutable folders, and as root every mode."""
    where = folder.resolve()
    existing = next(p for p in (where, *where.parents) if p.exists())
    if not existing.is_dir():
        return f"{existing} is not a folder"
    try:
        os.rmdir(tempfile.mkdtemp(dir=existing, prefix=".cpec-sim-check-"))
    except OSError as err:
        return f"cannot write in {existing} ({err.strerror or type(err).__name__})"
    return ""


def remove_temporary_files(folder: Path) -> None:
    """Delete temporary files a stopped writer may have left in ``folder`` (not finished ones)."""
    for tmp in Path(folder).glob(".*.tmp"):
        tmp.unlink(missing_ok=True)


#: A temporary file this old was left by a stopped writer: each lives while one file is written.
STALE_TEMPORARY_S = 600.0


def remove_stale_temporary_files(folder: Path, names: Iterable[str]) -> None:
    """Delete the temporary files of ``names`` (:func:`temporary_path`'s) in ``folder`` that
    were last written over :data:`STALE_TEMPORARY_S` ago: left by a writer that was killed,
    where no lock says that none is writing now (another command's are not touched)."""
    now = time.time()
    for name in names:
        for tmp in Path(folder).glob(f".{glob.escape(name)}.*.tmp"):
            try:
                if now - tmp.stat().st_mtime > STALE_TEMPORARY_S:
                    tmp.unlink()
            except OSError:
                continue
