"""The least work a renewal needs, done with the bare `acme` client and the `oci` SDK, as baselines for certmgr.

- `IssueFloor`: one certificate. Key and CSR, a new order, one `patch_zone_records` ADD of both TXT values,
  the answers, the order polled until valid, one REMOVE: 2 OCI calls. The order is polled every `POLL`
  seconds, not by `poll_and_finalize`, which sleeps a second before its first look at a finalized order.
- `FullFloor`: the same, then what a deploy needs: the three secrets (certificate, chain, key) written, the
  load balancer read once, the new bundle uploaded, the listener switched to it, the old bundle deleted:
  11 OCI calls. Each work request is read once, when it has ended: the floor learns the moment from the
  emulator's control API (free), as no real client can, so its waits are the work requests themselves.

What both set up before timing: an ACME account; the secrets' OCIDs (FullFloor creates its own).
"""
from __future__ import annotations

import base64
import time

import josepy as jose
import oci
import requests
from acme import challenges, client, crypto_util, messages
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from bench.emulator import DOMAINS, ZONE

POLL = 0.01  # seconds between looks at an order or a work request: the floor's overshoot per wait
ROLES = ("certificate", "chain", "private-key")


def patch_txt(client: oci.dns.DnsClient, zone_id: str, values: list[str], operation: str) -> None:
    """One `patch_zone_records` call: ADD or REMOVE each of `values` at _acme-challenge.ZONE."""
    if values:
        items = [oci.dns.models.RecordOperation(domain=f"_acme-challenge.{ZONE}", rtype="TXT", rdata=v, ttl=60,
                                                operation=operation) for v in values]
        client.patch_zone_records(zone_id, oci.dns.models.PatchZoneRecordsDetails(items=items))


class IssueFloor:
    def __init__(self, env: dict[str, str]):
        self.env = env
        config = oci.config.from_file(env["OCI_CONFIG_FILE"])
        self.clients = lambda cls: cls(config, service_endpoint=env["SANDBOX_OCI_ENDPOINT"])
        self.dns = self.clients(oci.dns.DnsClient)
        key = jose.JWKEC(key=ec.generate_private_key(ec.SECP256R1()))
        net = client.ClientNetwork(key, alg=jose.ES256, verify_ssl=env["CERTMGR_ACME_CA_BUNDLE"])
        self.acme = client.ClientV2(client.ClientV2.get_directory(env["CERTMGR_ACME_DIRECTORY"], net), net)
        self.acme.new_account(messages.NewRegistration.from_data(email="floor@bench.test",
                                                                 terms_of_service_agreed=True))

    def _until(self, url: str, kind, done):
        """The resource at `url` (an order or an authorization), looked at every POLL s until `done`."""
        while True:
            body = kind.from_json(self.acme._post_as_get(url).json())
            if done(body.status):
                return body
            time.sleep(POLL)

    def issue(self) -> tuple[str, str]:
        """(full chain PEM, key PEM) of one new certificate for DOMAINS."""
        key = ec.generate_private_key(ec.SECP256R1())
        key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
        order = self.acme.new_order(crypto_util.make_csr(key_pem, DOMAINS))
        pending = [a for a in order.authorizations if a.body.status != messages.STATUS_VALID]  # Pebble may reuse
        answers = [next(c for c in a.body.challenges if isinstance(c.chall, challenges.DNS01)) for a in pending]
        values = [c.chall.validation(self.acme.net.key) for c in answers]
        patch_txt(self.dns, self.env["CERTMGR_DNS_ZONE_ID"], values, "ADD")
        try:
            for c in answers:
                self.acme.answer_challenge(c, c.chall.response(self.acme.net.key))
            for a in pending:
                self._until(a.uri, messages.Authorization, lambda status: status != messages.STATUS_PENDING)
        finally:
            patch_txt(self.dns, self.env["CERTMGR_DNS_ZONE_ID"], values, "REMOVE")
        self.acme.begin_finalization(order)
        body = self._until(order.uri, messages.Order,
                           lambda status: status in (messages.STATUS_VALID, messages.STATUS_INVALID))
        if body.status != messages.STATUS_VALID:
            raise RuntimeError(f"the floor's order ended {body.status}: {body.error}")
        return self.acme._post_as_get(body.certificate).text, key_pem.decode()

    def run(self) -> None:
        self.issue()


class FullFloor(IssueFloor):
    def __init__(self, env: dict[str, str]):
        super().__init__(env)
        self.lb_id = env["BENCH_FLOOR_LB_ID"]
        self.lb = self.clients(oci.load_balancer.LoadBalancerClient)
        self.vaults = self.clients(oci.vault.VaultsClient)
        self.secrets = {role: self.vaults.create_secret(oci.vault.models.CreateSecretDetails(
            compartment_id=env["CERTMGR_COMPARTMENT_ID"], vault_id=env["CERTMGR_VAULT_ID"],
            key_id=env["CERTMGR_VAULT_KEY_ID"], secret_name=f"floor-{role}",
            secret_content=self._content("none yet"))).data.id for role in ROLES}
        self.control = requests.Session()

    @staticmethod
    def _content(text: str) -> oci.vault.models.Base64SecretContentDetails:
        return oci.vault.models.Base64SecretContentDetails(content_type="BASE64",
                                                           content=base64.b64encode(text.encode()).decode())

    def _wait(self, response) -> None:
        """The work request read once, as it ends (the emulator's control API says when, for free)."""
        wr_id = response.headers["opc-work-request-id"]
        url = f"{self.env['SANDBOX_CONTROL']}/lb/work-requests/{wr_id}"
        while self.control.get(url, timeout=10).json()["lifecycleState"] in ("ACCEPTED", "IN_PROGRESS"):
            time.sleep(POLL)
        state = self.lb.get_work_request(wr_id).data.lifecycle_state
        if state != "SUCCEEDED":
            raise RuntimeError(f"the floor's work request {wr_id} ended {state}")

    def run(self) -> None:
        fullchain, key_pem = self.issue()
        cert_pem, chain_pem = fullchain.split("-----END CERTIFICATE-----\n", 1)
        cert_pem += "-----END CERTIFICATE-----\n"
        for role, text in zip(ROLES, (cert_pem, chain_pem, key_pem)):
            self.vaults.update_secret(self.secrets[role], oci.vault.models.UpdateSecretDetails(
                secret_content=self._content(text)))
        https = self.lb.get_load_balancer(self.lb_id).data.listeners["https"]
        old = https.ssl_configuration.certificate_name
        name = f"floor-{x509.load_pem_x509_certificate(cert_pem.encode()).serial_number:x}"
        self._wait(self.lb.create_certificate(oci.load_balancer.models.CreateCertificateDetails(
            certificate_name=name, public_certificate=cert_pem, ca_certificate=chain_pem, private_key=key_pem),
            self.lb_id))
        self._wait(self.lb.update_listener(oci.load_balancer.models.UpdateListenerDetails(
            default_backend_set_name=https.default_backend_set_name, port=https.port, protocol=https.protocol,
            ssl_configuration=oci.load_balancer.models.SSLConfigurationDetails(
                certificate_name=name, verify_peer_certificate=False)), self.lb_id, "https"))
        self.lb.delete_certificate(self.lb_id, old)  # not waited for, as certmgr does not
