"""A second ACME CA when the first fails: used only when an order is due, the primary fails in this run or is
held back, and the stored certificate is missing, expired or past half its renewal window; the next renewal
goes to the primary again. Two Pebbles (the second as the fallback) and the front for the primary's answers."""
from __future__ import annotations

import base64
import datetime as dt
import socket
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.verification import PolicyBuilder, Store

from _runs import run
from _slice import caa
from sandbox.acme_front import AcmeFront
from sandbox.pebble import Pebble

LABEL = "fallback"


@pytest.fixture(scope="module")
def second(tenant, tmp_path_factory):
    with Pebble(dns_server=tenant.sandbox.dns_server.address, workdir=tmp_path_factory.mktemp("pebble-2")) as pebble:
        yield pebble


@pytest.fixture(scope="module")
def front(tenant, tmp_path_factory):
    front = AcmeFront(tenant.sandbox.pebble, tmp_path_factory.mktemp("acme-front")).start()
    yield front
    front.stop()


@pytest.fixture(scope="module")
def second_front(second, tmp_path_factory):
    """The second Pebble behind a front of its own, which publishes a CAA identity as Let's Encrypt does."""
    front = AcmeFront(second, tmp_path_factory.mktemp("acme-front-2")).start()
    front.caa_identities = ["fallback.test"]
    yield front
    front.stop()


def closed_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}/dir"


def with_fallback(env: dict, primary: str, primary_bundle: str | None, second) -> dict:
    return dict(env, CERTMGR_ACME_DIRECTORY=primary, CERTMGR_ACME_CA_BUNDLE=primary_bundle or "",
                CERTMGR_ACME_FALLBACK_DIRECTORY=second.directory_url,
                CERTMGR_ACME_FALLBACK_CA_BUNDLE=str(second.ca_bundle))


def stored(tenant, name: str) -> bytes:
    bundle = tenant.secrets.get_secret_bundle_by_name(name, tenant.vault_id).data
    return base64.b64decode(bundle.secret_bundle_content.content)


def chains_to(tenant, prefix: str, root_pem: Path) -> None:
    chain = [*x509.load_pem_x509_certificates(stored(tenant, f"{prefix}-certificate")),
             *x509.load_pem_x509_certificates(stored(tenant, f"{prefix}-chain"))]
    store = Store(x509.load_pem_x509_certificates(root_pem.read_bytes()))
    PolicyBuilder().store(store).time(dt.datetime.now(dt.timezone.utc)).build_server_verifier(
        x509.DNSName(tenant.zone)).verify(chain[0], chain[1:])
    assert tenant.served(verify=False).serial_number == chain[0].serial_number


def test_primary_unreachable_and_nothing_stored_issues_from_the_fallback_then_renews_at_the_primary(tenant, second):
    with tenant.another_deployment("fb") as env:
        env = with_fallback(env, closed_url(), None, second)
        issued = run(env)
        assert (issued.status, issued.action, issued.ca) == ("ok", "issue", second.directory_url), issued.render()
        assert issued.fallback_reason.startswith("the primary CA cannot be reached: acme: cannot read the ACME")
        chains_to(tenant, "fb", second.root_pem)  # the fallback's chain, served

        primary = dict(env, CERTMGR_ACME_DIRECTORY=tenant.env["CERTMGR_ACME_DIRECTORY"],
                       CERTMGR_ACME_CA_BUNDLE=tenant.env["CERTMGR_ACME_CA_BUNDLE"])
        renewed = run(primary, force=True)  # the primary is back: it is asked first again
        assert (renewed.status, renewed.ca, renewed.fallback_reason) == (
            "ok", tenant.env["CERTMGR_ACME_DIRECTORY"], None), renewed.render()
        chains_to(tenant, "fb", Path(tenant.env["SANDBOX_ACME_ROOT"]))


