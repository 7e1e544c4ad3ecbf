"""Faults, races and crashes: every one ends, after at most one more normal run, in `assert_healthy`.

OCI errors on each operation a forced renewal calls (once, with Retry-After, for good), the run's budget
against a load balancer that does not finish, a lease lost mid-run, SIGKILL at each step, a CA that rejects
nonces or rate-limits orders. The module has its own tenant (zone `res.test`, prefix `res`); in-process runs
wait by the fast policy (same attempt counts, capped sleeps), the killed runs are the real CLI.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import fnmatch
import json
import os
import signal
import subprocess
import sys
import threading
import time

import oci
import pytest
import trustme

from _slice import (ROOT, Sleeps, add_fault, assert_healthy, fast_policy, lock_holders, secret_path, state,
                    write_secret)
from certmgr import renew
from certmgr.config import Config
from certmgr.policy import DEFAULT
from sandbox.acme_front import AcmeFront
from sandbox.oci import dns as dns_service
from sandbox.pebble import Pebble

# A killed run's lease outlives it; the run after it looks from a clock that is past that lease.
AFTER_THE_LEASE = 1000.0


def run(env: dict, *, budget: int | None = None, **options) -> renew.Result:
    config = Config.from_env(env)
    if budget is not None:  # below the variable's range: tests wait seconds, not minutes
        config = dataclasses.replace(config, run_budget=budget)
    return renew.run(config, **{"policy": fast_policy(), **options})


def later_policy():
    return fast_policy(wall_clock=lambda: time.time() + AFTER_THE_LEASE)


def calls_since(tenant, count: int) -> list[dict]:
    return tenant.control("GET", "/calls")[count:]


@pytest.fixture(scope="module")
def tenant(make_tenant):
    t = make_tenant("res")
    first = run(t.env)
    assert first.status == "ok", first.render()
    return t


def end_lease(tenant) -> None:
    """Free the tenant's run lock, keeping its record, as time would once a killed run's lease expired."""
    vaults = tenant._client(oci.vault.VaultsClient)
    lock_id = secret_path(tenant, f"{tenant.prefix}-lock").rsplit("/", 1)[1]
    metadata = dict(vaults.get_secret(lock_id).data.metadata, holder="", until="0")
    vaults.update_secret(lock_id, oci.vault.models.UpdateSecretDetails(metadata=metadata))


@pytest.fixture
def restore(tenant):
    """Faults, LB latency, DNS propagation and the run lock back to normal after the test."""
    yield
    tenant.sandbox.world.faults.clear()
    tenant.control("POST", "/options", {"work_request_delay": 0.3})
    tenant.sandbox.backend(dns_service).set_propagation_delay(tenant.zone_id, None)
    tenant.settle()
    end_lease(tenant)


@pytest.fixture(scope="module")
def operations(tenant):
    """Every OCI operation a forced renewal calls, from the sandbox's call log of one."""
    before = len(tenant.control("GET", "/calls"))
    result = run(tenant.env, force=True)
    assert result.status == "ok", result.render()
    tenant.settle()
    ops = sorted({c["operation"] for c in calls_since(tenant, before)})
    assert {"dns.patch_zone_records", "vault.update_secret", "lb.create_certificate", "lb.update_listener",
            "lb.get_work_request", "lb.delete_certificate"} <= set(ops), ops
    return ops


# 1. OCI errors on each operation --------------------------------------------------------------------------

def test_a_500_then_a_429_with_retry_after_on_each_operation_is_ridden_out(tenant, operations, restore):
    """Each operation's first call answers 500, its second 429 with Retry-After: 3; the third succeeds.
    The run waits exactly what the server asked, and the renewal completes."""
    for op in operations:
        before = len(tenant.control("GET", "/calls"))
        add_fault(tenant, operation=op, status=500, count=1)
        add_fault(tenant, operation=op, status=429, retryAfter=3, count=1)
        sleeps = Sleeps()
        result = run(tenant.env, force=True, policy=fast_policy(sleep=sleeps))
        tenant.sandbox.world.faults.clear()
        assert (result.status, result.action) == ("ok", "issue"), f"{op}: {result.render()}"
        statuses = [c["status"] for c in calls_since(tenant, before) if c["operation"] == op]
        assert statuses[:2] == [500, 429] and statuses[2] not in (429, 500), f"{op}: {statuses}"  # then answered
        assert 3.0 in sleeps.asked, f"{op}: Retry-After not honoured: {sleeps.asked}"
        assert_healthy(tenant)


# What a persistent failure of each operation leaves, in the result's words.
PERSISTENT_STATE = {
    "lb.create_certificate": "new certificate stored in Vault; listeners https still serve the previous one",
    "lb.update_listener": "new certificate stored in Vault; listeners https still serve the previous one",
    "lb.get_work_request": "new certificate stored in Vault; listeners https still serve the previous one",
    "dns.patch_zone_records": "TXT records this run added at _acme-challenge.res.test may remain",
}
WARNS_ONLY = {"lb.delete_certificate", "vault.schedule_secret_version_deletion"}


