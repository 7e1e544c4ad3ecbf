"""OCI Certificates: management (`CertificatesManagementClient`) and retrieval (`CertificatesClient`).

Both APIs live under `/20210224` on different hosts in OCI; here they share one server and one Backend
per region. Only imported certificates (`configType = IMPORTED`) are supported: that is what certmgr
stores and what the expiry monitor reads. Everything shown about a version (validity, serial number,
subject, key and signature algorithm) is read from its PEM, as OCI does.

OCI's rules that a renewer meets, emulated:
- names are unique per compartment (409), whatever the other certificate's state;
- a new version of an imported certificate must carry the same extended key usages as the certificate
  (400 "The new extended key usages do not match the existing extended key usages"): since Let's Encrypt
  dropped clientAuth, a renewal of a certificate first imported with it is refused;
- a new version becomes LATEST and CURRENT (or PENDING); the old CURRENT becomes PREVIOUS, the old PREVIOUS
  DEPRECATED; only a DEPRECATED version can be scheduled for deletion (409 otherwise);
- mutations need the certificate ACTIVE (409 IncorrectState while CREATING / UPDATING, for
  `world.options["certificate_delay"]` seconds after a change);
- a certificate a load-balancer listener references cannot be scheduled for deletion (409).
Not emulated: certificate authorities and issued (`ISSUED_BY_INTERNAL_CA`) certificates, associations
as their own API, renewal rules, moving compartments, and the actual deletion at `timeOfDeletion`.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import sys
import uuid
from dataclasses import dataclass, field

import oci
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID, SignatureAlgorithmOID as SIG

from .errors import (BY_STATUS, Conflict, IncorrectState, InternalServerError, InvalidParameter,
                     MissingParameter, NotAuthorizedOrNotFound, PreconditionFailed)
from .http import Reply, Request, Route, now, page, wire
from .world import Resettable, ocid

CM = oci.certificates_management.models
CR = oci.certificates.models
API = "/20210224"
STAGE_ORDER = ("CURRENT", "PENDING", "LATEST", "PREVIOUS", "DEPRECATED")
NAME_RX = re.compile(r"^[A-Za-z0-9._-]{1,255}$")
SUBJECT_FIELDS = {
    NameOID.COMMON_NAME: "common_name", NameOID.COUNTRY_NAME: "country",
    NameOID.DOMAIN_COMPONENT: "domain_component", NameOID.DN_QUALIFIER: "distinguished_name_qualifier",
    NameOID.GENERATION_QUALIFIER: "generation_qualifier", NameOID.GIVEN_NAME: "given_name",
    NameOID.INITIALS: "initials", NameOID.LOCALITY_NAME: "locality_name",
    NameOID.ORGANIZATION_NAME: "organization", NameOID.ORGANIZATIONAL_UNIT_NAME: "organizational_unit",
    NameOID.PSEUDONYM: "pseudonym", NameOID.SERIAL_NUMBER: "serial_number",
    NameOID.STATE_OR_PROVINCE_NAME: "state_or_province_name", NameOID.STREET_ADDRESS: "street",
    NameOID.SURNAME: "surname", NameOID.TITLE: "title", NameOID.USER_ID: "user_id",
}
CURVES = {"secp256r1": "ECDSA_P256", "secp384r1": "ECDSA_P384"}
SIGNATURE_ALGORITHMS = {
    SIG.RSA_WITH_SHA256: "SHA256_WITH_RSA", SIG.RSA_WITH_SHA384: "SHA384_WITH_RSA",
    SIG.RSA_WITH_SHA512: "SHA512_WITH_RSA", SIG.ECDSA_WITH_SHA256: "SHA256_WITH_ECDSA",
    SIG.ECDSA_WITH_SHA384: "SHA384_WITH_ECDSA", SIG.ECDSA_WITH_SHA512: "SHA512_WITH_ECDSA",
}


# ---------------------------------------------------------------------------------------------- PEMs

@dataclass
class Material:
    """A validated certificate / chain / key triple, as imported."""
    cert_pem: str
    chain_pem: str
    key_pem: str
    passphrase: str | None
    cert: x509.Certificate

    @property
    def serial(self) -> str:
        """OCI shows serial numbers as space-separated upper-case hex bytes: `03 AC FC ...`."""
        n = self.cert.serial_number
        return " ".join(f"{b:02X}" for b in n.to_bytes(max(1, (n.bit_length() + 7) // 8), "big"))

    @property
    def not_before(self) -> dt.datetime:
        return self.cert.not_valid_before_utc

    @property
    def not_after(self) -> dt.datetime:
        return self.cert.not_valid_after_utc


def _key_algorithm(key) -> str:
    if isinstance(key, rsa.RSAPublicKey) and key.key_size in (2048, 4096):
        return f"RSA{key.key_size}"
    if isinstance(key, ec.EllipticCurvePublicKey) and key.curve.name in CURVES:
        return CURVES[key.curve.name]
    raise InvalidParameter("Unsupported key algorithm: imported certificates must use RSA2048, RSA4096, "
                           "ECDSA_P256 or ECDSA_P384 keys")


def _signature_algorithm(cert: x509.Certificate) -> str | None:
    return SIGNATURE_ALGORITHMS.get(cert.signature_algorithm_oid)


def _profile_type(cert: x509.Certificate) -> str | None:
    try:
        usages = set(cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value)
    except x509.ExtensionNotFound:
        return None
    server, client = ExtendedKeyUsageOID.SERVER_AUTH in usages, ExtendedKeyUsageOID.CLIENT_AUTH in usages
    if server and client:
        return "TLS_SERVER_OR_CLIENT"
    if server or client:
        return "TLS_SERVER" if server else "TLS_CLIENT"
    return "TLS_CODE_SIGN" if ExtendedKeyUsageOID.CODE_SIGNING in usages else None


def parse_material(config: dict) -> Material:
    """Validate an IMPORTED config: one certificate, a non-empty chain, and the certificate's own key."""
    for name in ("certificatePem", "certChainPem", "privateKeyPem"):
        if not isinstance(config.get(name), str) or not config[name].strip():
            raise MissingParameter(f"certificateConfig.{name} is required for configType IMPORTED")
    cert_pem, chain_pem, key_pem = config["certificatePem"], config["certChainPem"], config["privateKeyPem"]
    passphrase = config.get("privateKeyPemPassphrase")
    try:
        certs = x509.load_pem_x509_certificates(cert_pem.encode())
    except ValueError:
        raise InvalidParameter("certificatePem is not a valid PEM-encoded X.509 certificate") from None
    if len(certs) != 1:
        raise InvalidParameter("certificatePem must contain exactly one certificate; put the issuers in "
                               "certChainPem")
    try:
        x509.load_pem_x509_certificates(chain_pem.encode())
    except ValueError:
        raise InvalidParameter("certChainPem is not a valid PEM-encoded certificate chain") from None
    try:
        key = serialization.load_pem_private_key(key_pem.encode(), passphrase.encode() if passphrase else None)
    except (ValueError, TypeError):
        raise InvalidParameter("privateKeyPem is not a valid PEM-encoded private key (or the passphrase "
                               "is wrong)") from None
    public = certs[0].public_key()
    der = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    if key.public_key().public_bytes(*der) != public.public_bytes(*der):
        raise InvalidParameter("The private key does not match the public key of the certificate")
    _key_algorithm(public)
    return Material(cert_pem, chain_pem, key_pem, passphrase, certs[0])


