"""plan(config, state, now): every branch, and the edges of the renewal window, with plain data."""
import dataclasses
import datetime as dt

import pytest
import trustme
from cryptography import x509

from _renewer_env import ENV
from certmgr import pki
from certmgr.pki import CertInfo
from certmgr.settings.config import Config
from certmgr.renewal.plan import DEPLOY, ISSUE, NOTHING, REPAIR, ListenerState, State, plan, renewal_time

UTC = dt.timezone.utc
NOW = dt.datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
DAY = dt.timedelta(days=1)
CONFIG = Config.from_env(ENV)
SERIAL = "04a1b2c3d4e5f6071829"
ISSUER = CertInfo(names=(), subject="CN=R10,O=Let's Encrypt,C=US", issuer="CN=ISRG Root X1,O=ISRG,C=US",
                  serial="aa", not_before=NOW - 400 * DAY, not_after=NOW + 400 * DAY, key_type="rsa-2048",
                  fingerprint="00" * 32)


def leaf(*, left=60 * DAY, lifetime=90 * DAY, **changes) -> CertInfo:
    """A leaf for CONFIG that expires `left` after NOW."""
    not_after = NOW + left
    base = CertInfo(names=CONFIG.domains, subject="CN=example.com", issuer=ISSUER.subject, serial=SERIAL,
                    not_before=not_after - lifetime, not_after=not_after, key_type="ecdsa-p256",
                    fingerprint="ff" * 32)
    return dataclasses.replace(base, **changes)


def serving(*names, serial=SERIAL):
    return tuple(ListenerState(name, certificate_name="whatever", serial=serial) for name in names)


def state(cert="default", **changes) -> State:
    """A healthy state: stored certificate, its key and chain, both listeners serving it."""
    healthy = dict(certificate=leaf() if cert == "default" else cert, chain=(ISSUER,), key_matches=True,
                   listeners=serving("https", "https-alt"))
    return State(**{**healthy, **changes})


def test_healthy_certificate_needs_nothing():
    result = plan(CONFIG, state(), NOW)
    assert result.action == NOTHING and result.triggers == () and result.listeners_to_update == ()
    assert result.reason == ("valid until 2026-03-16 12:00 UTC (60 days), renewal due 2026-02-14 12:00 UTC; "
                             "all 2 listeners serve it")
    assert result.serial == SERIAL and result.not_after == NOW + 60 * DAY
    assert result.renew_at == NOW + 30 * DAY
    assert result.lb_certificate_name == CONFIG.lb_certificate_name(SERIAL, leaf().not_before)


@pytest.mark.parametrize("listeners, phrase", [
    (serving("https"), "the 1 listener serves it"),
    ((), "no listener is managed"),
])
def test_nothing_counts_listeners(listeners, phrase):
    assert plan(CONFIG, state(listeners=listeners), NOW).reason.endswith(phrase)


def test_no_certificate_issues_for_every_listener():
    result = plan(CONFIG, state(cert=None), NOW)
    assert (result.action, result.triggers) == (ISSUE, ("missing",))
    assert result.reason == "no certificate is stored in Vault"
    assert result.listeners_to_update == ("https", "https-alt")
    assert result.serial is None and result.renew_at is None


def test_unusable_certificate_issues_and_says_why():
    result = plan(CONFIG, state(cert=None, certificate_problem="certificate chain is not PEM"), NOW)
    assert (result.action, result.triggers) == (ISSUE, ("unusable",))
    assert result.reason == "the stored certificate cannot be used: certificate chain is not PEM"


@pytest.mark.parametrize("left, action", [
    (30 * DAY + dt.timedelta(seconds=1), NOTHING),
    (30 * DAY, ISSUE),
    (12 * DAY, ISSUE),
    (dt.timedelta(seconds=1), ISSUE),
])
def test_renewal_window_edges(left, action):
    result = plan(CONFIG, state(cert=leaf(left=left)), NOW)
    assert result.action == action
    if action == ISSUE:
        assert result.triggers == ("expiring",)
        assert result.reason.endswith("(renewal window 30 days)")


