"""The engine's entry points compiled ahead of time: a worker starts without loading Numba's cache.

The compiled functions that Python calls in a replicate (:data:`ENTRY_POINTS`: the cells'
burn-in, China's first ladder step, week 0 and the weekly loop) are the same rule functions
compiled by Numba's ahead-of-time compiler (``numba.pycc``) into one extension module, for
the argument types of the command line's replicates, next to Numba's cache of the same rules
(:mod:`sim.numba_cache`; a change to any rule source, or to this file, names another folder).
``make``'s set-up builds it (``python -m sim.aot``; a C compiler is needed, ~20 s).

Loading Numba's cache of the engine makes a process load Numba's typing and lowering
registries and link the cached code (~0.2 s of a worker's start); the module loads in a few
milliseconds. Its code is the same functions compiled by the same Numba, and gives the same
results bit for bit (``tests/test_aot.py``). :class:`sim.compiled.Calls` uses it where the
argument types are those it was built for and the process counts references plainly, as the
module does (:mod:`sim.refcounts`: cpec-sim's commands and workers); elsewhere (keyed
streams, a notebook's own process, no module built, ``CPEC_AOT=0``) the rules run from
Numba's cache as before.
"""

from __future__ import annotations

import hashlib
import importlib.machinery
import importlib.util
import os
import pickle
import shutil
import sys
import sysconfig
import threading
import warnings
from pathlib import Path
from typing import Any

#: The compiled functions Python calls in a replicate, as ``module:function``.
ENTRY_POINTS = (
    "sim.cells:burn_in",
    "sim.rules.china:ladder_step",
    "sim.week:first_week_state",
    "sim.engine:run_weeks",
)
#: The extension module's name (its file is this name and the interpreter's suffix).
MODULE = "cpec_engine"
SIGNATURES = "signatures.pickle"
#: Set to "0" in the environment: never use the module (the rules from Numba's cache).
ENV = "CPEC_AOT"


def folder() -> Path:
    """Where the module for these rules, this file and this interpreter lives."""
    from sim.fingerprint import rules_fingerprint
    from sim.numba_cache import cache_root

    h = hashlib.sha256(Path(__file__).read_bytes())
    h.update(sys.version.encode())
    h.update(sysconfig.get_platform().encode())
    return cache_root() / rules_fingerprint() / f"engine-{h.hexdigest()[:12]}"


def module_file(where: Path) -> Path:
    return where / (MODULE + (sysconfig.get_config_var("EXT_SUFFIX") or ".so"))


_LOADED: dict[str, Any] = {}


def entry(fn: Any, signature: tuple[Any, ...]) -> Any:
    """The module's compiled ``fn`` if it was built for ``signature`` (Numba types of the
    arguments) and may be used in this process; else None."""
    if "module" not in _LOADED:
        _LOADED["module"] = _load()
    loaded = _LOADED["module"]
    if loaded is None:
        return None
    module, signatures = loaded
    name = fn.py_func.__name__
    if signatures.get(name) != signature:
        return None
    return getattr(module, name, None)


def _load() -> tuple[Any, dict[str, Any]] | None:
    """The built module and its signatures, if there is one and this process may use it."""
    from sim.refcounts import counts_plainly

    if os.environ.get(ENV) == "0" or not counts_plainly():
        return None
    where = folder()
    path = module_file(where)
    try:
        signatures = pickle.loads((where / SIGNATURES).read_bytes())
        loader = importlib.machinery.ExtensionFileLoader(MODULE, str(path))
        spec = importlib.util.spec_from_file_location(MODULE, path, loader=loader)
        if spec is None:
            return None
        module = importlib.util.module_from_spec(spec)
        loader.exec_module(module)
    except Exception:  # none built here (no C compiler), or unreadable: Numba's cache
        return None
    return module, signatures


