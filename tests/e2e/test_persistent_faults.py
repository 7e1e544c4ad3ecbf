"""A persistent 500 on each operation a forced renewal calls: each call is tried exactly `attempts` times, the
result's `state` says what was left, and one normal run afterwards leaves everything healthy."""
from __future__ import annotations

from _runs import run
from _slice import add_fault, assert_healthy
from certmgr.timing import DEFAULT

LABEL = "persist"


PERSISTENT_STATE = {
    "lb.create_certificate": "new certificate stored in Vault; listeners https still serve the previous one",
    "lb.update_listener": "new certificate stored in Vault; listeners https still serve the previous one",
    "lb.get_work_request": "new certificate stored in Vault; listeners https still serve the previous one",
    "dns.patch_zone_records": "TXT records this run added at _acme-challenge.{zone} may remain",
}
WARNS_ONLY = {"lb.delete_certificate", "lb.list_certificates", "vault.schedule_secret_version_deletion"}  # housekeeping


def test_a_persistent_500_on_each_operation_fails_cleanly_and_the_next_run_recovers(issued_tenant, operations, restore):
    """Every call of the operation answers 500: each call is tried exactly `attempts` times, the result says
    what was left, and one normal run afterwards leaves everything healthy."""
    for op in operations:
        before = issued_tenant.footprint()
        add_fault(issued_tenant, operation=op, status=500, count=1000)
        result = run(issued_tenant.env, force=True)
        issued_tenant.sandbox.world.faults.clear()
        statuses = [c["status"] for c in issued_tenant.calls_since(before) if c["operation"] == op]
        assert statuses and set(statuses) == {500} and len(statuses) % DEFAULT.attempts == 0, f"{op}: {statuses}"
        if op in WARNS_ONLY:
            assert result.status == "ok" and any("500" in w for w in result.warnings), f"{op}: {result.render()}"
        else:
            assert result.status == "failed" and "500 InternalServerError" in result.error, f"{op}: {result.render()}"
            expected = PERSISTENT_STATE.get(op, "").format(zone=issued_tenant.zone)
            assert (expected in result.state if expected else
                    result.state in ("nothing was changed", *(f"Vault and the load balancer are unchanged; {txt}" for txt in
                                     ("TXT records added by this run were removed", "no TXT record was added")))), \
                f"{op}: {result.state}"
        issued_tenant.settle()
        after = run(issued_tenant.env)
        assert after.status == "ok", f"{op}: the next run: {after.render()}"
        assert_healthy(issued_tenant)
