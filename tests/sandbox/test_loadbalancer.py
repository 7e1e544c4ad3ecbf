"""The Load Balancer emulator as the real SDK and OCI CLI see it, and its live TLS listeners."""
import socket
import ssl
import time
from pathlib import Path

import oci
import pytest
import requests
import trustme
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from _fixtures import sdk_client, service_backend
from _oci_cli import oci_cli
from sandbox.oci import loadbalancer
from sandbox.oci.faults import Fault
from sandbox.oci.world import World

M = oci.load_balancer.models
HOST = "app.example.test"
DONE = ("SUCCEEDED", "FAILED")


@pytest.fixture(scope="module")
def root_ca():
    return trustme.CA()


@pytest.fixture(scope="module")
def issue(root_ca):
    """Bundles as certmgr would upload them: leaf, intermediate as caCertificate, unencrypted key."""
    intermediate = root_ca.create_child_ca()

    def issue_bundle() -> dict:
        leaf = intermediate.issue_cert(HOST)
        return {"publicCertificate": leaf.cert_chain_pems[0].bytes().decode(),
                "caCertificate": leaf.cert_chain_pems[1].bytes().decode(),
                "privateKey": leaf.private_key_pem.bytes().decode()}
    return issue_bundle


client = sdk_client(oci.load_balancer.LoadBalancerClient)
backend = service_backend(loadbalancer)


@pytest.fixture
def delay(sandbox):
    """Set `work_request_delay` for one test; the previous value comes back afterwards."""
    before = sandbox.world.options["work_request_delay"]
    yield lambda seconds: sandbox.world.options.update(work_request_delay=seconds)
    sandbox.world.options["work_request_delay"] = before


HTTPS_LISTENER = {
    "defaultBackendSetName": "app", "port": 443, "protocol": "HTTP",
    "hostnameNames": ["app-host", "www-host"], "ruleSetNames": ["security-headers"],
    "routingPolicyName": "route-app", "pathRouteSetName": "paths",
    "connectionConfiguration": {"idleTimeout": 120, "backendTcpProxyProtocolVersion": 2},
    "sslConfiguration": {"certificateName": "bootstrap", "verifyPeerCertificate": False, "verifyDepth": 3,
                         "protocols": ["TLSv1.2", "TLSv1.3"], "cipherSuiteName": "oci-modern-ssl-cipher-suite-v1",
                         "serverOrderPreference": "ENABLED", "hasSessionResumption": False}}


@pytest.fixture
def lb_id(sandbox, backend, issue):
    """A load balancer configured like a production one: every listener field set, two listeners."""
    lb = backend.add_load_balancer(
        sandbox.world.tenancy_id, "test-lb",
        certificates={"bootstrap": issue()},
        backend_sets={"app": None},
        hostnames={"app-host": HOST, "www-host": "www.example.test"},
        rule_sets={"security-headers": [{"action": "ADD_HTTP_RESPONSE_HEADER",
                                         "header": "Strict-Transport-Security", "value": "max-age=31536000"}]},
        path_route_sets={"paths": [{"path": "/", "pathMatchType": {"matchType": "PREFIX_MATCH"},
                                    "backendSetName": "app"}]},
        routing_policies={"route-app": [{
            "name": "all", "condition": "any(http.request.url.path sw '/')",
            "actions": [{"name": "FORWARD_TO_BACKENDSET", "backendSetName": "app"}]}]},
        listeners={"https": HTTPS_LISTENER,
                   "http": {"defaultBackendSetName": "app", "port": 80, "protocol": "HTTP"}})
    yield lb
    backend.remove_load_balancer(lb)


def wait(client, wr_id: str, seconds: float = 30) -> M.WorkRequest:
    """Poll every 20 ms (`oci.wait_until` sleeps a second before its first look again)."""
    give_up = time.monotonic() + seconds
    while (wr := client.get_work_request(wr_id).data).lifecycle_state not in DONE:
        assert time.monotonic() < give_up, f"work request {wr_id} still {wr.lifecycle_state}"
        time.sleep(0.02)
    return wr


def create_certificate(client, lb_id, name, bundle, **kwargs) -> str:
    details = M.CreateCertificateDetails(
        certificate_name=name, public_certificate=bundle["publicCertificate"],
        ca_certificate=bundle.get("caCertificate"), private_key=bundle["privateKey"], **kwargs)
    reply = client.create_certificate(details, lb_id)
    assert reply.status == 202
    return reply.headers["opc-work-request-id"]