def build() -> Path:
    """Compile :data:`ENTRY_POINTS` into the module in :func:`folder`; return its file.

    The argument types are those of a replicate of the default parameters, found by running
    one (which loads, or compiles, the rules from Numba's cache). Written to a temporary
    folder and renamed whole into place: a process never loads half a module.
    """
    from sim.refcounts import count_plainly

    if not count_plainly():
        raise RuntimeError("Numba's runtime was built with atomic counts before the build")
    where = folder()
    if _complete(where):
        return module_file(where)
    shutil.rmtree(where, ignore_errors=True)  # a folder left without its module or signatures
    signatures = _replicate_signatures()
    tmp = where.with_name(f"{where.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        exported = _compile(signatures, tmp)
        (tmp / SIGNATURES).write_bytes(pickle.dumps(exported))
        try:
            tmp.rename(where)
        except OSError:  # another process built it meanwhile
            if not _complete(where):
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    _LOADED.pop("module", None)  # this process may load it now
    return module_file(where)


def _complete(where: Path) -> bool:
    """Whether ``where`` holds a module and the signatures it was built for."""
    try:
        pickle.loads((where / SIGNATURES).read_bytes())
    except Exception:
        return False
    return module_file(where).is_file()


def _replicate_signatures() -> dict[Any, tuple[Any, ...]]:
    """Each entry point's argument types in a replicate of the default parameters (single
    streams), as :class:`sim.compiled.Calls` sees them."""
    from numba import typeof

    from sim.compiled import Calls
    from sim.engine import run_replicate
    from sim.params import ModelParams

    wanted = {_function(name) for name in ENTRY_POINTS}
    seen: dict[Any, tuple[Any, ...]] = {}
    call = Calls.__call__
    building = threading.get_ident()

    def recording(self: Calls, fn: Any, *args: Any) -> Any:
        if fn in wanted and fn not in seen and threading.get_ident() == building:
            seen[fn] = tuple(typeof(a) for a in args)
        return call(self, fn, *args)

    try:
        Calls.__call__ = recording  # type: ignore[method-assign]
        run_replicate(ModelParams(), weeks=4, seed=0)
    finally:
        Calls.__call__ = call  # type: ignore[method-assign]
    missing = wanted - set(seen)
    if missing:
        raise RuntimeError(f"not called in a replicate: {sorted(f.__name__ for f in missing)}")
    return seen


def _function(name: str) -> Any:
    module, attribute = name.split(":")
    return getattr(importlib.import_module(module), attribute)


def _compile(signatures: dict[Any, tuple[Any, ...]], out: Path) -> dict[str, tuple[Any, ...]]:
    """Compile each dispatcher's Python function for its signature into ``out``.

    ``numba.pycc`` compiles every export with one set of compiler flags, and inlining a rule
    turns SSA off in its caller's flags, so an export compiled after one that inlines failed
    to type: each export gets its own copy of the flags.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pycc's pending deprecation
        import numba.pycc.compiler as pycc_compiler
        from numba.pycc import CC

    compile_extra = pycc_compiler.compile_extra

    def own_flags(
        typing: Any, target: Any, func: Any, args: Any, ret: Any, flags: Any, *a: Any, **k: Any
    ) -> Any:
        return compile_extra(typing, target, func, args, ret, flags.copy(), *a, **k)

    cc = CC(MODULE)
    cc.output_dir = str(out)
    cc.verbose = False
    exported = {}
    for fn, signature in signatures.items():
        name = fn.py_func.__name__
        fn.compile(signature)  # its return type (loaded from Numba's cache, or compiled)
        cc.export(name, fn.overloads[signature].signature)(fn.py_func)
        exported[name] = signature
    pycc_compiler.compile_extra = own_flags  # type: ignore[assignment]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            cc.compile()
    finally:
        pycc_compiler.compile_extra = compile_extra
    return exported


def main() -> int:
    """``python -m sim.aot``: build the module (one line either way; 1 if it could not)."""
    try:
        path = build()
    except Exception as exc:  # no C compiler, say: the rules run from Numba's cache
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        print(
            f"the engine's entry points were not compiled ahead of time ({reason}); runs load "
            "them from Numba's cache instead (~0.25 s more per worker)",
            file=sys.stderr,
        )
        return 1
    print(f"engine compiled ahead of time: {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
