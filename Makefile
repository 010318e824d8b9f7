# The two commands: `make verify` (rehearse a whole rollout locally) and `make test`
# (the harness's self-tests, then the rehearsal). Both set up .venv on first use.
VENV ?= .venv
PY := $(VENV)/bin/python
PYTEST := $(VENV)/bin/pytest
STAMP := $(VENV)/.installed-stamp
PYTEST_ARGS ?=

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

test: install
	$(PYTEST) tests $(PYTEST_ARGS)
	$(PYTEST) --env=local $(PYTEST_ARGS)

lint: install
	$(VENV)/bin/ruff check rollout_gate fixtures suites tests reference_app load
	$(VENV)/bin/mypy rollout_gate

clean:
	rm -rf reports/* .rollout .pytest_cache