def update_details(listener: M.Listener, **changes) -> M.UpdateListenerDetails:
    """Every field of the current listener copied over: what a correct deployer sends."""
    ssl_configuration = listener.ssl_configuration
    details = M.UpdateListenerDetails(
        default_backend_set_name=listener.default_backend_set_name, port=listener.port,
        protocol=listener.protocol, hostname_names=listener.hostname_names,
        path_route_set_name=listener.path_route_set_name, routing_policy_name=listener.routing_policy_name,
        rule_set_names=listener.rule_set_names, connection_configuration=listener.connection_configuration,
        ssl_configuration=M.SSLConfigurationDetails(**{
            attr: getattr(ssl_configuration, attr) for attr in M.SSLConfigurationDetails().swagger_types}))
    for name, value in changes.items():
        target = details.ssl_configuration if hasattr(details.ssl_configuration, name) else details
        setattr(target, name, value)
    return details


def serial(pem: str) -> int:
    return x509.load_pem_x509_certificate(pem.encode()).serial_number


def served_certificate(address: str, trust: str | None = None) -> x509.Certificate:
    """Handshake with a listener and return the leaf it presents (verified against `trust` if given)."""
    host, port = address.rsplit(":", 1)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    if trust:
        context.load_verify_locations(cadata=trust)
    else:
        context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    with socket.create_connection((host, int(port)), timeout=5) as sock, \
            context.wrap_socket(sock, server_hostname=HOST) as tls:
        tls.sendall(f"GET / HTTP/1.1\r\nHost: {HOST}\r\n\r\n".encode())
        assert tls.recv(200).startswith(b"HTTP/1.1 200")
        return x509.load_der_x509_certificate(tls.getpeercert(binary_form=True))


def fail_next(sandbox, lb_id: str, message: str) -> None:
    reply = requests.post(f"{sandbox.endpoint}/_control/lb/{lb_id}/fail-next-work-request",
                          json={"count": 1, "message": message})
    assert reply.status_code == 200


# --- reads ---------------------------------------------------------------------------------------

def test_get_load_balancer_returns_the_full_listener_configuration(client, lb_id):
    reply = client.get_load_balancer(lb_id)
    lb = reply.data
    assert reply.headers["etag"]
    assert lb.lifecycle_state == "ACTIVE" and lb.display_name == "test-lb"
    https = lb.listeners["https"]
    assert (https.port, https.protocol, https.default_backend_set_name) == (443, "HTTP", "app")
    assert https.hostname_names == ["app-host", "www-host"]
    assert https.rule_set_names == ["security-headers"]
    assert (https.routing_policy_name, https.path_route_set_name) == ("route-app", "paths")
    assert https.connection_configuration.idle_timeout == 120
    assert https.connection_configuration.backend_tcp_proxy_protocol_version == 2
    tls = https.ssl_configuration
    assert (tls.certificate_name, tls.verify_peer_certificate, tls.verify_depth) == ("bootstrap", False, 3)
    assert tls.protocols == ["TLSv1.2", "TLSv1.3"]
    assert (tls.cipher_suite_name, tls.server_order_preference) == ("oci-modern-ssl-cipher-suite-v1", "ENABLED")
    assert tls.has_session_resumption is False
    assert lb.listeners["http"].ssl_configuration is None
    assert lb.certificates["bootstrap"].public_certificate.startswith("-----BEGIN CERTIFICATE-----")
    assert not hasattr(lb.certificates["bootstrap"], "private_key")
    assert lb.hostnames["app-host"].hostname == HOST
    assert lb.rule_sets["security-headers"].items[0].header == "Strict-Transport-Security"
    assert lb.routing_policies["route-app"].rules[0].actions[0].backend_set_name == "app"


def test_list_load_balancers_pages_within_a_compartment(sandbox, client, backend):
    compartment = sandbox.world.add_compartment("lb-listing")
    ids = [backend.add_load_balancer(compartment, f"lb-{n}") for n in range(3)]
    try:
        first = client.list_load_balancers(compartment, limit=2, sort_by="DISPLAYNAME")
        assert [lb.display_name for lb in first.data] == ["lb-0", "lb-1"]
        second = client.list_load_balancers(compartment, limit=2, sort_by="DISPLAYNAME", page=first.next_page)
        assert [lb.display_name for lb in second.data] == ["lb-2"] and second.next_page is None
        every = oci.pagination.list_call_get_all_results(client.list_load_balancers, compartment, limit=1).data
        assert sorted(lb.id for lb in every) == sorted(ids)
    finally:
        for lb in ids:
            backend.remove_load_balancer(lb)


