"""What makes the model besides its parameters, as hashes: the compiled cache's key and a run's.

Light to import (no Numba): the command line hashes a run's configuration before it loads
the compiled rules (:mod:`sim.compiled`), and a run whose replicates are computed by worker
processes never loads them in its own.
"""

from __future__ import annotations

import hashlib
import os
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from sim.files import user_cache_dir


def _sources(folder: Path) -> list[Path]:
    """The Python files of ``folder``, not hidden ones (an editor's ``.#name.py`` lock, a
    dangling link, broke every run)."""
    return [p for p in folder.glob("*.py") if not p.name.startswith(".")]


#: Files whose code or constants compiled rules use. Numba keys each function's cache on its
#: own file only, so a changed callee in another file would be missed: the cache directory is
#: named by a hash of all of them, and any change compiles everything afresh.
_PACKAGE = Path(__file__).resolve().parent
RULE_SOURCES = sorted(
    [
        *(
            _PACKAGE / f
            for f in (
                "compiled.py",
                "world.py",
                "cells.py",
                "attacks.py",
                "society.py",
                "week.py",
                "engine.py",
                "record.py",
                # The parameter classes' fields, in order, are the named tuples that compiled
                # code reads by position: a field added or moved there alone left cached code
                # reading the wrong parameter (found by a review).
                "params.py",
                "jit.py",  # how the rules are decorated
            )
        ),
        _PACKAGE / "draws.py",
        *_sources(_PACKAGE / "rules"),
    ]
)


#: Modules of ``sim`` that the rule sources import but whose code and constants no compiled
#: rule reads (Python-level checks, loading the places, the cache's folder, the Mesa model):
#: a change there needs no new compiled cache. Any other module a rule source imports must be
#: a rule source itself, or a changed constant there would leave cached code using the old
#: one (``tests/test_engine.py`` checks the imports; helper-187).
NOT_READ_BY_COMPILED_RULES = frozenset(
    {"sim.aot", "sim.config", "sim.model", "sim.numba_cache", "sim.space"}
)


def cache_root() -> Path:
    """Where the compiled rules are cached, in a folder per :func:`rules_fingerprint`:
    ``$CPEC_NUMBA_CACHE``, else ``$XDG_CACHE_HOME/cpec-sim/numba``, else ``~/.cache/...``."""
    if os.environ.get("CPEC_NUMBA_CACHE"):
        return Path(os.environ["CPEC_NUMBA_CACHE"])
    return user_cache_dir("numba")


#: The data the model reads besides its parameters (sim/space.py): places, links, groups and
#: investors. Not part of the compiled cache's key (no rule reads them), but of a run's.
MODEL_DATA = tuple(
    _PACKAGE / "data" / name for name in ("places.csv", "edges.csv", "groups.csv", "investors.csv")
)


def model_fingerprint() -> str:
    """A hash of what makes the model besides its parameters: the rules' sources (and
    Numba's version, :func:`rules_fingerprint`), the data files and the code that reads them,
    and the Mesa model's own code (``backend=mesa``). A run or study made under another
    fingerprint is another model's: not resumed. Byte for byte, so a comment or a line ending
    counts too: a new run where a resume would have been safe, never the other way round."""
    h = hashlib.sha256(rules_fingerprint().encode())
    mesa = (_PACKAGE / "model.py", *sorted(_sources(_PACKAGE / "agents")))
    for path in (*MODEL_DATA, _PACKAGE / "space.py", *mesa):
        h.update(path.name.encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:16]


def _numba_version() -> str:
    """Numba's version, from its installed metadata (without importing it); from the module
    where there is none (a source tree on ``PYTHONPATH``)."""
    try:
        return version("numba")
    except PackageNotFoundError:
        import numba

        return str(numba.__version__)


def rules_fingerprint() -> str:
    """A hash of every rule source (and Numba's version): the cache's key."""
    h = hashlib.sha256(_numba_version().encode())
    for path in RULE_SOURCES:
        h.update(path.name.encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:16]
