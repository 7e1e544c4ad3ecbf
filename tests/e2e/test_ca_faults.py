"""A CA that rejects nonces or rate-limits orders, a CA-side expired certificate, Vault's version limits, and
two first runs at once: each ends healthy, and no run burns the CA's limits."""
from __future__ import annotations

import datetime as dt
import threading
import time

import oci
import pytest
import trustme

from _runs import run
from _slice import caa, secret_path, write_secret
from certmgr.timing import DEFAULT
from sandbox.acme_front import AcmeFront
from sandbox.oci.vault.models import VERSION_LIMIT
from sandbox.pebble import Pebble

LABEL = "ca"  # these runs deploy their own certificates, each prefix with its own ACME account


# 5. A CA that rejects nonces, or rate-limits -----------------------------------------------------------------

@pytest.fixture(scope="module")
def front(tenant, tmp_path_factory):
    """Pebble behind the front that answers like a rate-limiting CA on demand."""
    front = AcmeFront(tenant.sandbox.pebble, tmp_path_factory.mktemp("acme-front")).start()
    yield front
    front.stop()


def front_env(tenant, front, prefix: str) -> dict:
    """A deployment of its own (`prefix`) on the module's listener, handed over to it."""
    tenant.hand_over()
    return dict(tenant.env, CERTMGR_ACME_DIRECTORY=front.directory_url, CERTMGR_ACME_CA_BUNDLE=str(front.ca_bundle),
                CERTMGR_NAME_PREFIX=prefix)


def test_a_rate_limited_order_holds_the_next_runs_back_until_the_ca_said(tenant, front):
    env = front_env(tenant, front, "rl")
    front.fail("/order-plz", status=429, problem="rateLimited", detail="too many new orders", retry_after=7200)
    failed = run(env)
    assert failed.status == "failed" and "rateLimited" in failed.error, failed.render()
    assert any("no new order before" in w for w in failed.warnings), failed.warnings

    seen, before = len(front.requests), tenant.footprint()
    held = run(env)  # no certificate at all: holding back is a failed run, never an OK one
    assert (held.status, held.action, held.error_component) == ("failed", "backoff", "acme"), held.render()
    assert "no new order before" in held.reason and "a forced run orders now" in held.reason
    assert "held back and no valid certificate is stored" in held.error
    assert "/order-plz" not in front.paths(seen)  # the CA was not asked again
    assert tenant.mutations_since(before) == []  # nor was anything written, the lock included

    forced = run(env, force=True)
    assert (forced.status, forced.action) == ("ok", "issue"), forced.render()
    assert run(env).action == "nothing"  # the success cleared the backoff


def test_a_hold_the_served_certificate_outlives_is_ok_with_a_warning(tenant, front):
    env = front_env(tenant, front, "hw")
    assert run(env).status == "ok"
    front.fail("/order-plz", status=429, problem="rateLimited", detail="too many new orders", retry_after=70 * 86400)
    assert run(env, force=True).status == "failed"
    later = dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=65)  # due (25 days left); the CA said 70 days
    held = run(env, now=later)
    assert (held.status, held.action) == ("ok", "backoff"), held.render()
    assert any(w.startswith("a due order is held back until") and "the certificate stays valid until" in w
               for w in held.warnings), held.warnings


def test_a_refused_contact_once_fixed_orders_at_once(tenant, front):
    """The backoff holds only the order the CA refused: a changed CERTMGR_ACME_EMAIL is a new order."""
    env = front_env(tenant, front, "ic")
    front.fail("/sign-me-up", status=400, problem="invalidContact", detail="contact domain is forbidden", count=1)
    refused = run(env)
    assert refused.status == "failed" and "invalidContact" in refused.error, refused.render()
    assert "hint: the CA refuses the contact: set CERTMGR_ACME_EMAIL" in "\n".join(refused.warnings)
    assert run(env).action == "backoff"  # the same order stays held
    fixed = run(dict(env, CERTMGR_ACME_EMAIL="ops@fixed.test"))
    assert (fixed.status, fixed.action) == ("ok", "issue"), fixed.render()


def test_a_deactivated_account_is_replaced_by_a_new_one_in_the_same_run(tenant, front):
    env = front_env(tenant, front, "da")
    assert run(env).status == "ok"
    keys = tenant.secret_versions()["da-acme-account-key"]
    front.fail("/sign-me-up", status=401, problem="unauthorized", count=1,
               detail="An account with the provided public key exists but is deactivated")
    renewed = run(env, force=True)
    assert (renewed.status, renewed.action, renewed.stored_in_vault) == ("ok", "issue", True), renewed.render()
    assert any("exists but is deactivated: registered a new ACME account with a new key" in w
               for w in renewed.warnings), renewed.warnings
    assert tenant.secret_versions()["da-acme-account-key"] == keys + 1  # a new version; the old one kept


