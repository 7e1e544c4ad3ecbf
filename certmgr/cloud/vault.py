"""certmgr's secrets in OCI Vault: read the current version, write a new one, create when missing.

Secrets are read by name (GetSecretBundleByName: the bundle carries the secret's OCID, metadata and the
version's stages), so the read a run makes anyway resolves each OCID. Versions are counted without listing
them: a write leaves in the secret's metadata (UpdateSecret takes metadata with new content; only content, the
current version number and rules exclude each other) the number of the version it adds and how many are then
in use, which a later run trusts while the CURRENT version it reads is that newest one (stage LATEST, "the
secret contents that were last uploaded": Vault's "Secret Versions and Rotation States"); else it lists them
once. Old DEPRECATED versions are scheduled for deletion as a write would bring PRUNE_AT in use (`prune`).
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
PRUNE_AT = 20                                     # in active use: old versions are scheduled for deletion
NEAR_LIMIT = 25                                   # in active use: say so before writes start failing
DELETE_AFTER = dt.timedelta(days=1, minutes=10)   # OCI's shortest wait, with a margin for clock skew
NEWEST, IN_USE = "certmgr_newest_version", "certmgr_versions_in_use"  # the counts a write leaves in metadata


@dataclass
class Known:
    """What this run knows of one secret without listing its versions."""

    id: str
    metadata: dict            # as read, or as this run's last write left it
    newest: int | None = None  # the number of its newest version
    in_use: int | None = None  # how many of its versions are in active use, at most (fewer once some are deleted)
    current: int | None = None  # the number of its CURRENT version


def _known(bundle) -> Known:
    """What a CURRENT bundle tells: the newest version when CURRENT is also LATEST, and the count in use that the
    write of that version left (a count left by an older write is not trusted)."""
    metadata, newest, in_use = dict(bundle.metadata or {}), None, None
    if "LATEST" in (bundle.stages or []):
        newest = bundle.version_number
        try:
            in_use = int(metadata[IN_USE]) if int(metadata.get(NEWEST, -1)) == newest else None
        except (KeyError, ValueError):
            in_use = None
    return Known(bundle.secret_id, metadata, newest, in_use, bundle.version_number)


class VaultStore:
    def __init__(self, vaults: oci.vault.VaultsClient, secrets: oci.secrets.SecretsClient, *, vault_id: str,
                 key_id: str, compartment_id: str, policy: Policy = DEFAULT):
        self.vaults, self.secrets, self.policy = vaults, secrets, policy
        self.vault_id, self.key_id, self.compartment_id = vault_id, key_id, compartment_id
        self.known: dict[str, Known] = {}
        self.unread: dict[str, oci.exceptions.ServiceError] = {}  # the 404 a read by name got, by name
        self.warnings: list[str] = []  # problems that did not stop the write (pruning), for the run's result

    def _fail(self, what: str, name: str, exc: oci.exceptions.ServiceError) -> VaultError:
        return oci_failure(VaultError, f"vault: {what} secret {name!r} in vault {self.vault_id} failed", exc,
                           "check CERTMGR_VAULT_ID / CERTMGR_VAULT_KEY_ID and the function's Vault policy",
                           names={"secret_name": name})

    def secret_id(self, name: str) -> str | None:
        """The OCID of the live secret `name` (read by name when this run has not read it yet), or None."""
        if name not in self.known:
            self.read(name)
        return self.known[name].id if name in self.known else None

    def read(self, name: str, *, version: str | None = None) -> tuple[bytes, str | None] | None:
        """(content, version name) of the CURRENT version, or of the version named `version`; None when there is
        no such secret (or version). OCI answers 404 alike for a secret the function may not read: `confirm_absent`
        tells them apart where it matters."""
        try:
            bundle = (self.secrets.get_secret_bundle_by_name(name, self.vault_id, secret_version_name=version)
                      if version else self.secrets.get_secret_bundle_by_name(name, self.vault_id)).data
        except oci.exceptions.ServiceError as exc:
            if exc.status != 404:
                raise self._fail("reading", name, exc) from None
            if version is None:
                self.unread[name] = exc
            return None
        if version is None:
            self.known[name] = _known(bundle)
        return base64.b64decode(bundle.secret_bundle_content.content), bundle.version_name

    def read_by_name(self, name: str) -> tuple[bytes, str] | None:
        """(content, secret OCID) of the CURRENT version, or None."""
        return (found[0], self.known[name].id) if (found := self.read(name)) else None

    def confirm_absent(self, name: str) -> None:
        """Raise unless the secret `name` really does not exist: a secret the function may not read is not a
        missing one (its name is taken, and a run would order a certificate it cannot store)."""
        try:
            found = all_items(self.vaults.list_secrets, self.compartment_id, name=name, vault_id=self.vault_id)
        except oci.exceptions.ServiceError as exc:
            raise self._fail("looking up", name, exc) from None
        states = {s.lifecycle_state for s in found} - {"DELETED"}
        if states & {"PENDING_DELETION", "DELETING"}:
            raise VaultError(f"vault: secret {name!r} in vault {self.vault_id} is pending deletion, and its name "
                             "stays taken until it is deleted", hint="cancel its deletion, or wait until it is deleted")
        if states:  # it exists: the 404 its read got was a refusal
            raise self._fail("reading", name, self.unread[name]) if name in self.unread else \
                VaultError(f"vault: secret {name!r} exists in vault {self.vault_id}, but cannot be read")

    def write(self, name: str, content: bytes, *, version: str | None = None, pending: bool = False) -> int:
        """Store `content` as a new version (creating the secret when missing); return its number."""
        known = self.known[name] if self.secret_id(name) else None
        body = oci.vault.models.Base64SecretContentDetails(
            content_type="BASE64", content=base64.b64encode(content).decode(), name=version,
            stage="PENDING" if pending and known else "CURRENT")  # a new secret's first version is CURRENT
        if known is None:
            return self._create(name, body)
        self.make_room(name)
        number, in_use = known.newest + 1, known.in_use + 1
        metadata = {**known.metadata, NEWEST: str(number), IN_USE: str(in_use)}
        try:
            secret = self.vaults.update_secret(known.id, oci.vault.models.UpdateSecretDetails(
                secret_content=body, metadata=metadata)).data
        except oci.exceptions.ServiceError as exc:
            if exc.code == "LimitExceeded":
                raise self._limit(name, exc) from None
            raise self._fail("writing", name, exc) from None
        if not pending and secret.current_version_number != number:  # another writer came between: count again
            number, in_use = secret.current_version_number, None
        self.known[name] = Known(known.id, metadata, number, in_use, known.current if pending else number)
        return number

    def _create(self, name: str, body) -> int:
        try:
            secret = self.vaults.create_secret(oci.vault.models.CreateSecretDetails(
                compartment_id=self.compartment_id, vault_id=self.vault_id, key_id=self.key_id,
                secret_name=name, secret_content=body, metadata={NEWEST: "1", IN_USE: "1"},
                description="Managed by certmgr", freeform_tags={"managed-by": "certmgr"})).data
        except oci.exceptions.ServiceError as exc:
            raise self._fail("writing", name, exc) from None
        self.known[name] = Known(secret.id, dict(secret.metadata or {}), 1, 1, 1)
        return 1

    def make_room(self, name: str) -> None:
        """Make sure the existing secret `name` can take one more version: count its versions unless known, prune
        as the new one would make PRUNE_AT in use, raise the limit error when it cannot (also before an order)."""
        known = self.known[name]
        versions = None
        if known.newest is None or known.in_use is None:
            versions = self.versions(name)
        if known.in_use + 1 >= PRUNE_AT:
            self.prune(name, versions)
        if known.in_use >= ACTIVE_LIMIT:
            raise self._limit(name, message=f"{known.in_use} versions in use")

    def _limit(self, name: str, exc: oci.exceptions.ServiceError | None = None, *, message: str = "") -> VaultError:
        """OCI's version limits, with when they clear: the earliest scheduled deletion frees a place."""
        try:
            due = [v.time_of_deletion for v in self.versions(name) if v.time_of_deletion]
        except VaultError:
            due = []
        when = (f"the next scheduled deletion frees a place at {min(due):%Y-%m-%d %H:%M} UTC" if due else
                "no version is scheduled for deletion yet; certmgr schedules old ones as a secret fills up")
        error = VaultError(f"vault: secret {name!r} is at OCI's limit of {ACTIVE_LIMIT} versions in use and "
                           f"{PENDING_DELETION_LIMIT} pending deletion ({exc.message if exc else message})",
                           hint=f"nothing is misconfigured: OCI deletes a version no sooner than a day after it "
                                f"is scheduled; {when}, and the next run after that succeeds")
        error.status = exc.status if exc else 400
        return error

    def versions(self, name: str) -> list[oci.vault.models.SecretVersionSummary]:
        """Every version of `name` (one listing); the counts this run keeps are then exact."""
        try:
            found = all_items(self.vaults.list_secret_versions, self.secret_id(name))
        except oci.exceptions.ServiceError as exc:
            raise self._fail("listing the versions of", name, exc) from None
        known = self.known[name]
        known.newest = max((v.version_number for v in found), default=known.newest)
        known.in_use = sum(1 for v in found if not v.time_of_deletion)
        return found

    def promote(self, name: str, version_number: int) -> None:
        try:
            self.vaults.update_secret(self.secret_id(name), oci.vault.models.UpdateSecretDetails(
                current_version_number=version_number))
        except oci.exceptions.ServiceError as exc:
            raise self._fail("promoting a version of", name, exc) from None
        self.known[name].current = version_number

    def prune(self, name: str, versions: list | None = None) -> None:
        """Schedule the deletion of the DEPRECATED versions older than the newest KEEP_DEPRECATED.

        OCI allows 30 versions in active use per secret, and every renewal adds one to each secret of the set:
        left alone, writes would fail after a few years (or a busy day of forced renewals) and stop renewals.
        Deletion is housekeeping, so a failure is only a warning; the next write tries again.
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
                self.known[name].in_use -= 1
            if len(old) > room:
                self._warn(f"vault: {len(old) - room} old versions of secret {name!r} must wait to be deleted: "
                           f"{PENDING_DELETION_LIMIT} are already pending deletion, OCI's limit")
            if self.known[name].in_use + 1 >= NEAR_LIMIT:
                self._warn(f"vault: secret {name!r} has {self.known[name].in_use} of OCI's {ACTIVE_LIMIT} versions "
                           f"in use: renewals will fail at {ACTIVE_LIMIT} until older versions are deleted (OCI "
                           "waits a day after scheduling); avoid forcing renewals until then")
        except Exception as exc:  # the write itself goes on; never fail the run for the clean-up
            reason = (oci_reason(exc) if isinstance(exc, oci.exceptions.ServiceError)
                      else f"{type(exc).__name__}: {exc}")
            self._warn(f"vault: could not schedule old versions of secret {name!r} for deletion: {reason}")

    def _warn(self, message: str) -> None:
        log.warning("%s", message)
        self.warnings.append(message)
