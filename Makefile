# regwatch: everything starts from a bare Python 3.11 with pip.
# uv is installed into that Python if missing, then `uv sync --locked` builds .venv
# exactly as uv.lock says.

PYTHON ?= python3
UV := $(PYTHON) -m uv
VENV := .venv
BIN := $(VENV)/bin
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(VENV)
# Compile every installed package to bytecode once, at install: the environment may set
# PYTHONDONTWRITEBYTECODE=1, and without .pyc files each process (every dbt call, every
# test worker) recompiles GX, dbt and pandas at import (`import great_expectations`
# 9.6 CPU-s uncompiled, 5.8 compiled).
export UV_COMPILE_BYTECODE := 1

.PHONY: help install system-deps demo test test-fast test-dbt test-spark lint format bench clean

help:
	@echo "make demo   - install, generate a synthetic platform, run every business day, print the reports"
	@echo "make test   - install and run the whole test suite (unit, integration, e2e)"
	@echo "make test-fast - the tests not marked integration or e2e (unit tests and the dbt unit tests)"
	@echo "make test-dbt - only the dbt unit tests (each model scenario on fixed rows, no project build)"
	@echo "make test-spark - install the spark extra; the e2e platform on Spark and on DuckDB, compared"
	@echo "make lint   - ruff (lint + format check) and mypy"
	@echo "make bench  - the benchmarks in bench/ (not part of make test)"
	@echo "make system-deps - Debian packages the rendering and extract tests use (chromium, poppler-utils, mariadb-server); needs root"

$(BIN)/.synced: pyproject.toml uv.lock
	@$(UV) --version >/dev/null 2>&1 || $(PYTHON) -m pip install --quiet --disable-pip-version-check uv
	$(UV) sync --locked --python $(PYTHON)
	@touch $@

install: $(BIN)/.synced

# Debian packages for the tests that look at reports as a person would: headless
# Chromium (screenshots of the HTML) and poppler's pdftoppm (PDF pages as images).
# WeasyPrint's own libraries (pango) ship with the base image. mariadb-server: the
# extract tests' private MariaDB (tests/mariadb.py; PostgreSQL's server binaries are in
# the image). CI runs this first.
SYSTEM_PACKAGES := chromium poppler-utils fonts-dejavu-core mariadb-server
system-deps:
	@if command -v chromium >/dev/null && command -v pdftoppm >/dev/null \
		&& PATH="$$PATH:/usr/sbin" command -v mariadbd >/dev/null; then \
		echo "system packages present"; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(SYSTEM_PACKAGES) >/dev/null; \
	else \
		echo "install as root: apt-get install $(SYSTEM_PACKAGES)"; exit 1; \
	fi

demo: install
	$(BIN)/regwatch demo

# Two workers (one per core), each test file on one worker (its module fixtures built once);
# the files with e2e or slow tests are sent first (tests/conftest.py orders them, and
# --no-loadscope-reorder keeps that order): the longest work starts first.
test: install
	$(BIN)/pytest -n 2 --dist loadfile --no-loadscope-reorder -m "not spark"

# Two workers here too: the unit tests' cost is a few files (hypothesis, the generator, the
# dbt unit tests' one parse), so one file per worker halves the wall time.
# --hypothesis-profile=fast: the properties with costly examples draw fewer (tests/conftest.py
# `examples`); make test draws the full count. PYTHONDONTWRITEBYTECODE is cleared for this run
# (the environment may set it): pytest then keeps the assert-rewritten test modules and the
# compiled src/ in __pycache__, and each worker of the next run loads them instead of
# rewriting and compiling ~90 modules again (about 4 CPU-s a worker).
test-fast: install
	PYTHONDONTWRITEBYTECODE= $(BIN)/pytest -m "not integration and not e2e" -n 2 --dist loadfile \
		--hypothesis-profile=fast

# The dbt unit tests alone (unit_tests: in models/**/_*__unit_tests.yml; make test and
# make test-fast run them too, as tests/unit/test_dbt_unit_tests.py).
test-dbt: install
	$(BIN)/pytest -q tests/unit/test_dbt_unit_tests.py

# The Spark engine (issue 19): the optional extra (pyspark + dbt-spark, Java 17), then the
# e2e platform's business days on Spark local and on DuckDB, every result compared.
# The extra is removed again afterwards (pass or fail): with pyspark installed, `python -c
# "import great_expectations"` exits silently, which breaks test_gx_duckdb_fix's probes.
test-spark: install
	$(UV) sync --locked --extra spark --python $(PYTHON)
	REGWATCH_REQUIRE_SPARK=1 nice -n 10 $(BIN)/pytest -q -m spark tests/spark; \
		status=$$?; $(UV) sync --locked --python $(PYTHON); exit $$status

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: install
	$(BIN)/python bench/apr_bench.py
	nice -n 10 $(BIN)/python bench/platform_bench.py --json var/bench/platform_results.json
	nice -n 10 $(BIN)/python bench/report_bench.py --repeat 2

clean:
	rm -rf var .pytest_cache .ruff_cache .mypy_cache
