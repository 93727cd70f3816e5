# The two commands the README promises: `make demo` (the main job) and `make test`.
# Everything they need is installed by these targets: a virtualenv in .venv, and Directus
# (plus Node 22 when needed) in a cache folder outside the repository.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Where the real-server tests run: Directus version:database cells. By default the whole
# suite runs on 12.4.1 and 10.13.4 on SQLite, and the matrix loop (tests/test_matrix.py) on
# the part of the version x database matrix CI runs: 12.4.1 on SQLite, PostgreSQL and MariaDB,
# 10.13.4 on SQLite and a 9.26.0 smoke cell (tests/test_cross_origin.py and
# tests/test_push_failures.py add PostgreSQL and MariaDB servers of their own).
# `make test DIRECTUS_VERSIONS="11.3.5 12.4.1" DIRECTUS_DATABASES="sqlite postgres"` runs the
# whole suite on those versions x databases instead; `make matrix` runs every cell of the loop.
DIRECTUS_CELLS ?= 12.4.1:sqlite 10.13.4:sqlite
DIRECTUS_MATRIX_CELLS ?= 12.4.1:sqlite 12.4.1:postgres 12.4.1:mariadb 10.13.4:sqlite 9.26.0:sqlite
DIRECTUS_VERSIONS ?=
DIRECTUS_DATABASES ?=
export DIRECTUS_CELLS DIRECTUS_MATRIX_CELLS DIRECTUS_VERSIONS DIRECTUS_DATABASES
# Versions and databases the cells above need installed.
# (tests/test_cross_origin.py also pushes 9.26.0 to 11.17.4; tests/test_secrets.py runs on 12.4.1 and 9.26.0;
# tests/test_readback_quirks.py runs 11.3.5 on SQLite and MariaDB; `make test-downgrades` installs 11.7.2.)
CELL_VERSIONS = $(sort $(foreach cell,$(DIRECTUS_MATRIX_CELLS),$(firstword $(subst :, ,$(cell)))) $(DIRECTUS_VERSIONS) 11.17.4 11.3.5)
CELL_DATABASES = $(sort $(foreach cell,$(DIRECTUS_MATRIX_CELLS),$(word 2,$(subst :, ,$(cell)))) $(DIRECTUS_DATABASES))

.PHONY: install directus databases test test-fast test-properties test-config-kinds test-data test-renames test-downgrades race lint format docs demo schema bench matrix release-check clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

install: $(BIN)/.installed  ## the tool and its development tools, in .venv

directus: install  ## the Directus versions the tests need, in the cache (reused across runs)
	$(BIN)/python scripts/directus_server.py install $(CELL_VERSIONS)

databases: install  ## PostgreSQL and MariaDB from Debian's packages, when the tests need them and they are missing
	$(BIN)/python scripts/databases.py install $(CELL_DATABASES)

lint: install  ## ruff (lint + format check) and mypy
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

docs: install  ## regenerate docs/cli.md from the commands' --help
	$(BIN)/python scripts/cli_reference.py

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

test: lint directus databases  ## the whole suite, real Directus servers included (the CI part of the matrix)
	$(BIN)/pytest

test-properties: install  ## the property tests (Hypothesis) with new random examples each run; make test draws the same ones every time
	HYPOTHESIS_PROFILE=explore $(BIN)/pytest -m "not directus" tests/test_canonread.py tests/test_check_streamed.py tests/test_backup_streamed.py tests/test_config_validation.py tests/test_yamlio.py tests/test_client.py

test-config-kinds: directus  ## the configuration kinds' acceptance on 9.26.0, 10.13.4, 11.17.4 and 12.4.1 (make test runs 12.4.1)
	DIRECTUS_CONFIG_VERSIONS="9.26.0 10.13.4 11.17.4 12.4.1" $(BIN)/pytest tests/test_config_kinds.py

test-data: directus databases  ## reference data's acceptance on 9.26.0 to 12.4.1 (SQLite) and 12.4.1 on PostgreSQL and MariaDB (make test runs 12.4.1/SQLite)
	DIRECTUS_DATA_CELLS="9.26.0:sqlite 10.13.4:sqlite 11.17.4:sqlite 12.4.1:sqlite 12.4.1:postgres 12.4.1:mariadb" $(BIN)/pytest tests/test_reference_data.py

