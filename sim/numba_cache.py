"""Where Numba caches the compiled rules, and one process at a time writing its index.

Imported before any rule is decorated (:func:`sim.jit.load_numba` imports it first): Numba
chooses a function's cache folder when the function is decorated, so a module
decorated before ``numba.config.CACHE_DIR`` was set caches beside its source instead (the
draws did, in ``sim/__pycache__``, outside the folder named by the rules' hash).

The folder is ``$CPEC_NUMBA_CACHE``, else ``$XDG_CACHE_HOME/cpec-sim/numba``, else
``~/.cache/cpec-sim/numba``, then a hash of every rule source
(:func:`sim.fingerprint.rules_fingerprint`); ``$NUMBA_CACHE_DIR``, if set, wins.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import numba

from sim import fingerprint
from sim.fingerprint import cache_root
from sim.refcounts import count_plainly_if_asked

#: The lock file in each cache folder that :func:`locked_saves` holds while saving.
LOCK_NAME = ".index.lock"


__all__ = ["LOCK_NAME", "cache_root", "locked_saves"]


@contextmanager
def _held(folder: str) -> Iterator[None]:
    """An exclusive lock on ``folder``'s :data:`LOCK_NAME`, across processes (``flock``);
    none where it cannot be taken (another user's lock file, a file system without locks):
    saving as Numba does beats failing the run."""
    import fcntl

    try:
        os.makedirs(folder, exist_ok=True)
        lock = open(os.path.join(folder, LOCK_NAME), "a")  # noqa: SIM115 (closed below)
    except OSError:
        yield
        return
    with lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX)
        except OSError:
            yield
            return
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def locked_saves(cache_file: type) -> None:
    """Make ``cache_file``'s ``save`` (Numba's ``IndexDataCacheFile``) hold the folder's lock.

    Numba saves a compiled function by reading its cache index, adding the new signature under
    the first free data file name, and writing both back, without a lock: two processes adding
    *different* signatures of one function at once read the same index, take the same name,
    and the later writer's data then stands under the other's signature too (a later load
    would run code compiled for other argument types). Held, the second reads the first's
    entry and takes the next name. Loading needs no lock: Numba replaces each file whole.
    """
    save: Callable[..., Any] = cache_file.save  # type: ignore[attr-defined]
    if getattr(save, "locked", False):
        return

    def save_locked(self: Any, key: Any, data: Any) -> None:
        with _held(self._cache_path):
            save(self, key, data)

    save_locked.locked = True  # type: ignore[attr-defined]
    save_locked.unlocked = save  # type: ignore[attr-defined]
    cache_file.save = save_locked  # type: ignore[attr-defined]


if not os.environ.get("NUMBA_CACHE_DIR"):  # set before any rule is decorated
    numba.config.CACHE_DIR = str(cache_root() / fingerprint.rules_fingerprint())  # type: ignore[attr-defined]
if os.name == "posix":  # flock; elsewhere Numba's own saving
    from numba.core.caching import IndexDataCacheFile

    locked_saves(IndexDataCacheFile)
count_plainly_if_asked()  # before the runtime is built (:mod:`sim.refcounts`)
