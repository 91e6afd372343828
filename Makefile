# One command surface for people and CI: run, test, lint, bench.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
PY_STAMP := $(VENV)/.installed
NODE_STAMP := node_modules/.installed
INFRA_VENV := .venv-infra
INFRA_STAMP := $(INFRA_VENV)/.installed

.PHONY: run test lint format bench infra-check deps clean

deps: $(PY_STAMP) $(NODE_STAMP) $(INFRA_STAMP)

# Reinstall when a manifest changes; create the venv only if it is missing.
$(PY_STAMP): requirements.txt requirements-dev.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV) || { rm -rf $(VENV); \
	  echo "'$(PYTHON) -m venv' failed; on Debian: apt-get install python3-venv" >&2; exit 1; }
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@touch $@

$(INFRA_STAMP): requirements-infra.txt
	@test -x $(INFRA_VENV)/bin/python || $(PYTHON) -m venv $(INFRA_VENV) || { rm -rf $(INFRA_VENV); exit 1; }
	$(INFRA_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-infra.txt
	@touch $@

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

## run: the offline stack (Azurite, Compute emulator) with the seeded demo. Ctrl-C stops it all.
run: deps
	$(BIN)/python -m localdev.run $(RUN_ARGS)

## test: the whole suite (unit, functions wiring, integration against Azurite and the emulator).
test: deps
	$(BIN)/python -m pytest $(PYTEST_ARGS)

## lint: ruff over everything, strict mypy over the deployed package.
lint: deps
	$(BIN)/ruff check .
	$(BIN)/mypy

format: deps
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

## infra-check: offline checks of azure.yaml and infra/ (pycep, checkov, schema, settings, roles, alerts).
infra-check: deps
	$(BIN)/python -m pytest -m infra tests/infra

## bench: benchmarks that print `name: value` figures.
bench: deps
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) $(INFRA_VENV) node_modules .mypy_cache .ruff_cache
