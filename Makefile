# kioskledger — `make run` serves the whole system on a local Postgres; `make test` runs every test.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test migrate psql stop clean bench setup

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -e '.[test]'
	@touch $(STAMP)

setup: $(STAMP)
	$(PY) -m rpc setup

run: $(STAMP)
	$(PY) -m rpc run

test: $(STAMP)
	$(PY) -m rpc ensure-pgtap
	$(PY) -m pytest $(PYTEST_ARGS)

migrate: $(STAMP)
	$(PY) -m rpc migrate

psql: $(STAMP)
	$(PY) -m rpc psql

stop: $(STAMP)
	$(PY) -m rpc stop

bench: $(STAMP)
	$(PY) -m bench.rpc
	$(PY) -m bench.cards
	$(PY) -m bench.instructions
	$(PY) -m bench.dex
	$(PY) -m bench.dispense
	$(PY) -m bench.checkout

clean: stop
	rm -rf .pgdata $(VENV) *.egg-info