def test_a_caa_record_forbidding_the_ca_is_refused_before_any_order(tenant, front):
    front.caa_identities = ["pebble.test"]
    env = front_env(tenant, front, "caa")
    try:
        with caa(tenant, '0 issue "other-ca.example"'):
            seen, before = len(front.requests), tenant.footprint()
            refused = run(env)
            assert (refused.status, refused.error_component) == ("failed", "acme"), refused.render()
            assert (f'{tenant.zone}: CAA at {tenant.zone} (issue "other-ca.example") does not name pebble.test'
                    in refused.error), refused.error
            assert f"*.{tenant.zone}: CAA at {tenant.zone}" in refused.error  # the wildcard climbs to the apex
            assert any('add the CAA record `0 issue "pebble.test"`' in w for w in refused.warnings)
            assert "/order-plz" not in front.paths(seen) and "/sign-me-up" not in front.paths(seen)
            assert [c for c in tenant.calls_since(before) if c["operation"] == "dns.patch_zone_records"] == []
            with caa(tenant, '0 issue "pebble.test"'):  # the CA named beside the other: allowed
                allowed = run(env)
                assert (allowed.status, allowed.action) == ("ok", "issue"), allowed.render()
    finally:
        front.caa_identities = []


def test_consecutive_failed_orders_back_off_longer_each_time(tenant, front):
    env = front_env(tenant, front, "bo")
    waits = []
    for _ in range(3):
        front.fail("/order-plz", status=500, problem="serverInternal", detail="try later", count=1)
        result = run(env, force=True)
        assert result.status == "failed", result.render()
        metadata = tenant.secrets.get_secret_bundle_by_name("bo-lock", tenant.vault_id).data.metadata
        waits.append(float(metadata["acme_retry_at"]) - time.time())
    assert [round(w / DEFAULT.acme_backoff) for w in waits] == [1, 2, 4], waits


def test_pebble_rejecting_nonces_is_ridden_out(tenant, tmp_path):
    """Pebble itself with PEBBLE_WFE_NONCEREJECT: a quarter of the requests answer badNonce."""
    sandbox = tenant.sandbox
    with Pebble(dns_server=sandbox.dns_server.address, workdir=tmp_path,
                env={"PEBBLE_WFE_NONCEREJECT": "25", "PEBBLE_AUTHZREUSE": "0"}) as pebble:
        env = dict(tenant.env, CERTMGR_ACME_DIRECTORY=pebble.directory_url,
                   CERTMGR_ACME_CA_BUNDLE=str(pebble.ca_bundle), CERTMGR_NAME_PREFIX="nonce")
        for _ in range(3):
            result = run(env, force=True)
            assert (result.status, result.action) == ("ok", "issue"), result.render()
        assert "badNonce" in pebble.log_tail(100000) or "nonce" in pebble.log_tail(100000).lower()


def test_no_renewal_advice_is_asked_for_an_expired_certificate(tenant, front):
    env = front_env(tenant, front, "exp")
    now = dt.datetime.now(dt.timezone.utc)
    expired = trustme.CA().create_child_ca().issue_cert(
        tenant.zone, f"*.{tenant.zone}", not_before=now - dt.timedelta(days=90), not_after=now - dt.timedelta(days=1))
    write_secret(tenant, "exp-certificate", expired.cert_chain_pems[0].bytes())
    write_secret(tenant, "exp-chain", expired.cert_chain_pems[1].bytes())
    write_secret(tenant, "exp-private-key", expired.private_key_pem.bytes())
    seen = len(front.requests)
    result = run(env)
    assert (result.status, result.action) == ("ok", "issue") and "expired" in result.reason, result.render()
    assert not [p for p in front.paths(seen) if "renewalInfo" in p], front.paths(seen)


# 6. Vault's version limits ------------------------------------------------------------------------------------

def test_a_secret_at_vaults_version_limits_is_reported_before_any_order(tenant):
    """30 versions in use and 30 pending deletion (what months of forced renewals in one day could leave):
    the run says so, and when it clears, before it orders a certificate it could not store."""
    env = dict(tenant.env, CERTMGR_NAME_PREFIX="full")
    tenant.hand_over()
    assert run(env).status == "ok"
    vaults = tenant._client(oci.vault.VaultsClient)
    key_id = secret_path(tenant, "full-private-key").rsplit("/", 1)[1]
    content = tenant.secrets.get_secret_bundle(key_id, stage="CURRENT").data.secret_bundle_content.content
    when = dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=2)
    schedule = oci.vault.models.ScheduleSecretVersionDeletionDetails(time_of_deletion=when)
    while True:  # the same key again and again: the set stays valid, only the counts grow
        versions = vaults.list_secret_versions(key_id).data
        in_use = [v for v in versions if not v.time_of_deletion]
        pending = len(versions) - len(in_use)
        if len(in_use) == VERSION_LIMIT and pending == VERSION_LIMIT:
            break
        if len(in_use) == VERSION_LIMIT:
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

def test_two_concurrent_first_runs_issue_exactly_once_twenty_times(tenant):
    """No lock secret, no account, no certificate yet, and two runs start together (the schedule and a
    manual invoke): exactly one orders, registers an account and deploys; every time."""
    tenant.control("POST", "/options", {"work_request_delay": tenant.sandbox.work_request_delay})
    try:
        for n in range(20):
            env = dict(tenant.env, CERTMGR_NAME_PREFIX=f"race{n}")
            tenant.hand_over()  # a new deployment each round
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
            versions = tenant.secret_versions()
            assert (versions[f"race{n}-acme-account-key"], versions[f"race{n}-certificate"]) == (1, 1), versions
    finally:
        tenant.control("POST", "/options", {"work_request_delay": tenant.sandbox.work_request_delay})
