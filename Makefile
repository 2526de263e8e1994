# scene-images: every entry point a user needs. `make demo` shows the product, `make test` proves it.
SHELL := /bin/bash
.DEFAULT_GOAL := help

export PGPORT ?= 54329
export STORAGE_PORT ?= 54380
DB ?= scene_images
TEST_DB ?= scene_images_test
ROOT := $(CURDIR)
VENV := $(ROOT)/var/venv
PY := $(VENV)/bin/python
SQITCH := scripts/sqitch.sh
CLUSTER := scripts/cluster.sh
PG_ENV = PGHOST=$(ROOT)/var/pg/run PGPORT=$(PGPORT) PGUSER=postgres

APT_PACKAGES := postgresql-15 postgresql-plpython3-15 postgresql-15-pgtap postgresql-15-cron \
	sqitch libdbd-pg-perl libtap-parser-sourcehandler-pgtap-perl \
	python3-requests python3-boto3 python3-venv

.PHONY: help deps db-start db-stop db-reset deploy revert verify psql env test test-db test-py demo serve-storage bench lint

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | expand -t 16

deps: var/.apt-installed $(VENV)/.installed ## install system packages and the Python venv (once)

var/.apt-installed:
	@mkdir -p var
	dpkg -s $(APT_PACKAGES) >/dev/null 2>&1 || { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $(APT_PACKAGES); }
	@touch $@

$(VENV)/.installed: py/pyproject.toml var/.apt-installed
	test -x $(PY) || /usr/bin/python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e 'py[test]'
	@touch $@

db-start: var/.apt-installed ## start the private cluster (port $(PGPORT), data in var/pg)
	@$(CLUSTER) start

db-stop: ## stop the private cluster
	@$(CLUSTER) stop

deploy: db-start ## deploy every sqitch change to $(DB)
	@$(CLUSTER) createdb $(DB)
	@$(SQITCH) $(DB) deploy

revert: db-start ## revert every sqitch change from $(DB)
	@$(SQITCH) $(DB) revert

verify: db-start ## verify the deployed changes of $(DB)
	@$(SQITCH) $(DB) verify

db-reset: db-start ## drop $(DB) and deploy it anew
	@$(CLUSTER) dropdb $(DB)
	@$(MAKE) --no-print-directory deploy

psql: deploy ## open psql on $(DB)
	@$(PG_ENV) psql -X $(DB)

env: db-start ## print export lines for PGHOST PGPORT PGDATABASE PGUSER
	@echo "export PGHOST=$(ROOT)/var/pg/run PGPORT=$(PGPORT) PGDATABASE=$(DB) PGUSER=postgres"

demo: deps deploy ## the whole story: generate, store, version, expire, gallery (database $(DB))
	$(PG_ENV) PGDATABASE=$(DB) $(PY) demo/run_demo.py

serve-storage: deps ## serve var/storage on 127.0.0.1:$(STORAGE_PORT) (permanent URLs, galleries)
	$(PY) demo/storage_server.py --root $(ROOT)/var/storage --port $(STORAGE_PORT)

test: deps db-start ## run every check: lint, pgTAP, the sqitch round trip, pytest
	$(MAKE) --no-print-directory lint
	@$(CLUSTER) dropdb $(TEST_DB)
	@$(CLUSTER) createdb $(TEST_DB)
	@$(SQITCH) $(TEST_DB) deploy >/dev/null
	$(MAKE) --no-print-directory test-db test-py

test-db: ## pgTAP tests (db/tests) against $(TEST_DB)
	$(PG_ENV) pg_prove --failures -d $(TEST_DB) db/tests/*.sql

test-py: ## pytest (py/tests) against $(TEST_DB)
	cd py && $(PG_ENV) PGDATABASE=$(TEST_DB) $(PY) -m pytest -q $(PYTEST_ARGS)

bench: DB = scene_images_bench
bench: deps deploy ## the benchmarks on their own database (about 5 min); BENCH_QUICK=1 for a short smoke run
	$(PG_ENV) PGDATABASE=$(DB) $(PY) bench/run.py

# mypy reads the packages as packages; the tests, demo and bench are loose modules that import
# their siblings (tests/core has a conftest of its own, hence a run and a cache of its own). In
# the tests, indexing a fetchone() that may be None is not reported (`index`): a None there fails
# the test at once, as the assert that would satisfy mypy does.
lint: deps ## ruff and mypy over all our Python: the packages, their tests, the demo and the bench
	cd py && $(VENV)/bin/ruff check . ../demo ../bench
	cd py && $(VENV)/bin/mypy scene_images scene_images_core scene_images_plpy
	cd py && MYPYPATH=tests:../bench $(VENV)/bin/mypy ../demo ../bench
	cd py && MYPYPATH=tests:../bench $(VENV)/bin/mypy --disable-error-code index --exclude '^tests/core/' tests
	cd py && MYPYPATH=.:tests $(VENV)/bin/mypy --cache-dir .mypy_cache/core tests/core