def test_expiring_reason_reads_well():
    result = plan(CONFIG, state(cert=leaf(left=12 * DAY + dt.timedelta(hours=5))), NOW)
    assert result.reason == "the certificate expires in 12 days (renewal window 30 days)"
    assert plan(CONFIG, state(cert=leaf(left=dt.timedelta(hours=5))), NOW).reason.startswith(
        "the certificate expires in 5 hours")


@pytest.mark.parametrize("days", [7, 14, 60])
def test_window_follows_config(days):
    config = dataclasses.replace(CONFIG, renewal_days=days)
    assert plan(config, state(cert=leaf(left=days * DAY)), NOW).action == ISSUE
    assert plan(config, state(cert=leaf(left=days * DAY + dt.timedelta(minutes=1))), NOW).action == NOTHING


@pytest.mark.parametrize("left, expected", [
    (dt.timedelta(0), "the certificate expired less than a minute ago (2026-01-15 12:00 UTC)"),
    (-2 * DAY, "the certificate expired 2 days ago (2026-01-13 12:00 UTC)"),
    (-DAY, "the certificate expired 1 day ago (2026-01-14 12:00 UTC)"),
])
def test_expired(left, expected):
    result = plan(CONFIG, state(cert=leaf(left=left)), NOW)
    assert (result.action, result.triggers, result.reason) == (ISSUE, ("expired",), expected)


SHORT = dt.timedelta(hours=160)  # Let's Encrypt's shortlived profile


@pytest.mark.parametrize("lifetime, window, due_before_expiry", [
    (90 * DAY, 30, 30 * DAY),                 # the window fits: use it
    (45 * DAY, 30, 30 * DAY),
    (90 * DAY, 60, 60 * DAY),
    (45 * DAY, 60, 15 * DAY),                 # window longer than the lifetime: a third of it
    (30 * DAY, 30, 10 * DAY),                 # window as long as the lifetime: a third
    (SHORT, 7, SHORT / 2),                    # under ten days: half
    (SHORT, 30, SHORT / 2),
])
def test_renewal_time(lifetime, window, due_before_expiry):
    cert = leaf(lifetime=lifetime)
    due, _ = renewal_time(cert, window)
    assert cert.not_after - due == due_before_expiry


@pytest.mark.parametrize("left, action", [
    (SHORT / 2 + dt.timedelta(seconds=1), NOTHING),
    (SHORT / 2, ISSUE),
    (DAY, ISSUE),
])
def test_short_lived_certificate_renews_at_half_its_lifetime(left, action):
    result = plan(CONFIG, state(cert=leaf(left=left, lifetime=SHORT)), NOW)
    assert result.action == action
    if action == ISSUE:
        assert result.triggers == ("expiring",)
        assert "less than half of its lifetime of 6 days (too short for the 30-day renewal window)" in result.reason


def test_short_lived_reason():
    result = plan(CONFIG, state(cert=leaf(left=SHORT / 2, lifetime=SHORT)), NOW)
    assert result.reason == ("the certificate expires in 3 days, less than half of its lifetime of 6 days "
                             "(too short for the 30-day renewal window)")


def test_short_lived_third_for_longer_lifetimes():
    config = dataclasses.replace(CONFIG, renewal_days=60)
    assert plan(config, state(cert=leaf(left=15 * DAY + dt.timedelta(seconds=1), lifetime=45 * DAY)),
                NOW).action == NOTHING
    result = plan(config, state(cert=leaf(left=15 * DAY, lifetime=45 * DAY)), NOW)
    assert result.action == ISSUE and "less than a third of its lifetime of 45 days" in result.reason


@pytest.mark.parametrize("names, detail", [
    (("example.com",), "missing *.example.com"),
    (("example.com", "*.example.com", "old.example.com"), "not wanted old.example.com"),
    (("www.example.com",), "missing example.com, *.example.com; not wanted www.example.com"),
])
def test_names_differ(names, detail):
    result = plan(CONFIG, state(cert=leaf(names=names)), NOW)
    assert (result.action, result.triggers) == (ISSUE, ("names",))
    assert result.reason == f"its names differ from CERTMGR_DOMAIN ({detail})"