def test_primary_failing_mid_order_falls_back_in_the_same_run(tenant, second, front):
    with tenant.another_deployment("fbo") as env:
        front.fail("/order-plz", status=500, problem="serverInternal", detail="the CA is down", count=1)
        issued = run(with_fallback(env, front.directory_url, str(front.ca_bundle), second))
        assert (issued.status, issued.ca) == ("ok", second.directory_url), issued.render()
        assert issued.fallback_reason == "the primary CA failed: acme: new order refused: " \
                                         "urn:ietf:params:acme:error:serverInternal: the CA is down"
        chains_to(tenant, "fbo", second.root_pem)


def test_primary_refusing_with_a_certificate_far_from_expiry_backs_off_without_the_fallback(tenant, second, front):
    with tenant.another_deployment("fbn") as env:
        env = with_fallback(env, front.directory_url, str(front.ca_bundle), second)
        assert run(env).ca == front.directory_url  # a fresh certificate from the primary
        front.fail("/order-plz", status=500, problem="serverInternal", detail="the CA is down", count=1)
        refused = run(env, force=True)
        assert (refused.status, refused.ca, refused.fallback_reason) == ("failed", None, None), refused.render()
        assert any("no new order before" in w for w in refused.warnings)


def test_both_cas_failing_hold_orders_back_and_the_fallback_is_not_asked_again_in_the_hold(tenant, front, second):
    with tenant.another_deployment("fbb") as env:
        env = dict(env, CERTMGR_ACME_DIRECTORY=front.directory_url, CERTMGR_ACME_CA_BUNDLE=str(front.ca_bundle),
                   CERTMGR_ACME_FALLBACK_DIRECTORY=closed_url())
        front.fail("/order-plz", status=500, problem="serverInternal", detail="the CA is down", count=1)
        both = run(env)
        assert (both.status, both.error_component) == ("failed", "acme"), both.render()
        assert both.fallback_reason.startswith("the primary CA failed") and "cannot read the ACME directory" in both.error
        held = run(env)  # the fallback's own refusal holds: no order from either CA until the hold ends
        assert (held.action, held.status, held.fallback_reason) == ("backoff", "failed", None), held.render()
        fixed = run(with_fallback(env, front.directory_url, str(front.ca_bundle), second))
        assert (fixed.status, fixed.action) == ("ok", "issue"), fixed.render()  # what was refused changed


def test_a_caa_record_forbidding_the_fallback_ca_is_refused_before_it_is_asked(tenant, front, second_front):
    with tenant.another_deployment("fbc") as env, caa(tenant, '0 issue "primary.test"'):
        env = dict(env, CERTMGR_ACME_DIRECTORY=front.directory_url, CERTMGR_ACME_CA_BUNDLE=str(front.ca_bundle),
                   CERTMGR_ACME_FALLBACK_DIRECTORY=second_front.directory_url,
                   CERTMGR_ACME_FALLBACK_CA_BUNDLE=str(second_front.ca_bundle))
        front.fail("/order-plz", status=500, problem="serverInternal", detail="the CA is down", count=1)
        seen, before = len(second_front.requests), tenant.footprint()
        refused = run(env)  # the primary fails mid-run; the fallback's CAA is looked at before it is asked
        assert refused.status == "failed", refused.render()
        assert f'{tenant.zone}: CAA at {tenant.zone} (issue "primary.test") does not name fallback.test' \
            in refused.error, refused.error
        assert any("set CERTMGR_ACME_FALLBACK_DIRECTORY to a CA it names" in w for w in refused.warnings)
        assert second_front.paths(seen) == ["/dir"]  # its directory read, nothing asked of it
        assert [c for c in tenant.calls_since(before) if c["operation"] == "dns.patch_zone_records"] == []

        held = run(env)  # the primary's refusal holds: the plan goes to the fallback, looked at before the lock
        assert (held.status, held.error_component) == ("failed", "acme") and "fallback.test" in held.error, \
            held.render()
        with caa(tenant, '0 issue "fallback.test"'):  # the record fixed: the fallback's own hold was never kept
            issued = run(env)
        assert (issued.status, issued.ca) == ("ok", second_front.directory_url), issued.render()