# --------------------------------------------------------------------------------------------- state

def _usages(cert: x509.Certificate) -> frozenset | None:
    try:
        return frozenset(cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value)
    except x509.ExtensionNotFound:
        return None


@dataclass
class Version:
    number: int
    name: str | None
    material: Material
    time_created: dt.datetime
    stages: list[str]
    time_of_deletion: dt.datetime | None = None

    def model(self, certificate_id: str, cls=CM.CertificateVersionSummary):
        """A management `CertificateVersionSummary` (or `CertificateVersion`: the same fields)."""
        return cls(
            certificate_id=certificate_id, serial_number=self.material.serial, time_created=self.time_created,
            version_number=self.number, version_name=self.name, stages=list(self.stages),
            time_of_deletion=self.time_of_deletion,
            subject_alternative_names=_sans(self.material.cert),
            # Validity is passed as JSON: the retrieval API's model of the same name shadows this one.
            validity=wire(CM.Validity(time_of_validity_not_before=self.material.not_before,
                                      time_of_validity_not_after=self.material.not_after)))


def _sans(cert: x509.Certificate) -> list:
    try:
        names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return []
    return ([CM.CertificateSubjectAlternativeName(type="DNS", value=n) for n in names.get_values_for_type(x509.DNSName)]
            + [CM.CertificateSubjectAlternativeName(type="IP", value=str(n))
               for n in names.get_values_for_type(x509.IPAddress)])


