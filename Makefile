# A newcomer needs two commands: `make demo` (or `make run`) and `make test`. CI runs `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
# Two stamps, named after pyproject.toml's checksum so that editing it reinstalls: `run` and
# `demo` need crisismon alone, the checks need the dev extra too. Installing the dev extra
# satisfies both, so `make test` after `make demo` adds the dev extra and `make demo` after
# `make test` installs nothing.
CHECKSUM      := $(shell cat pyproject.toml | cksum | cut -d' ' -f1)
RUNTIME_STAMP := $(VENV)/.runtime-$(CHECKSUM)
DEV_STAMP     := $(VENV)/.dev-$(CHECKSUM)

.PHONY: install install-runtime run demo test lint typecheck pytest docs bench clean browsers screenshots

$(RUNTIME_STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	rm -f $(VENV)/.runtime-* $(VENV)/.installed-* && touch $@

$(DEV_STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	rm -f $(VENV)/.runtime-* $(VENV)/.dev-* $(VENV)/.installed-* && touch $@ $(RUNTIME_STAMP)

install: $(DEV_STAMP) ## create .venv and install crisismon with the dev extra (tests, linters)

install-runtime: $(RUNTIME_STAMP) ## create .venv and install crisismon alone

run: $(RUNTIME_STAMP) ## start the embedded service: broker, SQLite, worker, web
	$(BIN)/crisismon run

demo: $(RUNTIME_STAMP) ## play the outage scenario and print the alert it fires
	$(BIN)/crisismon demo

lint: $(DEV_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache

typecheck: $(DEV_STAMP)
	$(BIN)/mypy

# Test files run two at a time (pytest-xdist, one file per process); PYTEST_WORKERS=0 runs them
# one by one in this process.
PYTEST_WORKERS ?= 2
# Extra pytest options, e.g. PYTEST_ARGS=--junitxml=/tmp/times.xml to see which files are slowest
# (tests/conftest.py hands those out first).
PYTEST_ARGS ?=

# The browser tests (tests/browser/) drive Debian's chromium through Playwright's
# executable_path, never a browser that Playwright downloads. A fresh CI machine (root) gets it
# here, once; without root, install it yourself (`sudo apt-get install chromium`). `make run`,
# `make demo` and `make install` do not need it.
CHROMIUM       := /usr/bin/chromium
CHROMIUM_STAMP := $(VENV)/.chromium

$(CHROMIUM_STAMP):
	@if [ ! -x $(CHROMIUM) ]; then \
	  if [ "$$(id -u)" != 0 ]; then \
	    echo "the browser tests need Debian's chromium: sudo apt-get install --no-install-recommends chromium" >&2; \
	    exit 1; \
	  fi; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium; \
	fi
	@mkdir -p $(VENV) && touch $@

browsers: $(CHROMIUM_STAMP) ## install Debian's chromium for the browser tests (root; `make test` does it)

screenshots: $(DEV_STAMP) $(CHROMIUM_STAMP) ## the README's pictures of the web app into docs/img/ (a worker, the outage, chromium)
	$(BIN)/python -m tests.browser.screenshots

pytest: $(DEV_STAMP) $(CHROMIUM_STAMP) ## unit, doctest, integration and browser tests (real Tansu, PostgreSQL, SQLite, chromium)
	$(BIN)/pytest -q -n $(PYTEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

test: lint typecheck pytest ## everything CI checks: ruff, mypy, pytest

# NO_MKDOCS_2_WARNING=1 silences the end-of-life notice Material prints on every build.
docs: $(DEV_STAMP) ## build the docs site into site/ (MkDocs Material); `$(BIN)/mkdocs serve` serves it live
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

# BENCH_ARGS=--quick for a smoke run with small N.
bench: $(DEV_STAMP) ## all benchmarks (ratios to same-run references): writes BENCHMARKS.md, bench/results.json
	$(BIN)/python -m bench.run_all $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache site