def test_a_persistent_500_on_each_operation_fails_cleanly_and_the_next_run_recovers(tenant, operations, restore):
    """Every call of the operation answers 500: each call is tried exactly `attempts` times, the result says
    what was left, and one normal run afterwards leaves everything healthy."""
    for op in operations:
        before = len(tenant.control("GET", "/calls"))
        add_fault(tenant, operation=op, status=500, count=1000)
        result = run(tenant.env, force=True)
        tenant.sandbox.world.faults.clear()
        statuses = [c["status"] for c in calls_since(tenant, before) if c["operation"] == op]
        assert statuses and set(statuses) == {500} and len(statuses) % DEFAULT.attempts == 0, f"{op}: {statuses}"
        if op in WARNS_ONLY:
            assert result.status == "ok" and any("500" in w for w in result.warnings), f"{op}: {result.render()}"
        else:
            assert result.status == "failed" and "500 InternalServerError" in result.error, f"{op}: {result.render()}"
            expected = PERSISTENT_STATE.get(op)
            assert (expected in result.state if expected else
                    result.state in ("nothing was changed", *(f"Vault and the load balancer are unchanged; {txt}" for txt in
                                     ("TXT records added by this run were removed", "no TXT record was added")))), \
                f"{op}: {result.state}"
        tenant.settle()
        after = run(tenant.env)
        assert after.status == "ok", f"{op}: the next run: {after.render()}"
        assert_healthy(tenant)


# 2. The run's budget ---------------------------------------------------------------------------------------

def test_an_lb_work_request_that_outlasts_the_budget_ends_the_run_inside_it(tenant, restore):
    tenant.control("POST", "/options", {"work_request_delay": 6.0})
    started = time.monotonic()
    result = run(tenant.env, force=True, budget=3, policy=fast_policy(sleep=time.sleep, after_propagation=1.0,
                                                                       min_propagation_wait=0.5))
    took = time.monotonic() - started
    assert result.status == "failed" and took < 4.5, (took, result.render())
    assert "when the run's time budget ran out" in result.error
    assert "new certificate stored in Vault; uploading certificate" in result.state
    assert "OCI may still complete it" in result.state and "the next run" in result.state
    tenant.control("POST", "/options", {"work_request_delay": 0.3})
    tenant.settle()
    after = run(tenant.env)
    assert (after.status, after.action) == ("ok", "deploy"), after.render()
    assert_healthy(tenant)


# 3. A lease lost while the run acts -------------------------------------------------------------------------

def test_a_run_whose_lease_was_taken_over_stops_before_its_next_change(tenant, restore):
    """The lease expires mid-run (a stalled process, skewed clocks) and another run takes it: this run must
    notice at its next change, stop, and leave the other run's lease alone."""
    tenant.sandbox.backend(dns_service).set_propagation_delay(tenant.zone_id, 1.5)
    before = state(tenant)
    vaults = tenant._client(oci.vault.VaultsClient)
    lock_id = secret_path(tenant, f"{tenant.prefix}-lock").rsplit("/", 1)[1]
    finished = {}
    runner = threading.Thread(target=lambda: finished.setdefault("result", run(tenant.env, force=True)))
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
    assert lock_holders(tenant)[f"{tenant.prefix}-lock"] == "successor"  # not erased by the release
    assert state(tenant)["versions"] == before["versions"] and tenant.challenge_records() == []
    end_lease(tenant)
    assert_healthy(tenant)


# 4. SIGKILL at each step of a forced renewal, then one normal run ------------------------------------------

def _hold(tenant, point: str) -> tuple[str, str]:
    """Make the run linger right after `point`; return (operation, path glob) of the call that marks it
    (for the TXT values, the zone's own records mark it: a first patch may remove an earlier run's)."""
    key = secret_path(tenant, f"{tenant.prefix}-private-key")
    cert = secret_path(tenant, f"{tenant.prefix}-certificate")
    if point == "txt-presented":  # the run then waits for propagation with its TXT values in the zone
        tenant.sandbox.backend(dns_service).set_propagation_delay(tenant.zone_id, 60)
        return "", ""
    if point in ("key-pending", "certificate-current"):  # the version listing after that write is slow
        secret = key if point == "key-pending" else cert  # (the first listing is the room check before ordering)
        add_fault(tenant, operation="vault.list_secret_versions", path=secret + "/versions", latency=30.0, skip=1)
        return "vault.update_secret", secret
    if point == "uploaded":  # the upload's work request is not polled
        add_fault(tenant, operation="lb.get_work_request", latency=30.0)
        return "lb.create_certificate", "*"
    tenant.control("POST", "/options", {"work_request_delay": 2.0})  # switched: its work request is pending
    return "lb.update_listener", "*"