@dataclass
class Certificate:
    id: str
    name: str
    compartment_id: str
    description: str | None
    time_created: dt.datetime
    freeform_tags: dict
    defined_tags: dict
    versions: list[Version] = field(default_factory=list)
    state: str = "ACTIVE"
    busy: str | None = None                 # CREATING / UPDATING, shown until busy_until
    busy_until: dt.datetime | None = None
    time_of_deletion: dt.datetime | None = None
    etag: str = ""
    bundle_error: int | None = None         # control knob: status answered by get_certificate_bundle

    def lifecycle_state(self) -> str:
        if self.busy_until and now() < self.busy_until:
            return self.busy
        return self.state

    def touch(self, busy: str | None = None, delay: float = 0.0) -> None:
        """A change: new etag, and `busy` shown as the state for `delay` seconds."""
        self.etag = uuid.uuid4().hex
        self.busy, self.busy_until = busy, now() + dt.timedelta(seconds=delay)

    def stage(self, stage: str) -> Version | None:
        return next((v for v in self.versions if stage in v.stages), None)

    def current(self) -> Version:
        return self.stage("CURRENT")

    def _subject(self):
        attrs = {SUBJECT_FIELDS[a.oid]: a.value for a in self.current().material.cert.subject
                 if a.oid in SUBJECT_FIELDS}
        return CM.CertificateSubject(**attrs)

    def _common(self, state: str | None) -> dict:
        cert = self.current().material.cert
        return dict(id=self.id, name=self.name, description=self.description, time_created=self.time_created,
                    time_of_deletion=self.time_of_deletion, lifecycle_state=state or self.lifecycle_state(),
                    compartment_id=self.compartment_id, subject=self._subject(), config_type="IMPORTED",
                    key_algorithm=_key_algorithm(cert.public_key()), signature_algorithm=_signature_algorithm(cert),
                    certificate_profile_type=_profile_type(cert), freeform_tags=self.freeform_tags,
                    defined_tags=self.defined_tags)

    def model(self, state: str | None = None) -> CM.Certificate:
        """The `Certificate`; `state` overrides the lifecycle state (a mutation's reply shows the transition)."""
        return CM.Certificate(current_version=self.current().model(self.id), **self._common(state))

    def summary(self) -> CM.CertificateSummary:
        return CM.CertificateSummary(current_version_summary=self.current().model(self.id), **self._common(None))


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


def _drop(version: Version, *stages: str | None) -> None:
    version.stages = [s for s in version.stages if s not in stages]


def _tidy(cert: Certificate) -> None:
    """A version left without a stage is DEPRECATED; stages are listed in OCI's order."""
    for v in cert.versions:
        v.stages = sorted(v.stages or ["DEPRECATED"], key=STAGE_ORDER.index)


# -------------------------------------------------------------------------------------- management

def _backend(req: Request) -> Backend:
    return req.backend(sys.modules[__name__])


def _check_etag(req: Request, cert: Certificate) -> None:
    expected = req.headers.get("if-match")
    if expected and expected != cert.etag:
        raise PreconditionFailed(f"The If-Match etag {expected!r} does not match the certificate's etag")


def _mutable(cert: Certificate) -> None:
    state = cert.lifecycle_state()
    if state != "ACTIVE":
        raise IncorrectState(f"Certificate {cert.id} is {state}; it can only be changed while ACTIVE")


def _with_etag(cert: Certificate, state: str | None = None) -> Reply:
    """The certificate and its etag, as create / get / update answer."""
    return Reply(200, wire(cert.model(state)), {"etag": cert.etag})