def test_name_order_does_not_matter():
    assert plan(CONFIG, state(cert=leaf(names=("*.example.com", "example.com"))), NOW).action == NOTHING


@pytest.mark.parametrize("key_type, expected", [
    ("rsa-2048", "its key is rsa-2048, CERTMGR_KEY_TYPE asks for ecdsa-p256"),
    (None, "its key is of another type, CERTMGR_KEY_TYPE asks for ecdsa-p256"),
])
def test_key_type_differs(key_type, expected):
    result = plan(CONFIG, state(cert=leaf(key_type=key_type)), NOW)
    assert (result.action, result.triggers, result.reason) == (ISSUE, ("key_type",), expected)


@pytest.mark.parametrize("matches, expected", [
    (False, "the stored private key does not match it"),
    (None, "no private key is stored for it"),
])
def test_key_problem(matches, expected):
    result = plan(CONFIG, dataclasses.replace(state(), key_matches=matches), NOW)
    assert (result.action, result.triggers, result.reason) == (ISSUE, ("key",), expected)


def test_chain_missing_or_foreign():
    result = plan(CONFIG, dataclasses.replace(state(), chain=()), NOW)
    assert (result.action, result.triggers, result.reason) == (ISSUE, ("chain",), "no issuer chain is stored for it")
    other = dataclasses.replace(ISSUER, subject="CN=E7,O=Let's Encrypt,C=US")
    result = plan(CONFIG, dataclasses.replace(state(), chain=(other,)), NOW)
    assert result.triggers == ("chain",)
    assert "issued by CN=R10" in result.reason and "chain starts with CN=E7" in result.reason


def test_ari_window_open_triggers_renewal():
    result = plan(CONFIG, state(ari_window=(NOW - DAY, NOW + DAY)), NOW)
    assert (result.action, result.triggers) == (ISSUE, ("ari",))
    assert result.reason == "the CA's suggested renewal window opened 2026-01-14 12:00 UTC"
    assert plan(CONFIG, state(ari_window=(NOW, NOW + DAY)), NOW).action == ISSUE


def test_ari_window_ahead_moves_renew_at_only():
    result = plan(CONFIG, state(ari_window=(NOW + 5 * DAY, NOW + 6 * DAY)), NOW)
    assert result.action == NOTHING and result.renew_at == NOW + 5 * DAY
    later = plan(CONFIG, state(ari_window=(NOW + 40 * DAY, NOW + 41 * DAY)), NOW)
    assert later.renew_at == NOW + 30 * DAY  # our own window is earlier


def test_force_comes_first():
    result = plan(CONFIG, state(), NOW, force=True)
    assert (result.action, result.triggers, result.reason) == (ISSUE, ("force",), "renewal was forced")
    assert result.listeners_to_update == ("https", "https-alt")
    assert plan(CONFIG, state(cert=None), NOW, force=True).triggers == ("force", "missing")


def test_every_trigger_is_named():
    cert = leaf(left=3 * DAY, names=("example.com",), key_type="rsa-2048")
    result = plan(CONFIG, State(certificate=cert, chain=(), key_matches=False, ari_window=(NOW - DAY, NOW)), NOW,
                  force=True)
    assert result.triggers == ("force", "expiring", "ari", "names", "key_type", "key", "chain")
    assert result.reason.count("; ") == 6


def test_deploy_when_a_listener_serves_something_else():
    listeners = serving("https") + serving("https-alt", serial="0badc0de")
    result = plan(CONFIG, state(listeners=listeners), NOW)
    assert (result.action, result.listeners_to_update) == (DEPLOY, ("https-alt",))
    assert result.reason == ("listener https-alt does not serve the stored certificate, "
                             "valid until 2026-03-16 12:00 UTC (60 days)")
    assert result.lb_certificate_name == CONFIG.lb_certificate_name(SERIAL, leaf().not_before)


