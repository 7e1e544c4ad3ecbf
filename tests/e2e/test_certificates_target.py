"""The OCI Certificates service as the deploy target (CERTMGR_CERTIFICATE_NAME), through the real SDK, Pebble
and real TLS handshakes: the first run creates the certificate and points the listener at it by OCID; a
renewal adds a CURRENT version that the listener serves with no listener update; a certificate first imported
with clientAuth takes the successor path; old versions are pruned; drift is repaired without an order."""
from __future__ import annotations

import datetime as dt

import oci
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from _runs import run
from _slice import add_fault, lock_holders
from certmgr import monitor
from certmgr.app import config_for
from certmgr.settings.config import Config

LABEL = "certsvc"
NAME = "web-tls"


def management(tenant) -> oci.certificates_management.CertificatesManagementClient:
    return tenant._client(oci.certificates_management.CertificatesManagementClient)


def certificates(tenant) -> dict[str, oci.certificates_management.models.CertificateSummary]:
    """The tenant compartment's certificates by name (every state)."""
    found = management(tenant).list_certificates(compartment_id=tenant.compartment_id).data.items
    return {c.name: c for c in found}


def versions(tenant, certificate_id: str) -> list:
    return management(tenant).list_certificate_versions(certificate_id).data.items


def referenced(tenant) -> list:
    """The certificate OCIDs the https listener references."""
    return tenant.load_balancer().listeners["https"].ssl_configuration.certificate_ids


def assert_served_from_service(tenant, name: str) -> None:
    """The listener references `name` by OCID, and serves, in a verified handshake, Vault's CURRENT
    certificate, which is the CURRENT version of `name`; no TXT record or lock is left."""
    cert = certificates(tenant)[name]
    stored = x509.load_pem_x509_certificate(tenant.secret("certificate"))
    assert referenced(tenant) == [cert.id]
    assert int(cert.current_version_summary.serial_number.replace(" ", ""), 16) == stored.serial_number
    assert tenant.served().serial_number == stored.serial_number
    assert tenant.challenge_records() == []
    assert set(lock_holders(tenant).values()) <= {None}


@pytest.fixture(scope="module")
def tenant(tenant):
    """The slice deploys to the Certificates service, and checks its listener after each deploy."""
    tenant.env.update(CERTMGR_CERTIFICATE_NAME=NAME, CERTMGR_VERIFY_ENDPOINTS=tenant.env["SANDBOX_LB_HTTPS"],
                      CERTMGR_VERIFY_CA_BUNDLE=tenant.env["SANDBOX_ACME_ROOT"])
    return tenant


def test_the_first_run_creates_the_certificate_and_the_listener_serves_it(tenant):
    result = run(tenant.env)
    assert (result.status, result.action) == ("ok", "issue"), result.render()
    assert result.service_certificate == NAME and result.listeners == ["https"]
    assert result.endpoints[0]["ok"] is True
    assert_served_from_service(tenant, NAME)
    assert tenant.lb_certificate_names() == {"bootstrap"}  # the seeded bundle only: nothing uploaded
    again = run(tenant.env)
    assert (again.status, again.action) == ("ok", "nothing"), again.render()


def test_a_renewal_adds_a_version_that_is_served_without_a_listener_update(tenant):
    before = tenant.footprint()
    old = tenant.served().serial_number
    result = run(tenant.env, force=True)
    assert result.status == "ok", result.render()
    assert tenant.served().serial_number != old
    assert_served_from_service(tenant, NAME)
    done = tenant.mutations_since(before)
    assert "certificates_management.update_certificate" in done
    assert "lb.update_listener" not in done and "lb.create_certificate" not in done
    assert result.listeners == []
    stages = [v.stages for v in versions(tenant, certificates(tenant)[NAME].id)]
    assert stages == [["PREVIOUS"], ["CURRENT", "LATEST"]]


def test_deprecated_versions_beyond_two_are_scheduled_for_deletion(tenant):
    for _ in range(4):
        assert run(tenant.env, force=True).status == "ok"
    listed = versions(tenant, certificates(tenant)[NAME].id)
    deprecated = [v for v in listed if v.stages == ["DEPRECATED"]]
    assert len(listed) == 6 and len(deprecated) == 4
    assert [v.time_of_deletion is not None for v in deprecated] == [True, True, False, False]
    assert_served_from_service(tenant, NAME)


