"""End-to-end fixtures: a tenant slice of the session sandbox, and ways to look at it from outside certmgr.

Every e2e module gets its own compartment, vault, zone and load balancer (`make_tenant`; `tenant` names it
by the module's LABEL), so one module's runs never meet another's certificates, and a module can run again
in the same session. `tenant` is the slice as made, nothing issued; `issued_tenant` is the same slice with
a certificate issued and deployed. A `Tenant` looks at the result only through the `oci` SDK, the
sandbox's control API, DNS queries and TLS handshakes, never through certmgr's own code.
"""
from __future__ import annotations

import base64
import contextlib
import datetime as dt
import socket
import ssl
import time
from dataclasses import dataclass
from pathlib import Path

import dns.message
import dns.query
import dns.rdatatype
import oci
import pytest
from cryptography import x509
from cryptography.x509.verification import PolicyBuilder, Store

from _runs import fast_policy, run
from certmgr.cloud.load_balancer import LoadBalancer
from _slice import end_lease
from certmgr.cloud.vault import VaultStore
from sandbox import control
from sandbox.oci import dns as dns_service
from sandbox.oci import loadbalancer, vault
from sandbox.stack import seed_web_load_balancer

MUTATING_VERBS = ("create_", "update_", "patch_", "delete_", "schedule_", "cancel_", "change_")
LB_DONE = ("SUCCEEDED", "FAILED")


@dataclass(frozen=True)
class Footprint:
    """What a run could leave behind, counted: secret versions by name, LB work requests, OCI calls."""

    secret_versions: dict
    work_requests: int
    calls: int


