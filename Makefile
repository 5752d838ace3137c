# tierbench: `make bench` runs the sweep, `make capacity` the capacity search, `make test`
# the tests. Each sets up what is missing first (virtualenv, Docker engine, base images,
# service dependencies, Chromium) and skips what is already done.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
SNAKEMAKE_ARGS ?=

.PHONY: bench capacity tracing variants test check doctor setup venv docker images chromium lint dag

bench: setup chromium
	$(BIN)/snakemake --cores 1 $(SNAKEMAKE_ARGS)

capacity: setup chromium
	$(BIN)/snakemake --cores 1 capacity $(SNAKEMAKE_ARGS)

# What tracing costs at each tier: each runtime beside its twin with tracing off, a capacity
# search of each and holds of both at one fixed rate (results/tracing.md).
tracing: setup chromium
	$(BIN)/snakemake --cores 1 tracing $(SNAKEMAKE_ARGS)

# The reference stack with the Python runtime's variants (config/variants.yaml), run in
# variants/: its results go to variants/results/, apart from the default sweep's
# (`make variants SNAKEMAKE_ARGS=capacity` for their capacity search).
variants: setup chromium
	$(BIN)/snakemake --cores 1 --configfile config/variants.yaml -d variants $(SNAKEMAKE_ARGS)

# The tests that need no engine run on every core at once (pytest-xdist); those that drive
# the engine run one at a time, as a sweep does: they measure, and share the host's ports.
# Either run finding no test fails (pytest's exit code 5).
test: setup chromium
	$(BIN)/pytest -n auto --dist worksteal -m "not docker and not kubernetes" $(PYTEST_ARGS)
	$(BIN)/pytest -m "docker and not kubernetes" $(PYTEST_ARGS)

# The fast loop while working: the linters and every test that needs no engine, no
# Chromium and no cluster (under a minute; `make test` runs them all).
check: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/pytest -q -n auto --dist worksteal -m "not docker and not chromium and not kubernetes" $(PYTEST_ARGS)

# What this host can and cannot measure well (the check every sweep starts with); it only
# needs the virtualenv, and starts no container.
doctor: venv
	$(BIN)/tierbench doctor $(DOCTOR_ARGS)

setup: venv docker images

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

docker:
	scripts/ensure-docker.sh

images: docker
	scripts/ensure-base-images.sh
	@if [ -x services/prepare.sh ]; then services/prepare.sh; fi

chromium:
	scripts/ensure-chromium.sh

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/snakefmt --check Snakefile workflow/rules
	$(BIN)/snakemake --lint

dag: venv
	$(BIN)/snakemake --dag | dot -Tsvg > dag.svg
	@echo "tierbench: wrote dag.svg"