def test_a_current_version_that_is_not_vaults_is_repaired_without_an_order(tenant):
    """Someone makes an older version CURRENT by hand: the next run puts Vault's back, orders nothing."""
    cert = certificates(tenant)[NAME]
    previous = [v for v in versions(tenant, cert.id) if v.stages == ["PREVIOUS"]][0]
    management(tenant).update_certificate(cert.id, oci.certificates_management.models.UpdateCertificateDetails(
        current_version_number=previous.version_number))
    before = tenant.footprint()
    result = run(tenant.env)
    assert (result.status, result.action) == ("ok", "deploy"), result.render()
    assert "holds" in result.reason and not result.stored_in_vault
    assert tenant.footprint().secret_versions == before.secret_versions  # no new certificate
    assert_served_from_service(tenant, NAME)


def test_a_status_report_agrees_with_what_is_served(tenant):
    from certmgr.renewal.status import status
    report = status(Config.from_env(tenant.env))
    assert report.status == "ok" and report.plan.startswith("nothing")
    assert report.listeners[0]["certificate_name"] == NAME and report.listeners[0]["serves_stored"] is True


def _certificate_with_usages(names: list[str], usages: list) -> tuple[str, str, str]:
    """A self-signed certificate for `names` with these extended key usages: (certificate, chain, key) PEMs."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=80))
            .not_valid_after(now + dt.timedelta(days=10))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), critical=False)
            .add_extension(x509.ExtendedKeyUsage(usages), critical=False)
            .sign(key, hashes.SHA256()))
    pem = cert.public_bytes(serialization.Encoding.PEM).decode()
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    return pem, pem, key_pem


def test_a_certificate_whose_usages_differ_from_the_renewals_is_replaced_by_a_successor(make_tenant):
    """Let's Encrypt now issues serverAuth only, so a certificate first imported with clientAuth refuses the
    renewal. Pebble 2.6 still issues both usages, so here the first version carries serverAuth alone: OCI's
    rule (the usages must be equal) and certmgr's path are the same either way."""
    t = make_tenant("ekusvc")
    t.env.update(CERTMGR_CERTIFICATE_NAME=NAME)
    cert_pem, chain_pem, key_pem = _certificate_with_usages([t.zone, f"*.{t.zone}"], [ExtendedKeyUsageOID.SERVER_AUTH])
    M = oci.certificates_management.models
    created = management(t).create_certificate(M.CreateCertificateDetails(
        name=NAME, compartment_id=t.compartment_id, certificate_config=M.CreateCertificateByImportingConfigDetails(
            certificate_pem=cert_pem, cert_chain_pem=chain_pem, private_key_pem=key_pem))).data
    listener = t.load_balancer().listeners["https"]
    ssl = oci.load_balancer.models.SSLConfigurationDetails(
        certificate_ids=[created.id], protocols=listener.ssl_configuration.protocols,
        cipher_suite_name=listener.ssl_configuration.cipher_suite_name)
    wr = t.lb.update_listener(oci.load_balancer.models.UpdateListenerDetails(
        default_backend_set_name=listener.default_backend_set_name, port=listener.port, protocol=listener.protocol,
        hostname_names=listener.hostname_names, rule_set_names=listener.rule_set_names, ssl_configuration=ssl),
        t.lb_id, "https").headers["opc-work-request-id"]
    assert t.wait_work_request(wr) == "SUCCEEDED"

    result = run(t.env)
    assert (result.status, result.action) == ("ok", "issue"), result.render()
    issued = x509.load_pem_x509_certificate(t.secret("certificate"))
    assert ExtendedKeyUsageOID.CLIENT_AUTH in issued.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert result.service_certificate == f"{NAME}-2" and result.listeners == ["https"]
    assert any("extended key usages" in w and f"created {NAME}-2" in w for w in result.warnings), result.warnings
    assert result.retired == [NAME]
    assert_served_from_service(t, f"{NAME}-2")
    assert certificates(t)[NAME].lifecycle_state == "PENDING_DELETION"
    renewal = run(t.env, force=True)  # the successor takes versions as usual
    assert renewal.status == "ok" and renewal.service_certificate == f"{NAME}-2" and renewal.listeners == []
    assert_served_from_service(t, f"{NAME}-2")


