"""Certificates-service state: a validated imported certificate (Material), its versions and rotation
stages, and the certificate; every fact shown about a version is read from its PEM, as OCI does."""
from __future__ import annotations

import datetime as dt
import re
import uuid
from dataclasses import dataclass, field

import oci
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID, SignatureAlgorithmOID as SIG

from ..errors import InvalidParameter, MissingParameter
from ..http import now, wire

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


def _drop(version: Version, *stages: str | None) -> None:
    version.stages = [s for s in version.stages if s not in stages]


def _tidy(cert: Certificate) -> None:
    """A version left without a stage is DEPRECATED; stages are listed in OCI's order."""
    for v in cert.versions:
        v.stages = sorted(v.stages or ["DEPRECATED"], key=STAGE_ORDER.index)