def test_deploy_names_every_stale_listener():
    listeners = (ListenerState("a"), ListenerState("b", "tmi-old-20250101"), *serving("c"))
    result = plan(CONFIG, state(listeners=listeners), NOW)
    assert (result.action, result.listeners_to_update) == (DEPLOY, ("a", "b"))
    assert result.reason.startswith("listeners a, b do not serve the stored certificate")


def test_listener_known_by_certificate_name_or_serial_spelling():
    name = CONFIG.lb_certificate_name(SERIAL, leaf().not_before)
    listeners = (ListenerState("by-name", certificate_name=name),
                 ListenerState("by-serial", serial="04:A1:B2:C3:D4:E5:F6:07:18:29"))
    assert plan(CONFIG, state(listeners=listeners), NOW).action == NOTHING


def test_renewal_beats_deploy():
    result = plan(CONFIG, state(cert=leaf(left=DAY), listeners=(ListenerState("https"),)), NOW)
    assert (result.action, result.listeners_to_update) == (ISSUE, ("https",))


def test_now_must_be_aware():
    with pytest.raises(ValueError, match="timezone-aware"):
        plan(CONFIG, state(), NOW.replace(tzinfo=None))


def test_same_inputs_same_plan():
    assert plan(CONFIG, state(), NOW) == plan(CONFIG, state(), NOW)


def test_plan_over_real_certificates():
    """CertInfo from pki.info() lines up with what plan compares: names, issuer/subject, key type."""
    ca = trustme.CA()
    issued = ca.issue_cert("example.com", "*.example.com", key_type=trustme.KeyType.ECDSA)
    leaf_cert = x509.load_pem_x509_certificate(issued.cert_chain_pems[0].bytes())
    info = pki.info(leaf_cert)
    key_ok = pki.key_matches(leaf_cert, issued.private_key_pem.bytes())
    chain = (pki.info(x509.load_pem_x509_certificate(ca.cert_pem.bytes())),)
    name = CONFIG.lb_certificate_name(info.serial, info.not_before)
    observed = State(certificate=info, chain=chain, key_matches=key_ok, listeners=(ListenerState("https", name),))
    now = info.not_before + dt.timedelta(days=1)
    result = plan(CONFIG, observed, now)
    assert result.action == NOTHING, result.reason
    assert plan(CONFIG, observed, info.not_after - dt.timedelta(days=29)).triggers == ("expiring",)


# -- the Certificates-service target (CERTMGR_CERTIFICATE_NAME)

SERVICE = Config.from_env({**ENV, "CERTMGR_CERTIFICATE_NAME": "web-tls"})
CERT_ID = "ocid1.certificate.oc1.iad.aaaaweb"


def referencing(*names, certificate_id=CERT_ID, serial=SERIAL):
    return tuple(ListenerState(name, "web-tls", serial, certificate_id) for name in names)


def test_service_target_serving_the_stored_certificate_needs_nothing():
    result = plan(SERVICE, state(listeners=referencing("https"), service_id=CERT_ID, service_serial=SERIAL.upper()), NOW)
    assert result.action == NOTHING and not result.import_to_service, result.reason


def test_service_target_without_the_certificate_imports_and_points_every_listener():
    result = plan(SERVICE, state(), NOW)  # both listeners serve the stored certificate, but as LB bundles
    assert (result.action, result.import_to_service) == (DEPLOY, True)
    assert result.listeners_to_update == ("https", "https-alt")
    assert result.reason.startswith("the Certificates service has no certificate web-tls, not the stored certificate")


def test_a_current_version_that_is_not_the_stored_certificate_is_drift_to_deploy_not_to_order():
    result = plan(SERVICE, state(listeners=referencing("https", serial="0b"), service_id=CERT_ID, service_serial="0b"), NOW)
    assert (result.action, result.import_to_service, result.triggers) == (DEPLOY, True, ())
    assert result.listeners_to_update == () and "holds 0b as CURRENT" in result.reason


