# The two commands: `make run` starts the product, `make test` runs the whole suite.
# Both create .venv and install the project into it on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
export DAGSTER_HOME := $(CURDIR)/dagster_home

CHROMIUM := /usr/bin/chromium

.PHONY: run test install fake-api ui-check reliability bench

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/dagster dev -w workspace.yaml -h 127.0.0.1 -p 3000

test: $(STAMP)
	$(BIN)/python -m pytest

fake-api: $(STAMP)
	$(BIN)/pncp-pipeline fake-api --port 8765

# The Dagster UI in headless Chromium over the replica: asset graph and partitions render with data;
# screenshots to docs/screenshots/. Uses Debian's chromium (installed here if missing), never a
# browser downloaded by Playwright.
ui-check: $(STAMP)
	@test -x $(CHROMIUM) || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium)
	@$(BIN)/python -c 'import playwright' 2>/dev/null || $(BIN)/python -m pip install --quiet -e '.[dev,ui]'
	$(BIN)/python scripts/ui_check.py

# The fault, drift and chaos scenarios at a larger size than `make test` runs them; prints a table.
reliability: $(STAMP)
	PYTHONPATH=$(CURDIR) $(BIN)/python scripts/reliability.py

# The performance figures against the local replica (~13 min on 2 cores): prints a table, writes
# benchmarks/results.json, exits 1 when a target is missed. dlt (p3's baseline) is the `bench` extra.
bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	$(BIN)/python benchmarks/bench.py
