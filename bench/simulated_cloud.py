"""A renewal at cloud speed: the sandbox made as slow as OCI (TXT records visible only after 5 s, 20 s per LB
work request), certmgr's forced renewal against the seed's design on the same sandbox and settings. Each
target renews twice at that speed: the first run's waits expect what the sandbox-speed run before it waited
for, the next run's what the first did (the run record keeps it), as a daily run finds it.

Then certmgr renews through the Certificates-service target (CERTMGR_CERTIFICATE_NAME): a new version of the
certificate the listener already references, no LB work request; the service is assumed to take as long as
an LB work request to be ACTIVE again after the update (OCI does not document it).

The seed design (see the shared reference): a fixed 60 s wait after writing the TXT records, then every
step in sequence, each LB work request waited for (polled every second, which favours it) before the next,
the TXT records removed last. Both issue, store and deploy the same certificate set to the same listener.

    python -m bench simulated [--scale S]   (S < 1 shrinks every latency and the seed's wait alike)
"""
from __future__ import annotations

import argparse
import base64
import datetime as dt
import sys
import time

import josepy as jose
import oci
from acme import challenges, client, crypto_util, messages
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from bench.emulator import DOMAINS, bench_env
from bench.floors import patch_txt
from certmgr.settings.config import Config
from certmgr.renewal.runner import run as certmgr_run
from sandbox.oci import certificates, loadbalancer
from sandbox.stack import Sandbox

DNS_VISIBLE_AFTER = 5.0   # seconds until OCI's nameservers answer a new TXT record
WORK_REQUEST = 20.0       # seconds per LB work request
SEED_DNS_WAIT = 60.0      # the seed's fixed sleep
OVER_FLOOR = 1.0          # seconds certmgr may take beyond the floor (at scale 1), on either target


def waits(box: Sandbox, since: int) -> list[str]:
    """How each wait of a run followed the service, from the emulator's call log (calls from `since` on): how
    long after the work ended the wait's last look answered, and how many looks it took."""
    calls = box.world.calls[since:]

    def looks(operation: str, resource: str, after: float = 0.0) -> list[float]:
        return [c["time"] for c in calls if c["operation"] == operation and c["path"].endswith(resource)
                and c["time"] > after]

    found = []
    for wr in box.backend(loadbalancer).work_requests.values():
        if seen := looks("lb.get_work_request", wr.id):
            found.append((f"LB {wr.type}", wr.time_accepted.timestamp(), wr.time_finished.timestamp(), seen))
    for cert in box.backend(certificates).certificates.values():
        if (updated := looks("certificates_management.update_certificate", cert.id)) and \
                (seen := looks("certificates_management.get_certificate", cert.id, after=updated[-1])):
            found.append(("Certificates update", updated[-1], cert.busy_until.timestamp(), seen))
    return [f"{what}: {ended - began:.1f} s of work, seen {seen[-1] - ended:.2f} s after it ended, {len(seen)} "
            f"looks ({len(seen) / (seen[-1] - began):.2f} a second)" for what, began, ended, seen in sorted(found)]


class Seed:
    """The seed's flow, step by step, on the real SDK and acme client."""

    def __init__(self, box: Sandbox, env: dict[str, str], dns_wait: float):
        self.env, self.dns_wait = env, dns_wait
        endpoint = {"service_endpoint": box.endpoint}
        self.dns = oci.dns.DnsClient(box.oci_config, **endpoint)
        self.lb = oci.load_balancer.LoadBalancerClient(box.oci_config, **endpoint)
        self.vaults = oci.vault.VaultsClient(box.oci_config, **endpoint)
        self.box = box

    def _wait(self, response) -> None:
        while self.lb.get_work_request(response.headers["opc-work-request-id"]).data.lifecycle_state != "SUCCEEDED":
            time.sleep(1.0)

    def _store(self, name: str, content: bytes) -> None:
        body = oci.vault.models.Base64SecretContentDetails(content_type="BASE64",
                                                           content=base64.b64encode(content).decode())
        found = self.vaults.list_secrets(self.env["CERTMGR_COMPARTMENT_ID"], name=name,
                                         vault_id=self.env["CERTMGR_VAULT_ID"]).data
        if found:
            self.vaults.update_secret(found[0].id, oci.vault.models.UpdateSecretDetails(secret_content=body))
        else:
            self.vaults.create_secret(oci.vault.models.CreateSecretDetails(
                compartment_id=self.env["CERTMGR_COMPARTMENT_ID"], vault_id=self.env["CERTMGR_VAULT_ID"],
                key_id=self.env["CERTMGR_VAULT_KEY_ID"], secret_name=name, secret_content=body))

    def renew(self, serial: int) -> float:
        start = time.monotonic()
        account = jose.JWKEC(key=ec.generate_private_key(ec.SECP256R1()))
        net = client.ClientNetwork(account, alg=jose.ES256, verify_ssl=self.env["CERTMGR_ACME_CA_BUNDLE"])
        acme = client.ClientV2(client.ClientV2.get_directory(self.env["CERTMGR_ACME_DIRECTORY"], net), net)
        acme.new_account(messages.NewRegistration.from_data(email="seed@bench.test", terms_of_service_agreed=True))
        key = ec.generate_private_key(ec.SECP256R1())
        key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
        order = acme.new_order(crypto_util.make_csr(key_pem, DOMAINS))
        chall = [next(c for c in a.body.challenges if isinstance(c.chall, challenges.DNS01))
                 for a in order.authorizations if a.body.status != messages.STATUS_VALID]
        values = [c.chall.validation(acme.net.key) for c in chall]
        patch_txt(self.dns, self.env["CERTMGR_DNS_ZONE_ID"], values, "ADD")
        try:
            time.sleep(self.dns_wait)
            for c in chall:
                acme.answer_challenge(c, c.chall.response(acme.net.key))
            order = acme.poll_and_finalize(order, dt.datetime.now() + dt.timedelta(seconds=120))
            self._store("seed-certificate", order.fullchain_pem.encode())
            self._store("seed-private-key", key_pem)
            lb_id, name = self.env["CERTMGR_LB_ID"], f"seed-{serial}"
            self._wait(self.lb.create_certificate(oci.load_balancer.models.CreateCertificateDetails(
                certificate_name=name, public_certificate=order.fullchain_pem, private_key=key_pem.decode()), lb_id))
            https = self.lb.get_load_balancer(lb_id).data.listeners["https"]
            self._wait(self.lb.update_listener(oci.load_balancer.models.UpdateListenerDetails(
                default_backend_set_name=https.default_backend_set_name, port=https.port, protocol=https.protocol,
                ssl_configuration=oci.load_balancer.models.SSLConfigurationDetails(certificate_name=name)),
                lb_id, "https"))
        finally:
            patch_txt(self.dns, self.env["CERTMGR_DNS_ZONE_ID"], values, "REMOVE")
        return time.monotonic() - start


