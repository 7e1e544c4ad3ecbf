"""certmgr's secrets in OCI Vault: read the current version, write a new one, create when missing.

A certificate, its chain and its key live in three secrets. Every version written together carries the
same version name (`serial-<hex>`), so a reader that starts from the certificate finds *its* key by name
and never pairs a certificate with a foreign key, whatever moment it reads at. The key and chain are
written first as PENDING, the certificate is written CURRENT (the commit point), then the key and chain are
promoted: a run that dies half-way leaves the previous CURRENT set intact and readable.

Every write is followed by pruning: old DEPRECATED versions are scheduled for deletion (see `prune`).
"""
from __future__ import annotations

import base64
import datetime as dt
import logging
from dataclasses import dataclass

import oci.secrets
import oci.vault

from .clients import all_items
from ..errors import VaultError, oci_failure, oci_reason
from ..timing import DEFAULT, Policy

log = logging.getLogger("certmgr")

KEEP_DEPRECATED = 5                               # newest DEPRECATED versions kept for rollback and audit
PENDING_DELETION_LIMIT = 30                       # OCI's limits per secret: versions pending deletion,
ACTIVE_LIMIT = 30                                 # and versions in active use
NEAR_LIMIT = 25                                   # in active use: say so before writes start failing
DELETE_AFTER = dt.timedelta(days=1, minutes=10)   # OCI's shortest wait, with a margin for clock skew


@dataclass
class StoredCertificate:
    cert_pem: bytes
    chain_pem: bytes | None
    key_pem: bytes | None
    version_name: str | None
    set_is_current: bool      # the key and chain secrets' CURRENT versions are this certificate's own


def version_name(serial_hex: str) -> str:
    return f"serial-{serial_hex}"


class VaultStore:
    def __init__(self, vaults: oci.vault.VaultsClient, secrets: oci.secrets.SecretsClient, *, vault_id: str,
                 key_id: str, compartment_id: str, policy: Policy = DEFAULT):
        self.vaults, self.secrets, self.policy = vaults, secrets, policy
        self.vault_id, self.key_id, self.compartment_id = vault_id, key_id, compartment_id
        self._ids: dict[str, str] = {}
        self._listing: dict[str, str] | None = None  # the vault's live secrets by name, once listed
        self.warnings: list[str] = []  # problems that did not stop the write (pruning), for the run's result

    def _fail(self, what: str, name: str, exc: oci.exceptions.ServiceError) -> VaultError:
        return oci_failure(VaultError, f"vault: {what} secret {name!r} in vault {self.vault_id} failed", exc,
                           "check CERTMGR_VAULT_ID / CERTMGR_VAULT_KEY_ID and the function's Vault policy",
                           names={"secret_name": name})

    def secret_id(self, name: str) -> str | None:
        """The OCID of the live secret `name`. The vault's secrets are listed once, on the first lookup (one
        call for every name a run reads); a name not in that listing is looked up by itself, as it may have
        been created since (another run's lock, say)."""
        if self._listing is None:
            self._listing = self._live_ids()
            self._ids = {**self._listing, **self._ids}
        if name not in self._ids:
            found = self._live_ids(name)
            if name not in found:
                return None
            self._ids[name] = found[name]
        return self._ids[name]

    def _live_ids(self, name: str | None = None) -> dict[str, str]:
        try:
            found = all_items(self.vaults.list_secrets, self.compartment_id, vault_id=self.vault_id,
                              **({"name": name} if name else {}))
        except oci.exceptions.ServiceError as exc:
            raise self._fail("looking up", name or "(every secret)", exc) from None
        return {s.secret_name: s.id for s in found
                if s.lifecycle_state not in ("DELETED", "PENDING_DELETION", "DELETING")}

    def read(self, name: str, *, version: str | None = None) -> tuple[bytes, str | None] | None:
        """(content, version name) of the CURRENT version, or of the version named `version`."""
        secret_id = self.secret_id(name)
        if secret_id is None:
            return None
        try:
            bundle = (self.secrets.get_secret_bundle(secret_id, secret_version_name=version) if version
                      else self.secrets.get_secret_bundle(secret_id, stage="CURRENT")).data
        except oci.exceptions.ServiceError as exc:
            if exc.status == 404 and version:
                return None
            raise self._fail("reading", name, exc) from None
        return base64.b64decode(bundle.secret_bundle_content.content), bundle.version_name

    def read_by_name(self, name: str) -> tuple[bytes, str] | None:
        """(content, secret OCID) of the CURRENT version, found by name in one call and no listing (all that
        a reader granted only `read secret-bundles` may do); None when there is no such secret."""
        try:
            bundle = self.secrets.get_secret_bundle_by_name(name, self.vault_id).data
        except oci.exceptions.ServiceError as exc:
            if exc.status == 404:
                return None
            raise self._fail("reading", name, exc) from None
        return base64.b64decode(bundle.secret_bundle_content.content), bundle.secret_id

    def write(self, name: str, content: bytes, *, version: str | None = None, pending: bool = False) -> int:
        """Store `content` as a new version (creating the secret when missing); return its number."""
        secret_id = self.secret_id(name)
        pending = pending and secret_id is not None  # a new secret's first version is CURRENT
        body = oci.vault.models.Base64SecretContentDetails(
            content_type="BASE64", content=base64.b64encode(content).decode(), name=version,
            stage="PENDING" if pending else "CURRENT")
        try:
            if secret_id is None:
                secret = self.vaults.create_secret(oci.vault.models.CreateSecretDetails(
                    compartment_id=self.compartment_id, vault_id=self.vault_id, key_id=self.key_id,
                    secret_name=name, secret_content=body,
                    description="Managed by certmgr", freeform_tags={"managed-by": "certmgr"})).data
                self._ids[name] = secret.id
            else:
                secret = self.vaults.update_secret(secret_id, oci.vault.models.UpdateSecretDetails(
                    secret_content=body)).data
        except oci.exceptions.ServiceError as exc:
            if exc.code == "LimitExceeded" and secret_id is not None:
                raise self._limit(name, exc) from None
            raise self._fail("writing", name, exc) from None
        if secret_id is None:
            return secret.current_version_number  # a new secret: one version, nothing to prune
        versions = self.versions(name)
        self.prune(name, versions)
        return max(v.version_number for v in versions) if pending else secret.current_version_number

    def check_room(self, name: str) -> None:
        """Raise the limit error now if a new version of `name` cannot be written: a run checks before it
        orders, so a full Vault never costs an order (and a rate-limit slot) it cannot store."""
        if self.secret_id(name) is None:
            return
        versions = self.versions(name)
        if sum(1 for v in versions if not v.time_of_deletion) >= ACTIVE_LIMIT:
            self.prune(name, versions)  # writes prune after they land: make the room before this one
            versions = self.versions(name)
        now = self.policy.now()
        in_use = sum(1 for v in versions if not v.time_of_deletion)
        pending = sum(1 for v in versions if v.time_of_deletion and v.time_of_deletion > now)
        if in_use >= ACTIVE_LIMIT:
            raise self._limit(name, message=f"{in_use} versions in use, {pending} pending deletion", versions=versions)

    def _limit(self, name: str, exc: oci.exceptions.ServiceError | None = None, *, message: str = "",
               versions: list | None = None) -> VaultError:
        """OCI's version limits, with when they clear: the earliest scheduled deletion frees a place."""
        try:
            due = [v.time_of_deletion for v in versions or self.versions(name) if v.time_of_deletion]
        except VaultError:
            due = []
        when = (f"the next scheduled deletion frees a place at {min(due):%Y-%m-%d %H:%M} UTC" if due else
                "no version is scheduled for deletion yet; certmgr schedules old ones at every write")
        error = VaultError(f"vault: secret {name!r} is at OCI's limit of {ACTIVE_LIMIT} versions in use and "
                           f"{PENDING_DELETION_LIMIT} pending deletion ({exc.message if exc else message})",
                           hint=f"nothing is misconfigured: OCI deletes a version no sooner than a day after it "
                                f"is scheduled; {when}, and the next run after that succeeds")
        error.status = exc.status if exc else 400
        return error

    def versions(self, name: str) -> list[oci.vault.models.SecretVersionSummary]:
        try:
            return all_items(self.vaults.list_secret_versions, self.secret_id(name))
        except oci.exceptions.ServiceError as exc:
            raise self._fail("listing the versions of", name, exc) from None

    def promote(self, name: str, version_number: int) -> None:
        try:
            self.vaults.update_secret(self.secret_id(name), oci.vault.models.UpdateSecretDetails(
                current_version_number=version_number))
        except oci.exceptions.ServiceError as exc:
            raise self._fail("promoting a version of", name, exc) from None
        self.prune(name)

    def prune(self, name: str, versions: list | None = None) -> None:
        """Schedule the deletion of the DEPRECATED versions older than the newest KEEP_DEPRECATED.

        OCI allows 30 versions in active use per secret, and every renewal adds one to each secret of the set:
        left alone, writes would fail after a few years (or a busy day of forced renewals) and stop renewals. Deletion is
        housekeeping, so a failure is only a warning; the next write tries again.
        """
        try:
            versions, now = versions or self.versions(name), self.policy.now()
            waiting = sum(1 for v in versions if v.time_of_deletion and v.time_of_deletion > now)
            old = sorted(v.version_number for v in versions if "DEPRECATED" in v.stages and not v.time_of_deletion)
            old = old[:max(0, len(old) - KEEP_DEPRECATED)]
            room = max(0, PENDING_DELETION_LIMIT - waiting)
            details = oci.vault.models.ScheduleSecretVersionDeletionDetails(time_of_deletion=now + DELETE_AFTER)
            for number in old[:room]:
                self.vaults.schedule_secret_version_deletion(self.secret_id(name), number, details)
            if len(old) > room:
                self._warn(f"vault: {len(old) - room} old versions of secret {name!r} must wait to be deleted: "
                           f"{PENDING_DELETION_LIMIT} are already pending deletion, OCI's limit")
            active = sum(1 for v in versions if not v.time_of_deletion) - min(len(old), room)
            if active >= NEAR_LIMIT:
                self._warn(f"vault: secret {name!r} has {active} of OCI's {ACTIVE_LIMIT} versions in use: "
                           f"renewals will fail at {ACTIVE_LIMIT} until older versions are deleted (OCI waits "
                           "a day after scheduling); avoid forcing renewals until then")
        except Exception as exc:  # the write itself succeeded; never fail the run for the clean-up
            reason = (oci_reason(exc) if isinstance(exc, oci.exceptions.ServiceError)
                      else f"{type(exc).__name__}: {exc}")
            self._warn(f"vault: could not schedule old versions of secret {name!r} for deletion: {reason}")

    def _warn(self, message: str) -> None:
        log.warning("%s", message)
        self.warnings.append(message)


