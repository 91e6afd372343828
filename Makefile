# One command surface for people and CI: run, test, lint, bench.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
PY_STAMP := $(VENV)/.installed
NODE_STAMP := node_modules/.installed
INFRA_VENV := .venv-infra
INFRA_STAMP := $(INFRA_VENV)/.installed

.PHONY: run test lint format bench soak screenshots infra-check deps clean

# Each target asks only for what it uses: lint and format need the Python venv alone (no Node,
# no checkov venv); Azurite (Node) is for targets that start the local services.
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

# What `git status` shows plus a digest of the tracked changes; empty outside a git checkout.
TREE_STATE = git status --porcelain --untracked-files=all 2>/dev/null && git diff --binary HEAD 2>/dev/null | sha256sum

## test: the whole suite (unit, functions wiring, integration against Azurite and the emulator).
## It fails if the run changed the working tree: tests write their artifacts under build/.
test: deps
	@before="$$($(TREE_STATE))"; \
	$(BIN)/python -m pytest $(PYTEST_ARGS); status=$$?; \
	after="$$($(TREE_STATE))"; \
	if [ "$$before" != "$$after" ]; then \
	  echo "make test: the run changed the working tree (tests must write under build/):" >&2; \
	  diff <(echo "$$before") <(echo "$$after") >&2; \
	  exit 1; \
	fi; \
	exit $$status

## screenshots: refresh the README's docs/screenshots/ from the browser tests (needs Chromium).
screenshots: $(PY_STAMP) $(NODE_STAMP)
	CI=true SCREENSHOTS_DIR=docs/screenshots $(BIN)/python -m pytest -q tests/browser -k "overview_asks or timeline_point"

## lint: ruff over everything, strict mypy over the deployed package and localdev.
lint: $(PY_STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy

format: $(PY_STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

## infra-check: offline checks of azure.yaml and infra/ (pycep, checkov, schema, settings, roles, alerts).
infra-check: $(PY_STAMP) $(INFRA_STAMP)
	$(BIN)/python -m pytest -m infra tests/infra

## bench: benchmarks that print `name: value` figures; logs go to build/bench.log.
bench: $(PY_STAMP) $(NODE_STAMP)
	$(BIN)/python -m bench

## soak: minutes of faults, kill -9s, an Azurite restart and look-alikes; invariants as figures
## (MINUTES=4 by default; logs go to build/soak.log). Not part of `make test`.
MINUTES ?= 4
soak: $(PY_STAMP) $(NODE_STAMP)
	$(BIN)/python -m bench.soak --minutes $(MINUTES)

clean:
	rm -rf $(VENV) $(INFRA_VENV) node_modules .mypy_cache .ruff_cache build
