# The template's own tasks. `make bake` and `make test` are the README's two commands.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
OUT ?= build

.PHONY: bake browser test test-drawn lint bench
.DEFAULT_GOAL := bake

$(STAMP): requirements-dev.txt $(wildcard {{cookiecutter.project_slug}}/requirements*.txt)
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "Python 3.11 or newer is needed (set PYTHON=python3.12 for another interpreter)"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet --requirement requirements-dev.txt
	touch $@

bake: $(STAMP) ## Bake the defaults into build/, fully validated
	VALIDATE_STRICT=1 PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(VENV)/bin/cookiecutter --no-input --overwrite-if-exists --output-dir $(OUT) .

# Chromium for the docs test, installed by the generated project's own `make browser`, from
# a bake kept inside .venv: build/ is the user's, and `make test` never writes there.
browser: $(STAMP) ## Install Chromium for the docs test
	$(VENV)/bin/cookiecutter --no-input --overwrite-if-exists --accept-hooks no --output-dir $(VENV)/bake .
	$(MAKE) -C $(VENV)/bake/property-valuation-api browser

test: $(STAMP) browser ## Run the template's tests (bakes many configurations; the docs test needs Chromium)
	REQUIRE_BROWSER=1 PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(PY) -m pytest -n auto

test-drawn: $(STAMP) ## 200 drawn answer sets, each baked strictly (DRAWN_BAKES, DRAWN_SEED to change; about 25 min on 2 idle cores)
	DRAWN_BAKES=$${DRAWN_BAKES:-200} PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(PY) -m pytest -n auto tests/test_drawn_answers.py

lint: $(STAMP) ## Lint the template's own Python (hooks, tests, bench)
	$(VENV)/bin/ruff check hooks tests bench
	$(VENV)/bin/ruff format --check hooks tests bench

bench: $(STAMP) ## Benchmark the default bake against FastAPI's ceiling and BentoML (bench/README.md; ~6 min)
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(PY) bench/run.py $(BENCH_ARGS)
