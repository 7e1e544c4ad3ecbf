"""Load Balancer state: certificate bundles as OCI validates them, listeners built from their details
(a full replacement each time), and what a listener serves."""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Callable

import oci
from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization

from ...tls_listeners import TlsConfig
from ..errors import Conflict, InvalidParameter, MissingParameter, NotAuthorizedOrNotFound, OciError
from .. import http


API = "/20170115"
M = oci.load_balancer.models

CERTIFICATE_NAME = re.compile(r"[A-Za-z0-9_-]{1,255}")
LISTENER_PROTOCOLS = {"HTTP", "HTTP2", "TCP", "GRPC"}
TLS_PROTOCOLS = {"TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"}
DEFAULT_CIPHER_SUITE = "oci-default-ssl-cipher-suite-v1"
CIPHER_SUITES = {  # the predefined suites; `oci-customized-ssl-cipher-suite` is not accepted as input
    DEFAULT_CIPHER_SUITE, "oci-modern-ssl-cipher-suite-v1", "oci-compatible-ssl-cipher-suite-v1",
    "oci-wider-compatible-ssl-cipher-suite-v1", "oci-default-http2-ssl-cipher-suite-v1",
    "oci-default-http2-tls-13-ssl-cipher-suite-v1", "oci-default-http2-tls-12-13-ssl-cipher-suite-v1",
    "oci-tls-13-recommended-ssl-cipher-suite-v1", "oci-tls-12-13-wider-ssl-cipher-suite-v1",
    "oci-tls-11-12-13-wider-ssl-cipher-suite-v1"}
ACCEPTED, IN_PROGRESS, SUCCEEDED, FAILED = "ACCEPTED", "IN_PROGRESS", "SUCCEEDED", "FAILED"


def parse(data, type_name: str):
    """Request JSON as the Load Balancer model `type_name` (see `http.parse`)."""
    return http.parse(data, type_name, M)


# ---------------------------------------------------------------------------------------------------
# Certificate bundles

@dataclass(frozen=True)
class StoredCertificate:
    """A certificate bundle. The private key is kept, decrypted, only to serve it on listeners."""
    name: str
    public_certificate: str | None
    ca_certificate: str | None
    private_key: str | None
    serial: int | None
    not_after: dt.datetime | None

    def model(self) -> M.Certificate:
        return M.Certificate(certificate_name=self.name, public_certificate=self.public_certificate,
                             ca_certificate=self.ca_certificate)

    def summary(self) -> dict:
        return {"name": self.name, "serial": None if self.serial is None else format(self.serial, "x"),
                "notAfter": self.not_after.isoformat() if self.not_after else None}


def _certificates(pem: str, field_name: str) -> list[x509.Certificate]:
    try:
        certs = x509.load_pem_x509_certificates(pem.encode())
    except (ValueError, TypeError):
        certs = []
    if not certs:
        raise InvalidParameter(f"{field_name} is not a valid PEM-encoded X.509 certificate")
    return certs


def _private_key(pem: str, passphrase: str | None):
    password = passphrase.encode() if passphrase else None
    try:
        return serialization.load_pem_private_key(pem.encode(), password)
    except TypeError:
        if password is None:
            raise InvalidParameter("privateKey is encrypted: passphrase is required") from None
        return _private_key(pem, None)  # a passphrase for an unencrypted key is ignored
    except (ValueError, UnsupportedAlgorithm):
        raise InvalidParameter("privateKey is not a valid PEM private key, or the passphrase is wrong") from None


def _public_der(key) -> bytes:
    return key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def read_certificate(name: str | None, public_certificate: str | None, ca_certificate: str | None,
                     private_key: str | None, passphrase: str | None = None) -> StoredCertificate:
    """Validate a bundle as OCI does when the request arrives (400 InvalidParameter on any problem)."""
    if not name:
        raise MissingParameter("certificateName is required")
    if not CERTIFICATE_NAME.fullmatch(name):
        raise InvalidParameter(f"Invalid certificateName '{name}': use 1-255 letters, digits, '-' or '_'")
    if not public_certificate and not ca_certificate:
        raise MissingParameter("publicCertificate or caCertificate is required")
    if bool(public_certificate) != bool(private_key):
        raise InvalidParameter("publicCertificate and privateKey must be given together")
    if ca_certificate:
        _certificates(ca_certificate, "caCertificate")
    leaf, key_pem = None, None
    if public_certificate:
        leaf = _certificates(public_certificate, "publicCertificate")[0]
        key = _private_key(private_key, passphrase)
        if _public_der(key.public_key()) != _public_der(leaf.public_key()):
            raise InvalidParameter("privateKey does not match the public key of publicCertificate")
        key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption()).decode()
    return StoredCertificate(name, public_certificate, ca_certificate, key_pem,
                             leaf.serial_number if leaf else None, leaf.not_valid_after_utc if leaf else None)