def test_unknown_load_balancer_is_404(client):
    with pytest.raises(oci.exceptions.ServiceError) as err:
        client.get_load_balancer("ocid1.loadbalancer.oc1.us-ashburn-1.aaaaaaaanothere")
    assert (err.value.status, err.value.code) == (404, "NotAuthorizedOrNotFound")


# --- certificates --------------------------------------------------------------------------------

def test_create_certificate_is_a_work_request_that_applies_at_success(client, lb_id, issue, delay):
    delay(1.0)
    bundle = issue()
    wr_id = create_certificate(client, lb_id, "renewed-1", bundle)
    assert client.get_work_request(wr_id).data.lifecycle_state == "ACCEPTED"
    assert "renewed-1" not in {c.certificate_name for c in client.list_certificates(lb_id).data}
    seen = set()
    while (state := client.get_work_request(wr_id).data.lifecycle_state) not in DONE:
        seen.add(state)
        time.sleep(0.05)
    assert state == "SUCCEEDED" and seen == {"ACCEPTED", "IN_PROGRESS"}
    wr = client.get_work_request(wr_id).data
    assert (wr.type, wr.load_balancer_id, wr.error_details) == ("CreateCertificate", lb_id, [])
    assert wr.time_finished >= wr.time_accepted
    stored = {c.certificate_name: c for c in client.list_certificates(lb_id).data}["renewed-1"]
    assert serial(stored.public_certificate) == serial(bundle["publicCertificate"])
    assert stored.ca_certificate == bundle["caCertificate"]
    assert wr_id in [w.id for w in client.list_work_requests(lb_id).data]


def _encrypted(key_pem: str, passphrase: bytes) -> str:
    key = serialization.load_pem_private_key(key_pem.encode(), None)
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.BestAvailableEncryption(passphrase)).decode()


@pytest.mark.parametrize("case", ["mismatched key", "bad certificate PEM", "bad CA PEM", "bad key PEM",
                                  "missing passphrase", "wrong passphrase", "bad name"])
def test_create_certificate_rejects_bad_bundles_synchronously(client, lb_id, issue, case):
    bundle, name, extra = issue(), "bad-bundle", {}
    if case == "mismatched key":
        bundle["privateKey"] = issue()["privateKey"]
    elif case == "bad certificate PEM":
        bundle["publicCertificate"] = "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n"
    elif case == "bad CA PEM":
        bundle["caCertificate"] = "not a certificate"
    elif case == "bad key PEM":
        bundle["privateKey"] = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"
    elif case == "missing passphrase":
        bundle["privateKey"] = _encrypted(bundle["privateKey"], b"s3cret")
    elif case == "wrong passphrase":
        bundle["privateKey"], extra = _encrypted(bundle["privateKey"], b"s3cret"), {"passphrase": "nope"}
    elif case == "bad name":
        name = "has space.and.dots"
    before = len(client.list_work_requests(lb_id).data)
    with pytest.raises(oci.exceptions.ServiceError) as err:
        create_certificate(client, lb_id, name, bundle, **extra)
    assert (err.value.status, err.value.code) == (400, "InvalidParameter")
    assert len(client.list_work_requests(lb_id).data) == before


def test_encrypted_key_with_its_passphrase_is_accepted(client, lb_id, issue):
    bundle = issue()
    bundle["privateKey"] = _encrypted(bundle["privateKey"], b"s3cret")
    assert wait(client, create_certificate(client, lb_id, "encrypted", bundle, passphrase="s3cret")
                ).lifecycle_state == "SUCCEEDED"


def test_duplicate_certificate_name_is_409_even_while_the_first_is_queued(client, lb_id, issue, delay):
    delay(1.0)
    create_certificate(client, lb_id, "twice", issue())
    for name in ("twice", "bootstrap"):
        with pytest.raises(oci.exceptions.ServiceError) as err:
            create_certificate(client, lb_id, name, issue())
        assert (err.value.status, err.value.code) == (409, "Conflict")


