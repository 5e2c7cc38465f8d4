# `make run` and `make test` set everything up on a fresh machine, then run.
VENV    := .venv
BIN     := $(VENV)/bin
PACKAGES := $(VENV)/.packages
STAMP   := $(VENV)/.installed
EXTRAS  := dev,dashboard,explore,calibrate,cluster
export SOLARA_TELEMETRY_MIXPANEL_ENABLE := False
export MPLBACKEND := Agg

.PHONY: run test test-ready lint setup lock bytecode browser compiler benchmark equivalence clean

run: $(STAMP) bytecode
	$(BIN)/cpec-sim run

# The set-up's independent parts side by side (-j2, in a make of their own): Chromium's install
# beside the packages', the lint (mypy's first check, ~25 s) beside Numba compiling the rules
# (one core, ~70 s). The goals of one `make` call run one after another, whatever its -j:
# `make -j2 run test` would otherwise set the environment up twice at once.
ifndef SETUP_MAKE
.NOTPARALLEL:
endif
test:
	@$(MAKE) --no-print-directory -j2 --output-sync=line SETUP_MAKE=1 test-ready
	CPEC_REQUIRE_BROWSER=1 $(BIN)/python -m pytest -n 2 --dist loadfile

test-ready: $(STAMP) bytecode browser lint

lint: $(PACKAGES)
	$(BIN)/ruff check sim tests benchmarks scripts
	$(BIN)/ruff format --check sim tests benchmarks scripts
	$(BIN)/mypy

setup: $(STAMP)

# The packages, with uv where it installs (several times faster than pip; the same pinned
# versions, and bytecode compiled as pip does), else with pip.
$(PACKAGES): pyproject.toml constraints.txt
	@PY=$$(scripts/find-python) || exit 1; \
	  echo "using $$PY"; \
	  test -x $(BIN)/python || $$PY -m venv $(VENV)
	@if $(BIN)/python -m pip install --quiet uv -c constraints.txt && \
	  $(BIN)/uv pip install --quiet --compile-bytecode --python $(BIN)/python \
	    -e ".[$(EXTRAS)]" -c constraints.txt; then echo "installed the packages with uv"; \
	else echo "installing the packages with pip instead"; \
	  $(BIN)/python -m pip install --quiet --upgrade pip && \
	  $(BIN)/python -m pip install --quiet -e ".[$(EXTRAS)]" -c constraints.txt; fi
	touch $(PACKAGES)

# The names of sim/'s Python files, rewritten (so newer than the stamp) only when a file is added
# or removed: a file deleted, or copied in with an old time, changes the rules' hash without
# any file's time showing it.
SOURCES := $(VENV)/.sources
$(shell mkdir -p $(VENV) && ls sim/*.py sim/rules/*.py | sort > $(SOURCES).new && \
  { cmp -s $(SOURCES).new $(SOURCES) || mv $(SOURCES).new $(SOURCES); }; rm -f $(SOURCES).new)

# The engine first; then the Mesa model's rules beside the engine's entry points compiled ahead
# of time (sim/aot.py, ~20 s; without a C compiler runs load them from Numba's cache instead).
# Again after an edit in sim/, or a file added or removed there (a few seconds when no rule
# changed: both find their caches).
$(STAMP): $(PACKAGES) $(SOURCES) $(wildcard sim/*.py sim/rules/*.py) | compiler
	@echo "compiling the model's rules with Numba (about a minute the first time; seconds after an edit that changed no rule)"
	@touch $(STAMP).started  # the stamp's time: an edit made while this runs is seen next time
	$(BIN)/python -c "from sim.engine import warm; warm()"
	@$(BIN)/python -m sim.aot & aot=$$!; \
	  $(BIN)/python -c "from sim.engine import simulate; from sim.params import ModelParams; \
	    simulate(ModelParams(), 4, 0, 'mesa')" || exit 1; wait $$aot || true
	mv $(STAMP).started $(STAMP)

# A C compiler for the ahead-of-time engine (sim/aot.py), if the machine has none.
compiler:
	@command -v cc >/dev/null || { \
	  SUDO=$$(test "$$(id -u)" = 0 || echo sudo); \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq gcc libc6-dev >/dev/null; } || \
	  echo "no C compiler: runs will load the engine from Numba's cache"

# constraints.txt again from .venv's packages, after raising a floor in pyproject.toml or
# upgrading a package there (pip installs what pyproject.toml asks, without the old pins;
# anything installed into .venv by hand is pinned too). Then `make test`.
lock:
	$(BIN)/python -m pip install --quiet -e ".[$(EXTRAS)]"
	@{ sed -n '/^#/p' constraints.txt; $(BIN)/python -m pip freeze --exclude-editable; } > constraints.txt.new
	@if cmp -s constraints.txt.new constraints.txt; then rm constraints.txt.new; echo "constraints.txt: unchanged"; \
	  else mv constraints.txt.new constraints.txt; echo "constraints.txt: written"; fi

# Python's bytecode of sim/, kept up to date: Python writes it itself on import unless
# PYTHONDONTWRITEBYTECODE is set (as on this project's machines), and without it every command
# compiles the modules it imports from source again (~0.1-0.2 s of a run's start-up).
bytecode: $(STAMP)
	@$(BIN)/python -m compileall -q sim

# Debian's Chromium for the dashboard's browser test (Playwright drives it; no download).
browser:
	@test -x /usr/bin/chromium || { \
	  SUDO=$$(test "$$(id -u)" = 0 || echo sudo); \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq chromium >/dev/null; }

# Issue 12's speed targets, each measured in a fresh process (--full: the long ones too).
benchmark: $(STAMP) bytecode
	$(BIN)/python benchmarks/targets.py

# The engine against the Mesa model on 50 seeds of every scenario (make test checks 2).
equivalence: $(STAMP)
	$(BIN)/python benchmarks/equivalence.py --seeds 50

clean:
	rm -rf $(VENV) build dist *.egg-info
