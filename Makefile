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

# --- Fn (OCI Functions). These wrap the `fn` CLI; all but build need FN_APP (the Function Application).
FN ?= fn
define need_fn
	@command -v $(FN) >/dev/null || { echo "error: the fn CLI is not installed (https://fnproject.io): install it, then run 'fn use context <your OCI context>'" >&2; exit 1; }
endef
define need_app
	@test -n "$(FN_APP)" || { echo "error: FN_APP is not set: FN_APP=<function application name> make $@" >&2; exit 1; }
endef

fn-build-certmgr:
	$(need_fn)
	$(FN) build

fn-deploy-certmgr:
	$(need_fn)
	$(need_app)
	$(FN) deploy --app $(FN_APP)

fn-invoke-certmgr:
	$(need_fn)
	$(need_app)
	echo '$(or $(BODY),{})' | $(FN) invoke $(FN_APP) certmgr

# OCI Functions write output to OCI Logging: LOG_SCOPE is the module's `log_search_scope` output.
fn-logs-certmgr:
	$(need_fn)
	$(need_app)
	@test -n "$(LOG_SCOPE)" || { echo "error: LOG_SCOPE is not set: LOG_SCOPE=\$$(terraform output -raw log_search_scope) make $@" >&2; exit 1; }
	oci logging-search search-logs --search-query 'search "$(LOG_SCOPE)" | sort by datetime desc' \
	  --time-start $$(date -u -d '-$(or $(SINCE),1 hour)' +%FT%TZ) --time-end $$(date -u +%FT%TZ)
