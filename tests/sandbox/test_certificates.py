"""OCI Certificates (management + retrieval) through the real SDK against the sandbox."""
import datetime as dt

import oci
import pytest
import requests
import trustme

from _fixtures import sdk_client
from sandbox.oci import certificates

CM = oci.certificates_management.models
CA = trustme.CA()


def issue(name: str, days: int, key_type=trustme.KeyType.ECDSA):
    """A leaf for `name` valid until `days` from now (whole seconds, as X.509 stores them)."""
    not_after = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=days)).replace(microsecond=0)
    leaf = CA.issue_cert(name, common_name=name, not_after=not_after, key_type=key_type)
    return leaf, not_after


def pems(leaf) -> tuple[str, str, str]:
    return (leaf.cert_chain_pems[0].bytes().decode(), CA.cert_pem.bytes().decode(),
            leaf.private_key_pem.bytes().decode())


def import_details(leaf, **extra):
    cert, chain, key = pems(leaf)
    return dict(certificate_pem=cert, cert_chain_pem=chain, private_key_pem=key, **extra)


def create(client, compartment, name, leaf):
    return client.create_certificate(CM.CreateCertificateDetails(
        name=name, compartment_id=compartment,
        certificate_config=CM.CreateCertificateByImportingConfigDetails(**import_details(leaf))))


def update(client, cert_id, leaf, **kwargs):
    stage = kwargs.pop("stage", None)
    return client.update_certificate(cert_id, CM.UpdateCertificateDetails(
        certificate_config=CM.UpdateCertificateByImportingConfigDetails(**import_details(leaf), stage=stage)),
        **kwargs)


management = sdk_client(oci.certificates_management.CertificatesManagementClient)
retrieval = sdk_client(oci.certificates.CertificatesClient)


@pytest.fixture
def compartment(sandbox, request):
    return sandbox.world.add_compartment(f"certs-{request.node.name}")


def test_import_shows_pem_facts_and_bundle(management, retrieval, compartment):
    leaf, not_after = issue("www.example.com", 40, trustme.KeyType.RSA)
    created = create(management, compartment, "www-example", leaf)
    assert created.data.lifecycle_state == "CREATING" and created.headers["etag"]

    cert = management.get_certificate(created.data.id).data
    version = cert.current_version
    parsed = certificates.parse_material(dict(zip(("certificatePem", "certChainPem", "privateKeyPem"),
                                                  pems(leaf))))
    assert cert.lifecycle_state == "ACTIVE" and cert.config_type == "IMPORTED"
    assert cert.subject.common_name == "www.example.com"
    assert cert.key_algorithm == "RSA2048" and cert.signature_algorithm == "SHA256_WITH_ECDSA"
    assert version.validity.time_of_validity_not_after == not_after
    assert version.serial_number == parsed.serial and version.stages == ["CURRENT", "LATEST"]
    assert [(n.type, n.value) for n in version.subject_alternative_names] == [("DNS", "www.example.com")]

    bundle = retrieval.get_certificate_bundle(cert.id, stage="LATEST").data
    assert isinstance(bundle, oci.certificates.models.CertificateBundlePublicOnly)
    assert bundle.validity.time_of_validity_not_after == not_after
    assert (bundle.certificate_pem, bundle.cert_chain_pem) == pems(leaf)[:2]
    assert not hasattr(bundle, "private_key_pem")
    with_key = retrieval.get_certificate_bundle(
        cert.id, certificate_bundle_type="CERTIFICATE_CONTENT_WITH_PRIVATE_KEY").data
    assert with_key.private_key_pem == pems(leaf)[2]