# ---------------------------------------------------------------------------------------------------
# Load balancer state and the changes work requests apply to it

@dataclass
class LbState:
    """What work requests change. Values are never mutated in place, so a copy only copies the maps."""
    listeners: dict[str, M.Listener] = field(default_factory=dict)
    certificates: dict[str, StoredCertificate] = field(default_factory=dict)
    backend_sets: dict[str, M.BackendSet] = field(default_factory=dict)
    hostnames: dict[str, M.Hostname] = field(default_factory=dict)
    rule_sets: dict[str, M.RuleSet] = field(default_factory=dict)
    path_route_sets: dict[str, M.PathRouteSet] = field(default_factory=dict)
    routing_policies: dict[str, M.RoutingPolicy] = field(default_factory=dict)
    # A Certificates-service certificate's CURRENT version by OCID: (certificate PEM, chain PEM, key PEM)
    service_certificate: Callable[[str], tuple[str, str, str]] | None = None

    def copy(self) -> "LbState":
        return LbState(**{name: dict(value) if isinstance(value, dict) else value
                          for name, value in vars(self).items()})


def _require(value, name: str):
    if value is None:
        raise MissingParameter(f"{name} is required")
    return value


def _refers(kind: str, name: str | None, known: dict, listener: str) -> None:
    if name is not None and name not in known:
        raise InvalidParameter(f"Listener '{listener}' refers to unknown {kind} '{name}'")


def _ssl_configuration(details: M.SSLConfigurationDetails | None, state: LbState, listener: str):
    """The stored SSL configuration, with OCI's defaults for everything the request left out."""
    if details is None:
        return None
    if details.trusted_certificate_authority_ids:
        raise InvalidParameter("trustedCertificateAuthorityIds is not supported by the sandbox")
    ids, name = details.certificate_ids or [], details.certificate_name
    if ids and name:
        raise InvalidParameter("Set sslConfiguration.certificateName or certificateIds, not both")
    if ids:
        if len(ids) != 1:
            raise InvalidParameter("sslConfiguration.certificateIds takes exactly one certificate OCID")
        state.service_certificate(ids[0])  # raises when the listener could not serve it
        if details.verify_peer_certificate:
            raise InvalidParameter("verifyPeerCertificate needs trustedCertificateAuthorityIds with certificateIds")
    else:
        _require(name, "sslConfiguration.certificateName")
        _refers("certificate", name, state.certificates, listener)
        if not state.certificates[name].private_key:
            raise InvalidParameter(f"Certificate bundle '{name}' has no private key: a listener cannot use it")
    protocols = details.protocols or ["TLSv1.2"]
    if not set(protocols) <= TLS_PROTOCOLS:
        raise InvalidParameter(f"Unsupported SSL protocols {sorted(set(protocols) - TLS_PROTOCOLS)}")
    cipher_suite = details.cipher_suite_name or DEFAULT_CIPHER_SUITE
    if cipher_suite not in CIPHER_SUITES:
        raise InvalidParameter(f"Unknown cipher suite '{cipher_suite}'")
    order = details.server_order_preference or "DISABLED"
    if order not in ("ENABLED", "DISABLED"):
        raise InvalidParameter("serverOrderPreference must be ENABLED or DISABLED")
    if name and details.verify_peer_certificate and not state.certificates[name].ca_certificate:
        raise InvalidParameter(f"verifyPeerCertificate needs a caCertificate in bundle '{name}'")
    return M.SSLConfiguration(
        protocols=list(protocols), cipher_suite_name=cipher_suite, server_order_preference=order,
        certificate_name=None if ids else name, certificate_ids=list(ids) or None,
        verify_peer_certificate=bool(details.verify_peer_certificate),
        verify_depth=details.verify_depth or 1,
        has_session_resumption=True if details.has_session_resumption is None else details.has_session_resumption)