def create_certificate(req: Request) -> Reply:
    b, body = _backend(req), req.json()
    token = req.headers.get("opc-retry-token")
    digest = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()
    if token and token in b.retry_tokens:
        seen_digest, cert_id = b.retry_tokens[token]
        if seen_digest != digest:
            raise Conflict("The opc-retry-token was already used for a different request")
        cert = b.get(cert_id)
        return _with_etag(cert)
    for name in ("name", "compartmentId", "certificateConfig"):
        if not body.get(name):
            raise MissingParameter(f"{name} is required")
    config = body["certificateConfig"]
    if config.get("configType") != "IMPORTED":
        raise InvalidParameter(f"certificateConfig.configType {config.get('configType')!r} is not supported "
                               f"by this endpoint; use IMPORTED")
    cert = b.create(body["compartmentId"], body["name"], parse_material(config), config.get("versionName"),
                    body.get("description"), body.get("freeformTags"), body.get("definedTags"))
    if token:
        b.retry_tokens[token] = (digest, cert.id)
    return _with_etag(cert, "CREATING")


def get_certificate(req: Request) -> Reply:
    cert = _backend(req).get(req.params["certificateId"])
    return _with_etag(cert)


def update_certificate(req: Request) -> Reply:
    b, body = _backend(req), req.json()
    cert = b.get(req.params["certificateId"])
    _check_etag(req, cert)
    _mutable(cert)
    config, promote = body.get("certificateConfig"), body.get("currentVersionNumber")
    if config and promote is not None:
        raise InvalidParameter("Set either certificateConfig or currentVersionNumber, not both")
    if config:
        if config.get("configType") != "IMPORTED":
            raise InvalidParameter("An imported certificate can only be updated with configType IMPORTED")
        stage = config.get("stage") or "CURRENT"
        if stage not in ("CURRENT", "PENDING"):
            raise InvalidParameter("certificateConfig.stage must be CURRENT or PENDING")
        b.add_version(cert, parse_material(config), config.get("versionName"), stage)
    elif promote is not None:
        if not isinstance(promote, int):
            raise InvalidParameter("currentVersionNumber must be an integer")
        b.make_current(cert, b.version(cert, promote))
    for key, attr in (("description", "description"), ("freeformTags", "freeform_tags"),
                      ("definedTags", "defined_tags")):
        if body.get(key) is not None:
            setattr(cert, attr, body[key])
    cert.touch("UPDATING", b.busy_seconds())
    return _with_etag(cert, "UPDATING")


def list_certificates(req: Request) -> Reply:
    b = _backend(req)
    compartment, certificate_id = req.arg("compartmentId"), req.arg("certificateId")
    if not compartment and not certificate_id:
        raise MissingParameter("compartmentId or certificateId is required")
    if compartment:
        req.world.check_compartment(compartment)
    filters = {"compartment_id": compartment, "id": certificate_id, "name": req.arg("name")}
    items = [c for c in b.all() if all(v is None or getattr(c, k) == v for k, v in filters.items())
             and req.arg("lifecycleState") in (None, c.lifecycle_state())
             and req.arg("issuerCertificateAuthorityId") is None]
    keys = {"NAME": lambda c: c.name, "TIMECREATED": lambda c: c.time_created,
            "EXPIRATIONDATE": lambda c: c.current().material.not_after}
    by = req.arg("sortBy", "TIMECREATED")
    if by not in keys:
        raise InvalidParameter(f"sortBy must be one of {sorted(keys)}")
    order = req.arg("sortOrder", "DESC" if by == "TIMECREATED" else "ASC")
    if order not in ("ASC", "DESC"):
        raise InvalidParameter("sortOrder must be ASC or DESC")
    chunk, headers = page(req, sorted(items, key=keys[by], reverse=order == "DESC"))
    return Reply(200, wire(CM.CertificateCollection(items=[c.summary() for c in chunk])), headers)


def _sorted_versions(req: Request, versions: list[Version]) -> list[Version]:
    if req.arg("sortBy", "VERSION_NUMBER") != "VERSION_NUMBER":
        raise InvalidParameter("sortBy must be VERSION_NUMBER")
    order = req.arg("sortOrder", "ASC")
    if order not in ("ASC", "DESC"):
        raise InvalidParameter("sortOrder must be ASC or DESC")
    return sorted(versions, key=lambda v: v.number, reverse=order == "DESC")


def list_certificate_versions(req: Request) -> Reply:
    cert = _backend(req).get(req.params["certificateId"])
    number = req.int_arg("versionNumber")
    versions = [v for v in cert.versions if number in (None, v.number)]
    chunk, headers = page(req, _sorted_versions(req, versions))
    return Reply(200, wire(CM.CertificateVersionCollection(items=[v.model(cert.id) for v in chunk])), headers)


def get_certificate_version(req: Request) -> Reply:
    b = _backend(req)
    cert = b.get(req.params["certificateId"])
    number = req.params["certificateVersionNumber"]
    if not number.isdigit():
        raise InvalidParameter(f"certificateVersionNumber must be a number, got {number!r}")
    return Reply(200, wire(b.version(cert, int(number)).model(cert.id, CM.CertificateVersion)))


def schedule_certificate_deletion(req: Request) -> Reply:
    b = _backend(req)
    cert = b.get(req.params["certificateId"])
    _check_etag(req, cert)
    _mutable(cert)
    users = b.users(cert)
    if users:
        raise Conflict(f"Certificate {cert.id} is associated with {', '.join(users)}; remove the associations "
                       "before deleting it")
    cert.time_of_deletion = _deletion_time(req)
    cert.state = "PENDING_DELETION"
    cert.touch()
    return Reply(200, None, {"etag": cert.etag})


def _deletion_time(req: Request) -> dt.datetime:
    when = req.json().get("timeOfDeletion")
    try:
        return dt.datetime.fromisoformat(when.replace("Z", "+00:00")) if when else now() + dt.timedelta(days=30)
    except (AttributeError, ValueError):
        raise InvalidParameter(f"timeOfDeletion {when!r} is not an RFC 3339 time") from None


def schedule_certificate_version_deletion(req: Request) -> Reply:
    b = _backend(req)
    cert = b.get(req.params["certificateId"])
    _check_etag(req, cert)
    _mutable(cert)
    number = req.params["certificateVersionNumber"]
    version = b.version(cert, int(number) if number.isdigit() else -1)
    if version.stages != ["DEPRECATED"]:
        raise IncorrectState(f"Version {version.number} of certificate {cert.id} is {', '.join(version.stages)}; "
                             "only a DEPRECATED version can be scheduled for deletion")
    if version.time_of_deletion is None:
        version.time_of_deletion = _deletion_time(req)
    cert.touch()
    return Reply(200, None, {"etag": cert.etag})


def cancel_certificate_deletion(req: Request) -> Reply:
    cert = _backend(req).get(req.params["certificateId"])
    _check_etag(req, cert)
    if cert.state != "PENDING_DELETION":
        raise IncorrectState(f"Certificate {cert.id} is not pending deletion")
    cert.state, cert.time_of_deletion = "ACTIVE", None
    cert.touch()
    return Reply(200, None, {"etag": cert.etag})


# --------------------------------------------------------------------------------------- retrieval

def _select_version(req: Request, cert: Certificate) -> Version:
    """The version named by versionNumber / certificateVersionName / stage; CURRENT when none is given."""
    number = req.int_arg("versionNumber", 0)
    name, stage = req.arg("certificateVersionName"), req.arg("stage")
    if stage and stage not in STAGE_ORDER + ("PENDING_ACTIVATION", "FAILED"):
        raise InvalidParameter(f"Invalid stage {stage!r}")
    if not (number or name or stage):
        stage = "CURRENT"
    for v in cert.versions:
        if (not number or v.number == number) and (not name or v.name == name) and (not stage or stage in v.stages):
            return v
    raise NotAuthorizedOrNotFound(f"No version of certificate {cert.id} matches the request")


def _validity(material: Material):
    return CR.Validity(time_of_validity_not_before=material.not_before,
                       time_of_validity_not_after=material.not_after)


def get_certificate_bundle(req: Request) -> Reply:
    cert = _backend(req).get(req.params["certificateId"])
    if cert.bundle_error:
        error = BY_STATUS.get(cert.bundle_error, InternalServerError)(
            f"Certificate bundle of {cert.id} could not be read")
        error.status = cert.bundle_error
        raise error
    bundle_type = req.arg("certificateBundleType", "CERTIFICATE_CONTENT_PUBLIC_ONLY")
    if bundle_type not in ("CERTIFICATE_CONTENT_PUBLIC_ONLY", "CERTIFICATE_CONTENT_WITH_PRIVATE_KEY"):
        raise InvalidParameter(f"Invalid certificateBundleType {bundle_type!r}")
    v = _select_version(req, cert)
    fields = dict(certificate_id=cert.id, certificate_name=cert.name, version_number=v.number,
                  serial_number=v.material.serial, certificate_pem=v.material.cert_pem,
                  cert_chain_pem=v.material.chain_pem, time_created=v.time_created,
                  validity=_validity(v.material), version_name=v.name, stages=list(v.stages))
    if bundle_type == "CERTIFICATE_CONTENT_WITH_PRIVATE_KEY":
        bundle = CR.CertificateBundleWithPrivateKey(private_key_pem=v.material.key_pem,
                                                    private_key_pem_passphrase=v.material.passphrase, **fields)
    else:
        bundle = CR.CertificateBundlePublicOnly(**fields)
    return Reply(200, wire(bundle))


def list_certificate_bundle_versions(req: Request) -> Reply:
    cert = _backend(req).get(req.params["certificateId"])
    items = [CR.CertificateBundleVersionSummary(
        certificate_id=cert.id, serial_number=v.material.serial, version_name=v.name, certificate_name=cert.name,
        version_number=v.number, time_created=v.time_created, validity=_validity(v.material),
        stages=list(v.stages)) for v in _sorted_versions(req, cert.versions)]
    return Reply(200, wire(CR.CertificateBundleVersionCollection(items=items)))


# ----------------------------------------------------------------------------------------- control

def _control_break(req: Request) -> Reply:
    """`{"status": 500}` makes the bundle of that certificate fail; `{"status": null}` repairs it."""
    certificate_id = req.params["certificateId"]
    region = certificate_id.split(".")[3] if certificate_id.count(".") >= 4 else ""
    if region not in req.world.regions:
        raise NotAuthorizedOrNotFound(f"Certificate {certificate_id} not found")
    status = req.json().get("status", 500)
    req.world.backend(sys.modules[__name__], region).break_bundle(certificate_id, status)
    return Reply(200, {"certificateId": certificate_id, "status": status})


CERT = f"{API}/certificates/{{certificateId}}"
BUNDLE = f"{API}/certificateBundles/{{certificateId}}"
ROUTES = [
    Route("POST", f"{API}/certificates", "certificates_management.create_certificate", create_certificate),
    Route("GET", f"{API}/certificates", "certificates_management.list_certificates", list_certificates),
    Route("GET", CERT, "certificates_management.get_certificate", get_certificate),
    Route("PUT", CERT, "certificates_management.update_certificate", update_certificate),
    Route("GET", f"{CERT}/versions", "certificates_management.list_certificate_versions",
          list_certificate_versions),
    Route("GET", f"{CERT}/version/{{certificateVersionNumber}}", "certificates_management.get_certificate_version",
          get_certificate_version),
    Route("POST", f"{CERT}/actions/scheduleDeletion", "certificates_management.schedule_certificate_deletion",
          schedule_certificate_deletion),
    Route("POST", f"{CERT}/version/{{certificateVersionNumber}}/actions/scheduleDeletion",
          "certificates_management.schedule_certificate_version_deletion", schedule_certificate_version_deletion),
    Route("POST", f"{CERT}/actions/cancelDeletion", "certificates_management.cancel_certificate_deletion",
          cancel_certificate_deletion),
    Route("GET", BUNDLE, "certificates.get_certificate_bundle", get_certificate_bundle),
    Route("GET", f"{BUNDLE}/versions", "certificates.list_certificate_bundle_versions",
          list_certificate_bundle_versions),
]
CONTROL_ROUTES = [
    Route("POST", "/_control/certificates/{certificateId}/break", "control.certificates.break", _control_break),
]
