# The two commands of the README: `make run` and `make test`. Everything else is a convenience.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
PLAUDIT_PORT ?= 8000
PLAUDIT_HOST ?= 127.0.0.1

.PHONY: install install-dev run test lint typecheck check bench bench-verify bench-http bench-leaderboard bench-events bench-analytics clean

$(BIN)/python:
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "make: $(PYTHON) not found; install Python 3.11 or run 'make PYTHON=python3 ...'"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# Stamp files make a second `make run`/`make test` start at once instead of reinstalling.
$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet -e .
	@touch $@

$(VENV)/.installed-dev: $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $@ $(VENV)/.installed

install: $(VENV)/.installed

install-dev: $(VENV)/.installed-dev

run: install
	$(BIN)/plaudit demo --host $(PLAUDIT_HOST) --port $(PLAUDIT_PORT)

test: install-dev
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy
	$(BIN)/pytest $(PYTEST_ARGS)

lint: install-dev
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: install-dev
	$(BIN)/mypy

# The PostgreSQL half of bench-leaderboard, bench-events and bench-analytics runs when
# PLAUDIT_BENCH_POSTGRES_URL names a database of its own (they empty it); without it, they say
# so and skip it.
bench: bench-verify bench-http bench-leaderboard bench-events bench-analytics

bench-verify: install-dev
	$(BIN)/python bench/verify.py

bench-http: install-dev
	$(BIN)/python bench/http.py

bench-leaderboard: install-dev
	$(BIN)/python bench/leaderboard.py

bench-events: install-dev
	$(BIN)/python bench/events.py

bench-analytics: install-dev
	$(BIN)/python bench/analytics.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis data
