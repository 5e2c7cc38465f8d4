"""The rules' Numba functions made when a process first needs Numba (``sim.jit``)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def _printed(script: str, *args: str) -> Any:
    """The JSON that ``script`` (given ``args``) prints last, run by a fresh interpreter of
    this checkout (its errors shown if it fails)."""
    out = subprocess.run(
        [sys.executable, "-c", script, *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


#: In a fresh process: whether importing the model's modules imported Numba, and what the
#: rules are before and after :func:`sim.jit.load_numba`.
LOADING = """
import json, sys
import numpy as np
import sim.engine, sim.model, sim.runner, sim.week, sim.compiled
from sim.jit import Deferred, load_numba, numba_loaded
from sim.week import dot as held
import pickle
before = {"numba": "numba" in sys.modules, "loaded": numba_loaded(),
          "held": type(held).__name__, "doc": held.__doc__ == held.py_func.__doc__,
          "pickled": pickle.loads(pickle.dumps(held)) is held}
load_numba()
from numba.core.registry import CPUDispatcher
from sim.compiled import jit
import sim.rules.china as china

@jit(cache=False)
def later(x):
    return x + 1

inlined = [n for n, v in vars(china).items()
           if isinstance(v, CPUDispatcher) and v.targetoptions.get("inline") == "always"]
after = {
    "week.dot": isinstance(sim.week.dot, CPUDispatcher),
    "same": sim.week.dot is sim.compiled.dot,
    "left": [n for m in (sim.week, sim.compiled, sim.engine) for n, v in vars(m).items()
             if isinstance(v, Deferred)],
    "held": float(held(np.ones(3), np.arange(3.0))),
    "held_overloads": held.overloads is sim.compiled.dot.overloads,
    "later": isinstance(later, CPUDispatcher) and later(1) == 2,
    "pickled": pickle.loads(pickle.dumps(held)) is sim.compiled.dot,
    "inlined": len(inlined) > 0,
}
print(json.dumps({"before": before, "after": after}))
"""


def test_numba_is_imported_only_when_the_rules_are_needed() -> None:
    """The model's modules import without Numba; :func:`sim.jit.load_numba` puts every rule's
    dispatcher in place of its declaration (with its options: the inlined rules stay
    inlined), a declaration held elsewhere behaves as its dispatcher, and a rule declared
    afterwards is compiled as usual."""
    found = _printed(LOADING)
    assert found["before"] == {
        "numba": False,
        "loaded": False,
        "held": "Deferred",
        "doc": True,
        "pickled": True,
    }
    assert found["after"] == {
        "week.dot": True,
        "same": True,
        "left": [],
        "held": 3.0,
        "held_overloads": True,
        "later": True,
        "pickled": True,
        "inlined": True,
    }


#: A lazily loaded module whose loading fails, in ``sys.modules`` when a rule loads Numba.
LAZY = """
import importlib.util, json, sys
from pathlib import Path
folder = Path(sys.argv[1])
(folder / "broken_optional.py").write_text("raise ImportError('an optional dependency')")
sys.path.insert(0, str(folder))
spec = importlib.util.find_spec("broken_optional")
loader = importlib.util.LazyLoader(spec.loader)
spec.loader = loader
module = importlib.util.module_from_spec(spec)
sys.modules["broken_optional"] = module
loader.exec_module(module)  # nothing runs until an attribute is read
import sim.society as society
value = society.grievance(0.5, 0.2)
print(json.dumps({"value": value, "made": type(society.grievance).__name__}))
"""


def test_loading_numba_leaves_lazily_loaded_modules_unloaded(tmp_path: Path) -> None:
    """Putting the dispatchers in place reads no module's attributes: a lazily loaded module
    (``importlib.util.LazyLoader``) is not loaded by it, so its failure to load does not
    become the first rule call's."""
    found = _printed(LAZY, str(tmp_path))
    assert found["made"] == "CPUDispatcher"
    assert abs(found["value"] - 0.4) < 1e-12
