"""OCI calls per run, from the sandbox's call log: at real latency each call is time (python -m bench prints
them beside each series). A daily run with nothing to do reads the LB (its certificates come with it), the
vault's secret list once, the certificate set's three bundles, the zone and the run record."""
from __future__ import annotations

from _runs import run

LABEL = "calls"
NO_OP_CALLS = 7    # get_load_balancer, list_secrets, 3 get_secret_bundle, get_zone, get_secret (the run record)
FORCED_CALLS = 47  # a forced renewal to LB bundles, with the crash-recovery writes of the run record


def calls(tenant, force: bool) -> list[str]:
    before = tenant.footprint()
    result = run(tenant.env, force=force)
    assert result.status == "ok", result.render()
    return [c["operation"] for c in tenant.calls_since(before)]


def test_a_no_op_run_and_a_forced_renewal_stay_within_their_calls(tenant):
    assert run(tenant.env).action == "issue"
    no_op = calls(tenant, force=False)
    assert len(no_op) <= NO_OP_CALLS, no_op
    assert no_op.count("vault.list_secrets") == 1 and "lb.list_certificates" not in no_op, no_op
    forced = calls(tenant, force=True)
    assert len(forced) <= FORCED_CALLS, forced
