"""Certificates, chains and keys: parse, inspect, generate. A thin layer over `cryptography`.

PEM comes in as `str` or `bytes` and goes out as `str` (the LB and Vault adapters send text), except the
CSR, which goes out as `bytes` because `acme`'s order resource carries it so to finalization. Nothing here reads
the clock: whether a certificate is too old is `plan`'s decision. Errors never quote key material.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtensionOID

from .errors import CertificateError

DEFAULT_KEY_TYPE = "ecdsa-p256"
_CURVES = {"ecdsa-p256": ec.SECP256R1, "ecdsa-p384": ec.SECP384R1}
_RSA_BITS = {"rsa-2048": 2048, "rsa-3072": 3072, "rsa-4096": 4096}
KEY_TYPES = (*_CURVES, *_RSA_BITS)

_BLOCK = re.compile(rb"-----BEGIN ([A-Z0-9 ]+)-----\s.*?-----END \1-----", re.S)


@dataclass(frozen=True)
class CertInfo:
    """What certmgr needs to know about one certificate, as plain data (so `plan` stays pure)."""

    names: tuple[str, ...]        # DNS names from the SAN, in certificate order, lower case
    subject: str                  # RFC 4514
    issuer: str                   # RFC 4514
    serial: str                   # see serial_hex()
    not_before: dt.datetime       # timezone-aware UTC
    not_after: dt.datetime        # timezone-aware UTC
    key_type: str | None          # one of KEY_TYPES, None for any other key
    fingerprint: str              # see fingerprint()

    @property
    def lifetime(self) -> dt.timedelta:
        return self.not_after - self.not_before


def _bytes(pem: str | bytes) -> bytes:
    return pem.encode("ascii", "replace") if isinstance(pem, str) else bytes(pem)


def parse_chain(pem: str | bytes, *, what: str = "certificate chain") -> list[x509.Certificate]:
    """Certificates from PEM, leaf first, each issued by the next.

    Strict, because this is what certmgr stores and deploys: only whitespace may surround the
    CERTIFICATE blocks, and the order must link up. `what` names the input in the error message.
    """
    data = _bytes(pem)
    if not data.strip():
        raise CertificateError(f"{what} is empty")
    blocks = list(_BLOCK.finditer(data))
    if not blocks:
        if b"-----BEGIN" in data:
            raise CertificateError(f"{what} has a -----BEGIN line without its matching -----END line")
        raise CertificateError(f"{what} is not PEM (no -----BEGIN CERTIFICATE----- line)")
    if data.count(b"-----BEGIN") != len(blocks):
        raise CertificateError(f"{what} has a -----BEGIN line without its matching -----END line")
    for i, block in enumerate(blocks, 1):
        kind = block.group(1).decode()
        if "PRIVATE KEY" in kind:
            raise CertificateError(f"{what} contains a private key (block {i}); keys are stored apart")
        if kind != "CERTIFICATE":
            raise CertificateError(f"{what} contains a {kind} block (block {i}) where only certificates belong")
    gaps = [data[:blocks[0].start()]] + [data[a.end():b.start()] for a, b in zip(blocks, blocks[1:])]
    for i, gap in enumerate(gaps):
        if gap.strip():
            where = "before the first certificate" if i == 0 else f"between certificates {i} and {i + 1}"
            raise CertificateError(f"{what} has unexpected text {where}")
    if data[blocks[-1].end():].strip():
        raise CertificateError(f"{what} has unexpected text after the last certificate")
    certs = []
    for i, block in enumerate(blocks, 1):
        try:
            certs.append(x509.load_pem_x509_certificate(block.group(0)))
        except ValueError as exc:
            raise CertificateError(f"{what}: certificate {i} cannot be parsed ({exc})") from None
    for i, (child, parent) in enumerate(zip(certs, certs[1:]), 1):
        if child.issuer != parent.subject:
            raise CertificateError(
                f"{what} is not in order (leaf first, each followed by its issuer): certificate {i} was "
                f"issued by {child.issuer.rfc4514_string()!r}, but certificate {i + 1} is "
                f"{parent.subject.rfc4514_string()!r}")
    return certs


def load_ca_bundle(pem: str | bytes, *, what: str = "CA bundle") -> list[x509.Certificate]:
    """Trust anchors from a PEM bundle. Lenient: bundles carry comments between certificates."""
    try:
        return x509.load_pem_x509_certificates(_bytes(pem))
    except ValueError:
        raise CertificateError(f"{what} holds no readable PEM certificate") from None


def names(cert: x509.Certificate) -> list[str]:
    """The DNS names in the subjectAltName, lower case. The subject CN is ignored, as CAs and browsers do."""
    try:
        san = cert.extensions.get_extension_for_oid(ExtensionOID.SUBJECT_ALTERNATIVE_NAME).value
    except x509.ExtensionNotFound:
        return []
    return [name.lower() for name in san.get_values_for_type(x509.DNSName)]


def not_before(cert: x509.Certificate) -> dt.datetime:
    return cert.not_valid_before_utc


def not_after(cert: x509.Certificate) -> dt.datetime:
    return cert.not_valid_after_utc


def serial_hex(cert: x509.Certificate) -> str:
    """Serial as lower-case hex of whole bytes, no separators: the same string names LB certificates
    and Vault versions, so it must be formatted in exactly one place."""
    text = format(cert.serial_number, "x")
    return text.zfill(len(text) + len(text) % 2)


def same_serial(a: str | None, b: str | None) -> bool:
    """Whether two serials in hex (any case, with or without ':' or leading zeros) are the same number: the one
    comparison plan, status and the post-deploy check share."""
    try:
        return a is not None and b is not None and int(a.replace(":", ""), 16) == int(b.replace(":", ""), 16)
    except ValueError:
        return False


def fingerprint(cert: x509.Certificate) -> str:
    """SHA-256 of the DER encoding, lower-case hex."""
    return hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest()


def key_type(key) -> str | None:
    """The KEY_TYPES name of a private or public key, or None for any other kind."""
    if isinstance(key, (ec.EllipticCurvePrivateKey, ec.EllipticCurvePublicKey)):
        return next((name for name, curve in _CURVES.items() if isinstance(key.curve, curve)), None)
    if isinstance(key, (rsa.RSAPrivateKey, rsa.RSAPublicKey)):
        return next((name for name, bits in _RSA_BITS.items() if key.key_size == bits), None)
    return None


def info(cert: x509.Certificate) -> CertInfo:
    return CertInfo(names=tuple(names(cert)), subject=cert.subject.rfc4514_string(),
                    issuer=cert.issuer.rfc4514_string(), serial=serial_hex(cert), not_before=not_before(cert),
                    not_after=not_after(cert), key_type=key_type(cert.public_key()),
                    fingerprint=fingerprint(cert))


def load_private_key(pem: str | bytes, *, what: str = "private key"):
    """An unencrypted PEM private key. The error says what kind of wrong, never what the bytes were."""
    data = _bytes(pem)
    if not data.strip():
        raise CertificateError(f"{what} is empty")
    try:
        return serialization.load_pem_private_key(data, password=None)
    except TypeError:
        raise CertificateError(f"{what} is encrypted; certmgr needs it unencrypted") from None
    except (ValueError, UnsupportedAlgorithm):  # the parser's own words are not repeated: keep bytes out
        raise CertificateError(f"{what} cannot be parsed as an unencrypted PEM private key") from None


def _spki(public_key) -> bytes:
    return public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def key_matches(cert: x509.Certificate, key) -> bool:
    """Whether `key` (a private key object or its PEM) is the certificate's own key."""
    if isinstance(key, (str, bytes)):
        key = load_private_key(key)
    return _spki(cert.public_key()) == _spki(key.public_key())


