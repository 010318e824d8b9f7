# The two commands: `make verify` (rehearse a whole rollout locally) and `make test`
# (the harness's self-tests, then the rehearsal). Both set up .venv on first use.
VENV ?= .venv
PY := $(VENV)/bin/python
PYTEST := $(VENV)/bin/pytest
STAMP := $(VENV)/.installed-stamp
PYTEST_ARGS ?=
# Byte-code caches on: a shell (or CI image) exporting PYTHONDONTWRITEBYTECODE=1 otherwise makes every one of the
# self-tests' hundreds of subprocesses (rehearsals, the app, Locust) recompile the harness and re-rewrite the
# plugin's asserts: ~1.3 s of CPU each (__pycache__/ is git-ignored).
unexport PYTHONDONTWRITEBYTECODE

.PHONY: install system-deps verify test lint report clean

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[local,e2e,load,lint,dev]'
	touch $(STAMP)

install: $(STAMP) system-deps

# Debian's Chromium for the E2E suite (Playwright cannot download its own browser here).
system-deps:
	@bash scripts/system-deps.sh

verify: install
	$(PYTEST) --env=local $(PYTEST_ARGS)

# Self-tests in two stages: most of them spread over TEST_WORKERS pytest-xdist workers, then the ones whose
# result depends on wall-clock time or throughput (marked `timing`, tests/conftest.py) on TIMING_WORKERS
# workers, one module per worker (`--dist loadfile`): no two load-phase runs ever share the CPU, and each of
# these runs uses a third to a half of this 2-core machine (measured in BENCHMARKS.md); then the rehearsal.
TEST_WORKERS ?= auto
TIMING_WORKERS ?= 2
DURATIONS ?= --durations=15
test: install
	$(PYTEST) tests -m "not timing" -n $(TEST_WORKERS) $(DURATIONS) $(PYTEST_ARGS)
	$(PYTEST) tests -m timing -n $(TIMING_WORKERS) --dist loadfile $(DURATIONS) $(PYTEST_ARGS)
	$(PYTEST) --env=local $(PYTEST_ARGS)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy rollout_gate

# HTML report of the last rollout run with Allure 3 (npm `allure`, pinned in package.json), offline.
# Without node the gate's own views remain: reports/gate.md and reports/gate.json.
REPORT_DIR ?= reports
report:
	@if ! command -v npm >/dev/null 2>&1; then \
		echo "make report: node/npm not found; no HTML report. The verdict is in $(REPORT_DIR)/gate.md"; \
		exit 0; \
	fi; \
	if [ ! -d $(REPORT_DIR)/allure-results ]; then \
		echo "make report: no $(REPORT_DIR)/allure-results; run a rollout first (make verify)"; exit 0; \
	fi; \
	test -x node_modules/.bin/allure || npm ci --no-audit --no-fund --loglevel=error; \
	rm -rf $(REPORT_DIR)/allure-report; \
	config=$$(test -f $(REPORT_DIR)/allurerc.json && echo --config=$(REPORT_DIR)/allurerc.json); \
	node_modules/.bin/allure generate $$config $(REPORT_DIR)/allure-results --output $(REPORT_DIR)/allure-report && \
	echo "make report: $(REPORT_DIR)/allure-report/index.html (verdict also in $(REPORT_DIR)/gate.md)"

clean:
	rm -rf reports/* .rollout .pytest_cache
