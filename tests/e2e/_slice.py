"""Helpers over conftest's `Tenant`: read back everything a run may change, write secrets by hand, run the CLI.

`state(tenant)` is what "nothing changed" means for a failed run: the same secret versions, the same LB
certificates and listener settings, and the same certificate served in a real, verified TLS handshake.
"""
from __future__ import annotations

import base64
import os
import subprocess
import sys
import time
from pathlib import Path

import oci
from cryptography.hazmat.primitives import hashes

from certmgr.timing import DEFAULT, Policy

ROOT = Path(__file__).resolve().parents[2]


class Sleeps:
    """A Policy's `sleep` for tests: records every wait the run asks for, and sleeps at most `cap` of it, so
    retries and polls keep their counts and order while the suite stays fast."""

    def __init__(self, cap: float = 0.05):
        self.cap, self.asked = cap, []

    def __call__(self, seconds: float) -> None:
        self.asked.append(seconds)
        time.sleep(min(seconds, self.cap))


class VirtualTime(Sleeps):
    """A Policy's `clock` and `sleep` together: every wait asked for passes in full on `clock`, but only `cap`
    of it in real time. A run then sees its deadlines and timeouts come exactly as they would (the same polls,
    the same attempts) in a fraction of the time."""

    def __init__(self, cap: float = 0.01):
        super().__init__(cap)
        self.skipped = 0.0

    def clock(self) -> float:
        return time.monotonic() + self.skipped

    def __call__(self, seconds: float) -> None:
        super().__call__(seconds)
        self.skipped += max(0.0, seconds - self.cap)


def virtual_policy(**changes) -> Policy:
    """The default policy on virtual time (see VirtualTime)."""
    virtual = VirtualTime()
    return DEFAULT.replace(**{"sleep": virtual, "clock": virtual.clock, **changes})


def fast_policy(**changes) -> Policy:
    """The default policy (same attempt counts, same backoff asked for) with a recording, capped sleep."""
    return DEFAULT.replace(**{"sleep": Sleeps(), **changes})


LOCK_SUFFIX = "-lock"  # certmgr's run lock: every acting run writes it, failed or not


def _secrets(tenant) -> list[dict]:
    vault = tenant.control("GET", "/state")["regions"][tenant.sandbox.world.home_region]["vault"]
    return [s for s in vault["secrets"] if s["vaultId"] == tenant.vault_id]


def lock_holders(tenant, now: float | None = None) -> dict[str, str | None]:
    """Who holds each run lock in the tenant's vault (None: free), or with `now`, whose lease runs past it."""
    holders = {}
    for s in _secrets(tenant):
        if s["name"].endswith(LOCK_SUFFIX):
            metadata = tenant.secrets.get_secret_bundle_by_name(s["name"], tenant.vault_id).data.metadata or {}
            held = metadata.get("holder") and (now is None or float(metadata.get("until") or 0) > now)
            holders[s["name"]] = metadata["holder"] if held else None  # the lease is in metadata
    return holders


def state(tenant, *, verify: bool = True) -> dict:
    """Vault versions (number, name, stages) but the run lock's, LB certificates, listeners, and the
    served certificate's fingerprint."""
    versions = {s["name"]: [(v["versionNumber"], v["name"], tuple(v.get("stages") or ())) for v in s["versions"]]
                for s in _secrets(tenant) if not s["name"].endswith(LOCK_SUFFIX)}
    lb = tenant.load_balancer()
    return {"versions": versions,
            "listeners": {name: oci.util.to_dict(l) for name, l in lb.listeners.items()},
            "lb_certificates": sorted(tenant.lb_certificate_names()),
            "served": tenant.served(verify=verify).fingerprint(hashes.SHA256()).hex()}