def test_delete_certificate(client, lb_id, issue):
    with pytest.raises(oci.exceptions.ServiceError) as err:
        client.delete_certificate(lb_id, "bootstrap")
    assert err.value.status == 409 and "attached to one or more listeners" in err.value.message
    wait(client, create_certificate(client, lb_id, "spare", issue()))
    reply = client.delete_certificate(lb_id, "spare")
    assert reply.status == 202
    assert wait(client, reply.headers["opc-work-request-id"]).lifecycle_state == "SUCCEEDED"
    assert "spare" not in client.get_load_balancer(lb_id).data.certificates
    with pytest.raises(oci.exceptions.ServiceError) as err:
        client.delete_certificate(lb_id, "spare")
    assert err.value.status == 404


# --- listeners -----------------------------------------------------------------------------------

def test_update_listener_is_a_full_replacement(client, lb_id):
    """Sending only backend set, port, protocol and certificate drops everything else, as OCI does."""
    details = M.UpdateListenerDetails(default_backend_set_name="app", port=443, protocol="HTTP",
                                      ssl_configuration=M.SSLConfigurationDetails(certificate_name="bootstrap"))
    reply = client.update_listener(details, lb_id, "https")
    assert reply.status == 202
    assert wait(client, reply.headers["opc-work-request-id"]).type == "UpdateListener"
    https = client.get_load_balancer(lb_id).data.listeners["https"]
    assert https.hostname_names == [] and https.rule_set_names == []
    assert https.routing_policy_name is None and https.path_route_set_name is None
    assert https.connection_configuration.idle_timeout == 60
    assert https.connection_configuration.backend_tcp_proxy_protocol_version is None
    tls = https.ssl_configuration
    assert (tls.cipher_suite_name, tls.protocols) == ("oci-default-ssl-cipher-suite-v1", ["TLSv1.2"])
    assert (tls.server_order_preference, tls.verify_depth, tls.has_session_resumption) == ("DISABLED", 1, True)

    reply = client.update_listener(M.UpdateListenerDetails(default_backend_set_name="app", port=443,
                                                           protocol="HTTP"), lb_id, "https")
    wait(client, reply.headers["opc-work-request-id"])
    assert client.get_load_balancer(lb_id).data.listeners["https"].ssl_configuration is None


@pytest.mark.parametrize("change, status", [
    ({"certificate_name": "no-such-cert"}, 400),
    ({"default_backend_set_name": "no-such-set"}, 400),
    ({"hostname_names": ["no-such-host"]}, 400),
    ({"rule_set_names": ["no-such-rules"]}, 400),
    ({"routing_policy_name": "no-such-policy"}, 400),
    ({"protocol": "SMTP"}, 400),
    ({"port": None}, 400),
])
def test_update_listener_validates_what_it_refers_to(client, lb_id, change, status):
    listener = client.get_load_balancer(lb_id).data.listeners["https"]
    with pytest.raises(oci.exceptions.ServiceError) as err:
        client.update_listener(update_details(listener, **change), lb_id, "https")
    assert err.value.status == status


def test_update_of_unknown_listener_is_404(client, lb_id):
    listener = client.get_load_balancer(lb_id).data.listeners["https"]
    with pytest.raises(oci.exceptions.ServiceError) as err:
        client.update_listener(update_details(listener), lb_id, "nope")
    assert err.value.status == 404


def test_stale_if_match_is_412(client, lb_id, issue):
    etag = client.get_load_balancer(lb_id).headers["etag"]
    wait(client, create_certificate(client, lb_id, "bump", issue()))
    listener = client.get_load_balancer(lb_id).data.listeners["https"]
    with pytest.raises(oci.exceptions.ServiceError) as err:
        client.update_listener(update_details(listener), lb_id, "https", if_match=etag)
    assert err.value.status == 412


def test_create_and_delete_listener(client, backend, lb_id):
    details = M.CreateListenerDetails(name="tls-alt", default_backend_set_name="app", port=8443, protocol="HTTP",
                                      ssl_configuration=M.SSLConfigurationDetails(certificate_name="bootstrap"))
    wait(client, client.create_listener(details, lb_id).headers["opc-work-request-id"])
    assert served_certificate(backend.listener_address(lb_id, "tls-alt"))
    with pytest.raises(oci.exceptions.ServiceError) as err:
        client.create_listener(details, lb_id)
    assert err.value.status == 409
    wait(client, client.delete_listener(lb_id, "tls-alt").headers["opc-work-request-id"])
    assert "tls-alt" not in client.get_load_balancer(lb_id).data.listeners
    with pytest.raises(KeyError):
        backend.listener_address(lb_id, "tls-alt")


