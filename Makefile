# A newcomer needs two commands: `make demo` (or `make run`) and `make test`. CI runs `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: install run demo test lint typecheck pytest bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	rm -f $(VENV)/.installed-* && touch $@

install: $(STAMP) ## create .venv and install crisismon with the dev extras

run: $(STAMP) ## start the embedded service: broker, SQLite, worker, web
	$(BIN)/crisismon run

demo: $(STAMP) ## play the outage scenario and print the alert it fires
	$(BIN)/crisismon demo

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache

typecheck: $(STAMP)
	$(BIN)/mypy

# Test files run two at a time (pytest-xdist, one file per process); PYTEST_WORKERS=0 runs them
# one by one in this process.
PYTEST_WORKERS ?= 2

pytest: $(STAMP) ## unit, doctest and integration tests (real Tansu, PostgreSQL, SQLite)
	$(BIN)/pytest -q -n $(PYTEST_WORKERS) --dist loadfile

test: lint typecheck pytest ## everything CI checks: ruff, mypy, pytest

# BENCH_ARGS=--quick for a smoke run with small N.
bench: $(STAMP) ## all benchmarks (ratios to same-run references): writes BENCHMARKS.md, bench/results.json
	$(BIN)/python -m bench.run_all $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache
