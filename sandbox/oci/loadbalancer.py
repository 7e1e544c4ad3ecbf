"""OCI Load Balancer (`/20170115`): load balancers, listeners, certificate bundles and work requests.

What certmgr depends on, and so what is emulated closely:
- Every mutation answers 202 with `opc-work-request-id` and changes nothing until its work request
  reaches SUCCEEDED: ACCEPTED -> IN_PROGRESS -> SUCCEEDED over `world.options["work_request_delay"]`
  seconds (read when the request arrives). The change lands on a timer even if nobody polls, and any
  read catches up first, so a client that saw SUCCEEDED also sees the change.
- Work requests of one load balancer run one after another in arrival order: OCI queues them rather
  than refusing the second. A request is validated when it arrives against the state the queue will
  leave, so bad input is answered synchronously (400 / 404 / 409); a queued change whose premise a
  failed predecessor broke fails its own work request with BAD_INPUT.
- `UpdateListener` is a full replacement: whatever the body leaves out is reset to OCI's default.
- `DeleteCertificate` is refused (409) while a listener or backend set uses the bundle.
- Every listener is a live server (`sandbox.tls_listeners`) presenting the certificate it references,
  switched when the work request that changed it succeeds.
Control: `POST /_control/lb/{loadBalancerId}/fail-next-work-request` with `{"count", "message",
"errorCode"}` makes that many following work requests end FAILED without applying their change;
`POST /_control/lb/{loadBalancerId}/stale-listener` with `{"listener", "stale": true}` keeps that listener's
live server presenting what it presents now whatever succeeds (an edge that lags behind the API).
- A listener's SSL configuration names either an LB certificate bundle (`certificateName`) or one
  Certificates-service certificate (`certificateIds`, exactly one id, as OCI allows today) of the same region;
  it then serves that certificate's CURRENT version, and follows each new CURRENT version without a listener
  update (the Certificates emulator tells every LB backend when a version changes).
Not emulated: `trustedCertificateAuthorityIds`, custom cipher suites, backends and health, load balancer
create/delete (seed with `Backend.add_load_balancer`), the delay before a new CURRENT version reaches the
listeners (inject a lagging edge with the stale-listener control instead).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import json
import logging
import re
import sys
import threading
import time
from dataclasses import dataclass, field
from functools import partial
from typing import Callable
from urllib.parse import unquote

import oci
from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization

from ..tls_listeners import ListenerServer, TlsConfig
from .errors import (Conflict, InvalidParameter, MissingParameter, NotAuthorizedOrNotFound, OciError,
                     PreconditionFailed)
from .http import Reply, Request, Route, now, page, wire
from .world import Resettable, ocid

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


def _model_reader() -> oci.base_client.BaseClient:
    """The SDK's own deserialiser, bound to this service's models (their names clash with other services')."""
    reader = oci.base_client.BaseClient.__new__(oci.base_client.BaseClient)
    reader.type_mappings = oci.base_client.merge_type_mappings(reader.primitive_type_map,
                                                               M.load_balancer_type_mapping)
    reader.skip_deserialization, reader._allow_control_chars = False, None
    reader.logger = logging.getLogger(__name__)
    return reader


_READER = _model_reader()


def parse(data, type_name: str):
    """Read request JSON into the SDK model the operation takes: unknown keys dropped, types checked."""
    try:
        model = _READER.deserialize_response_data(json.dumps(data).encode(), type_name)
        wire(model)  # raises TypeError for a value of the wrong type
    except Exception as exc:  # noqa: BLE001 - any malformed body is the caller's error
        raise InvalidParameter(f"Invalid {type_name}: {exc}") from None
    return model


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
    users = [x.ssl_configuration for x in [*state.listeners.values(), *state.backend_sets.values()]]
    if any(ssl and ssl.certificate_name == name for ssl in users):
        raise Conflict(f"Certificate '{name}' is attached to one or more listeners/backendSets")
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


# ---------------------------------------------------------------------------------------------------
# Work requests and load balancers

_SEQUENCE = itertools.count()


@dataclass
class WorkRequest:
    id: str
    lb_id: str
    compartment_id: str
    type: str                                 # OCI's names: "CreateCertificate", "UpdateListener", ...
    change: Callable[[LbState], None]
    starts_at: float                          # time.monotonic(): ACCEPTED until then
    finishes_at: float                        # IN_PROGRESS until then
    forced_failure: tuple[str, str] | None    # (errorCode, message) from the control knob
    time_accepted: dt.datetime = field(default_factory=now)
    state: str = ACCEPTED
    time_finished: dt.datetime | None = None
    errors: list[tuple[str, str]] = field(default_factory=list)
    seq: int = field(default_factory=lambda: next(_SEQUENCE))

    def model(self) -> M.WorkRequest:
        message = f"{self.type} work request {self.state.lower().replace('_', ' ')}"
        if self.errors:
            message += ": " + "; ".join(text for _, text in self.errors)
        return M.WorkRequest(
            id=self.id, load_balancer_id=self.lb_id, type=self.type, compartment_id=self.compartment_id,
            lifecycle_state=self.state, message=message, time_accepted=self.time_accepted,
            time_finished=self.time_finished,
            error_details=[M.WorkRequestError(error_code=code, message=text) for code, text in self.errors])

    def summary(self) -> dict:
        return {"id": self.id, "loadBalancerId": self.lb_id, "type": self.type, "lifecycleState": self.state,
                "errorDetails": [{"errorCode": c, "message": m} for c, m in self.errors]}


@dataclass
class LoadBalancer:
    id: str
    compartment_id: str
    display_name: str
    ip_address: str
    state: LbState
    time_created: dt.datetime = field(default_factory=now)
    pending: list[WorkRequest] = field(default_factory=list)
    version: int = 1
    failures_to_inject: list[tuple[str, str]] = field(default_factory=list)
    timer: threading.Timer | None = None

    @property
    def etag(self) -> str:
        return hashlib.sha256(f"{self.id}/{self.version}".encode()).hexdigest()[:32]

    def projected(self) -> LbState:
        """The state once every queued work request has run, as the service expects it at admission
        (an injected failure is not foreseen: it strikes when its turn comes)."""
        state = self.state.copy()
        for wr in self.pending:
            try:
                wr.change(state)
            except OciError:
                pass
        return state

    def model(self) -> M.LoadBalancer:
        s = self.state
        return M.LoadBalancer(
            id=self.id, compartment_id=self.compartment_id, display_name=self.display_name,
            lifecycle_state="ACTIVE", time_created=self.time_created,
            ip_addresses=[M.IpAddress(ip_address=self.ip_address, is_public=True)], shape_name="flexible",
            shape_details=M.ShapeDetails(minimum_bandwidth_in_mbps=10, maximum_bandwidth_in_mbps=10),
            is_private=False, is_delete_protection_enabled=False, is_request_id_enabled=False,
            subnet_ids=[], network_security_group_ids=[], listeners=dict(s.listeners),
            hostnames=dict(s.hostnames), ssl_cipher_suites={},
            certificates={n: c.model() for n, c in s.certificates.items()}, backend_sets=dict(s.backend_sets),
            path_route_sets=dict(s.path_route_sets), rule_sets=dict(s.rule_sets),
            routing_policies=dict(s.routing_policies), freeform_tags={}, defined_tags={}, system_tags={},
            security_attributes={}, ip_mode="IPV4")


def _backend_set(name: str, details: dict | None) -> M.BackendSet:
    backend_set = parse({**(details or {}), "name": name}, "BackendSet")
    backend_set.policy = backend_set.policy or "ROUND_ROBIN"
    backend_set.backends = backend_set.backends or []
    backend_set.health_checker = backend_set.health_checker or M.HealthChecker(
        protocol="HTTP", url_path="/", port=80, return_code=200, retries=3, timeout_in_millis=3000,
        interval_in_millis=10000, response_body_regex="", is_force_plain_text=False)
    return backend_set


class Backend(Resettable):
    """Load balancers of one region, their work requests, and the live listener servers."""

    def __init__(self, world, region: str):
        self.world, self.region = world, region
        self.load_balancers: dict[str, LoadBalancer] = {}
        self.work_requests: dict[str, WorkRequest] = {}
        self.retry_tokens: dict[str, tuple[str, str, str]] = {}   # token -> (lb id, type, work request id)
        self.servers: dict[tuple[str, str], ListenerServer] = {}
        self.stale: set[tuple[str, str]] = set()  # (lb, listener) whose server keeps what it presents
        self._closed = False

    # -- seeding and inspection (tests, the stack) ------------------------------------------------

    def add_load_balancer(self, compartment_id: str, name: str, *, listeners: dict[str, dict] | None = None,
                          certificates: dict[str, dict] | None = None,
                          backend_sets: dict[str, dict | None] | None = None,
                          hostnames: dict[str, str] | None = None, rule_sets: dict[str, list] | None = None,
                          path_route_sets: dict[str, list] | None = None,
                          routing_policies: dict[str, list] | None = None, ip_address: str = "127.0.0.1") -> str:
        """Create an ACTIVE load balancer at once (no work request); dict values use OCI's JSON names.

        certificates: name -> {"publicCertificate", "caCertificate", "privateKey", "passphrase"};
        backend_sets: name -> BackendSet JSON or None (default: one set named "app");
        hostnames: name -> hostname; rule_sets: name -> Rule JSON items;
        path_route_sets: name -> PathRoute JSON list; routing_policies: name -> RoutingRule JSON list;
        listeners: name -> ListenerDetails JSON (validated like CreateListener).
        """
        with self.world.lock:
            self.world.check_compartment(compartment_id)
            state = LbState(service_certificate=self.service_certificate)
            for cert_name, pems in (certificates or {}).items():
                state.certificates[cert_name] = read_certificate(
                    cert_name, pems.get("publicCertificate"), pems.get("caCertificate"),
                    pems.get("privateKey"), pems.get("passphrase"))
            for set_name, details in (backend_sets if backend_sets is not None else {"app": None}).items():
                state.backend_sets[set_name] = _backend_set(set_name, details)
            for host_name, hostname in (hostnames or {}).items():
                state.hostnames[host_name] = M.Hostname(name=host_name, hostname=hostname)
            for set_name, items in (rule_sets or {}).items():
                state.rule_sets[set_name] = M.RuleSet(name=set_name, items=parse(items, "list[Rule]"))
            for set_name, routes in (path_route_sets or {}).items():
                state.path_route_sets[set_name] = M.PathRouteSet(name=set_name,
                                                                 path_routes=parse(routes, "list[PathRoute]"))
            for policy_name, rules in (routing_policies or {}).items():
                state.routing_policies[policy_name] = M.RoutingPolicy(
                    name=policy_name, condition_language_version="V1", rules=parse(rules, "list[RoutingRule]"))
            for listener_name, details in (listeners or {}).items():
                _put_listener(listener_name, parse(details, "ListenerDetails"), False, state)
            lb = LoadBalancer(ocid("loadbalancer", self.region), compartment_id, name, ip_address, state)
            self.load_balancers[lb.id] = lb
            self._sync_servers(lb)
            return lb.id

    def service_certificate(self, certificate_id: str, serving: bool = False) -> tuple[str, str, str]:
        """The CURRENT version of a Certificates-service certificate in this region, as a listener serves it.
        A listener may be pointed only at an ACTIVE certificate; one that is being updated is still served."""
        from . import certificates  # the two emulators know each other only through the world
        if certificate_id.split(".")[3:4] != [self.region]:
            raise InvalidParameter(f"Certificate {certificate_id} is not in region {self.region}")
        try:
            cert = self.world.backend(certificates, self.region).get(certificate_id)
        except OciError:
            raise InvalidParameter(f"sslConfiguration.certificateIds: certificate {certificate_id} not found "
                                   "or not authorized") from None
        state = cert.state if serving else cert.lifecycle_state()
        if state != "ACTIVE":
            raise InvalidParameter(f"Certificate {certificate_id} is {state}; a listener needs an ACTIVE one")
        material = cert.current().material
        return material.cert_pem, material.chain_pem, material.key_pem

    def certificate_users(self, certificate_id: str) -> list[str]:
        """"lb-name/listener" of every listener that references this Certificates-service certificate."""
        return sorted({f"{lb.display_name}/{name}" for lb in self.load_balancers.values()
                       for state in (lb.state, lb.projected()) for name, l in state.listeners.items()
                       if l.ssl_configuration and certificate_id in (l.ssl_configuration.certificate_ids or [])})

    def certificate_changed(self, certificate_id: str) -> None:
        """A Certificates-service certificate has a new CURRENT version: listeners serve it from now on."""
        for lb in self.load_balancers.values():
            self._sync_servers(lb)

    def listener_address(self, lb_id: str, listener_name: str) -> str:
        """"127.0.0.1:PORT" of the live server behind a listener (KeyError if there is none)."""
        with self.world.lock:
            if lb_id in self.load_balancers:
                self._advance(self.load_balancers[lb_id])
            return self.servers[(lb_id, listener_name)].address

    def set_stale(self, lb_id: str, listener: str, stale: bool = True) -> None:
        """Keep (or stop keeping) a listener's server on what it presents now."""
        with self.world.lock:
            (self.stale.add if stale else self.stale.discard)((lb_id, listener))
            if not stale:
                self._sync_servers(self.load_balancer(lb_id))

    def fail_next_work_requests(self, lb_id: str, count: int = 1, message: str = "Injected work request failure",
                                error_code: str = "INTERNAL_ERROR") -> int:
        with self.world.lock:
            lb = self.load_balancer(lb_id)
            lb.failures_to_inject.extend([(error_code, message)] * count)
            return len(lb.failures_to_inject)

    def remove_load_balancer(self, lb_id: str) -> None:
        """Drop a seeded load balancer and stop its listener servers (test clean-up)."""
        with self.world.lock:
            lb = self.load_balancers.pop(lb_id)
            if lb.timer:
                lb.timer.cancel()
            servers = [self.servers.pop(key) for key in [k for k in self.servers if k[0] == lb_id]]
        for server in servers:
            server.close()

    def close(self) -> None:
        """Stop timers and listener servers (the stack calls this when it stops)."""
        with self.world.lock:
            self._closed = True
            for lb in self.load_balancers.values():
                if lb.timer:
                    lb.timer.cancel()
            servers, self.servers = list(self.servers.values()), {}
        for server in servers:
            server.close()

    def snapshot(self) -> dict:
        with self.world.lock:
            lbs = []
            for lb in self.load_balancers.values():
                self._advance(lb)
                lbs.append({
                    "id": lb.id, "displayName": lb.display_name, "compartmentId": lb.compartment_id,
                    "etag": lb.etag, "listeners": {n: wire(x) for n, x in lb.state.listeners.items()},
                    "listenerAddresses": {n: s.address for (i, n), s in self.servers.items() if i == lb.id},
                    "certificates": [c.summary() for c in lb.state.certificates.values()],
                    "pendingWorkRequests": [wr.id for wr in lb.pending]})
            work_requests = sorted(self.work_requests.values(), key=lambda wr: wr.seq)
            return {"loadBalancers": lbs, "workRequests": [wr.summary() for wr in work_requests]}

    # -- lookups and the work request queue ------------------------------------------------------

    def load_balancer(self, lb_id: str) -> LoadBalancer:
        lb = self.load_balancers.get(lb_id)
        if lb is None:
            raise NotAuthorizedOrNotFound(f"Load balancer {lb_id} not found")
        self._advance(lb)
        return lb

    def submit(self, lb: LoadBalancer, kind: str, change: Callable[[LbState], None],
               if_match: str | None = None, retry_token: str | None = None) -> WorkRequest:
        """Validate `change` against the queued future now, then queue it as a work request."""
        if if_match and if_match != lb.etag:
            raise PreconditionFailed(f"If-Match {if_match!r} does not match the load balancer's etag")
        if retry_token in self.retry_tokens:
            lb_id, previous_kind, wr_id = self.retry_tokens[retry_token]
            if (lb_id, previous_kind) != (lb.id, kind):
                raise Conflict("opc-retry-token was already used for a different request")
            return self.work_requests[wr_id]
        change(lb.projected())
        delay = float(self.world.options.get("work_request_delay", 0.3))
        start = max([time.monotonic()] + [wr.finishes_at for wr in lb.pending])
        wr = WorkRequest(ocid("loadbalancerworkrequest", self.region), lb.id, lb.compartment_id, kind, change,
                         start + delay / 2, start + delay,
                         lb.failures_to_inject.pop(0) if lb.failures_to_inject else None)
        self.work_requests[wr.id] = wr
        if retry_token:
            self.retry_tokens[retry_token] = (lb.id, kind, wr.id)
        lb.pending.append(wr)
        self._schedule(lb)
        return wr

    def _advance(self, lb: LoadBalancer) -> None:
        """Move queued work requests along the clock, applying each change when it succeeds."""
        clock = time.monotonic()
        while lb.pending:
            wr = lb.pending[0]
            if clock >= wr.starts_at:
                wr.state = IN_PROGRESS
            if clock < wr.finishes_at:
                return
            lb.pending.pop(0)
            if wr.forced_failure:
                wr.state, wr.errors = FAILED, [wr.forced_failure]
            else:
                try:
                    wr.change(lb.state)
                    wr.state = SUCCEEDED
                    lb.version += 1
                    self._sync_servers(lb)
                except OciError as exc:
                    wr.state, wr.errors = FAILED, [("BAD_INPUT", exc.message)]
            wr.time_finished = now()

    def _schedule(self, lb: LoadBalancer) -> None:
        """Keep one timer per load balancer armed for its next due work request."""
        if lb.timer:
            lb.timer.cancel()
        lb.timer = None
        if lb.pending and not self._closed:
            wait = max(0.0, lb.pending[0].finishes_at - time.monotonic()) + 0.001
            lb.timer = threading.Timer(wait, self._tick, args=(lb.id,))
            lb.timer.daemon = True
            lb.timer.start()

    def _tick(self, lb_id: str) -> None:
        with self.world.lock:
            lb = self.load_balancers.get(lb_id)
            if lb and not self._closed:
                self._advance(lb)
                self._schedule(lb)

    def _sync_servers(self, lb: LoadBalancer) -> None:
        for name, listener in lb.state.listeners.items():
            tls = _tls_config(listener, lb.state)
            server = self.servers.get((lb.id, name))
            if server is None:
                self.servers[(lb.id, name)] = ListenerServer(name, tls)
            elif server.tls != tls and (lb.id, name) not in self.stale:
                server.configure(tls)
        for key in [k for k in self.servers if k[0] == lb.id and k[1] not in lb.state.listeners]:
            self.servers.pop(key).close()


# ---------------------------------------------------------------------------------------------------
# Handlers

def _backend(req: Request) -> Backend:
    return req.backend(sys.modules[__name__])


def _lb(req: Request) -> tuple[Backend, LoadBalancer]:
    backend = _backend(req)
    return backend, backend.load_balancer(req.params["loadBalancerId"])


def _name(req: Request, param: str) -> str:
    return unquote(req.params[param])


def _submit(req: Request, kind: str, change: Callable[[LbState], None]) -> Reply:
    backend, lb = _lb(req)
    wr = backend.submit(lb, kind, change, req.headers.get("if-match"), req.headers.get("opc-retry-token"))
    return Reply(202, None, {"opc-work-request-id": wr.id})


def get_load_balancer(req: Request) -> Reply:
    _, lb = _lb(req)
    return Reply(body=wire(lb.model()), headers={"etag": lb.etag})


def list_load_balancers(req: Request) -> Reply:
    compartment_id = req.arg("compartmentId")
    req.world.check_compartment(_require(compartment_id, "compartmentId"))
    backend = _backend(req)
    lbs = [backend.load_balancer(lb.id) for lb in backend.load_balancers.values()
           if lb.compartment_id == compartment_id and req.arg("displayName") in (None, lb.display_name)
           and req.arg("lifecycleState") in (None, "ACTIVE")]
    sort_by = req.arg("sortBy", "TIMECREATED")
    keys = {"TIMECREATED": (lambda lb: lb.time_created, "DESC"),
            "DISPLAYNAME": (lambda lb: lb.display_name, "ASC")}
    if sort_by not in keys:
        raise InvalidParameter(f"sortBy must be one of {sorted(keys)}")
    key, default_order = keys[sort_by]
    order = req.arg("sortOrder", default_order)
    if order not in ("ASC", "DESC"):
        raise InvalidParameter("sortOrder must be ASC or DESC")
    chunk, headers = page(req, sorted(lbs, key=key, reverse=order == "DESC"))
    return Reply(body=wire([lb.model() for lb in chunk]), headers=headers)


def _list_of(attribute: str, to_model: Callable = lambda item: item) -> Callable[[Request], Reply]:
    """GET of one of the load balancer's named collections, sorted by name (these lists do not page)."""
    def handler(req: Request) -> Reply:
        _, lb = _lb(req)
        items = getattr(lb.state, attribute)
        return Reply(body=wire([to_model(items[n]) for n in sorted(items)]), headers={"etag": lb.etag})
    return handler


def create_certificate(req: Request) -> Reply:
    details = parse(req.json(), "CreateCertificateDetails")
    bundle = read_certificate(details.certificate_name, details.public_certificate, details.ca_certificate,
                              details.private_key, details.passphrase)
    return _submit(req, "CreateCertificate", partial(_add_certificate, bundle))


def delete_certificate(req: Request) -> Reply:
    return _submit(req, "DeleteCertificate", partial(_remove_certificate, _name(req, "certificateName")))


def create_listener(req: Request) -> Reply:
    details = parse(req.json(), "CreateListenerDetails")
    return _submit(req, "CreateListener", partial(_put_listener, _require(details.name, "name"), details, False))


def update_listener(req: Request) -> Reply:
    details = parse(req.json(), "UpdateListenerDetails")
    return _submit(req, "UpdateListener", partial(_put_listener, _name(req, "listenerName"), details, True))


def delete_listener(req: Request) -> Reply:
    return _submit(req, "DeleteListener", partial(_remove_listener, _name(req, "listenerName")))


def get_work_request(req: Request) -> Reply:
    backend = _backend(req)
    wr = backend.work_requests.get(req.params["workRequestId"])
    if wr is None:
        raise NotAuthorizedOrNotFound(f"Work request {req.params['workRequestId']} not found")
    backend.load_balancer(wr.lb_id)
    return Reply(body=wire(wr.model()))


def list_work_requests(req: Request) -> Reply:
    """Newest first."""
    backend, lb = _lb(req)
    items = sorted((wr for wr in backend.work_requests.values() if wr.lb_id == lb.id), key=lambda w: -w.seq)
    chunk, headers = page(req, items)
    return Reply(body=wire([wr.model() for wr in chunk]), headers=headers)


def _control_stale(req: Request) -> Reply:
    lb_id, data = req.params["loadBalancerId"], req.json()
    for (module, _region), backend in req.world.backends():
        if module == __name__ and lb_id in backend.load_balancers:
            backend.set_stale(lb_id, data["listener"], bool(data.get("stale", True)))
            return Reply(body={"loadBalancerId": lb_id, "listener": data["listener"], "stale": bool(data.get("stale", True))})
    raise NotAuthorizedOrNotFound(f"Load balancer {lb_id} not found")


def _control_fail_next(req: Request) -> Reply:
    lb_id, data = req.params["loadBalancerId"], req.json()
    for (module, _region), backend in req.world.backends():
        if module == __name__ and lb_id in backend.load_balancers:
            queued = backend.fail_next_work_requests(
                lb_id, int(data.get("count", 1)), data.get("message", "Injected work request failure"),
                data.get("errorCode", "INTERNAL_ERROR"))
            return Reply(body={"loadBalancerId": lb_id, "failuresQueued": queued})
    raise NotAuthorizedOrNotFound(f"Load balancer {lb_id} not found")


_LB = API + "/loadBalancers/{loadBalancerId}"
ROUTES = [
    Route("GET", API + "/loadBalancers", "lb.list_load_balancers", list_load_balancers),
    Route("GET", _LB, "lb.get_load_balancer", get_load_balancer),
    Route("GET", _LB + "/certificates", "lb.list_certificates", _list_of("certificates", StoredCertificate.model)),
    Route("POST", _LB + "/certificates", "lb.create_certificate", create_certificate),
    Route("DELETE", _LB + "/certificates/{certificateName}", "lb.delete_certificate", delete_certificate),
    Route("POST", _LB + "/listeners", "lb.create_listener", create_listener),
    Route("PUT", _LB + "/listeners/{listenerName}", "lb.update_listener", update_listener),
    Route("DELETE", _LB + "/listeners/{listenerName}", "lb.delete_listener", delete_listener),
    Route("GET", _LB + "/backendSets", "lb.list_backend_sets", _list_of("backend_sets")),
    Route("GET", _LB + "/hostnames", "lb.list_hostnames", _list_of("hostnames")),
    Route("GET", _LB + "/ruleSets", "lb.list_rule_sets", _list_of("rule_sets")),
    Route("GET", _LB + "/workRequests", "lb.list_work_requests", list_work_requests),
    Route("GET", API + "/loadBalancerWorkRequests/{workRequestId}", "lb.get_work_request", get_work_request),
]
CONTROL_ROUTES = [
    Route("POST", "/_control/lb/{loadBalancerId}/stale-listener", "control.lb_stale_listener", _control_stale),
    Route("POST", "/_control/lb/{loadBalancerId}/fail-next-work-request", "control.lb_fail_next_work_request",
          _control_fail_next),
]
