"""Helpers over conftest's `Tenant`: read back everything a run may change, write secrets by hand, inject faults.

`state(tenant)` is what "nothing changed" means for a failed run: the same secret versions, the same LB
certificates and listener settings, and the same certificate served in a real, verified TLS handshake.
"""
from __future__ import annotations

import base64
import contextlib

import oci
from cryptography.hazmat.primitives import hashes

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


def end_lease(tenant) -> None:
    """Free the tenant's run lock, keeping its record, as time would once a killed run's lease expired."""
    vaults = tenant._client(oci.vault.VaultsClient)
    lock_id = secret_path(tenant, f"{tenant.prefix}{LOCK_SUFFIX}").rsplit("/", 1)[1]
    metadata = dict(vaults.get_secret(lock_id).data.metadata, holder="", until="0")
    vaults.update_secret(lock_id, oci.vault.models.UpdateSecretDetails(metadata=metadata))


@contextlib.contextmanager
def caa(tenant, *values: str):
    """CAA records at the zone's apex, through the DNS API, removed again after."""
    def patch(operation: str) -> None:
        tenant.dns.patch_zone_records(tenant.zone_id, oci.dns.models.PatchZoneRecordsDetails(items=[
            oci.dns.models.RecordOperation(domain=tenant.zone, rtype="CAA", rdata=value, ttl=60, operation=operation)
            for value in values]))
    patch("ADD")
    try:
        yield
    finally:
        patch("REMOVE")