test-renames: directus databases  ## renames keeping their values on 12.4.1 (SQLite, PostgreSQL, MariaDB) and 10.13.4 (SQLite), permission rules also on 11.17.4 (make test runs 12.4.1/SQLite, 11.17.4/SQLite)
	DIRECTUS_RENAME_CELLS="12.4.1:sqlite 12.4.1:postgres 12.4.1:mariadb 10.13.4:sqlite" \
	DIRECTUS_RENAME_RULE_CELLS="12.4.1:sqlite 12.4.1:postgres 11.17.4:sqlite 11.17.4:postgres 10.13.4:sqlite" \
	$(BIN)/pytest tests/test_renames_servers.py

test-not-null: directus databases  ## rule not-null-restored on 11.0.1 and 11.1.0 (SQLite) besides make test's 10.13.4 (SQLite) and 9.26.0 (PostgreSQL); installs 11.0.1 and 11.1.0
	$(BIN)/python scripts/directus_server.py install 11.0.1 11.1.0
	DIRECTUS_NOT_NULL_CELLS="10.13.4:sqlite 9.26.0:postgres 11.0.1:sqlite 11.1.0:sqlite" $(BIN)/pytest tests/test_not_null_servers.py

test-downgrades: directus databases  ## pushes from 11.7.2 into 11.3.5 (SQLite, MariaDB) and 11.7.2; installs 11.7.2 (make test runs 11.17.4 into 11.3.5)
	$(BIN)/python scripts/directus_server.py install 11.7.2
	DIRECTUS_DOWNGRADE_SOURCES="11.7.2" $(BIN)/pytest tests/test_cross_origin.py -k "11.7.2"

test-fast: install  ## only the tests that need no Directus server
	$(BIN)/pytest -m "not directus"

race: install directus databases  ## the push lock's full proof: 10 racing pushes and 16 simultaneous locks on SQLite, PostgreSQL, MariaDB
	DIRECTUS_LOCK_RACES=10 DIRECTUS_LOCK_DATABASES="sqlite postgres mariadb" $(BIN)/pytest tests/test_lock.py

demo: install  ## two local Directus servers: seed one, pull, commit, push to the other
	$(BIN)/python scripts/demo.py

schema: demo  ## refresh this repository's schema/ (the demo model, pulled from Directus 12.4.1)
	rm -rf schema && cp -r .demo/project/schema schema

matrix: install  ## every Directus version x database through the whole loop; prints the table (MATRIX_ARGS=--record)
	$(BIN)/python scripts/matrix.py $(MATRIX_ARGS)

# `make bench BENCH_ARGS="--rounds 3 --markdown"` also writes bench/results.md; `--collections 30`
# for a quick run. bench/bench_pull.py and bench/bench_diff.py break pull and diff down further.
# SCALE_ARGS go to bench/bench_scale.py (`--markdown` writes its section, `--sizes 300` is quick).
BENCH_ARGS ?=
SCALE_ARGS ?=
bench: install  ## directus-gitops vs Directus's own CLI (d6s) vs the bare requests on a real 300x20 model; check's peak memory on the largest accepted file; the offline commands' growth up to 3,000 collections; status and plan over 20 environments, one at a time and at once (on loopback, behind a 40 ms round trip, and against stand-ins for servers elsewhere)
	$(BIN)/python scripts/directus_server.py install 12.4.1
	$(BIN)/python scripts/directus_server.py install-cli
	$(BIN)/python bench/bench_compare.py $(BENCH_ARGS)
	$(BIN)/python bench/bench_check.py
	$(BIN)/python bench/bench_scale.py $(SCALE_ARGS)
	$(BIN)/python bench/bench_fanout.py
	$(BIN)/python bench/bench_fanout.py --latency 40
	$(BIN)/python bench/bench_fanout.py --remote

release-check: install  ## what a release needs (docs/releasing.md): the changelog's entry, sdist and wheel in dist/, twine check
	$(BIN)/python scripts/release.py check

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .demo .matrix dist