def assert_unchanged(tenant, before: dict, *, verify: bool = True) -> None:
    """No `_acme-challenge` TXT left in the zone, no secret version written, the LB untouched and still
    serving a certificate that a client trusting the ACME root accepts; every run lock released."""
    assert [r.domain for r in tenant.challenge_records()] == [], "TXT records left in the zone"
    assert set(lock_holders(tenant).values()) <= {None}, f"a run lock is still held: {lock_holders(tenant)}"
    after = state(tenant, verify=verify)
    changed = {part: {"before": before[part], "after": after[part]} for part in before if after[part] != before[part]}
    assert not changed, f"changed: {changed}"


def assert_healthy(tenant, now: float | None = None) -> None:
    """Where every run, failed or not, must leave things once the next run is done: the listener serves, in
    a verified handshake, Vault's CURRENT certificate, Vault's CURRENT key is that certificate's, no
    `_acme-challenge` record is left, at most the current and the previous of this deployment's LB
    certificates exist, and no run holds the lock (at `now`: a killed run's lease only expires)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    served = tenant.served()
    stored = x509.load_pem_x509_certificate(tenant.secret("certificate"))
    key = serialization.load_pem_private_key(tenant.secret("private-key"), None)
    assert served.serial_number == stored.serial_number, "the listener does not serve Vault's CURRENT certificate"
    assert key.public_key().public_numbers() == stored.public_key().public_numbers(), \
        "Vault's CURRENT key is not the CURRENT certificate's"
    assert [r.domain for r in tenant.challenge_records()] == [], "TXT records left in the zone"
    ours = [n for n in tenant.lb_certificate_names() if n.startswith(f"{tenant.prefix}-")]
    assert len(ours) <= 2, f"more than the current and previous LB certificates: {ours}"
    held = lock_holders(tenant, now)
    assert set(held.values()) <= {None}, f"a run lock is still held: {held}"


def vaults_client(tenant) -> oci.vault.VaultsClient:
    return tenant.sandbox.client(oci.vault.VaultsClient)


def write_secret(tenant, name: str, content: bytes) -> None:
    """A new CURRENT version of secret `name` (created when missing), as an operator storing one by hand."""
    vaults = vaults_client(tenant)
    body = oci.vault.models.Base64SecretContentDetails(content_type="BASE64",
                                                       content=base64.b64encode(content).decode())
    found = [s for s in vaults.list_secrets(tenant.compartment_id, name=name, vault_id=tenant.vault_id).data
             if s.lifecycle_state == "ACTIVE"]
    if found:
        vaults.update_secret(found[0].id, oci.vault.models.UpdateSecretDetails(secret_content=body))
        return
    key_id = tenant.env["CERTMGR_VAULT_KEY_ID"]
    vaults.create_secret(oci.vault.models.CreateSecretDetails(
        compartment_id=tenant.compartment_id, vault_id=tenant.vault_id, key_id=key_id, secret_name=name,
        secret_content=body))


def add_fault(tenant, **fault) -> dict:
    """Inject an OCI fault: operation and path (globs), status, count, skip, retryAfter, rate, latency."""
    return tenant.control("POST", "/faults", fault)


def secret_path(tenant, name: str) -> str:
    """A fault `path` glob matching requests on the secret `name` only."""
    found = vaults_client(tenant).list_secrets(tenant.compartment_id, name=name, vault_id=tenant.vault_id).data
    return f"*/secrets/{found[0].id}"


def set_wrong_txt(tenant, value: str | None) -> None:
    """Make the authoritative DNS answer `value` for every TXT record in the tenant's zone (None: the truth)."""
    tenant.control("POST", f"/dns/zones/{tenant.zone_id}", {"wrongTxt": value})


def cli(env: dict[str, str], *args: str, cwd: str | Path = ROOT, timeout: float = 180) -> subprocess.CompletedProcess:
    """`python -m certmgr ARGS` with exactly `env` plus PATH: no stray CERTMGR_* from the test runner."""
    full = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(ROOT),
            "PYTHONDONTWRITEBYTECODE": "1", **env}
    return subprocess.run([sys.executable, "-m", "certmgr", *args], env=full, cwd=cwd, capture_output=True,
                          text=True, timeout=timeout)