def test_update_by_import_rotates_stages(management, retrieval, compartment):
    first, first_end = issue("rot.example.com", 10)
    cert_id = create(management, compartment, "rot", first).data.id
    etag = management.get_certificate(cert_id).headers["etag"]
    second, second_end = issue("rot.example.com", 90)

    with pytest.raises(oci.exceptions.ServiceError) as stale:
        update(management, cert_id, second, if_match="not-the-etag")
    assert stale.value.status == 412
    assert update(management, cert_id, second, if_match=etag).data.current_version.version_number == 2

    stages = {v.version_number: v.stages for v in management.list_certificate_versions(cert_id).data.items}
    assert stages == {1: ["PREVIOUS"], 2: ["CURRENT", "LATEST"]}
    current = retrieval.get_certificate_bundle(cert_id).data
    assert (current.version_number, current.validity.time_of_validity_not_after) == (2, second_end)
    old = retrieval.get_certificate_bundle(cert_id, version_number=1).data
    assert old.validity.time_of_validity_not_after == first_end and old.stages == ["PREVIOUS"]

    third, _ = issue("rot.example.com", 80)
    update(management, cert_id, third, stage="PENDING")
    stages = {v.version_number: v.stages for v in retrieval.list_certificate_bundle_versions(cert_id).data.items}
    assert stages == {1: ["PREVIOUS"], 2: ["CURRENT"], 3: ["PENDING", "LATEST"]}
    management.update_certificate(cert_id, CM.UpdateCertificateDetails(current_version_number=3))
    stages = {v.version_number: v.stages for v in management.list_certificate_versions(cert_id).data.items}
    assert stages == {1: ["DEPRECATED"], 2: ["PREVIOUS"], 3: ["CURRENT", "LATEST"]}
    assert management.get_certificate_version(cert_id, 3).data.stages == ["CURRENT", "LATEST"]


def test_key_that_does_not_match_is_400(management, compartment):
    leaf, _ = issue("a.example.com", 30)
    other, _ = issue("b.example.com", 30)
    details = import_details(leaf)
    details["private_key_pem"] = other.private_key_pem.bytes().decode()
    with pytest.raises(oci.exceptions.ServiceError) as err:
        management.create_certificate(CM.CreateCertificateDetails(
            name="mismatch", compartment_id=compartment,
            certificate_config=CM.CreateCertificateByImportingConfigDetails(**details)))
    assert (err.value.status, err.value.code) == (400, "InvalidParameter")
    assert "does not match" in err.value.message

    details["certificate_pem"] = "-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----\n"
    with pytest.raises(oci.exceptions.ServiceError) as err:
        management.create_certificate(CM.CreateCertificateDetails(
            name="garbage", compartment_id=compartment,
            certificate_config=CM.CreateCertificateByImportingConfigDetails(**details)))
    assert err.value.status == 400


def test_name_is_unique_per_compartment(sandbox, management, compartment):
    leaf, _ = issue("dup.example.com", 30)
    create(management, compartment, "dup", leaf)
    with pytest.raises(oci.exceptions.ServiceError) as err:
        create(management, compartment, "dup", leaf)
    assert err.value.status == 409
    assert create(management, sandbox.world.add_compartment("certs-dup-elsewhere"), "dup", leaf).data.id


def test_retry_token_returns_the_same_certificate(management, compartment):
    leaf, _ = issue("retry.example.com", 30)
    details = CM.CreateCertificateDetails(name="retry", compartment_id=compartment,
                                          certificate_config=CM.CreateCertificateByImportingConfigDetails(
                                              **import_details(leaf)))
    first = management.create_certificate(details, opc_retry_token="token-1").data
    assert management.create_certificate(details, opc_retry_token="token-1").data.id == first.id


def test_broken_bundle_knob(sandbox, retrieval, compartment):
    backend = sandbox.world.backend(certificates)
    leaf, _ = issue("broken.example.com", 30)
    cert_id = backend.import_certificate(compartment, "broken", *pems(leaf))

    reply = requests.post(f"{sandbox.endpoint}/_control/certificates/{cert_id}/break", json={"status": 500})
    assert reply.status_code == 200
    with pytest.raises(oci.exceptions.ServiceError) as err:
        retrieval.get_certificate_bundle(cert_id, retry_strategy=oci.retry.NoneRetryStrategy())
    assert err.value.status == 500

    backend.break_bundle(cert_id, 404)
    with pytest.raises(oci.exceptions.ServiceError) as err:
        retrieval.get_certificate_bundle(cert_id)
    assert err.value.status == 404

    requests.post(f"{sandbox.endpoint}/_control/certificates/{cert_id}/break", json={"status": None})
    assert retrieval.get_certificate_bundle(cert_id).data.certificate_id == cert_id