def _listener(name: str, details, state: LbState) -> M.Listener:
    """A listener built from Create/Update/ListenerDetails alone: nothing survives from the old one."""
    protocol = _require(details.protocol, "protocol")
    port = _require(details.port, "port")
    if protocol not in LISTENER_PROTOCOLS:
        raise InvalidParameter(f"Unsupported listener protocol '{protocol}'")
    if not 1 <= port <= 65535:
        raise InvalidParameter(f"Invalid port {port}")
    _refers("backend set", _require(details.default_backend_set_name, "defaultBackendSetName"),
            state.backend_sets, name)
    for hostname in details.hostname_names or []:
        _refers("hostname", hostname, state.hostnames, name)
    for rule_set in details.rule_set_names or []:
        _refers("rule set", rule_set, state.rule_sets, name)
    _refers("path route set", details.path_route_set_name, state.path_route_sets, name)
    _refers("routing policy", details.routing_policy_name, state.routing_policies, name)
    ssl_configuration = _ssl_configuration(details.ssl_configuration, state, name)
    if protocol in ("HTTP2", "GRPC") and not ssl_configuration:
        raise InvalidParameter(f"A {protocol} listener needs an sslConfiguration")
    connection = details.connection_configuration or M.ConnectionConfiguration(
        idle_timeout=300 if protocol == "TCP" else 60)
    _require(connection.idle_timeout, "connectionConfiguration.idleTimeout")
    return M.Listener(
        name=name, default_backend_set_name=details.default_backend_set_name, port=port, protocol=protocol,
        hostname_names=list(details.hostname_names or []), path_route_set_name=details.path_route_set_name,
        ssl_configuration=ssl_configuration, connection_configuration=connection,
        rule_set_names=list(details.rule_set_names or []), routing_policy_name=details.routing_policy_name)


def _put_listener(name: str, details, exists: bool, state: LbState) -> None:
    if exists and name not in state.listeners:
        raise NotAuthorizedOrNotFound(f"Listener '{name}' not found")
    if not exists and name in state.listeners:
        raise Conflict(f"Listener '{name}' already exists")
    state.listeners[name] = _listener(name, details, state)


def _remove_listener(name: str, state: LbState) -> None:
    if state.listeners.pop(name, None) is None:
        raise NotAuthorizedOrNotFound(f"Listener '{name}' not found")


def _add_certificate(bundle: StoredCertificate, state: LbState) -> None:
    if bundle.name in state.certificates:
        raise Conflict(f"Certificate bundle '{bundle.name}' already exists")
    state.certificates[bundle.name] = bundle


def _remove_certificate(name: str, state: LbState) -> None:
    if name not in state.certificates:
        raise NotAuthorizedOrNotFound(f"Certificate bundle '{name}' not found")
    users = [f"{kind} '{user}'" for kind, items in (("listener", state.listeners), ("backend set", state.backend_sets))
             for user, item in sorted(items.items())
             if item.ssl_configuration and item.ssl_configuration.certificate_name == name]
    if users:  # OCI's message (terraform-provider-oci#1661), the users appended for the reader
        raise Conflict(f"Certificate '{name}' is attached to one or more listeners/backendSets: {', '.join(users)}")
    del state.certificates[name]


def _tls_config(listener: M.Listener, state: LbState) -> TlsConfig | None:
    ssl = listener.ssl_configuration
    if ssl is None:
        return None
    if ssl.certificate_ids:
        try:
            cert_pem, chain_pem, key_pem = state.service_certificate(ssl.certificate_ids[0], serving=True)
        except OciError:  # deleted since: OCI would keep serving what it had; the sandbox serves nothing
            return None
        client_ca = None
    else:
        bundle = state.certificates[ssl.certificate_name]
        cert_pem, chain_pem, key_pem = bundle.public_certificate, bundle.ca_certificate, bundle.private_key
        client_ca = bundle.ca_certificate if ssl.verify_peer_certificate else None
    chain = "\n".join(pem.strip() for pem in (cert_pem, chain_pem) if pem)
    return TlsConfig(certificate_chain=chain, private_key=key_pem, protocols=tuple(ssl.protocols),
                     server_order_preference=ssl.server_order_preference == "ENABLED",
                     session_resumption=bool(ssl.has_session_resumption), client_ca=client_ca)
