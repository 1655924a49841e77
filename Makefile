# secretkeeper — developer entry points. `make test` is what CI runs (.ci/run).
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
SK     := $(VENV)/bin/secretkeeper
STAMP  := $(VENV)/.installed

.PHONY: venv install test unit demo bench lint dogfood clean system-deps

venv: $(PY)
$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip

# Editable install with test extras; re-run when pyproject.toml changes.
$(STAMP): pyproject.toml | $(PY)
	$(PIP) install -q -e '.[test,dev]'
	touch $(STAMP)

# Bytecode for the package itself: pip compiles the dependencies, not an editable checkout, and with
# PYTHONDONTWRITEBYTECODE set every start-up would recompile our modules (~50 ms per run).
install: $(STAMP)
	@$(PY) -m compileall -q -j 0 secretkeeper scanners providers > /dev/null

# Debian packages the integration tests need (git, docker-registry, skopeo, postgresql, kubectl...).
system-deps:
	@bash .ci/system-deps

test: install system-deps
	$(PY) -m pytest -q -p no:cacheprovider tests
	$(MAKE) --no-print-directory dogfood

# The project scans itself clean with its own .secretkeeper.yaml.
dogfood: install
	$(SK) scan . --no-history --fail-on low -q

demo: install
	@bash scripts/demo.sh

# All benchmarks, or some: `make bench BENCH="files accuracy"`; results go to benchmarks/RESULTS.md.
BENCH ?=
bench: install
	$(PY) benchmarks/run.py $(BENCH)

lint: install
	$(VENV)/bin/ruff check secretkeeper providers scanners tests benchmarks

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
