# kioskledger — `make run` serves the whole system on a local Postgres; `make test` runs every test.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run demo run-ha test test-fast migrate schema psql stop clean bench setup miniapp-bundle
TEST_WORKERS ?= 3

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -e '.[test]'
	@touch $(STAMP)

# The stock JS clients the tests drive (supabase-js, pinned by package-lock.json).
JS_CLIENTS := tests/clients/js
NODE_STAMP := $(JS_CLIENTS)/node_modules/.installed

$(NODE_STAMP): $(JS_CLIENTS)/package.json $(JS_CLIENTS)/package-lock.json
	npm ci --prefix $(JS_CLIENTS) --no-audit --no-fund
	@touch $(NODE_STAMP)

setup: $(STAMP)
	$(PY) -m kioskledger setup

run: $(STAMP)
	$(PY) -m kioskledger run

# The set-up `make run` does, then a small demo data set in all four businesses (made
# through the api functions, once; refuses a database not on this machine).
demo: $(STAMP)
	$(PY) -m kioskledger setup
	$(PY) -m kioskledger demo

# A monitor, a primary and a synchronous standby on this machine (pg_auto_failover, data in
# .pgdata-ha/), migrated, the RPC served against the formation's multi-host URI.
run-ha: $(STAMP)
	$(PY) -m kioskledger run-ha

test: $(STAMP) $(NODE_STAMP)
	$(PY) -m kioskledger ensure-extensions
	$(PY) -m pytest -n $(TEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

test-fast: $(STAMP) $(NODE_STAMP)
	$(PY) -m kioskledger ensure-extensions
	$(PY) -m pytest -n $(TEST_WORKERS) --dist loadfile -m "not slow" $(PYTEST_ARGS)

migrate: $(STAMP)
	$(PY) -m kioskledger migrate

# Regenerate migrations/schema.sql (the expected schema the migration tests hold) after
# changing migrations/ or sql/; commit it with the change.
schema: $(STAMP)
	$(PY) -m kioskledger schema-dump

psql: $(STAMP)
	$(PY) -m kioskledger psql

stop: $(STAMP)
	$(PY) -m kioskledger stop

# Rebuild the customer page's vendored MiniKit bundle (rpc/static/miniapp/assets/vendor/)
# from web/miniapp's pins; commit the result. `make run` and `make test` need no Node for it.
miniapp-bundle:
	npm ci --prefix web/miniapp --no-audit --no-fund
	node web/miniapp/build.mjs

# The benches need the queue peers too (the `bench` extra of pyproject.toml); pgledger's SQL
# is read from ../shared/peers/pgledger (KL_PGLEDGER_DIR elsewhere). Each bench records its
# headline figures; bench.summary prints them as one table at the end.
BENCH_STAMP := $(VENV)/.bench-installed
BENCH_RESULTS := $(VENV)/bench-results.jsonl
# `make bench INSTRUCTIONS_ARGS=--save-baseline` also rewrites bench/instructions_baseline.json.
INSTRUCTIONS_ARGS ?=

$(BENCH_STAMP): pyproject.toml $(STAMP)
	$(PY) -m pip install -q --disable-pip-version-check -e '.[test,bench]'
	@touch $(BENCH_STAMP)

bench: export KL_BENCH_RESULTS := $(abspath $(BENCH_RESULTS))
bench: $(BENCH_STAMP)
	@rm -f $(BENCH_RESULTS)
	$(PY) -m bench.peers_ledger
	$(PY) -m bench.peers_queue
	$(PY) -m bench.rpc
	$(PY) -m bench.cards
	$(PY) -m bench.instructions $(INSTRUCTIONS_ARGS)
	$(PY) -m bench.server_instructions $(INSTRUCTIONS_ARGS)
	$(PY) -m bench.dex
	$(PY) -m bench.dispense
	$(PY) -m bench.checkout
	$(PY) -m bench.agent_idle
	$(PY) -m bench.failover
	$(PY) -m bench.summary $(BENCH_RESULTS)

clean: stop
	-@test -d .pgdata-ha && $(PY) -m kioskledger ha stop
	rm -rf .pgdata .pgdata-ha $(VENV) *.egg-info $(JS_CLIENTS)/node_modules web/miniapp/node_modules \
		web/console/node_modules rpc/static/swagger-ui/node_modules
