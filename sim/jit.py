"""The rules' Numba functions, made when a process first needs Numba rather than at import.

Importing Numba costs a process ~0.3 s (LLVM's library, Numba's typing and lowering
registries). A worker that runs its replicates through the engine compiled ahead of time
(:mod:`sim.aot`) never needs it, so the rule modules declare their compiled functions and
overloads here (:func:`jit`, :func:`overload`) and Numba makes them only when something asks
for one (:func:`load_numba`): a rule called from Python or through :class:`sim.compiled.Calls`
without the module, an attribute of a rule's dispatcher read, a test.

:func:`load_numba` imports Numba (after :mod:`sim.numba_cache` has named the cache's folder and
chosen how references are counted), registers the overloads, decorates every declared function
in the order it was declared, and puts each dispatcher in place of its declaration in every
module that holds it, so that compiled callers find dispatchers among their globals (and
inline the rules declared ``inline="always"``). A :class:`Deferred` held anywhere else
behaves as its dispatcher. Functions declared after Numba is loaded are decorated at once.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from typing import Any

#: Every function declared before Numba was loaded, in the order declared.
_DECLARED: list[Deferred] = []
#: Every overload declared before Numba was loaded: (Python function, implementation, options).
_OVERLOADS: list[tuple[Callable[..., Any], Callable[..., Any], dict[str, Any]]] = []
_LOCK = threading.RLock()
_STATE = {"loaded": False}


class Deferred:
    """A rule's Numba dispatcher, made by :func:`load_numba` when first needed.

    Calling it, or reading any attribute its dispatcher has (``overloads``, ``compile``, ...),
    loads Numba; ``py_func`` and the function's name and docstring do not.
    """

    def __init__(self, py_func: Callable[..., Any], options: dict[str, Any]) -> None:
        self.py_func = py_func
        self.options = options
        self.dispatcher: Any = None
        self.__name__ = py_func.__name__
        self.__qualname__ = py_func.__qualname__
        self.__module__ = py_func.__module__
        self.__doc__ = py_func.__doc__
        self.__wrapped__ = py_func

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return compiled(self)(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") or name == "dispatcher":  # copy, pickle, ... : not Numba's
            raise AttributeError(name)
        return getattr(compiled(self), name)

    def __reduce__(self) -> tuple[Any, tuple[str, str]]:
        """Pickled by name, as a function is: unpickled, the module's rule (this declaration,
        or its dispatcher once made)."""
        return _rule_named, (self.__module__, self.__qualname__)

    def __repr__(self) -> str:
        state = "made" if self.dispatcher is not None else "not made yet"
        return f"<rule {self.__module__}.{self.__qualname__} (Numba dispatcher {state})>"


def _rule_named(module: str, qualname: str) -> Any:
    import importlib

    found: Any = importlib.import_module(module)
    for part in qualname.split("."):
        found = getattr(found, part)
    return found


def jit(**options: Any) -> Callable[[Callable[..., Any]], Any]:
    """``numba.njit(**options)``, made when Numba is loaded (:func:`load_numba`)."""

    def declare(fn: Callable[..., Any]) -> Any:
        with _LOCK:
            if _STATE["loaded"]:
                import numba

                return numba.njit(**options)(fn)
            deferred = Deferred(fn, options)
            _DECLARED.append(deferred)
            return deferred

    return declare


def overload(fn: Callable[..., Any], **options: Any) -> Callable[[Callable[..., Any]], Any]:
    """``numba.extending.overload(fn, **options)``, registered when Numba is loaded."""

    def declare(impl: Callable[..., Any]) -> Callable[..., Any]:
        with _LOCK:
            if _STATE["loaded"]:
                from numba.extending import overload as numba_overload

                return numba_overload(fn, **options)(impl)
            _OVERLOADS.append((fn, impl, options))
            return impl

    return declare


def numba_loaded() -> bool:
    """Whether this process has made the rules' dispatchers (and so imported Numba)."""
    return _STATE["loaded"]


def compiled(fn: Any) -> Any:
    """The dispatcher of ``fn`` (a :class:`Deferred` or anything else, returned as it is),
    loading Numba if needed."""
    if isinstance(fn, Deferred):
        if fn.dispatcher is None:
            load_numba()
        return fn.dispatcher
    return fn


def load_numba() -> None:
    """Import Numba and make every declared overload and function (once per process)."""
    with _LOCK:
        if _STATE["loaded"]:
            return
        import numba
        from numba.extending import overload as numba_overload
        from numba.extending import typeof_impl

        import sim.numba_cache  # noqa: F401  (the cache's folder and the counts, first)

        for fn, impl, options in _OVERLOADS:
            numba_overload(fn, **options)(impl)
        for deferred in _DECLARED:
            deferred.dispatcher = numba.njit(**deferred.options)(deferred.py_func)

        @typeof_impl.register(Deferred)
        def _typeof_deferred(value: Deferred, context: Any) -> Any:
            return typeof_impl(value.dispatcher, context)

        _STATE["loaded"] = True
        _put_in_place()


def _put_in_place() -> None:
    """Replace each declaration by its dispatcher in every module that holds it (the rule
    modules, and a test's or a script's that imported a rule by name)."""
    made = {id(d): d.dispatcher for d in _DECLARED}
    for module in list(sys.modules.values()):
        try:  # past the module's own attribute access: a lazily loaded module stays unloaded
            namespace = object.__getattribute__(module, "__dict__")
        except Exception:
            continue
        if not isinstance(namespace, dict):
            continue
        for attr, value in list(namespace.items()):
            if type(value) is Deferred and id(value) in made:  # type(): reads no attribute
                namespace[attr] = made[id(value)]