class CertificateVault:
    """The certificate set (certificate, chain, key) and the ACME account key, by role."""

    def __init__(self, store: VaultStore, names: dict[str, str]):
        self.store, self.names = store, names

    def read_certificate(self) -> StoredCertificate | None:
        found = self.store.read(self.names["certificate"])
        if found is None:
            return None
        cert_pem, name = found
        if name:
            current_key, current_chain = self.store.read(self.names["private_key"]), self.store.read(self.names["chain"])
            # the CURRENT key and chain are this certificate's own (not a write cut short, nor one by hand)
            set_is_current = bool(current_key and current_chain and current_key[1] == name and
                                  current_chain[1] == name)
            # else the versions of this certificate's name, if they exist (version names are unique)
            key = current_key if set_is_current else self.store.read(self.names["private_key"], version=name)
            chain = current_chain if set_is_current else self.store.read(self.names["chain"], version=name)
        else:  # stored by hand: the CURRENT versions are all there is
            key = self.store.read(self.names["private_key"])
            chain = self.store.read(self.names["chain"])
            set_is_current = True
        return StoredCertificate(cert_pem, chain[0] if chain else None, key[0] if key else None, name,
                                 set_is_current)

    def write_certificate(self, cert_pem: bytes, chain_pem: bytes, key_pem: bytes, serial_hex: str) -> None:
        name = version_name(serial_hex)
        key_version = self.store.write(self.names["private_key"], key_pem, version=name, pending=True)
        chain_version = self.store.write(self.names["chain"], chain_pem, version=name, pending=True)
        self.store.write(self.names["certificate"], cert_pem, version=name)
        self.store.promote(self.names["private_key"], key_version)
        self.store.promote(self.names["chain"], chain_version)

    def check_room(self) -> None:
        """Before an order: each secret of the set can take one more version (see VaultStore.check_room)."""
        for role in ("private_key", "chain", "certificate"):
            self.store.check_room(self.names[role])

    def promote_key(self, version: str) -> None:
        """Repair after an interrupted write: make the certificate's own key and chain CURRENT."""
        for role in ("private_key", "chain"):
            match = [v.version_number for v in self.store.versions(self.names[role]) if v.name == version]
            if match:
                self.store.promote(self.names[role], match[0])

    def read_account_key(self, role: str = "account_key") -> bytes | None:
        """The ACME account key of the CA whose secret role is `role` (the primary's, or the fallback's)."""
        found = self.store.read(self.names[role])
        return found[0] if found else None

    def write_account_key(self, key_pem: bytes, role: str = "account_key") -> None:
        self.store.write(self.names[role], key_pem)
