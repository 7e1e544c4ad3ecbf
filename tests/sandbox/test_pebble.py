"""Pebble as the sandbox runs it: installed, started, and issuing a real apex + wildcard certificate
over DNS-01 to the `acme` client, chained to the root it publishes."""
import datetime
import socketserver
import threading

import dns.flags
import dns.message
import dns.rcode
import dns.rdata
import dns.rdatatype
import josepy as jose
import pytest
import requests
from acme import client, crypto_util, errors, messages
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.verification import PolicyBuilder, Store

from sandbox import pebble as pebble_module
from sandbox.pebble import Pebble

DOMAIN = "example.test"
DEADLINE = datetime.timedelta(seconds=30)


class TxtAnswerer:
    """A throwaway authoritative answerer for `_acme-challenge` TXT records, over UDP and TCP."""

    def __init__(self):
        self.txt: dict[str, list[str]] = {}
        self._servers = self._bind_udp_and_tcp()

    def _bind_udp_and_tcp(self):
        answer = self._answer

        class Udp(socketserver.BaseRequestHandler):
            def handle(self):
                data, sock = self.request
                sock.sendto(answer(data), self.client_address)

        class Tcp(socketserver.StreamRequestHandler):
            def handle(self):
                size = int.from_bytes(self.rfile.read(2), "big")
                reply = answer(self.rfile.read(size))
                self.wfile.write(len(reply).to_bytes(2, "big") + reply)

        for _ in range(5):  # the TCP twin of a free UDP port is almost always free too
            udp = socketserver.ThreadingUDPServer(("127.0.0.1", 0), Udp)
            try:
                tcp = socketserver.ThreadingTCPServer(udp.server_address, Tcp)
                return udp, tcp
            except OSError:
                udp.server_close()
        raise OSError("no port free for both UDP and TCP")

    def _answer(self, wire: bytes) -> bytes:
        query = dns.message.from_wire(wire)
        reply = dns.message.make_response(query)  # echoes EDNS0, which Pebble 2.6 relies on
        reply.flags |= dns.flags.AA
        question = query.question[0]
        name = question.name.to_text().rstrip(".").lower()
        if name not in self.txt:
            reply.set_rcode(dns.rcode.NXDOMAIN)
        elif question.rdtype == dns.rdatatype.TXT:
            rrset = reply.find_rrset(reply.answer, question.name, question.rdclass, dns.rdatatype.TXT,
                                     create=True)
            for value in self.txt[name]:
                rrset.add(dns.rdata.from_text(question.rdclass, dns.rdatatype.TXT, f'"{value}"'), 60)
        return reply.to_wire()

    @property
    def address(self) -> str:
        host, port = self._servers[0].server_address
        return f"{host}:{port}"

    def start(self):
        for server in self._servers:
            threading.Thread(target=server.serve_forever, daemon=True).start()
        return self

    def stop(self):
        for server in self._servers:
            server.shutdown()
            server.server_close()


@pytest.fixture(scope="module")
def answerer():
    dns_server = TxtAnswerer().start()
    yield dns_server
    dns_server.stop()


@pytest.fixture(scope="module")
def pebble(answerer):
    pebble_module.install()
    with Pebble(dns_server=answerer.address) as running:
        yield running


def acme_client(pebble: Pebble, key: jose.JWK | None = None) -> client.ClientV2:
    key = key or jose.JWKEC(key=ec.generate_private_key(ec.SECP256R1()))
    net = client.ClientNetwork(key, alg=jose.ES256, verify_ssl=str(pebble.ca_bundle),
                               user_agent="certmgr-tests")
    return client.ClientV2(client.ClientV2.get_directory(pebble.directory_url, net), net)


def issue(acme: client.ClientV2, txt: dict[str, list[str]], names: list[str]) -> messages.OrderResource:
    """The DNS-01 flow certmgr runs, with TXT values published straight into `txt`."""
    key = ec.generate_private_key(ec.SECP256R1())
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    order = acme.new_order(crypto_util.make_csr(key_pem, names))
    for authz in order.authorizations:
        challenge = next(c for c in authz.body.challenges if c.chall.typ == "dns-01")
        record = f"_acme-challenge.{authz.body.identifier.value}"
        txt.setdefault(record, []).append(challenge.chall.validation(acme.net.key))
    for authz in order.authorizations:
        challenge = next(c for c in authz.body.challenges if c.chall.typ == "dns-01")
        acme.answer_challenge(challenge, challenge.chall.response(acme.net.key))
    return acme.poll_and_finalize(order, datetime.datetime.now() + DEADLINE)