def test_list_pages_filters_and_sorts(sandbox, management, compartment):
    backend = sandbox.world.backend(certificates)
    for i in range(7):
        leaf, _ = issue(f"list{i}.example.com", 10 + (i * 37) % 50)
        backend.import_certificate(compartment, f"list-{i}", *pems(leaf))

    everything = oci.pagination.list_call_get_all_results(management.list_certificates,
                                                          compartment_id=compartment, limit=3).data
    assert sorted(c.name for c in everything) == [f"list-{i}" for i in range(7)]
    by_expiry = management.list_certificates(compartment_id=compartment, sort_by="EXPIRATIONDATE").data.items
    ends = [c.current_version_summary.validity.time_of_validity_not_after for c in by_expiry]
    assert ends == sorted(ends)
    assert [c.name for c in management.list_certificates(compartment_id=compartment, name="list-3").data.items] \
        == ["list-3"]
    assert management.list_certificates(compartment_id=compartment, lifecycle_state="DELETED").data.items == []


def test_regions_are_separate(sandbox, compartment):
    region = next(r for r in sandbox.world.regions if r != sandbox.world.home_region)
    remote = sandbox.client(oci.certificates_management.CertificatesManagementClient, region)
    home = sandbox.client(oci.certificates.CertificatesClient)
    leaf, _ = issue("far.example.com", 30)
    cert_id = create(remote, compartment, "far", leaf).data.id
    assert f".{region}." in cert_id
    assert remote.get_certificate(cert_id).data.name == "far"
    with pytest.raises(oci.exceptions.ServiceError) as err:
        home.get_certificate_bundle(cert_id)
    assert err.value.status == 404


def test_scheduled_deletion_leaves_active(management, compartment):
    leaf, _ = issue("gone.example.com", 30)
    cert_id = create(management, compartment, "gone", leaf).data.id
    management.schedule_certificate_deletion(cert_id, CM.ScheduleCertificateDeletionDetails())
    cert = management.get_certificate(cert_id).data
    assert cert.lifecycle_state == "PENDING_DELETION" and cert.time_of_deletion
    management.cancel_certificate_deletion(cert_id)
    assert management.get_certificate(cert_id).data.lifecycle_state == "ACTIVE"


# -- the rules a renewer meets, and load-balancer listeners that reference a certificate by OCID