@dataclass
class Tenant:
    """One isolated slice of the sandbox: the env certmgr runs with, and the means to check what it did."""

    sandbox: object
    zone: str
    zone_id: str
    compartment_id: str
    vault_id: str
    lb_id: str
    prefix: str
    env: dict

    def _client(self, cls):
        # No circuit breaker: the SDK's default one is shared per process, so injected faults in one test
        # would fail the next test's calls.
        return self.sandbox.client(cls, circuit_breaker_strategy=oci.circuit_breaker.NoCircuitBreakerStrategy())

    @property
    def lb(self) -> oci.load_balancer.LoadBalancerClient:
        return self._client(oci.load_balancer.LoadBalancerClient)

    @property
    def dns(self) -> oci.dns.DnsClient:
        return self._client(oci.dns.DnsClient)

    @property
    def secrets(self) -> oci.secrets.SecretsClient:
        return self._client(oci.secrets.SecretsClient)

    # -- the control API ---------------------------------------------------------------------------

    def control(self, method: str, path: str, body: dict | None = None):
        return control.call(self.env["SANDBOX_CONTROL"], method, path, body)

    def _state(self, service: str) -> dict:
        return self.control("GET", "/state")["regions"][self.sandbox.world.home_region][service]

    def secret_versions(self) -> dict[str, int]:
        """Version count per secret name in this tenant's vault."""
        return {s["name"]: len(s["versions"]) for s in self._state("vault")["secrets"]
                if s["vaultId"] == self.vault_id}

    def work_requests(self) -> list[dict]:
        """This load balancer's work requests, oldest first."""
        return [wr for wr in self._state("loadbalancer")["workRequests"] if wr["loadBalancerId"] == self.lb_id]

    def footprint(self) -> Footprint:
        return Footprint(self.secret_versions(), len(self.work_requests()), len(self.control("GET", "/calls")))

    def calls_since(self, before: Footprint) -> list[dict]:
        """OCI calls served since `before` (operation, region, status, principal); tests run one at a time."""
        return self.control("GET", "/calls")[before.calls:]

    def mutations_since(self, before: Footprint) -> list[str]:
        return [c["operation"] for c in self.calls_since(before)
                if c["operation"].rpartition(".")[2].startswith(MUTATING_VERBS)]

    # -- Vault, the load balancer and DNS, from outside ------------------------------------------------

    def secret(self, role: str) -> bytes:
        """CURRENT content of the secret `{prefix}-{role}`."""
        bundle = self.secrets.get_secret_bundle_by_name(f"{self.prefix}-{role}", self.vault_id).data
        return base64.b64decode(bundle.secret_bundle_content.content)

    def put_secret(self, role: str, content: bytes) -> None:
        """Store `content` by hand as the new CURRENT version of the existing secret `{prefix}-{role}`."""
        vaults = self._client(oci.vault.VaultsClient)
        secret_id = vaults.list_secrets(self.compartment_id, name=f"{self.prefix}-{role}",
                                        vault_id=self.vault_id).data[0].id
        vaults.update_secret(secret_id, oci.vault.models.UpdateSecretDetails(
            secret_content=oci.vault.models.Base64SecretContentDetails(
                content_type="BASE64", content=base64.b64encode(content).decode(), stage="CURRENT")))

    def stored_chain(self) -> list[x509.Certificate]:
        """The certificate in Vault, then the chain stored with it."""
        return [*x509.load_pem_x509_certificates(self.secret("certificate")),
                *x509.load_pem_x509_certificates(self.secret("chain"))]

    def verify(self, chain: list[x509.Certificate], hostname: str) -> None:
        """Raise unless `chain` (leaf first) leads to the ACME root and its leaf covers `hostname`."""
        store = Store(x509.load_pem_x509_certificates(Path(self.env["SANDBOX_ACME_ROOT"]).read_bytes()))
        verifier = (PolicyBuilder().store(store).time(dt.datetime.now(dt.timezone.utc))
                    .build_server_verifier(x509.DNSName(hostname)))
        verifier.verify(chain[0], chain[1:])

    def load_balancer(self) -> oci.load_balancer.models.LoadBalancer:
        return self.lb.get_load_balancer(self.lb_id).data

    def hand_over(self, listener: str = "https", to: str = "bootstrap") -> str:
        """Hand `listener` to another deployment as an operator does (certmgr never takes one over from
        another deployment): point it at another certificate (the bootstrap one) first. Returns the name
        of the certificate it served, to hand it back with `to=`."""
        lb = LoadBalancer(self.lb, self.lb_id, policy=fast_policy(), deadline=fast_policy().deadline(30))
        current = lb.get().listeners[listener]
        lb.switch(current, to)
        return current.ssl_configuration.certificate_name

    @contextlib.contextmanager
    def another_deployment(self, prefix: str):
        """The env of deployment `prefix` on this tenant's listener, handed to it and handed back after."""
        served = self.hand_over()
        try:
            yield dict(self.env, CERTMGR_NAME_PREFIX=prefix)
        finally:
            self.hand_over(to=served)

    def lb_certificate_names(self) -> set[str]:
        """The LB's certificates once its work requests (certmgr's deletions among them) have ended."""
        self.settle()
        return {c.certificate_name for c in self.lb.list_certificates(self.lb_id).data}

    def wait_work_request(self, work_request_id: str, timeout: float = 30) -> str:
        deadline = time.monotonic() + timeout
        while True:
            state = self.lb.get_work_request(work_request_id).data.lifecycle_state
            if state in LB_DONE or time.monotonic() > deadline:
                return state
            time.sleep(0.1)

    def settle(self, timeout: float = 30) -> None:
        """Wait until every work request of this load balancer has ended (certmgr does not wait for its
        deletions of old LB certificates)."""
        deadline = time.monotonic() + timeout
        while any(wr["lifecycleState"] not in LB_DONE for wr in self.work_requests()):
            assert time.monotonic() < deadline, "the load balancer's work requests did not end"
            time.sleep(0.05)

    def served(self, hostname: str | None = None, *, verify: bool = True) -> x509.Certificate:
        """The leaf the https listener presents in a real handshake; with `verify`, the client trusts only
        the ACME root and checks `hostname` (default `www.<zone>`)."""
        context = ssl.create_default_context(cafile=self.env["SANDBOX_ACME_ROOT"])
        if not verify:
            context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
        host, port = self.env["SANDBOX_LB_HTTPS"].rsplit(":", 1)
        with socket.create_connection((host, int(port)), timeout=5) as raw:
            with context.wrap_socket(raw, server_hostname=hostname or f"www.{self.zone}") as tls:
                return x509.load_der_x509_certificate(tls.getpeercert(binary_form=True))

    def challenge_records(self) -> list:
        """Every `_acme-challenge` record the zone holds, through the DNS API."""
        items = oci.pagination.list_call_get_all_results(self.dns.get_zone_records, self.zone_id,
                                                         domain_contains="_acme-challenge").data.items
        return [r for r in items if r.domain.startswith("_acme-challenge.")]

    def challenge_answers(self) -> list[str]:
        """TXT values the sandbox's authoritative DNS server answers at `_acme-challenge.<zone>` now."""
        host, port = self.env["CERTMGR_DNS_NAMESERVERS"].rsplit(":", 1)
        query = dns.message.make_query(f"_acme-challenge.{self.zone}", dns.rdatatype.TXT)
        reply = dns.query.udp(query, host, port=int(port), timeout=3)
        return [b"".join(r.strings).decode() for rrset in reply.answer if rrset.rdtype == dns.rdatatype.TXT
                for r in rrset]