def settle(box: Sandbox) -> None:
    """Until every LB work request has ended: a run's deletion of the old bundle (not waited for) must not
    queue before the next run's upload."""
    while any(wr.time_finished is None for wr in box.backend(loadbalancer).work_requests.values()):
        time.sleep(0.05)


def forced(box: Sandbox, env: dict[str, str]) -> list[tuple[object, list[str]]]:
    """A forced renewal at cloud speed and the next one, which expects OCI's work to take what the first
    waited for (the run record keeps it): (result, how its waits followed the service) of each."""
    runs = []
    for _ in range(2):
        settle(box)
        since = len(box.world.calls)
        result = certmgr_run(Config.from_env(env), force=True)
        if result.status != "ok":
            raise RuntimeError(f"certmgr did not renew: {result.render()}")
        runs.append((result, waits(box, since)))
    return runs


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench simulated", description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=1.0, help="multiply every latency and the seed's wait")
    args = parser.parse_args(argv)
    scale = args.scale
    cloud = dict(dns_propagation_delay=DNS_VISIBLE_AFTER * scale, work_request_delay=WORK_REQUEST * scale,
                 certificate_delay=WORK_REQUEST * scale)
    sandbox_speed = dict(dns_propagation_delay=0.0, work_request_delay=0.3, certificate_delay=0.0)
    with Sandbox() as box:
        env = bench_env(box)
        first = certmgr_run(Config.from_env(env))  # account and first certificate, at sandbox speed
        if first.status != "ok":
            raise RuntimeError(first.render())
        box.world.options.update(cloud)
        bundles = forced(box, env)
        settle(box)
        seed = Seed(box, env, SEED_DNS_WAIT * scale).renew(1)
        box.world.options.update(sandbox_speed)
        service_env = dict(env, CERTMGR_CERTIFICATE_NAME="bench-tls")
        moved = certmgr_run(Config.from_env(service_env))  # onto the Certificates service, at sandbox speed
        if moved.status != "ok":
            raise RuntimeError(moved.render())
        box.world.options.update(cloud)
        service = forced(box, service_env)
        if any(result.listeners for result, _ in service):
            raise RuntimeError("the Certificates-service renewal switched listeners: it should not need to")
        box.world.options.update(sandbox_speed)
    print(f"renewal at cloud speed x{scale:g}: TXT visible after {DNS_VISIBLE_AFTER * scale:g} s, "
          f"{WORK_REQUEST * scale:g} s per LB work request and per Certificates-service update")
    print(f"  {'seed design (60 s wait, in sequence)':40} {seed:7.1f} s")
    for target, runs, floor in (("LB bundles", bundles, (DNS_VISIBLE_AFTER + 2 * WORK_REQUEST) * scale),
                                ("Certificates service", service, (DNS_VISIBLE_AFTER + WORK_REQUEST) * scale)):
        for label, (result, followed) in zip(("first at cloud speed", "the next run"), runs):
            total = result.timings["total"]
            ok = total - floor <= OVER_FLOOR * scale
            print(f"  certmgr, {target}, {label}: {total:.1f} s ({total / seed:.2f} of the seed's); over its floor "
                  f"(TXT visible + the work it waits for, {floor:.0f} s): {total - floor:+.1f} s; target <= "
                  f"+{OVER_FLOOR * scale:g} s: {'met' if ok else 'MISSED'}")
            print("    steps: " + ", ".join(f"{k} {v:.1f}" for k, v in result.timings.items() if k != "total"))
            print("".join(f"    {line}\n" for line in followed), end="")
    print("  (a first run expects the sandbox-speed run before it; the next expects what the first waited for)")
    return 0  # a missed target prints MISSED


if __name__ == "__main__":
    sys.exit(main())