# --- the live listeners --------------------------------------------------------------------------

def test_listener_serves_the_new_certificate_only_after_success(client, backend, lb_id, issue, root_ca, delay):
    address = backend.listener_address(lb_id, "https")
    plain = backend.listener_address(lb_id, "http")
    http_before = client.get_load_balancer(lb_id).data.listeners["http"]
    old = served_certificate(address).serial_number
    bundle = issue()
    wait(client, create_certificate(client, lb_id, "renewed", bundle))
    assert served_certificate(address).serial_number == old   # a new bundle alone changes nothing

    delay(1.0)
    listener = client.get_load_balancer(lb_id).data.listeners["https"]
    wr_id = client.update_listener(update_details(listener, certificate_name="renewed"), lb_id,
                                   "https").headers["opc-work-request-id"]
    assert served_certificate(address).serial_number == old
    assert wait(client, wr_id).lifecycle_state == "SUCCEEDED"
    # The client trusts only the root: verification passes because the intermediate is served too.
    assert served_certificate(address, trust=root_ca.cert_pem.bytes().decode()).serial_number == \
        serial(bundle["publicCertificate"])
    after = client.get_load_balancer(lb_id).data.listeners
    assert after["https"].hostname_names == listener.hostname_names          # nothing else moved
    assert after["https"].ssl_configuration.cipher_suite_name == "oci-modern-ssl-cipher-suite-v1"
    assert after["http"] == http_before
    host, port = plain.rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        assert sock.recv(200).startswith(b"HTTP/1.1 200")


def test_change_lands_without_anyone_polling(client, backend, lb_id, issue, delay):
    address = backend.listener_address(lb_id, "https")
    wait(client, create_certificate(client, lb_id, "unpolled", bundle := issue()))
    delay(0.2)
    listener = client.get_load_balancer(lb_id).data.listeners["https"]
    client.update_listener(update_details(listener, certificate_name="unpolled"), lb_id, "https")
    time.sleep(0.5)  # past the work request's end, with nothing looking at the LB meanwhile
    assert served_certificate(address).serial_number == serial(bundle["publicCertificate"])


def test_failed_work_request_leaves_listener_and_tls_unchanged(sandbox, client, backend, lb_id, issue):
    address = backend.listener_address(lb_id, "https")
    old = served_certificate(address).serial_number
    wait(client, create_certificate(client, lb_id, "renewed", issue()))
    before = client.get_load_balancer(lb_id).data.listeners["https"]
    fail_next(sandbox, lb_id, "backend fleet update failed")
    wr_id = client.update_listener(update_details(before, certificate_name="renewed"), lb_id,
                                   "https").headers["opc-work-request-id"]
    wr = wait(client, wr_id)
    assert wr.lifecycle_state == "FAILED"
    assert [(e.error_code, e.message) for e in wr.error_details] == \
        [("INTERNAL_ERROR", "backend fleet update failed")]
    assert client.get_load_balancer(lb_id).data.listeners["https"] == before
    assert served_certificate(address).serial_number == old
    wr_id = client.update_listener(update_details(before, certificate_name="renewed"), lb_id,
                                   "https").headers["opc-work-request-id"]
    assert wait(client, wr_id).lifecycle_state == "SUCCEEDED"   # only the next one was failed


def test_queued_work_requests_run_in_order(sandbox, client, backend, lb_id, issue):
    """A listener update may name a bundle whose creation is still queued; it fails if that creation fails."""
    listener = client.get_load_balancer(lb_id).data.listeners["https"]
    bundle = issue()
    first = create_certificate(client, lb_id, "queued", bundle)
    second = client.update_listener(update_details(listener, certificate_name="queued"), lb_id,
                                    "https").headers["opc-work-request-id"]
    assert [wait(client, wr).lifecycle_state for wr in (first, second)] == ["SUCCEEDED", "SUCCEEDED"]
    assert client.get_work_request(first).data.time_finished <= client.get_work_request(second).data.time_finished
    assert served_certificate(backend.listener_address(lb_id, "https")).serial_number == \
        serial(bundle["publicCertificate"])

    fail_next(sandbox, lb_id, "injected")
    first = create_certificate(client, lb_id, "doomed", issue())
    second = client.update_listener(update_details(listener, certificate_name="doomed"), lb_id,
                                    "https").headers["opc-work-request-id"]
    assert wait(client, first).lifecycle_state == "FAILED"
    failed = wait(client, second)
    assert failed.lifecycle_state == "FAILED" and failed.error_details[0].error_code == "BAD_INPUT"


