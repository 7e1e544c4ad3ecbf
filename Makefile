# Everything a newcomer needs: `make demo`, `make test`. Both install what they need.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# checkov in a venv of its own: it pins packaging<24 and ships its own `hcl2`, both clashing with the tests'.
CHECKOV_VENV := .cache/checkov
CHECKOV := $(CHECKOV_VENV)/bin/checkov

# Test processes: each runs its own sandbox, and a module's tests stay in one process. The suite is mostly
# CPU on 2 cores, with waits (Pebble, work requests, TLS) that a fourth process fills.
TEST_WORKERS ?= 4
# python-hcl2 builds its parser tables on first use (about 3 s of CPU) and caches them: build them once
# when installing, not in each test process of a fresh clone.
WARM_HCL := import hcl2; hcl2.loads("warm = 1")

.PHONY: demo test bench pebble install fn-tree fn-build-certmgr fn-deploy-certmgr fn-invoke-certmgr fn-logs-certmgr

install: $(STAMP)

$(STAMP): requirements.txt requirements-dev.txt requirements-conformance.txt requirements-conformance-nodeps.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --disable-pip-version-check -r requirements-dev.txt
	$(VENV)/bin/pip install -q --disable-pip-version-check --no-deps -r requirements-conformance-nodeps.txt
	$(PY) -c '$(WARM_HCL)'
	touch $@

pebble: $(STAMP)
	$(PY) -m sandbox install-pebble

$(CHECKOV): requirements-checkov.txt
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install -q --disable-pip-version-check -r requirements-checkov.txt
	$(CHECKOV_VENV)/bin/python -c '$(WARM_HCL)'
	touch $@

# The function's installed tree, as the image holds it (build/fn_tree.py, the script the Dockerfile runs):
# python/ (the packages certmgr runs) and function/ (certmgr). The script rebuilds a part only when what it
# is made from changed. The Fn end-to-end tests run against it.
FN_TREE := .cache/fn-tree
fn-tree: $(STAMP)
	$(PY) build/fn_tree.py $(FN_TREE)

# Bytecode compiled once up front: with PYTHONDONTWRITEBYTECODE set, each of the suite's certmgr, Fn and
# sandbox processes would compile the project's modules again.
test: $(STAMP) pebble $(CHECKOV) fn-tree
	$(PY) -m compileall -q certmgr sandbox demo bench >/dev/null
	CHECKOV=$(CHECKOV) $(PY) -m pytest -q -n $(TEST_WORKERS) --dist loadfile --durations=10

demo: $(STAMP) pebble fn-tree
	$(PY) -m demo

bench: $(STAMP) pebble fn-tree
	$(PY) -m bench

# --- Fn (OCI Functions). These wrap the `fn` CLI; all but build need FN_APP (the Function Application:
# `<name_prefix>-certmgr`, e.g. tmi-certmgr, when Terraform made it). FN_FUNCTION is the renewer's name:
# `certmgr` from both `fn deploy` (func.yaml) and Terraform; `certmgr-<key>` for a fleet entry.
FN ?= fn
FN_FUNCTION ?= certmgr
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

# `fn invoke` waits for the function's reply however long it runs, and sends the call once: its HTTP client has
# no timeout and no retry (fnproject/cli, client/invoke.go). The OCI CLI reads for 60 s and retries: its
# commands need `--read-timeout` (README, "Deploying").
fn-invoke-certmgr:
	$(need_fn)
	$(need_app)
	echo '$(or $(BODY),{})' | $(FN) invoke $(FN_APP) $(FN_FUNCTION)

# OCI Functions write output to OCI Logging: LOG_SCOPE is the module's `log_search_scope` output.
fn-logs-certmgr:
	$(need_fn)
	$(need_app)
	@test -n "$(LOG_SCOPE)" || { echo "error: LOG_SCOPE is not set: LOG_SCOPE=\$$(terraform output -raw log_search_scope) make $@" >&2; exit 1; }
	oci logging-search search-logs --search-query 'search "$(LOG_SCOPE)" | sort by datetime desc' \
	  --time-start $$(date -u -d '-$(or $(SINCE),1 hour)' +%FT%TZ) --time-end $$(date -u +%FT%TZ)
