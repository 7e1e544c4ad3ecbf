"""Deploying through the OCI Certificates service (CERTMGR_CERTIFICATE_NAME): the certificate, chain and key
are imported as a certificate there, and listeners reference it by OCID (`certificateIds`). A renewal adds a
version, which becomes CURRENT; the listeners follow it with no listener update.

certmgr owns exactly two kinds of name in the compartment: the configured name, and `<name>-<n>` (n >= 2)
for successors. A successor exists because OCI refuses a version whose extended key usages differ from
the certificate's (Let's Encrypt dropped clientAuth in 2025, so a renewal of a certificate first imported
with it is refused): certmgr then imports the renewal as the next successor, points the listeners at it,
and schedules the predecessor for deletion once nothing uses it. The highest-numbered live one is the one
the listeners should reference.

Each certificate certmgr creates carries the freeform tag `certmgr-deployment` with its deployment's
CERTMGR_NAME_PREFIX (tags are part of every certificate and summary in the API: the SDK's Certificate and
CertificateSummary `freeform_tags`): a certificate another deployment made is never this one's, whatever its
name, and a listener that references it belongs to that deployment. An untagged one of the configured name
is this deployment's (made before the tag was set).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import oci.certificates_management

from .clients import all_items
from ..errors import ServiceCertificateError, UsagesMismatch, oci_failure
from ..timing import DEFAULT, Deadline, Policy, log

CM = oci.certificates_management.models
LIVE = ("ACTIVE", "CREATING", "UPDATING")
KEEP_DEPRECATED = 2  # DEPRECATED versions kept (besides CURRENT and PREVIOUS) for a manual rollback
DEPLOYMENT_TAG = "certmgr-deployment"  # freeform tag: the CERTMGR_NAME_PREFIX of the deployment that made it


@dataclass(frozen=True)
class ServiceCertificate:
    """One of certmgr's certificates in the Certificates service, with its CURRENT version."""

    id: str
    name: str
    generation: int          # 1 for the configured name, n for `<name>-<n>`
    serial: str | None       # the CURRENT version's serial, hex
    version: int | None      # the CURRENT version's number


def generation(configured: str, name: str) -> int | None:
    """1 for the configured name, n for `<configured>-<n>` (n >= 2); None for every other name."""
    if name == configured:
        return 1
    found = re.fullmatch(re.escape(configured) + r"-([1-9][0-9]{0,5})", name)
    return int(found.group(1)) if found and int(found.group(1)) >= 2 else None


def successor_name(configured: str, of: ServiceCertificate) -> str:
    return f"{configured}-{of.generation + 1}"


def _serial(text: str | None) -> str | None:
    """OCI shows serials as `03 AC FC ...` (or with colons): hex without separators."""
    return (re.sub(r"[^0-9A-Fa-f]", "", text).lower() or None) if text else None