# What the run after the kill does.
REPAIRED_BY = {"txt-presented": "repair", "key-pending": "nothing", "certificate-current": "deploy",
               "uploaded": "deploy", "switched": "repair"}


@pytest.mark.parametrize("point", list(REPAIRED_BY))
def test_sigkill_at_each_step_is_repaired_by_the_next_run(tenant, point, restore, tmp_path):
    operation, path = _hold(tenant, point)
    before = len(tenant.control("GET", "/calls"))
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(ROOT), **tenant.env}
    output = tmp_path / "run.out"
    with open(output, "wb") as out:
        process = subprocess.Popen([sys.executable, "-m", "certmgr", "run", "--force"], env=env, cwd=ROOT,
                                   stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while not (any(c["operation"] == operation and fnmatch.fnmatchcase(c["path"], path) and c["status"] < 300
                       for c in calls_since(tenant, before)) if operation else tenant.challenge_records()):
            assert process.poll() is None, f"the run ended before {point}: {output.read_text()}"
            assert time.monotonic() < deadline, f"the run never reached {point}"
            time.sleep(0.02)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    tenant.sandbox.world.faults.clear()
    tenant.sandbox.backend(dns_service).set_propagation_delay(tenant.zone_id, None)
    tenant.control("POST", "/options", {"work_request_delay": 0.3})
    tenant.settle()

    after = run(tenant.env, policy=later_policy())
    assert (after.status, after.action) == ("ok", REPAIRED_BY[point]), after.render()
    tenant.settle()
    follow_up = run(tenant.env, policy=later_policy())
    assert (follow_up.status, follow_up.action) == ("ok", "nothing"), follow_up.render()
    assert_healthy(tenant, now=time.time() + AFTER_THE_LEASE)


# 5. A CA that rejects nonces, or rate-limits -----------------------------------------------------------------

@pytest.fixture(scope="module")
def ca_tenant(make_tenant):
    """A tenant of its own: these runs deploy their own certificates, each prefix with its own ACME account."""
    return make_tenant("ca")


@pytest.fixture(scope="module")
def front(ca_tenant, tmp_path_factory):
    """Pebble behind the front that answers like a rate-limiting CA on demand."""
    front = AcmeFront(ca_tenant.sandbox.pebble, tmp_path_factory.mktemp("acme-front")).start()
    yield front
    front.stop()


def front_env(tenant, front, prefix: str) -> dict:
    return dict(tenant.env, CERTMGR_ACME_DIRECTORY=front.directory_url, CERTMGR_ACME_CA_BUNDLE=str(front.ca_bundle),
                CERTMGR_NAME_PREFIX=prefix)


def test_a_rate_limited_order_holds_the_next_runs_back_until_the_ca_said(ca_tenant, front):
    env = front_env(ca_tenant, front, "rl")
    front.fail("/order-plz", status=429, problem="rateLimited", detail="too many new orders", retry_after=7200)
    failed = run(env)
    assert failed.status == "failed" and "rateLimited" in failed.error, failed.render()
    assert any("no new order before" in w for w in failed.warnings), failed.warnings

    seen, before = len(front.requests), ca_tenant.footprint()
    held = run(env)
    assert (held.status, held.action) == ("ok", "backoff"), held.render()
    assert "no new order before" in held.reason and "a forced run orders now" in held.reason
    assert "/order-plz" not in front.paths(seen)  # the CA was not asked again
    assert ca_tenant.mutations_since(before) == []  # nor was anything written, the lock included

    forced = run(env, force=True)
    assert (forced.status, forced.action) == ("ok", "issue"), forced.render()
    assert run(env).action == "nothing"  # the success cleared the backoff


def test_consecutive_failed_orders_back_off_longer_each_time(ca_tenant, front):
    env = front_env(ca_tenant, front, "bo")
    waits = []
    for _ in range(3):
        front.fail("/order-plz", status=500, problem="serverInternal", detail="try later", count=1)
        result = run(env, force=True)
        assert result.status == "failed", result.render()
        metadata = ca_tenant.secrets.get_secret_bundle_by_name("bo-lock", ca_tenant.vault_id).data.metadata
        waits.append(float(metadata["acme_retry_at"]) - time.time())
    assert [round(w / DEFAULT.acme_backoff) for w in waits] == [1, 2, 4], waits


def test_pebble_rejecting_nonces_is_ridden_out(ca_tenant, tmp_path):
    """Pebble itself with PEBBLE_WFE_NONCEREJECT: a quarter of the requests answer badNonce."""
    sandbox = ca_tenant.sandbox
    with Pebble(dns_server=sandbox.dns_server.address, workdir=tmp_path,
                env={"PEBBLE_WFE_NONCEREJECT": "25", "PEBBLE_AUTHZREUSE": "0"}) as pebble:
        env = dict(ca_tenant.env, CERTMGR_ACME_DIRECTORY=pebble.directory_url,
                   CERTMGR_ACME_CA_BUNDLE=str(pebble.ca_bundle), CERTMGR_NAME_PREFIX="nonce")
        for _ in range(3):
            result = run(env, force=True)
            assert (result.status, result.action) == ("ok", "issue"), result.render()
        assert "badNonce" in pebble.log_tail(100000) or "nonce" in pebble.log_tail(100000).lower()


def test_no_renewal_advice_is_asked_for_an_expired_certificate(ca_tenant, front):
    env = front_env(ca_tenant, front, "exp")
    now = dt.datetime.now(dt.timezone.utc)
    expired = trustme.CA().create_child_ca().issue_cert(
        ca_tenant.zone, f"*.{ca_tenant.zone}", not_before=now - dt.timedelta(days=90), not_after=now - dt.timedelta(days=1))
    write_secret(ca_tenant, "exp-certificate", expired.cert_chain_pems[0].bytes())
    write_secret(ca_tenant, "exp-chain", expired.cert_chain_pems[1].bytes())
    write_secret(ca_tenant, "exp-private-key", expired.private_key_pem.bytes())
    seen = len(front.requests)
    result = run(env)
    assert (result.status, result.action) == ("ok", "issue") and "expired" in result.reason, result.render()
    assert not [p for p in front.paths(seen) if "renewalInfo" in p], front.paths(seen)


# 6. Vault's version limits ------------------------------------------------------------------------------------

def test_a_secret_at_vaults_version_limits_is_reported_before_any_order(ca_tenant):
    """30 versions in use and 30 pending deletion (what months of forced renewals in one day could leave):
    the run says so, and when it clears, before it orders a certificate it could not store."""
    env = dict(ca_tenant.env, CERTMGR_NAME_PREFIX="full")
    assert run(env).status == "ok"
    vaults = ca_tenant._client(oci.vault.VaultsClient)
    key_id = secret_path(ca_tenant, "full-private-key").rsplit("/", 1)[1]
    content = ca_tenant.secrets.get_secret_bundle(key_id, stage="CURRENT").data.secret_bundle_content.content
    when = dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=2)
    schedule = oci.vault.models.ScheduleSecretVersionDeletionDetails(time_of_deletion=when)
    while True:  # the same key again and again: the set stays valid, only the counts grow
        versions = vaults.list_secret_versions(key_id).data
        in_use = [v for v in versions if not v.time_of_deletion]
        pending = len(versions) - len(in_use)
        if len(in_use) == 30 and pending == 30:
            break
        if len(in_use) == 30:
            oldest = min(v.version_number for v in in_use if "DEPRECATED" in v.stages)
            vaults.schedule_secret_version_deletion(key_id, oldest, schedule)
            continue
        vaults.update_secret(key_id, oci.vault.models.UpdateSecretDetails(
            secret_content=oci.vault.models.Base64SecretContentDetails(content_type="BASE64", content=content)))
    result = run(env, force=True)
    assert result.status == "failed", result.render()
    assert "is at OCI's limit of 30 versions in use and 30 pending deletion" in result.error
    assert f"the next scheduled deletion frees a place at {when:%Y-%m-%d %H:%M} UTC" in " ".join(result.warnings)
    assert "no TXT record was added" in result.state and "acme_order" not in result.timings  # never ordered


# 7. Two first runs at once ----------------------------------------------------------------------------------

def test_two_concurrent_first_runs_issue_exactly_once_twenty_times(ca_tenant):
    """No lock secret, no account, no certificate yet, and two runs start together (the schedule and a
    manual invoke): exactly one orders, registers an account and deploys; every time."""
    ca_tenant.control("POST", "/options", {"work_request_delay": 0.05})
    try:
        for n in range(20):
            env = dict(ca_tenant.env, CERTMGR_NAME_PREFIX=f"race{n}")
            results, start = [], threading.Barrier(2)

            def one():
                start.wait()
                results.append(run(env))
            threads = [threading.Thread(target=one) for _ in range(2)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(60)
            outcomes = sorted((r.status, r.action) for r in results)
            assert outcomes in ([("ok", "issue"), ("skipped", "issue")], [("ok", "issue"), ("ok", "nothing")]), \
                f"round {n}: {[r.render() for r in results]}"
            versions = ca_tenant.secret_versions()
            assert (versions[f"race{n}-acme-account-key"], versions[f"race{n}-certificate"]) == (1, 1), versions
    finally:
        ca_tenant.control("POST", "/options", {"work_request_delay": 0.3})