def _free_zone(backend, label: str) -> str:
    """`<label>.test`, or `<label>-<n>.test` when a module runs again in the same session."""
    taken = {z.name for z in backend.zones.values()}
    name, n = f"{label}.test", 1
    while name in taken:
        n += 1
        name = f"{label}-{n}.test"
    return name


def new_tenant(sandbox, label: str) -> Tenant:
    """A compartment, vault, zone and load balancer of its own, shaped like the seeded tenancy: an https
    listener with a hostname, rule set, connection settings and SSL options, and an http listener."""
    compartment = sandbox.world.add_compartment(label)
    zones = sandbox.backend(dns_service)
    zone = _free_zone(zones, label)
    zone_id = zones.add_zone(zone, compartment)
    vault_id, key_id = sandbox.backend(vault).add_vault(compartment, f"{label}-vault")
    lbs = sandbox.backend(loadbalancer)
    lb_id = seed_web_load_balancer(lbs, compartment, zone, f"{label}-lb")
    env = {k: v for k, v in sandbox.env.items() if not k.startswith("CERTMGR_MONITOR_")}
    env.update(CERTMGR_DOMAIN=f"{zone},*.{zone}", CERTMGR_DNS_ZONE_ID=zone_id, CERTMGR_LB_ID=lb_id,
               CERTMGR_VAULT_ID=vault_id, CERTMGR_VAULT_KEY_ID=key_id, CERTMGR_COMPARTMENT_ID=compartment,
               CERTMGR_NAME_PREFIX=label, CERTMGR_ACME_EMAIL=f"admin@{zone}",
               SANDBOX_LB_HTTPS=lbs.listener_address(lb_id, "https"))
    return Tenant(sandbox, zone, zone_id, compartment, vault_id, lb_id, label, env)


@pytest.fixture(scope="module")
def make_tenant(sandbox):
    """Factory of tenant slices; their load balancers and listener servers go away with the module."""
    made: list[Tenant] = []

    def make(label: str) -> Tenant:
        made.append(new_tenant(sandbox, label))
        return made[-1]
    yield make
    for tenant in made:
        sandbox.backend(loadbalancer).remove_load_balancer(tenant.lb_id)


@pytest.fixture(scope="module")
def tenant(make_tenant, request) -> Tenant:
    """The module's own slice, named by its LABEL, where nothing was issued yet. A module that needs more
    settings overrides this fixture (asking for it by the same name) and adds them to `env`."""
    return make_tenant(request.module.LABEL)


@pytest.fixture(scope="module")
def issued_tenant(tenant) -> Tenant:
    """The module's slice with a certificate issued and deployed (one run sees to it): what failures must
    leave in service."""
    first = run(tenant.env)
    assert first.status == "ok", first.render()
    return tenant


@pytest.fixture
def restore(issued_tenant):
    """Faults, LB latency, DNS propagation and the run lock back to normal after the test."""
    yield
    issued_tenant.sandbox.world.faults.clear()
    issued_tenant.control("POST", "/options", {"work_request_delay": issued_tenant.sandbox.work_request_delay})
    issued_tenant.sandbox.backend(dns_service).set_propagation_delay(issued_tenant.zone_id, None)
    issued_tenant.settle()
    end_lease(issued_tenant)


@pytest.fixture(scope="module")
def operations(issued_tenant) -> list[str]:
    """Every OCI operation a forced renewal calls, from the sandbox's call log of one."""
    before = issued_tenant.footprint()
    result = run(issued_tenant.env, force=True)
    assert result.status == "ok", result.render()
    issued_tenant.settle()
    ops = sorted({c["operation"] for c in issued_tenant.calls_since(before)})
    assert {"dns.patch_zone_records", "vault.update_secret", "lb.create_certificate", "lb.update_listener",
            "lb.get_work_request", "lb.delete_certificate"} <= set(ops), ops
    return ops


@pytest.fixture
def store(sandbox):
    """A certmgr VaultStore on a vault of its own, so version counts start from nothing."""
    vault_id, key_id = sandbox.backend(vault).add_vault(sandbox.ids["compartment"], "store-vault")
    return VaultStore(sandbox.client(oci.vault.VaultsClient), sandbox.client(oci.secrets.SecretsClient),
                      vault_id=vault_id, key_id=key_id, compartment_id=sandbox.ids["compartment"])
