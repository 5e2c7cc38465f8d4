"""The engine's entry points compiled ahead of time: a worker starts without loading Numba's cache.

The compiled functions that Python calls in a replicate (:data:`ENTRY_POINTS`: the cells'
burn-in, China's first ladder step, week 0 and the weekly loop) are the same rule functions
compiled by Numba's ahead-of-time compiler (``numba.pycc``) into one extension module, for
the argument types of the command line's replicates, next to Numba's cache of the same rules
(:mod:`sim.numba_cache`; a change to any rule source, or to this file, names another folder).
``make``'s set-up builds it (``python -m sim.aot``; a C compiler is needed, ~20 s).

Loading Numba's cache of the engine makes a process import Numba (~0.3 s), load its typing
and lowering registries and link the cached code (~0.2 s more); the module loads in a few
milliseconds and needs no Numba, so a worker that runs its replicates through it never imports
Numba (:mod:`sim.jit`). Its code is the same functions compiled by the same Numba, and gives
the same results bit for bit (``tests/test_aot.py``). :class:`sim.compiled.Calls` uses it
where the arguments' types are those it was built for (:func:`arguments_key`, read without
Numba) and the process counts references plainly, as the module does (:mod:`sim.refcounts`:
cpec-sim's commands and workers); elsewhere (keyed streams, a notebook's own process, no
module built, ``CPEC_AOT=0``, ``NUMBA_DISABLE_JIT=1``) the rules run from Numba's cache as
before.
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
#: Each entry point's Numba signature, as built (read by the build only: unpickling imports
#: Numba).
SIGNATURES = "signatures.pickle"
#: Each entry point's :func:`arguments_key`, as built (read by every process that loads it).
KEYS = "keys.pickle"
#: Set to "0" in the environment: never use the module (the rules from Numba's cache).
ENV = "CPEC_AOT"


def folder() -> Path:
    """Where the module for these rules, this file and this interpreter lives: beside Numba's
    cache of the rules (``$NUMBA_CACHE_DIR``, where a user chose Numba's own folder)."""
    from sim.fingerprint import cache_root, rules_fingerprint

    h = hashlib.sha256(Path(__file__).read_bytes())
    h.update(sys.version.encode())
    h.update(sysconfig.get_platform().encode())
    chosen = os.environ.get("NUMBA_CACHE_DIR")
    root = Path(chosen) / "cpec-sim" if chosen else cache_root()
    return root / rules_fingerprint() / f"engine-{h.hexdigest()[:12]}"


def module_file(where: Path) -> Path:
    return where / (MODULE + (sysconfig.get_config_var("EXT_SUFFIX") or ".so"))


_LOADED: dict[str, Any] = {}


def entry(fn: Any, args: tuple[Any, ...]) -> Any:
    """The module's compiled ``fn`` if it was built for the types of ``args`` and may be
    used in this process; else None."""
    if "module" not in _LOADED:
        _LOADED["module"] = _load()
    loaded = _LOADED["module"]
    if loaded is None:
        return None
    module, keys = loaded
    name = fn.py_func.__name__
    key = keys.get(name)
    if key is None or arguments_key(args) != key:
        return None
    return getattr(module, name, None)


class _Unknown(Exception):
    """An argument whose Numba type :func:`arguments_key` does not read."""


def arguments_key(args: tuple[Any, ...]) -> tuple[Any, ...] | None:
    """What Numba's type of each argument depends on, read without Numba (None if an argument
    is of a kind not read here: such calls go to Numba).

    Never coarser than Numba's types for the kinds it reads, so that equal keys mean equal
    signatures: an array's dtype, dimensions, layout (as Numba names it: C, F or A),
    writability and alignment; a float, an int that fits 63 bits, a bool; NumPy's generator;
    a tuple or named tuple (its class) of these. ``tests/test_aot.py`` checks it against
    Numba's ``typeof``.
    """
    try:
        return tuple(_argument_key(a) for a in args)
    except _Unknown:
        return None


def _argument_key(value: Any) -> Any:
    import numpy as np

    kind = type(value)
    if kind is float or kind is bool:
        return kind.__name__
    if kind is int:
        if value.bit_length() >= 64:
            raise _Unknown
        return "int"
    if kind is np.ndarray:
        flags = value.flags
        if value.dtype.fields is not None or value.dtype.hasobject:
            raise _Unknown
        layout = "C" if flags.c_contiguous else "F" if flags.f_contiguous else "A"
        return ("array", value.dtype.str, value.ndim, layout, flags.writeable, flags.aligned)
    if kind is np.random.Generator:
        return "generator"
    if isinstance(value, tuple) and (kind is tuple or hasattr(kind, "_fields")):
        return ("tuple", None if kind is tuple else kind, tuple(_argument_key(v) for v in value))
    raise _Unknown


def _load() -> tuple[Any, dict[str, Any]] | None:
    """The built module and its arguments' keys, if there is one and this process may use it
    (without importing Numba)."""
    from sim.refcounts import will_count_plainly

    if os.environ.get(ENV) == "0" or _jit_disabled() or not will_count_plainly():
        return None
    where = folder()
    path = module_file(where)
    try:
        keys = pickle.loads((where / KEYS).read_bytes())
        loader = importlib.machinery.ExtensionFileLoader(MODULE, str(path))
        spec = importlib.util.spec_from_file_location(MODULE, path, loader=loader)
        if spec is None:
            return None
        module = importlib.util.module_from_spec(spec)
        loader.exec_module(module)
    except Exception:  # none built here (no C compiler), or unreadable: Numba's cache
        return None
    return module, keys


#: The file in the working directory that Numba reads its settings from, as well as the
#: environment.
NUMBA_CONFIG_FILE = ".numba_config.yaml"


def _jit_disabled() -> bool:
    """Whether Numba is told to run the rules as Python (``NUMBA_DISABLE_JIT``, or
    ``disable_jit`` in :data:`NUMBA_CONFIG_FILE`), read as Numba reads it: Numba's own
    setting where it is imported, or a settings file is there to read; else the variable,
    an integer (anything else is 0 to Numba)."""
    if "numba" in sys.modules or os.path.exists(NUMBA_CONFIG_FILE):
        from numba.core import config

        return bool(config.DISABLE_JIT)  # type: ignore[attr-defined]
    try:
        return bool(int(os.environ.get("NUMBA_DISABLE_JIT", "0")))
    except ValueError:
        return False


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
    shutil.rmtree(where, ignore_errors=True)  # a folder left without its module or keys
    calls = _replicate_calls()
    tmp = where.with_name(f"{where.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        exported = _compile({fn: signature for fn, (signature, _) in calls.items()}, tmp)
        (tmp / SIGNATURES).write_bytes(pickle.dumps(exported))
        keys = {fn.py_func.__name__: key for fn, (_, key) in calls.items()}
        (tmp / KEYS).write_bytes(pickle.dumps(keys))
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
    """Whether ``where`` holds a module, the signatures it was built for and their keys."""
    try:
        pickle.loads((where / SIGNATURES).read_bytes())
        pickle.loads((where / KEYS).read_bytes())
    except Exception:
        return False
    return module_file(where).is_file()


def _replicate_calls() -> dict[Any, tuple[tuple[Any, ...], tuple[Any, ...]]]:
    """Each entry point's argument types in a replicate of the default parameters (single
    streams), as :class:`sim.compiled.Calls` sees them: Numba's signature and the arguments'
    key (:func:`arguments_key`)."""
    from numba import typeof

    from sim.compiled import Calls
    from sim.engine import run_replicate
    from sim.jit import load_numba
    from sim.params import ModelParams

    load_numba()  # the callers hold the dispatchers looked up here
    wanted = {_function(name) for name in ENTRY_POINTS}
    seen: dict[Any, tuple[tuple[Any, ...], tuple[Any, ...]]] = {}
    call = Calls.__call__
    building = threading.get_ident()

    def recording(self: Calls, fn: Any, *args: Any) -> Any:
        if fn in wanted and fn not in seen and threading.get_ident() == building:
            key = arguments_key(args)
            if key is None:
                raise RuntimeError(f"{fn.py_func.__name__}'s arguments have no key")
            seen[fn] = (tuple(typeof(a) for a in args), key)
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
            "them from Numba's cache instead (~0.3 s more per worker)",
            file=sys.stderr,
        )
        return 1
    print(f"engine compiled ahead of time: {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
