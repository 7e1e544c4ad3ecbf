"""The permissions table (certmgr/cloud/permissions.json) against the OCI calls certmgr really
makes: a renewal series (first issue, forced renewals until old versions are pruned) and two monitor runs,
counted from the sandbox's call log. Every call made is in the table; every table entry is made here or
named in certmgr's code (some, like the Certificates service read, need data this sandbox slice lacks)."""
from __future__ import annotations

import re

from _runs import ROOT, run
from certmgr import monitor
from certmgr.cloud.grants import TABLE
from certmgr.app import config_for
from certmgr.cloud import certificates, vault


SOURCE = "\n".join(p.read_text() for p in (ROOT / "certmgr").rglob("*.py"))


def operations(sandbox, since: int) -> set[str]:
    return {c["operation"] for c in sandbox.world.calls[since:]}


def in_source(operation: str) -> bool:
    return re.search(rf"\.{operation.split('.', 1)[1]}\b", SOURCE) is not None


def test_the_renewer_calls_exactly_what_the_table_grants(make_tenant, sandbox):
    tenant = make_tenant("iam")
    since = len(sandbox.world.calls)
    assert run(tenant.env).status == "ok"
    for _ in range(vault.PRUNE_AT - 1):  # the last one makes PRUNE_AT versions in use: old ones are scheduled
        result = run(tenant.env, force=True)
        assert result.status == "ok", result.render()
    made = operations(sandbox, since)
    assert made - set(TABLE["renewer"]) == set(), "called without a grant in the table"
    assert {op for op in set(TABLE["renewer"]) - made if not in_source(op)} == set(), "in the table, never called"


def test_the_certificates_service_target_calls_exactly_what_the_table_grants(make_tenant, sandbox):
    tenant = make_tenant("iamsvc")
    tenant.env.update(CERTMGR_CERTIFICATE_NAME="iam-tls")
    since = len(sandbox.world.calls)
    for force in (False, *[True] * (certificates.KEEP_DEPRECATED + 2)):  # one DEPRECATED version more than kept
        result = run(tenant.env, force=force)
        assert result.status == "ok", result.render()
    made = operations(sandbox, since)
    table = {**TABLE["renewer"], **TABLE["renewer-certificates-service"]}
    assert made - set(table) == set(), "called without a grant in the table"
    assert {op for op in set(TABLE["renewer-certificates-service"]) - made if not in_source(op)} == set()
    assert "certificates_management.schedule_certificate_version_deletion" in made


def test_the_monitor_calls_exactly_what_the_table_grants(sandbox):
    env = dict(sandbox.env, CERTMGR_MODE="monitor", CERTMGR_NAME_PREFIX="iammon")
    since = len(sandbox.world.calls)
    for _ in range(2):
        assert monitor.run(config_for(env, "monitor")).status in ("ok", "sent"), "the monitor run failed"
    made = operations(sandbox, since)
    assert made - set(TABLE["monitor"]) == set(), "called without a grant in the table"
    assert {op for op in set(TABLE["monitor"]) - made if not in_source(op)} == set(), "in the table, never called"