def generate_key(kind: str = DEFAULT_KEY_TYPE):
    """A fresh private key of one of KEY_TYPES."""
    if kind in _CURVES:
        return ec.generate_private_key(_CURVES[kind]())
    if kind in _RSA_BITS:
        return rsa.generate_private_key(public_exponent=65537, key_size=_RSA_BITS[kind])
    raise ValueError(f"unknown key type {kind!r}; choose one of {', '.join(KEY_TYPES)}")


def make_csr(key, names: list[str] | tuple[str, ...]) -> bytes:
    """A PEM CSR for `names`, all in the subjectAltName and the subject left empty (CAs use the SAN)."""
    if not names:
        raise ValueError("a CSR needs at least one name")
    san = x509.SubjectAlternativeName([x509.DNSName(name) for name in names])
    csr = (x509.CertificateSigningRequestBuilder().subject_name(x509.Name([]))
           .add_extension(san, critical=False).sign(key, hashes.SHA256()))
    return csr.public_bytes(serialization.Encoding.PEM)


def key_to_pem(key) -> str:
    """Unencrypted PKCS#8 PEM: Vault encrypts it at rest, and the LB wants it in the clear."""
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode("ascii")


def cert_to_pem(cert: x509.Certificate) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode("ascii")


def chain_to_pem(certs: list[x509.Certificate] | tuple[x509.Certificate, ...]) -> str:
    return "".join(cert_to_pem(cert) for cert in certs)
