"""SIGKILL of the real CLI at each step of a forced renewal, then one normal run (from a clock past the killed
run's lease): every kill ends in `assert_healthy`."""
from __future__ import annotations

import fnmatch
import signal
import subprocess
import time

import pytest

from _runs import CLI, ROOT, cli_env, fast_policy, run
from _slice import add_fault, assert_healthy, secret_path
from sandbox.oci import dns as dns_service

LABEL = "crash"
# A killed run's lease outlives it; the run after it looks from a clock that is past that lease.
AFTER_THE_LEASE = 1000.0


def later_policy():
    return fast_policy(wall_clock=lambda: time.time() + AFTER_THE_LEASE)


# 4. SIGKILL at each step of a forced renewal, then one normal run ------------------------------------------

def _hold(tenant, point: str) -> tuple[str, str]:
    """Make the run linger right after `point`; return (operation, path glob) of the call that marks it
    (for the TXT values, the zone's own records mark it: a first patch may remove an earlier run's)."""
    key = secret_path(tenant, f"{tenant.prefix}-private-key")
    chain = secret_path(tenant, f"{tenant.prefix}-chain")
    cert = secret_path(tenant, f"{tenant.prefix}-certificate")
    if point == "txt-presented":  # the run then waits for propagation with its TXT values in the zone
        tenant.sandbox.backend(dns_service).set_propagation_delay(tenant.zone_id, 60)
        return "", ""
    # A write that comes next is slow, and then refused: it never lands, not even after the kill.
    if point == "key-pending":  # the chain's write
        add_fault(tenant, operation="vault.update_secret", path=chain, latency=30.0, status=500, count=1)
        return "vault.update_secret", key
    if point == "chain-current":  # the certificate's write
        add_fault(tenant, operation="vault.update_secret", path=cert, latency=30.0, status=500, count=1)
        return "vault.update_secret", chain
    if point == "certificate-current":  # the key's promotion (its PENDING write goes through)
        add_fault(tenant, operation="vault.update_secret", path=key, latency=30.0, status=500, count=1, skip=1)
        return "vault.update_secret", cert
    if point == "uploaded":  # the upload's work request is not polled
        add_fault(tenant, operation="lb.get_work_request", latency=30.0)
        return "lb.create_certificate", "*"
    tenant.control("POST", "/options", {"work_request_delay": 2.0})  # switched: its work request is pending
    return "lb.update_listener", "*"


# What the run after the kill does.
REPAIRED_BY = {"txt-presented": "repair", "key-pending": "nothing", "chain-current": "repair",
               "certificate-current": "deploy",
               "uploaded": "deploy", "switched": "repair"}


@pytest.mark.parametrize("point", list(REPAIRED_BY))
def test_sigkill_at_each_step_is_repaired_by_the_next_run(issued_tenant, point, restore, tmp_path):
    operation, path = _hold(issued_tenant, point)
    before = issued_tenant.footprint()
    output = tmp_path / "run.out"
    with open(output, "wb") as out:
        process = subprocess.Popen([*CLI, "run", "--force"], env=cli_env(issued_tenant.env), cwd=ROOT, stdout=out,
                                   stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while not (any(c["operation"] == operation and fnmatch.fnmatchcase(c["path"], path) and c["status"] < 300
                       for c in issued_tenant.calls_since(before)) if operation else issued_tenant.challenge_records()):
            assert process.poll() is None, f"the run ended before {point}: {output.read_text()}"
            assert time.monotonic() < deadline, f"the run never reached {point}"
            time.sleep(0.02)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    issued_tenant.sandbox.world.faults.clear()
    issued_tenant.sandbox.backend(dns_service).set_propagation_delay(issued_tenant.zone_id, None)
    issued_tenant.control("POST", "/options", {"work_request_delay": issued_tenant.sandbox.work_request_delay})
    issued_tenant.settle()

    after = run(issued_tenant.env, policy=later_policy())
    assert (after.status, after.action) == ("ok", REPAIRED_BY[point]), after.render()
    issued_tenant.settle()
    follow_up = run(issued_tenant.env, policy=later_policy())
    assert (follow_up.status, follow_up.action) == ("ok", "nothing"), follow_up.render()
    assert_healthy(issued_tenant, now=time.time() + AFTER_THE_LEASE)