def test_control_api_tells_a_work_requests_state_without_a_call(sandbox, client, lb_id, issue, delay):
    """What the bench's floor waits on: the state as the API would answer it, but not delayed by a latency
    fault and not recorded as a call."""
    delay(0.3)
    wr_id = create_certificate(client, lb_id, "told", issue())
    url = f"{sandbox.endpoint}/_control/lb/work-requests/{wr_id}"
    sandbox.world.faults.add(Fault(operation="*", latency=0.5))
    try:
        calls, states, started = len(sandbox.world.calls), [], time.monotonic()
        while not states or states[-1] not in DONE:
            states.append(requests.get(url).json()["lifecycleState"])
            time.sleep(0.01)
        assert time.monotonic() - started < 0.5 and len(sandbox.world.calls) == calls
    finally:
        sandbox.world.faults.clear()
    assert states[0] == "ACCEPTED" and states[-1] == "SUCCEEDED" == client.get_work_request(wr_id).data.lifecycle_state
    assert requests.get(f"{sandbox.endpoint}/_control/lb/work-requests/ocid1.nope").status_code == 404


def test_work_requests_list_pages(client, lb_id, issue):
    for n in range(3):
        create_certificate(client, lb_id, f"page-{n}", issue())
    first = client.list_work_requests(lb_id, limit=2)
    assert len(first.data) == 2 and first.next_page
    every = oci.pagination.list_call_get_all_results(client.list_work_requests, lb_id, limit=2).data
    assert len(every) == 3 and every[0].id == first.data[0].id


def test_state_shows_listeners_certificates_and_work_requests(sandbox, client, backend, lb_id, issue):
    wait(client, create_certificate(client, lb_id, "snap", bundle := issue()))
    state = requests.get(f"{sandbox.endpoint}/_control/state").json()
    lbs = state["regions"][sandbox.world.home_region]["loadbalancer"]["loadBalancers"]
    lb = next(lb for lb in lbs if lb["id"] == lb_id)
    assert lb["listeners"]["https"]["sslConfiguration"]["certificateName"] == "bootstrap"
    snap = next(c for c in lb["certificates"] if c["name"] == "snap")
    assert int(snap["serial"], 16) == serial(bundle["publicCertificate"]) and snap["notAfter"]
    assert "privateKey" not in str(lb)
    assert lb["listenerAddresses"]["https"] == backend.listener_address(lb_id, "https")


def test_close_stops_the_listener_servers(issue):
    world = World()
    backend = world.backend(loadbalancer)
    listener = {"defaultBackendSetName": "app", "port": 443, "protocol": "HTTP",
                "sslConfiguration": {"certificateName": "bootstrap"}}
    lb = backend.add_load_balancer(world.tenancy_id, "closing", certificates={"bootstrap": issue()},
                                   listeners={"https": listener})
    address = backend.listener_address(lb, "https")
    assert served_certificate(address)
    backend.close()
    host, port = address.rsplit(":", 1)
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((host, int(port)), timeout=5)


# --- the OCI CLI ---------------------------------------------------------------------------------

def test_oci_cli_creates_and_deletes_a_certificate(sandbox, client, lb_id, issue, tmp_path: Path):
    bundle = issue()
    files = {}
    for key, flag in (("publicCertificate", "--public-certificate-file"),
                      ("caCertificate", "--ca-certificate-file"), ("privateKey", "--private-key-file")):
        path = tmp_path / f"{key}.pem"
        path.write_text(bundle[key])
        files[flag] = str(path)
    created = oci_cli(sandbox, "lb", "certificate", "create", "--load-balancer-id", lb_id,
                      "--certificate-name", "from-cli", *[arg for pair in files.items() for arg in pair],
                      "--wait-for-state", "SUCCEEDED", "--wait-interval-seconds", "1")
    assert created["data"]["lifecycle-state"] == "SUCCEEDED"
    assert "from-cli" in client.get_load_balancer(lb_id).data.certificates

    in_use = oci_cli(sandbox, "lb", "certificate", "delete", "--load-balancer-id", lb_id,
                     "--certificate-name", "bootstrap", "--force", ok=False)
    assert in_use.exit_code != 0 and "409" in str(in_use.exception)  # the CLI exits with the service's error