def usages_cert(name: str, usages: list) -> tuple[str, str, str]:
    """A self-signed (certificate, chain, key) for `name` carrying exactly these extended key usages."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now).not_valid_after(now + dt.timedelta(days=30))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
            .add_extension(x509.ExtendedKeyUsage(usages), critical=False).sign(key, hashes.SHA256()))
    pem = cert.public_bytes(serialization.Encoding.PEM).decode()
    return pem, pem, key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()).decode()


def test_a_version_with_other_extended_key_usages_is_refused(management, compartment):
    from cryptography.x509.oid import ExtendedKeyUsageOID as EKU
    first = usages_cert("eku.example.com", [EKU.SERVER_AUTH, EKU.CLIENT_AUTH])
    created = management.create_certificate(CM.CreateCertificateDetails(
        name="eku", compartment_id=compartment, certificate_config=CM.CreateCertificateByImportingConfigDetails(
            certificate_pem=first[0], cert_chain_pem=first[1], private_key_pem=first[2]))).data
    renewal = usages_cert("eku.example.com", [EKU.SERVER_AUTH])
    with pytest.raises(oci.exceptions.ServiceError) as refused:
        management.update_certificate(created.id, CM.UpdateCertificateDetails(
            certificate_config=CM.UpdateCertificateByImportingConfigDetails(
                certificate_pem=renewal[0], cert_chain_pem=renewal[1], private_key_pem=renewal[2])))
    assert refused.value.status == 400
    assert "extended key usages do not match the existing extended key usages" in refused.value.message
    same = usages_cert("eku.example.com", [EKU.CLIENT_AUTH, EKU.SERVER_AUTH])  # order does not matter
    management.update_certificate(created.id, CM.UpdateCertificateDetails(
        certificate_config=CM.UpdateCertificateByImportingConfigDetails(
            certificate_pem=same[0], cert_chain_pem=same[1], private_key_pem=same[2])))
    assert management.get_certificate(created.id).data.current_version.version_number == 2


def test_only_a_deprecated_version_can_be_scheduled_for_deletion(management, compartment):
    cert_id = create(management, compartment, "rot", issue("rot.example.com", 30)[0]).data.id
    for _ in range(3):
        update(management, cert_id, issue("rot.example.com", 30)[0])
    stages = {v.version_number: v.stages for v in management.list_certificate_versions(cert_id).data.items}
    assert stages == {1: ["DEPRECATED"], 2: ["DEPRECATED"], 3: ["PREVIOUS"], 4: ["CURRENT", "LATEST"]}
    for number in (3, 4):
        with pytest.raises(oci.exceptions.ServiceError) as refused:
            management.schedule_certificate_version_deletion(cert_id, number, CM.ScheduleCertificateVersionDeletionDetails())
        assert refused.value.status == 409 and "only a DEPRECATED version" in refused.value.message
    management.schedule_certificate_version_deletion(cert_id, 1, CM.ScheduleCertificateVersionDeletionDetails())
    deletion = {v.version_number: v.time_of_deletion for v in management.list_certificate_versions(cert_id).data.items}
    assert deletion[1] is not None and deletion[2] is None


def _served_serial(address: str) -> int:
    import socket
    import ssl
    from cryptography import x509
    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    host, port = address.rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=5) as raw, \
            context.wrap_socket(raw, server_hostname="svc.example.com") as tls:
        return x509.load_der_x509_certificate(tls.getpeercert(binary_form=True)).serial_number


def serial(leaf) -> int:
    from cryptography import x509
    return x509.load_pem_x509_certificate(leaf.cert_chain_pems[0].bytes()).serial_number


def test_a_listener_serves_the_current_version_of_the_certificate_it_references(sandbox, management, compartment):
    from sandbox.oci import loadbalancer
    M = oci.load_balancer.models
    lb_client = sandbox.client(oci.load_balancer.LoadBalancerClient)
    first = issue("svc.example.com", 30)[0]
    cert_id = create(management, compartment, "svc", first).data.id
    lbs = sandbox.world.backend(loadbalancer)
    lb_id = lbs.add_load_balancer(compartment, "svc-lb", listeners={"https": {
        "defaultBackendSetName": "app", "port": 443, "protocol": "HTTP",
        "sslConfiguration": {"certificateIds": [cert_id]}}})
    try:
        listener = lb_client.get_load_balancer(lb_id).data.listeners["https"]
        assert listener.ssl_configuration.certificate_ids == [cert_id] and listener.ssl_configuration.certificate_name is None
        address = lbs.listener_address(lb_id, "https")
        assert _served_serial(address) == serial(first)
        second = issue("svc.example.com", 60)[0]
        update(management, cert_id, second)  # no listener update: the listener follows CURRENT
        assert _served_serial(address) == serial(second)

        with pytest.raises(oci.exceptions.ServiceError) as in_use:
            management.schedule_certificate_deletion(cert_id, CM.ScheduleCertificateDeletionDetails())
        assert in_use.value.status == 409 and "svc-lb/https" in in_use.value.message

        for ssl_config, problem in (({"certificateIds": [cert_id], "certificateName": "x"}, "not both"),
                                    ({"certificateIds": [cert_id, cert_id]}, "exactly one"),
                                    ({"certificateIds": [cert_id.replace("aaaa", "bbbb", 1)]}, "not found")):
            details = M.UpdateListenerDetails(default_backend_set_name="app", port=443, protocol="HTTP",
                                              ssl_configuration=M.SSLConfigurationDetails(
                                                  certificate_ids=ssl_config.get("certificateIds"),
                                                  certificate_name=ssl_config.get("certificateName")))
            with pytest.raises(oci.exceptions.ServiceError) as bad:
                lb_client.update_listener(details, lb_id, "https")
            assert bad.value.status == 400 and problem in bad.value.message, bad.value.message
    finally:
        lbs.remove_load_balancer(lb_id)