def test_a_new_certificate_is_imported_into_the_service_and_never_for_lb_bundles():
    assert plan(SERVICE, state(cert=None), NOW).import_to_service
    assert plan(SERVICE, state(listeners=referencing("https"), service_id=CERT_ID, service_serial=SERIAL), NOW,
                force=True).import_to_service
    assert not plan(CONFIG, state(cert=None), NOW).import_to_service
    assert not plan(CONFIG, state(), NOW, force=True).import_to_service


def test_a_listener_referencing_another_certificate_is_pointed_at_it():
    listeners = referencing("https") + referencing("https-alt", certificate_id="ocid1.certificate.oc1.iad.other")
    result = plan(SERVICE, state(listeners=listeners, service_id=CERT_ID, service_serial=SERIAL), NOW)
    assert (result.action, result.import_to_service, result.listeners_to_update) == (DEPLOY, False, ("https-alt",))


def test_a_replaced_certificate_no_listener_uses_is_repaired():
    result = plan(SERVICE, state(listeners=referencing("https"), service_id=CERT_ID, service_serial=SERIAL,
                                 retired=("web-tls",)), NOW)
    assert result.action == "repair"
    assert result.repairs == ("schedule the deletion of the replaced Certificates-service certificate web-tls",)


def test_only_the_configured_name_and_its_successors_are_certmgrs():
    from certmgr.cloud.certificates import generation
    assert [generation("web", n) for n in ("web", "web-2", "web-17", "web-1", "web-0", "web-x", "web2", "webb", "w")] \
        == [1, 2, 17, None, None, None, None, None, None]


def test_unused_bundles_are_repaired_but_never_the_stored_certificates_own():
    own = CONFIG.lb_certificate_name(SERIAL, leaf().not_before)
    old = CONFIG.lb_certificate_name("0a" * 8, NOW - 90 * DAY)
    result = plan(CONFIG, state(orphans=(old, own)), NOW)
    assert (result.action, result.orphans, result.lb_certificate_name) == (REPAIR, (old,), own)
    assert result.repairs == (f"delete the unused LB certificate {old}",)
    assert plan(CONFIG, state(orphans=(own,)), NOW).action == NOTHING


FALLBACK = Config.from_env({**ENV, "CERTMGR_ACME_FALLBACK_DIRECTORY": "https://acme.fallback.example/directory"})
HELD = dict(orders_held_until=NOW + DAY, failed_orders=1, last_order_error="acme: new order refused: serverInternal")


def test_the_fallback_ca_orders_while_the_primary_is_held_back_only_past_half_the_renewal_window():
    missing = plan(FALLBACK, state(cert=None, **HELD), NOW)
    assert (missing.action, missing.ca, missing.may_fall_back) == (ISSUE, "fallback", True)
    assert missing.fallback_reason.startswith("orders from the primary CA are held back until")
    late = plan(FALLBACK, state(cert=leaf(left=10 * DAY), **HELD), NOW)  # window 30 days: 10 < 15 left
    assert (late.action, late.ca) == (ISSUE, "fallback")
    early = plan(FALLBACK, state(cert=leaf(left=20 * DAY), **HELD), NOW)  # inside the window, 20 >= 15 left
    assert (early.action, early.ca, early.may_fall_back) == ("backoff", "primary", False)
    assert plan(CONFIG, state(cert=None, **HELD), NOW).action == "backoff"  # no fallback configured
    assert plan(FALLBACK, state(cert=None, **HELD), NOW, force=True).ca == "primary"  # forced: the primary
    assert plan(FALLBACK, state(cert=None, held_by_fallback=True, **HELD), NOW).action == "backoff"  # it refused too


def test_an_unreachable_primary_sends_a_due_order_to_the_fallback():
    unreachable = plan(FALLBACK, state(cert=None, ca_unreachable="acme: cannot read the ACME directory"), NOW)
    assert (unreachable.ca, unreachable.fallback_reason) == (
        "fallback", "the primary CA cannot be reached: acme: cannot read the ACME directory")
    assert plan(FALLBACK, state(cert=None), NOW).ca == "primary"
