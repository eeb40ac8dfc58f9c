# wangge — two commands on a fresh machine: `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install install-test chromium demo demo-data serve test test-fast fuzz bench lint clean

$(BIN)/python:
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), "wangge needs Python 3.11, found " + sys.version' 
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet -e .
	@touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	$(BIN)/pip install --quiet -e ".[test]"
	@touch $@

install: $(VENV)/.installed  ## create .venv and install wangge

install-test: $(VENV)/.installed-test

# Browser tests drive Debian's Chromium (no browser download is possible here).
chromium:
	@if ! command -v chromium >/dev/null 2>&1; then \
	  echo "installing Debian's chromium for the browser tests"; \
	  export DEBIAN_FRONTEND=noninteractive; \
	  $(SUDO) apt-get install -y --no-install-recommends chromium >/dev/null 2>&1 \
	    || { $(SUDO) apt-get update >/dev/null && $(SUDO) apt-get install -y --no-install-recommends chromium; }; \
	fi
	@command -v chromium >/dev/null 2>&1 || { echo "ERROR: chromium is needed by the browser tests and could not be installed (apt-get install chromium)" >&2; exit 1; }

demo: install  ## load the demo areas and serve API + maps on http://$(HOST):$(PORT)
	$(BIN)/wangge demo
	@echo "open http://$(HOST):$(PORT)  (maps, API docs at /docs); Ctrl+C stops"
	$(BIN)/wangge serve --host $(HOST) --port $(PORT)

serve: install
	$(BIN)/wangge serve --host $(HOST) --port $(PORT)

demo-data: install  ## rebuild data/*.gpkg from data/osm/*.osm.pbf
	$(BIN)/python data/build_demo.py > /dev/null

# The store tests also run on PostgreSQL: .ci/postgres.sh starts a throwaway server (installing Debian's
# postgresql when missing) and the tests read its URL; it is stopped whatever the outcome.
test: install-test chromium  ## install with test extras and run every test
	@url=$$(.ci/postgres.sh start) || { echo "ERROR: could not start PostgreSQL for the store tests" >&2; exit 1; }; \
	WANGGE_TEST_POSTGRES_URL="$$url" $(BIN)/python -m pytest; status=$$?; .ci/postgres.sh stop; exit $$status

test-fast: install-test  ## everything but the browser and PostgreSQL tests
	$(BIN)/python -m pytest -m "not browser" --ignore=tests/store

# The API fuzzed by schemathesis for longer than the bounded run inside `make test`: more examples per operation,
# every check (response schemas, headers, negative inputs, methods). FUZZ_EXAMPLES and FUZZ_SEED to vary it.
FUZZ_EXAMPLES ?= 200
FUZZ_SEED ?= 20261
fuzz: install-test  ## fuzz the API (schemathesis): 0 server errors and 0 undocumented statuses expected
	WANGGE_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) WANGGE_FUZZ_SEED=$(FUZZ_SEED) WANGGE_FUZZ_ALL_CHECKS=1 \
	  $(BIN)/python -m pytest tests/api/test_fuzz.py -p no:cacheprovider -q

bench: install  ## run the benchmarks side by side with the anchor libraries; writes benchmarks/RESULTS.md
	$(BIN)/pip install --quiet -e ".[bench]"
	$(BIN)/python -m benchmarks.run

lint:
	$(BIN)/pip install --quiet ruff mypy
	$(BIN)/ruff check geo store service api cli maps tests benchmarks
	$(BIN)/mypy

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
