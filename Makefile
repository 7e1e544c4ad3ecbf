# Everything a newcomer needs: `make demo`, `make test`. Both install what they need.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test bench pebble install fn-build-certmgr fn-deploy-certmgr fn-invoke-certmgr fn-logs-certmgr

install: $(STAMP)

$(STAMP): requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --disable-pip-version-check -r requirements-dev.txt
	touch $@

pebble: $(STAMP)
	$(PY) -m sandbox install-pebble

test: $(STAMP) pebble
	$(PY) -m pytest -q

demo: $(STAMP) pebble
	$(PY) -m demo

bench: $(STAMP) pebble
	$(PY) -m bench