def test_install_is_idempotent_and_returns_an_ari_capable_binary():
    first = pebble_module.install()
    assert pebble_module.install() == first
    assert first.is_file() and pebble_module.supports_ari(first)
    assert pebble_module.find() == first


def test_directory_offers_ari_and_management_serves_the_roots(pebble):
    directory = requests.get(pebble.directory_url, verify=pebble.ca_bundle, timeout=5).json()
    assert directory["renewalInfo"].endswith("/renewalInfo")
    root = x509.load_pem_x509_certificate(pebble.root_pem.read_bytes())
    intermediate = x509.load_pem_x509_certificate(pebble.intermediate_pem.read_bytes())
    assert intermediate.issuer == root.subject


def test_plain_https_without_the_bundle_is_refused(pebble):
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(pebble.directory_url, timeout=5)


def test_dns01_apex_and_wildcard_certificate_chains_to_the_published_root(pebble, answerer):
    acme = acme_client(pebble)
    acme.new_account(messages.NewRegistration.from_data(terms_of_service_agreed=True))
    order = issue(acme, answerer.txt, [DOMAIN, f"*.{DOMAIN}"])

    leaf, *intermediates = x509.load_pem_x509_certificates(order.fullchain_pem.encode())
    root = x509.load_pem_x509_certificate(pebble.root_pem.read_bytes())
    verifier = PolicyBuilder().store(Store([root])).build_server_verifier(x509.DNSName(f"www.{DOMAIN}"))
    chain = verifier.verify(leaf, intermediates)
    assert chain[-1] == root
    names = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert set(names.get_values_for_type(x509.DNSName)) == {DOMAIN, f"*.{DOMAIN}"}
    lifetime = leaf.not_valid_after_utc - leaf.not_valid_before_utc
    assert abs(lifetime - datetime.timedelta(days=90)) < datetime.timedelta(minutes=5)

    renew_at, _ = acme.renewal_time(order.fullchain_pem.encode())  # ARI answers for the new cert
    assert leaf.not_valid_before_utc < renew_at < leaf.not_valid_after_utc


def test_missing_txt_record_fails_validation(pebble):
    acme = acme_client(pebble)
    acme.new_account(messages.NewRegistration.from_data(terms_of_service_agreed=True))
    with pytest.raises(errors.ValidationError) as failure:
        issue(acme, {}, ["unpublished.test"])  # published nowhere Pebble looks
    assert "unpublished.test" in str(failure.value)


def test_external_account_binding_is_required_when_keys_are_configured(answerer):
    kid, hmac_key = "kid-1", "zWNDZM6eQGHWpSRTPal5eIUYFTu7EajVIoguysqZ9wG44nMEtx3MUAsUDkMTQ12W"
    with Pebble(dns_server=answerer.address, eab_keys={kid: hmac_key}) as eab_pebble:
        acme = acme_client(eab_pebble)
        assert acme.external_account_required()
        with pytest.raises(messages.Error, match="externalAccountRequired"):
            acme.new_account(messages.NewRegistration.from_data(terms_of_service_agreed=True))
        binding = messages.ExternalAccountBinding.from_data(
            account_public_key=acme.net.key.public_key(), kid=kid, hmac_key=hmac_key,
            directory=acme.directory)
        account = acme.new_account(messages.NewRegistration.from_data(
            terms_of_service_agreed=True, external_account_binding=binding))
        assert account.body.status == "valid"


def test_start_failure_retries_once_then_reports_the_log(answerer, tmp_path):
    """A port taken between probing and binding gets a second chance; then the log tail is the error."""
    fake = tmp_path / "pebble"
    fake.write_text("#!/bin/sh\necho run >> \"$0.runs\"\necho \"listen tcp: address already in use\"\nexit 1\n")
    fake.chmod(0o755)
    broken = Pebble(dns_server=answerer.address, workdir=tmp_path, binary=fake)
    with pytest.raises(RuntimeError, match="exited at start:\n.*address already in use"):
        broken.start()
    assert len((tmp_path / "pebble.runs").read_text().split()) == 2
