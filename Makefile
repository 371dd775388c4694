# aanlevering: `make run` (main job on embedded defaults) and `make test` (everything, from a clean clone).
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
export AANLEVERING_HOME ?= $(CURDIR)/var
STAMP := $(VENV)/.installed

.DEFAULT_GOAL := help
.PHONY: help venv bytecode system-deps run stop test test-fast lint fmt bench clean-home lock demo demo-ehr check

help: ## Show this help
	@grep -hE '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  make %-12s %s\n", $$1, $$2}'

$(STAMP): requirements.lock pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.lock 2>&1 | grep -v '^WARNING: Location' || true
	@$(BIN)/python -m pip check > /dev/null || { $(BIN)/python -m pip check; exit 1; }
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	@touch $(STAMP)

venv: $(STAMP) ## Create .venv and install the pinned dependencies

# The project's bytecode, written once per `make test` / `make run` (decisions 0742, 0833):
# with PYTHONDONTWRITEBYTECODE set, every CLI run, server and Airflow task process of the
# suite otherwise compiled each aanlevering module it imported from source (about 0.5 s
# of CPU per process). compileall writes .pyc whatever that variable says.
bytecode: venv ## Compile the project's modules (src, dags, plugins, test support) to .pyc
	@$(BIN)/python -m compileall -q -j 0 src dags plugins tests/support

system-deps: ## Install the Debian packages the tests need (PostgreSQL, OpenSSH server, Chromium, Redis)
	@bash scripts/ensure-system-packages.sh

run: venv bytecode ## Main job: demo data, counterparties, Airflow (UI on :8790) delivering 2026 by backfill
	@bash scripts/run.sh

stop: ## Stop what `make run` started (Airflow, TTP, registry holder)
	@bash scripts/airflow.sh stop
	@bash scripts/services.sh stop

demo: venv ## Generate demo EHR data into $AANLEVERING_HOME/demo
	$(BIN)/aanlevering demo-data --out $(AANLEVERING_HOME)/demo --patients 2000 --seed 2026

demo-ehr: venv ## Demo EHR folder in compose's shape ($AANLEVERING_HOME/demo/ehr, one subfolder per registration)
	@bash scripts/demo-ehr.sh

check: venv ## Validate every registration config and dictionary
	$(BIN)/aanlevering registrations check

#: pytest-xdist workers for `make test` (decision 0520); 0 runs everything in one process.
TEST_WORKERS ?= 2

test: venv bytecode system-deps ## Install everything and run the whole test suite (TEST_WORKERS=2 processes)
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder --durations=30

test-fast: venv ## Unit tests only
	$(BIN)/python -m pytest tests/unit -q

lint: venv ## ruff (lint + format check) and mypy
	$(BIN)/ruff check src tests dags plugins scripts
	$(BIN)/ruff format --check src tests dags plugins scripts
	$(BIN)/mypy

fmt: venv ## Apply ruff fixes and formatting
	$(BIN)/ruff check --fix src tests dags plugins scripts
	$(BIN)/ruff format src tests dags plugins scripts

bench: venv ## Benchmarks (scripts that print numbers, not tests); QUICK=1: the 200k figures only
	@bash scripts/bench.sh $(if $(filter-out 0,$(QUICK)),--quick)

lock: ## Re-resolve dependencies into requirements.lock (needs network to PyPI)
	rm -rf /tmp/aanlevering-lock && $(PYTHON) -m venv /tmp/aanlevering-lock
	/tmp/aanlevering-lock/bin/pip install --quiet -e '.[dev,celery]'
	/tmp/aanlevering-lock/bin/pip freeze --exclude-editable --exclude aanlevering > requirements.lock
	printf '# build tools for the editable install (pip freeze leaves them out)\nsetuptools==65.5.0\nwheel==0.45.1\n' >> requirements.lock

clean-home: stop ## Wipe all local state under $AANLEVERING_HOME
	rm -rf $(AANLEVERING_HOME)
