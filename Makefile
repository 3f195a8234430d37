# The template's own tasks. `make bake` and `make test` are the README's two commands.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
UV := $(VENV)/bin/uv
OUT ?= build
BAKED := $(VENV)/lock/property-valuation-api

.PHONY: bake browser test test-drawn lint bench lock image-size
.DEFAULT_GOAL := bake

# uv from PyPI by pip (all a fresh machine needs is python3 and make), then exactly uv.lock:
# the template's tools, the generated project's pins and the tool in tools/ (editable), compiled
# to bytecode once here: uv does not by default, and the suite starts thousands of Python
# processes (checkov, cfn-lint, the AWS CLI) that would each compile their imports again.
$(STAMP): pyproject.toml uv.lock tools/pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "Python 3.11 or newer is needed (set PYTHON=python3.12 for another interpreter)"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	test -x $(UV) || $(PY) -m pip install --quiet uv==0.13.9
	$(UV) sync --quiet --locked --compile-bytecode
	touch $@

bake: $(STAMP) ## Bake the defaults into build/, fully validated
	VALIDATE_STRICT=1 PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(VENV)/bin/cookiecutter --no-input --overwrite-if-exists --output-dir $(OUT) .

# Chromium for the docs test, installed by the generated project's own `make browser`, from
# a bake kept inside .venv: build/ is the user's, and `make test` never writes there.
browser: $(STAMP) ## Install Chromium for the docs test
	$(VENV)/bin/cookiecutter --no-input --overwrite-if-exists --accept-hooks no --output-dir $(VENV)/bake .
	$(MAKE) -C $(VENV)/bake/property-valuation-api browser

test: $(STAMP) browser ## Run the template's tests (bakes many configurations; the docs test needs Chromium)
	REQUIRE_BROWSER=1 PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(PY) -m pytest -n auto --dist load --maxschedchunk 1

test-drawn: $(STAMP) ## 200 drawn answer sets, each baked strictly (DRAWN_BAKES, DRAWN_SEED to change; about 25 min on 2 idle cores)
	DRAWN_BAKES=$${DRAWN_BAKES:-200} PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(PY) -m pytest -n auto tests/test_drawn_answers.py

lint: $(STAMP) ## Lint the template's own Python (hooks, tests, bench, tools)
	$(VENV)/bin/ruff check hooks tests bench tools
	$(VENV)/bin/ruff format --check hooks tests bench tools

# Both locks again after a pin changed: the template's, and the generated project's, which is
# locked in a bake of the defaults and stored with its one answer-dependent line, the name, as Jinja.
lock: $(STAMP) ## Lock uv.lock and the generated project's uv.lock again after a pin changed
	$(UV) lock
	rm -rf $(VENV)/lock
	$(VENV)/bin/cookiecutter --no-input --accept-hooks no --output-dir $(VENV)/lock .
	cd $(BAKED) && $(CURDIR)/$(UV) lock
	sed 's/^name = "property-valuation-api"$$/name = "{{ cookiecutter.project_slug }}"/' $(BAKED)/uv.lock \
		>'{{cookiecutter.project_slug}}/uv.lock'

bench: $(STAMP) ## Benchmark the default bake against FastAPI's ceiling and four peers, and a heavy model (bench/README.md; ~15 min)
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(PY) bench/run.py $(BENCH_ARGS)

image-size: $(STAMP) ## The serving image's installed size and what it is made of, without Docker (bench/image_size.py)
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(PY) bench/image_size.py