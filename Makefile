# The two commands the README promises: `make demo` (the main job) and `make test`.
# Everything they need is installed by these targets: a virtualenv in .venv, and Directus
# (plus Node 22 when needed) in a cache folder outside the repository.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Directus versions the real-server tests run against.
DIRECTUS_VERSIONS ?= 10.13.4 12.4.1
export DIRECTUS_VERSIONS

.PHONY: install directus test test-fast lint format docs demo schema bench clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

install: $(BIN)/.installed  ## the tool and its development tools, in .venv

directus: install  ## Directus $(DIRECTUS_VERSIONS) in the cache (reused across runs)
	$(BIN)/python scripts/directus_server.py install $(DIRECTUS_VERSIONS)

lint: install  ## ruff (lint + format check) and mypy
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

docs: install  ## regenerate docs/cli.md from the commands' --help
	$(BIN)/python scripts/cli_reference.py

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

test: lint directus  ## the whole suite, real Directus servers included
	$(BIN)/pytest

test-fast: install  ## only the tests that need no Directus server
	$(BIN)/pytest -m "not directus"

demo: install  ## two local Directus servers: seed one, pull, commit, push to the other
	$(BIN)/python scripts/demo.py

schema: demo  ## refresh this repository's schema/ (the demo model, pulled from Directus 12.4.1)
	rm -rf schema && cp -r .demo/project/schema schema

bench: install directus  ## pull against a real 300x20 model, and the offline diff of two such models
	$(BIN)/python bench/bench_pull.py
	$(BIN)/python bench/bench_diff.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .demo
