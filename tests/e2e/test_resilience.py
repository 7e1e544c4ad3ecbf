"""OCI faults on each operation a forced renewal calls, once (500, then 429 with Retry-After) and for good, the
run's budget against a load balancer that does not finish, a lease lost mid-run: every one ends, after at most
one more normal run, in `assert_healthy`. In-process runs wait by the fast policy (same attempt counts,
capped sleeps). The persistent-failure and crash cases are in their own modules (test_persistent_faults,
test_crashes), the CA's in test_ca_faults, so that they run side by side.
"""
from __future__ import annotations

import json
import threading
import time

import oci

from _runs import Sleeps, fast_policy, run
from _slice import add_fault, assert_healthy, end_lease, lock_holders, secret_path, state
from sandbox.oci import dns as dns_service

LABEL = "res"


# 1. OCI errors on each operation --------------------------------------------------------------------------

def test_a_500_then_a_429_with_retry_after_on_each_operation_is_ridden_out(issued_tenant, operations, restore):
    """Each operation's first call answers 500, its second 429 with Retry-After: 3; the third succeeds.
    The run waits exactly what the server asked, and the renewal completes."""
    for op in operations:
        before = issued_tenant.footprint()
        add_fault(issued_tenant, operation=op, status=500, count=1)
        add_fault(issued_tenant, operation=op, status=429, retryAfter=3, count=1)
        sleeps = Sleeps()
        result = run(issued_tenant.env, force=True, policy=fast_policy(sleep=sleeps))
        issued_tenant.sandbox.world.faults.clear()
        assert (result.status, result.action) == ("ok", "issue"), f"{op}: {result.render()}"
        statuses = [c["status"] for c in issued_tenant.calls_since(before) if c["operation"] == op]
        assert statuses[:2] == [500, 429] and statuses[2] not in (429, 500), f"{op}: {statuses}"  # then answered
        assert 3.0 in sleeps.asked, f"{op}: Retry-After not honoured: {sleeps.asked}"
        assert_healthy(issued_tenant)


# What a persistent failure of each operation leaves, in the result's words.

# 2. The run's budget ---------------------------------------------------------------------------------------

def test_an_lb_work_request_that_outlasts_the_budget_ends_the_run_inside_it(issued_tenant, restore):
    issued_tenant.control("POST", "/options", {"work_request_delay": 4.0})  # > the 3 s budget
    started = time.monotonic()
    result = run(issued_tenant.env, force=True, budget=3, policy=fast_policy(sleep=time.sleep, after_propagation=1.0,
                                                                       min_propagation_wait=0.5))
    took = time.monotonic() - started
    assert result.status == "failed" and took < 4.5, (took, result.render())
    assert "when the run's time budget ran out" in result.error
    assert "new certificate stored in Vault; uploading certificate" in result.state
    assert "OCI may still complete it" in result.state and "the next run" in result.state
    issued_tenant.control("POST", "/options", {"work_request_delay": issued_tenant.sandbox.work_request_delay})
    issued_tenant.settle()
    after = run(issued_tenant.env)
    assert (after.status, after.action) == ("ok", "deploy"), after.render()
    assert_healthy(issued_tenant)


# 3. A lease lost while the run acts -------------------------------------------------------------------------

def test_a_run_whose_lease_was_taken_over_stops_before_its_next_change(issued_tenant, restore):
    """The lease expires mid-run (a stalled process, skewed clocks) and another run takes it: this run must
    notice at its next change, stop, and leave the other run's lease alone."""
    issued_tenant.sandbox.backend(dns_service).set_propagation_delay(issued_tenant.zone_id, 1.5)
    before = state(issued_tenant)
    vaults = issued_tenant._client(oci.vault.VaultsClient)
    lock_id = secret_path(issued_tenant, f"{issued_tenant.prefix}-lock").rsplit("/", 1)[1]
    finished = {}
    runner = threading.Thread(target=lambda: finished.setdefault("result", run(issued_tenant.env, force=True)))
    runner.start()
    try:
        deadline = time.monotonic() + 30
        while json.loads(vaults.get_secret(lock_id).data.metadata.get("txt") or "[]") == []:
            assert time.monotonic() < deadline, "the run never presented its TXT records"
            time.sleep(0.02)
        successor = dict(vaults.get_secret(lock_id).data.metadata, holder="successor", until=str(time.time() + 60))
        vaults.update_secret(lock_id, oci.vault.models.UpdateSecretDetails(metadata=successor))
    finally:
        runner.join(60)
    result = finished["result"]
    assert result.status == "failed" and "another run took over the lease" in result.error, result.render()
    assert "Vault and the load balancer are unchanged" in result.state
    assert lock_holders(issued_tenant)[f"{issued_tenant.prefix}-lock"] == "successor"  # not erased by the release
    assert state(issued_tenant)["versions"] == before["versions"] and issued_tenant.challenge_records() == []
    end_lease(issued_tenant)
    assert_healthy(issued_tenant)
