# Voronka — the two commands a newcomer needs are `make demo` and `make test`.
# The environment (.venv) is created from the committed lock when missing or stale.

SHELL := /bin/bash
UV_VERSION := 0.13.8
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.synced
export DAGSTER_HOME ?= $(CURDIR)/data/state/dagster
# dbt and dagster from the project's environment (dagster-dbt looks for `dbt` on PATH).
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: demo test test-fast test-slow test-spark bench lint format dbt-docs ui validate system-deps clean help
SCALE ?= small

help:
	@echo "make demo   - generate the demo exports, run the whole pipeline, print the PDF paths"
	@echo "make test   - run the test suite (unit, dbt, end-to-end): the CI gate"
	@echo "make test-fast - the quick loop: unit tests, dbt unit tests, the Dagster wiring"
	@echo "make lint   - ruff and sqlfluff"
	@echo "make ui     - open the Dagster UI on the project (http://127.0.0.1:3000)"

# System libraries WeasyPrint needs (Pango); installed with apt-get when missing and root.
# HarfBuzz-Subset too, if the system has it: WeasyPrint then subsets the PDF fonts in C
# (without it, in Python with fontTools: ~0.7 s more per PDF, the same look).
system-deps:
	@if ! ldconfig -p 2>/dev/null | grep -q 'libpango-1.0.so'; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "Installing Pango for WeasyPrint (apt-get)"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libpango-1.0-0 libpangoft2-1.0-0 >/dev/null; \
	  else \
	    echo "WeasyPrint needs Pango: run 'sudo apt-get install -y libpango-1.0-0 libpangoft2-1.0-0'"; exit 2; \
	  fi; \
	fi
	@if ! ldconfig -p 2>/dev/null | grep -q 'libharfbuzz-subset.so'; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null \
	    && { apt-get update -qq; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libharfbuzz-subset0 >/dev/null; }; then \
	    echo "Installed HarfBuzz-Subset for WeasyPrint (apt-get)"; \
	  else \
	    echo "Note: PDFs render faster with HarfBuzz-Subset: 'sudo apt-get install -y libharfbuzz-subset0'"; \
	  fi; \
	fi

$(STAMP): pyproject.toml uv.lock | system-deps
	@command -v uv >/dev/null 2>&1 || python3 -m pip install -q "uv==$(UV_VERSION)"
	uv sync --frozen --extra dev
	@touch $(STAMP)

demo: $(STAMP)
	$(BIN)/voronka demo --config voronka.yaml

# The gate CI runs; it ends with the 25 slowest tests, to see where the suite's time goes.
# Both suites run on two workers (pytest-xdist); each test module runs whole on one worker,
# in its order (tests/unit/test_test_workers.py), and each worker's dbt writes a target
# folder of its own (tests/conftest.py).
test: $(STAMP)
	$(BIN)/pytest -m "not slow and not spark" -n 2 --dist loadfile --no-loadscope-reorder --durations=25

# The quick loop while changing code: the unit tests, the dbt unit tests (on a warehouse
# of empty tables) and the Dagster wiring end to end with a stand-in dbt; without the
# small bench (three builds), the 500-manager PDF (~45 s) and the report tests that
# render a PDF again (an amended report three times, byte-identical PDFs, the stylesheet
# fetcher in process: ~30 s). `make test` is the gate CI runs.
# Both suites hand the workers whole modules in collection order (--no-loadscope-reorder),
# the longest first (tests/conftest.py LONG_MODULES), so the last to start are short.
FAST_TESTS := tests/e2e/test_dbt_unit_tests.py tests/e2e/test_dagster_targets.py tests/unit
FAST_LEAVE_OUT := --ignore=tests/unit/test_bench_small.py \
  --deselect=tests/unit/test_report_pdf.py::test_a_month_with_500_managers_paginates_and_breaks_no_word \
  --deselect=tests/unit/test_report_pdf.py::test_an_amended_report_says_so_on_page_one_with_what_changed \
  --deselect=tests/unit/test_report_pdf.py::test_the_same_marts_give_byte_identical_pdfs \
  --deselect=tests/unit/test_report_pdf.py::test_the_report_loads_only_its_own_stylesheet_and_bundled_fonts
test-fast: $(STAMP)
	$(BIN)/pytest -m "not slow and not spark" -n 2 --dist loadfile --no-loadscope-reorder $(FAST_LEAVE_OUT) $(FAST_TESTS)

test-slow: $(STAMP)
	$(BIN)/pytest -m slow

bench: $(STAMP)
	$(BIN)/python -m bench.run --scale $(SCALE)

test-spark: $(STAMP)
	uv sync --frozen --extra dev --extra spark
	$(BIN)/pytest -m spark

# sqlfluff's dbt templater opens a connection: an in-memory one, so no warehouse need exist.
# Its dbt keeps its parse state in a folder of its own: parsed with that profile, a state in
# dbt_project/target would make the next build parse the whole project again.
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	cd dbt_project && VORONKA_DBT_PATH=:memory: DBT_TARGET_PATH=target/lint \
		../$(BIN)/sqlfluff lint models tests macros analyses

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

validate: $(STAMP)
	mkdir -p "$(DAGSTER_HOME)"
	$(BIN)/python -m pipeline.prepare
	$(BIN)/dagster definitions validate -w workspace.yaml

dbt-docs: $(STAMP)
	$(BIN)/python -m pipeline.docs

ui: $(STAMP)
	mkdir -p "$(DAGSTER_HOME)"
	$(BIN)/python -m pipeline.prepare
	$(BIN)/python -m pipeline.defs.instance "$(DAGSTER_HOME)"
	$(BIN)/dagster dev -w workspace.yaml -h 127.0.0.1 -p 3000

clean:
	rm -rf data dbt_project/target dbt_project/logs .pytest_cache