class CertificatesService:
    def __init__(self, client: oci.certificates_management.CertificatesManagementClient, compartment_id: str,
                 name: str, deployment: str, *, policy: Policy = DEFAULT, deadline: Deadline | None = None):
        self.client, self.compartment_id, self.name, self.deployment = client, compartment_id, name, deployment
        self.policy = policy
        self.deadline = deadline  # every wait ends by it: a run that changes the service passes its own
        self.waited = 0.0  # seconds spent waiting for another actor's change to a certificate before ours
        # Seconds the last change took to be ACTIVE, from the change to half-way between the last look that found
        # it busy and the first that found it ACTIVE (the service tells no end time); the next wait expects it.
        self.took: float | None = None

    def _fail(self, what: str, exc) -> ServiceCertificateError:
        return oci_failure(ServiceCertificateError, f"certificates: {what}", exc,
                           "check CERTMGR_COMPARTMENT_ID and the function's Certificates policy")

    def listing(self) -> tuple[list[ServiceCertificate], dict[str, tuple[str, str]]]:
        """This deployment's live certificates in the compartment, oldest generation first; and the other
        certmgr deployments' there, as {OCID: (name, their CERTMGR_NAME_PREFIX)}."""
        try:
            found = all_items(self.client.list_certificates, compartment_id=self.compartment_id)
        except oci.exceptions.ServiceError as exc:
            raise self._fail(f"listing certificates in compartment {self.compartment_id}", exc) from None
        mine, others = [], {}
        for c in found:
            made_by = (c.freeform_tags or {}).get(DEPLOYMENT_TAG)
            if made_by and made_by != self.deployment:
                others[c.id] = (c.name, made_by)
                continue
            n = generation(self.name, c.name)
            if n is not None and c.lifecycle_state in LIVE:
                current = c.current_version_summary
                mine.append(ServiceCertificate(c.id, c.name, n, _serial(current and current.serial_number),
                                               current and current.version_number))
        return sorted(mine, key=lambda c: c.generation), others

    def create(self, name: str, cert_pem: str, chain_pem: str, key_pem: str, version_name: str) -> ServiceCertificate:
        config = CM.CreateCertificateByImportingConfigDetails(
            certificate_pem=cert_pem, cert_chain_pem=chain_pem, private_key_pem=key_pem, version_name=version_name)
        details = CM.CreateCertificateDetails(
            name=name, compartment_id=self.compartment_id, certificate_config=config,
            description="TLS certificate kept by certmgr (source of truth: its Vault secrets)",
            freeform_tags={DEPLOYMENT_TAG: self.deployment})
        try:
            created = self.client.create_certificate(details).data
        except oci.exceptions.ServiceError as exc:
            raise self._fail(f"creating certificate {name}", exc) from None
        self.wait_active(created.id, f"creating certificate {name}")
        return ServiceCertificate(created.id, name, generation(self.name, name) or 1, _serial(
            created.current_version and created.current_version.serial_number), 1)

    def add_version(self, cert: ServiceCertificate, cert_pem: str, chain_pem: str, key_pem: str,
                    version_name: str) -> int | None:
        """Import a new CURRENT version; UsagesMismatch when OCI refuses it for its extended key usages.
        A version of that name left by an interrupted run is made CURRENT instead. Returns its number."""
        config = CM.UpdateCertificateByImportingConfigDetails(
            certificate_pem=cert_pem, cert_chain_pem=chain_pem, private_key_pem=key_pem, version_name=version_name,
            stage="CURRENT")
        try:
            updated = self._update(cert, CM.UpdateCertificateDetails(certificate_config=config),
                                   f"adding a version to certificate {cert.name}")
        except oci.exceptions.ServiceError as exc:
            if exc.status == 400 and "extended key usage" in (exc.message or "").lower():
                raise UsagesMismatch(f"certificates: {cert.name} refuses the new version: {exc.message}") from None
            if exc.status != 409:
                raise self._fail(f"adding a version to certificate {cert.name}", exc) from None
            return self.make_current(cert, version_name)
        self.wait_active(cert.id, f"adding a version to certificate {cert.name}")
        return updated.current_version and updated.current_version.version_number

    def _update(self, cert: ServiceCertificate, details, what: str):
        """UpdateCertificate. OCI refuses a change while the certificate is not ACTIVE (409, someone else's
        update in progress: CONFORMANCE.md): then wait until it is ACTIVE again, within the run's deadline, and
        submit again. A 409 on an ACTIVE certificate is the caller's to judge."""
        # the 409 is waited out here, and timed; a refusal is explained as the client's own strategy would
        explain = getattr(getattr(self.client.base_client, "retry_strategy", None), "explain", None)
        retry = self.policy.retry(self.deadline, conflicts=False, explain=explain)
        while True:
            try:
                return self.client.update_certificate(cert.id, details, retry_strategy=retry).data
            except oci.exceptions.ServiceError as exc:
                if exc.status != 409 or self.deadline is None or self._state(cert.id, what) == "ACTIVE":
                    raise
                started = self.policy.clock()
                log.info("certificates: %s waits for another change to %s to finish", what, cert.name)
                self.wait_active(cert.id, f"{what}, waiting for another change to finish")
                self.waited += self.policy.clock() - started

    def _state(self, certificate_id: str, what: str) -> str:
        try:
            return self.client.get_certificate(certificate_id).data.lifecycle_state
        except oci.exceptions.ServiceError as exc:
            raise self._fail(f"reading certificate {certificate_id} ({what})", exc) from None

    def make_current(self, cert: ServiceCertificate, version_name: str) -> int:
        named = [v for v in self.versions(cert.id) if v.version_name == version_name]
        if not named:
            raise ServiceCertificateError(f"certificates: {cert.name} refused version {version_name} as a conflict, "
                                          "but has no version of that name")
        number = named[0].version_number
        if "CURRENT" not in (named[0].stages or []):
            try:
                self._update(cert, CM.UpdateCertificateDetails(current_version_number=number),
                             f"making version {number} of {cert.name} CURRENT")
            except oci.exceptions.ServiceError as exc:
                raise self._fail(f"making version {number} of {cert.name} CURRENT", exc) from None
            self.wait_active(cert.id, f"making version {number} of {cert.name} CURRENT")
        return number

    def versions(self, certificate_id: str) -> list:
        try:
            return sorted(all_items(self.client.list_certificate_versions, certificate_id),
                          key=lambda v: v.version_number)
        except oci.exceptions.ServiceError as exc:
            raise self._fail(f"listing the versions of certificate {certificate_id}", exc) from None

    def prune(self, cert: ServiceCertificate, keep: int = KEEP_DEPRECATED) -> list[int]:
        """Schedule the deletion of DEPRECATED versions beyond the newest `keep` (only DEPRECATED versions can
        be deleted: CURRENT and PREVIOUS always stay). Returns the version numbers scheduled."""
        deprecated = [v for v in self.versions(cert.id) if v.stages == ["DEPRECATED"] and v.time_of_deletion is None]
        done = []
        for version in deprecated[:max(0, len(deprecated) - keep)]:
            try:
                self.client.schedule_certificate_version_deletion(
                    cert.id, version.version_number, CM.ScheduleCertificateVersionDeletionDetails())
            except oci.exceptions.ServiceError as exc:
                raise self._fail(f"scheduling deletion of version {version.version_number} of {cert.name}", exc) from None
            done.append(version.version_number)
        return done

    def retire(self, cert: ServiceCertificate) -> None:
        """Schedule a replaced certificate's deletion (OCI refuses while a resource still uses it)."""
        try:
            self.client.schedule_certificate_deletion(cert.id, CM.ScheduleCertificateDeletionDetails())
        except oci.exceptions.ServiceError as exc:
            raise self._fail(f"scheduling deletion of the replaced certificate {cert.name}", exc) from None

    def wait_active(self, certificate_id: str, what: str) -> None:
        """Poll until the certificate is ACTIVE again after a change, within the run's deadline."""
        state, busy = None, 0.0
        for spent in self.policy.polls(self.deadline, expect=self.took,
                                       waiting=lambda: f"certificate {certificate_id} ({what}) {state}"):
            state = self._state(certificate_id, what)
            if state == "ACTIVE":
                self.took = (busy + spent) / 2 if spent else self.took
                return
            busy = spent
            if state not in LIVE:
                raise ServiceCertificateError(f"certificates: {what} left certificate {certificate_id} {state}")
        raise ServiceCertificateError(f"certificates: {what}: still {state} after {spent:.0f}s, when the run's time "
                                      "budget ran out")
