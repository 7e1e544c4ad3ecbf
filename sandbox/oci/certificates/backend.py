"""The Certificates service of one region: imported certificates, their versions, and the rules a renewer
meets (unique names, equal extended key usages, stage rotation), with what the load balancers must know."""
from __future__ import annotations

from ..errors import Conflict, InvalidParameter, NotAuthorizedOrNotFound
from ..http import now
from ..world import Resettable, ocid
from .models import NAME_RX, Certificate, Material, Version, _drop, _tidy, _usages, parse_material

class Backend(Resettable):
    """Imported certificates of one region, with their versions and rotation stages."""

    def __init__(self, world, region):
        self.world, self.region = world, region
        self.certificates: dict[str, Certificate] = {}
        self.retry_tokens: dict[str, tuple[str, str]] = {}   # token -> (body digest, certificate id)

    # -- seeding and knobs
    def import_certificate(self, compartment_id: str, name: str, cert_pem: str, chain_pem: str,
                           key_pem: str) -> str:
        """Create an ACTIVE imported certificate directly (as a test or demo fixture)."""
        with self.world.lock:
            cert = self.create(compartment_id, name, parse_material(
                {"certificatePem": cert_pem, "certChainPem": chain_pem, "privateKeyPem": key_pem}))
            cert.touch()
            return cert.id

    def break_bundle(self, certificate_id: str, status: int | None = 500) -> None:
        """Make get_certificate_bundle of this certificate answer `status` (None: work again)."""
        with self.world.lock:
            self.get(certificate_id).bundle_error = status

    # -- lookups
    def get(self, certificate_id: str) -> Certificate:
        cert = self.certificates.get(certificate_id)
        if cert is None:
            raise NotAuthorizedOrNotFound(f"Certificate {certificate_id} not found or not authorized")
        return cert

    def all(self) -> list[Certificate]:
        return list(self.certificates.values())

    def version(self, cert: Certificate, number: int) -> Version:
        found = next((v for v in cert.versions if v.number == number), None)
        if found is None:
            raise NotAuthorizedOrNotFound(f"Version {number} of certificate {cert.id} not found")
        return found

    # -- mutations
    def create(self, compartment_id: str, name: str, material: Material, version_name: str | None = None,
               description: str | None = None, freeform_tags: dict | None = None,
               defined_tags: dict | None = None) -> Certificate:
        self.world.check_compartment(compartment_id)
        if not NAME_RX.match(name or ""):
            raise InvalidParameter(f"Invalid certificate name {name!r}: use 1-255 letters, digits, '.', '-', '_'")
        if any(c.name == name and c.compartment_id == compartment_id for c in self.certificates.values()):
            raise Conflict(f"A certificate named {name!r} already exists in compartment {compartment_id}")
        created = now()
        cert = Certificate(id=ocid("certificate", self.region), name=name,
                           compartment_id=compartment_id, description=description, time_created=created,
                           freeform_tags=freeform_tags or {}, defined_tags=defined_tags or {})
        cert.versions.append(Version(1, version_name, material, created, ["CURRENT", "LATEST"]))
        cert.touch("CREATING", self.busy_seconds())
        self.certificates[cert.id] = cert
        return cert

    def add_version(self, cert: Certificate, material: Material, version_name: str | None, stage: str) -> None:
        """Import a new version: it becomes LATEST and either CURRENT (default) or PENDING."""
        if version_name and any(v.name == version_name for v in cert.versions):
            raise Conflict(f"Certificate {cert.id} already has a version named {version_name!r}")
        if _usages(material.cert) != _usages(cert.current().material.cert):
            raise InvalidParameter("The new extended key usages do not match the existing extended key usages")
        version = Version(len(cert.versions) + 1, version_name, material, now(), ["LATEST"])
        for v in cert.versions:
            _drop(v, "LATEST", "PENDING" if stage == "PENDING" else None)
        cert.versions.append(version)
        if stage == "PENDING":
            version.stages.insert(0, "PENDING")
            _tidy(cert)
        else:
            self.make_current(cert, version)

    def make_current(self, cert: Certificate, target: Version) -> None:
        """Promote `target` to CURRENT; the old CURRENT becomes PREVIOUS, an older PREVIOUS DEPRECATED."""
        old = cert.current()
        if old is target:
            return
        for v in cert.versions:
            _drop(v, "PREVIOUS")
        if old:
            _drop(old, "CURRENT")
            old.stages.append("PREVIOUS")
        _drop(target, "PENDING", "PREVIOUS", "DEPRECATED")
        target.stages.append("CURRENT")
        _tidy(cert)
        self.changed(cert)

    def changed(self, cert: Certificate) -> None:
        """Tell the load balancers of this region: their listeners serve the new CURRENT version."""
        for _key, backend in self.world.backends():
            if hasattr(backend, "certificate_changed") and backend.region == self.region:
                backend.certificate_changed(cert.id)

    def users(self, cert: Certificate) -> list[str]:
        return [user for _key, backend in self.world.backends() if hasattr(backend, "certificate_users")
                for user in backend.certificate_users(cert.id)]

    def busy_seconds(self) -> float:
        """Seconds a certificate shows CREATING / UPDATING after a change (option `certificate_delay`)."""
        return float(self.world.options.get("certificate_delay", 0.0))

    def snapshot(self) -> dict:
        return {"certificates": [{
            "id": c.id, "name": c.name, "compartmentId": c.compartment_id, "lifecycleState": c.lifecycle_state(),
            "bundleError": c.bundle_error,
            "versions": [{"versionNumber": v.number, "versionName": v.name, "stages": v.stages,
                          "serialNumber": v.material.serial, "notAfter": v.material.not_after.isoformat()}
                         for v in c.versions]} for c in self.certificates.values()]}
