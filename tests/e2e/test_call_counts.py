"""OCI calls per run, from the sandbox's call log: at real latency each call is time (python -m bench prints
them beside each series). Each call a run makes is listed below with what it is for; the looks at work OCI
finishes in its own time (`lb.get_work_request`, `certificates_management.get_certificate`) are counted apart
and bounded. A run with nothing to do makes 5 calls (6 with the Certificates-service target), a forced
renewal at most 26 (24), looks included, and the same again the next time."""
from __future__ import annotations

from collections import Counter

import pytest

from _runs import Sleeps, fast_policy, run

LABEL = "calls"
BY_NAME = "secrets.get_secret_bundle_by_name"

# Nothing to do: the run record first (the lock's metadata, read by name), then at once the load balancer
# (listeners and certificate bundles) and the certificate, its key and chain (by name: no OCID lookups); for
# the Certificates-service target, also certmgr's certificate there.
NO_OP = {"bundles": [BY_NAME, "lb.get_load_balancer", BY_NAME, BY_NAME, BY_NAME]}
NO_OP["service"] = [*NO_OP["bundles"], "certificates_management.list_certificates"]
ORDER = [
    "dns.get_zone", "dns.get_zone_records",  # before the lock: the zone, and every _acme-challenge CNAME in it
    "vault.get_secret", "vault.update_secret",  # the lease: the record as it stands (its etag), then taken;
    # the record as the first look found it: nothing to read again
    BY_NAME,  # the ACME account key
    "vault.update_secret",  # the TXT values recorded before they are presented (crash recovery)
    "dns.patch_zone_records", "dns.patch_zone_records",  # presented, removed
    "vault.update_secret",  # the lease checked before Vault changes; the backoff cleared, the TXT values forgotten
    *["vault.update_secret"] * 4,  # key PENDING, chain CURRENT, certificate CURRENT, key promoted
]
# The lease, just written and longer than the run's budget, needs no look before the LB or the service changes.
FORCED = {
    "bundles": [*NO_OP["bundles"], *ORDER, "lb.create_certificate",
                "lb.update_listener", "lb.delete_certificate",  # switched; the old bundle deleted
                "vault.update_secret"],  # the release
    "service": [*NO_OP["service"], *ORDER,
                "certificates_management.update_certificate",  # the new CURRENT version
                "certificates_management.list_certificate_versions",  # old versions to schedule for deletion
                "vault.update_secret"],  # the release
}
# The looks at work the service finishes in its own time (counted apart): at most two per work request here.
LOOKS = {"bundles": ("lb.get_work_request", 4), "service": ("certificates_management.get_certificate", 2)}
# The bounds, looks included: a run with nothing to do, and a forced renewal.
BOUNDS = {"bundles": (5, 26), "service": (6, 24)}


def calls(tenant, force: bool) -> list[str]:
    tenant.settle()  # the last run's deletion of an old bundle is not queued before this run's upload
    before = tenant.footprint()
    result = run(tenant.env, force=force)
    assert (result.status, result.action) == ("ok", "issue" if force else "nothing"), result.render()
    return [c["operation"] for c in tenant.calls_since(before)]


@pytest.mark.parametrize("target", list(FORCED))
def test_a_no_op_run_and_a_forced_renewal_make_only_the_calls_they_need(make_tenant, target):
    tenant = make_tenant(f"{LABEL}{target}")
    if target == "service":
        tenant.env.update(CERTMGR_CERTIFICATE_NAME=f"{tenant.prefix}-tls")
    assert run(tenant.env).action == "issue"
    no_op_bound, forced_bound = BOUNDS[target]
    look, looks = LOOKS[target]
    for _ in range(2):  # and again: what the first forced renewal left holds the next one to the same calls
        no_op = calls(tenant, force=False)
        assert Counter(no_op) == Counter(NO_OP[target]) and no_op[0] == BY_NAME, no_op  # the record first
        assert len(no_op) <= no_op_bound
        forced = calls(tenant, force=True)
        assert Counter(c for c in forced if c != look) == Counter(FORCED[target]), forced
        assert 1 <= forced.count(look) <= looks and len(forced) <= forced_bound, forced


def test_the_first_wait_of_a_run_expects_what_the_last_run_waited_for(make_tenant):
    """The record keeps how long the last LB work request took (the service's own timestamps): the next run's
    first wait looks when that time has passed, not at once and a second apart before it."""
    tenant = make_tenant(f"{LABEL}expect")
    assert run(tenant.env).action == "issue"
    tenant.control("POST", "/options", {"work_request_delay": 1.5})
    try:
        tenant.settle()
        assert run(tenant.env, force=True).status == "ok"
        metadata = tenant.secrets.get_secret_bundle_by_name(f"{tenant.prefix}-lock", tenant.vault_id).data.metadata
        assert 1.4 <= float(metadata["oci_work_seconds"]) <= 2.0, metadata
        tenant.settle()
        before = tenant.footprint()
        assert run(tenant.env, force=True, policy=fast_policy(sleep=Sleeps(cap=5.0))).status == "ok"  # waits in full
        made = tenant.calls_since(before)
        upload = next(c["time"] for c in made if c["operation"] == "lb.create_certificate")
        looks = [c["time"] - upload for c in made if c["operation"] == "lb.get_work_request"]
        assert 1.0 <= looks[0] and len([t for t in looks if t < 3.0]) <= 3, looks  # at 1 s, at 1.5 s, maybe once more
    finally:
        tenant.control("POST", "/options", {"work_request_delay": tenant.sandbox.work_request_delay})