def test_a_bundle_deployment_moves_to_the_certificates_service_without_an_order(make_tenant):
    t = make_tenant("movesvc")
    assert run(t.env).status == "ok"
    bundle = t.load_balancer().listeners["https"].ssl_configuration.certificate_name
    versions_before = t.footprint().secret_versions
    t.env.update(CERTMGR_CERTIFICATE_NAME=NAME)
    add_fault(t, operation="lb.update_listener", status=500, count=1000)
    try:
        failed = run(t.env)
    finally:
        t.sandbox.world.faults.clear()
    assert failed.status == "failed" and failed.state == (
        f"the certificate is in Vault and is the CURRENT version of {NAME} in the Certificates service; listeners "
        "https still reference another certificate; the next run points them at it"), failed.render()
    assert t.load_balancer().listeners["https"].ssl_configuration.certificate_name == bundle  # still served
    result = run(t.env)
    assert (result.status, result.action) == ("ok", "deploy"), result.render()
    assert t.footprint().secret_versions == versions_before
    assert result.deleted_lb_certificates == [bundle]
    assert_served_from_service(t, NAME)
    assert bundle not in t.lb_certificate_names()


def test_the_monitor_lists_certmgrs_certificate_once(tenant):
    env = dict(tenant.env, CERTMGR_MONITOR_REGIONS=tenant.sandbox.world.home_region)
    result = monitor.run(config_for(env, "monitor"))
    serial = format(x509.load_pem_x509_certificate(tenant.secret("certificate")).serial_number, "x")
    mine = [i for i in result.items if i.serial and int(i.serial, 16) == int(serial, 16)]
    assert len(mine) == 1, [(i.source, i.name) for i in mine]
    assert mine[0].source == "certificates" and mine[0].name == NAME and "vault" in mine[0].detail


# What a forced renewal leaves when every call of one Certificates-service operation answers 500.
PERSISTENT_STATE = {
    "certificates_management.list_certificates": "nothing was changed",
    "certificates_management.update_certificate": "new certificate stored in Vault; importing it into web-tls",
    "certificates_management.get_certificate": "new certificate stored in Vault; importing it into web-tls",
}
WARNS_ONLY = ("certificates_management.list_certificate_versions",
              "certificates_management.schedule_certificate_version_deletion")


@pytest.mark.parametrize("op", [*PERSISTENT_STATE, *WARNS_ONLY])
def test_a_persistent_500_on_a_certificates_operation_says_what_was_left_and_the_next_run_recovers(tenant, op):
    if op == "certificates_management.schedule_certificate_version_deletion":
        run(tenant.env, force=True)  # one more DEPRECATED version than kept, so the renewal below prunes
    add_fault(tenant, operation=op, status=500, count=1000)
    try:
        result = run(tenant.env, force=True)
    finally:
        tenant.sandbox.world.faults.clear()
    if op in WARNS_ONLY:
        assert result.status == "ok" and any("500" in w for w in result.warnings), result.render()
    else:
        assert result.status == "failed" and "500" in result.error, result.render()
        assert result.state.startswith(PERSISTENT_STATE[op]), result.state
    after = run(tenant.env)
    assert after.status == "ok" and after.action in ("nothing", "deploy"), after.render()
    assert_served_from_service(tenant, NAME)


def test_a_renewal_waits_while_someone_else_updates_the_certificate(tenant):
    """OCI refuses a change while the certificate is UPDATING (409): the renewal waits until it is ACTIVE again,
    in its timings, and adds its version."""
    (certificate_id,) = referenced(tenant)
    tenant.control("POST", "/options", {"certificate_delay": 1.0})   # the other actor's change takes a second
    management(tenant).update_certificate(certificate_id, oci.certificates_management.models.UpdateCertificateDetails(
        description="edited in the console"))
    tenant.control("POST", "/options", {"certificate_delay": 0})
    result = run(tenant.env, force=True)
    assert (result.status, result.action) == ("ok", "issue"), result.render()
    assert result.timings["certificates_wait_for_others"] > 0, result.timings
    assert_served_from_service(tenant, result.service_certificate)
