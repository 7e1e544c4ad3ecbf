"""API Gateway certificates (`/20190501`): ListCertificates and GetCertificate. A certificate is seeded with
its PEM (`add_certificate`); its subject names and expiry are read from it, as the service reports them in
CertificateSummary (`subjectNames`, `timeNotValidAfter`). Lists page like every OCI list and filter by
`lifecycleState` and `displayName`; an unknown compartment is 404."""
from __future__ import annotations

import sys

import oci
from cryptography import x509

from .errors import MissingParameter, NotAuthorizedOrNotFound
from .http import Reply, Request, Route, now, page, wire
from .world import Resettable, ocid

API = "/20190501"


class Backend(Resettable):
    """The API Gateway certificates of one region, by OCID (oci.apigateway.models.Certificate)."""

    def __init__(self, world, region):
        self.world, self.region = world, region
        self.certificates: dict[str, oci.apigateway.models.Certificate] = {}

    def add_certificate(self, compartment_id: str, name: str, pem: str, chain: str | None = None) -> str:
        leaf = x509.load_pem_x509_certificate(pem.encode())
        try:
            names = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(
                x509.DNSName)
        except x509.ExtensionNotFound:
            names = [a.value for a in leaf.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)]
        with self.world.lock:
            self.world.check_compartment(compartment_id)
            certificate_id = ocid("apigatewaycertificate", self.region)
            self.certificates[certificate_id] = oci.apigateway.models.Certificate(
                id=certificate_id, display_name=name, compartment_id=compartment_id, subject_names=list(names),
                time_not_valid_after=leaf.not_valid_after_utc, certificate=pem, intermediate_certificates=chain,
                time_created=now(), time_updated=now(), lifecycle_state="ACTIVE", freeform_tags={},
                defined_tags={}, system_tags={}, locks=[])
            return certificate_id

    def snapshot(self) -> dict:
        return {"certificates": [{"id": c.id, "displayName": c.display_name, "compartmentId": c.compartment_id}
                                 for c in self.certificates.values()]}


def _backend(req: Request) -> Backend:
    return req.world.backend(sys.modules[__name__], req.region)


SUMMARY_FIELDS = list(oci.apigateway.models.CertificateSummary().swagger_types)


def list_certificates(req: Request) -> Reply:
    compartment = req.arg("compartmentId")
    if not compartment:
        raise MissingParameter("compartmentId is required")
    req.world.check_compartment(compartment)
    state, name = req.arg("lifecycleState"), req.arg("displayName")
    with req.world.lock:
        found = [c for c in _backend(req).certificates.values() if c.compartment_id == compartment
                 and (state is None or c.lifecycle_state == state) and (name is None or c.display_name == name)]
    summaries = [oci.apigateway.models.CertificateSummary(**{f: getattr(c, f) for f in SUMMARY_FIELDS})
                 for c in sorted(found, key=lambda c: c.time_created)]
    chunk, headers = page(req, summaries)
    return Reply(200, wire(oci.apigateway.models.CertificateCollection(items=chunk)), headers)


def get_certificate(req: Request) -> Reply:
    with req.world.lock:
        found = _backend(req).certificates.get(req.params["certificateId"])
    if found is None:
        raise NotAuthorizedOrNotFound(f"Certificate {req.params['certificateId']} not found or not authorized")
    return Reply(200, wire(found), {"etag": found.time_updated.isoformat()})


ROUTES = [
    Route("GET", f"{API}/certificates", "apigateway.list_certificates", list_certificates),
    Route("GET", f"{API}/certificates/{{certificateId}}", "apigateway.get_certificate", get_certificate),
]
CONTROL_ROUTES = []
