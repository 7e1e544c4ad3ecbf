"""Where certificates live besides the Certificates service, each read into Items: load balancers (their
certificate bundles, and where each is used), API Gateway certificates, what TLS endpoints serve, and
certmgr's own certificate in Vault. A read that fails is an UNKNOWN item; the scan (scan.py) finds the
load balancers and gateways to read and runs these on its pool."""
from __future__ import annotations

import ipaddress
import socket
import ssl
from collections.abc import Callable

from cryptography import x509

from .. import pki
from ..cloud.vault import VaultStore
from ..errors import CertmgrError, VaultError
from ..settings.config import Config
from .model import API_ERRORS, Item, why

MakeItem = Callable[..., Item]  # Scan.item: (base fields, CertInfo | None, not_after) -> a classified Item


def parse(pem: str | bytes, what: str) -> pki.CertInfo:
    return pki.info(pki.load_ca_bundle(pem, what=what)[0])


def _ssl_users(resources: dict | None) -> dict[str, list[str]]:
    """Certificate bundle name -> the listeners (or backend sets) of `resources` whose SSL configuration uses it."""
    users: dict[str, list[str]] = {}
    for resource in (resources or {}).values():
        ssl_config = resource.ssl_configuration
        if ssl_config and ssl_config.certificate_name:
            users.setdefault(ssl_config.certificate_name, []).append(resource.name)
    return users


def service_users(lb) -> dict[str, list[str]]:
    """Certificates-service certificate OCID -> "load balancer <name>, listener <l>" for each listener of `lb`
    that references it (a listener's certificateIds)."""
    found: dict[str, list[str]] = {}
    for listener in (lb.listeners or {}).values():
        for certificate_id in (listener.ssl_configuration and listener.ssl_configuration.certificate_ids) or ():
            found.setdefault(certificate_id, []).append(f"load balancer {lb.display_name}, listener {listener.name}")
    return found


def load_balancer(lb, region: str, make: MakeItem) -> list[Item]:
    """Every certificate bundle of `lb` (a LoadBalancer as GetLoadBalancer and ListLoadBalancers return it):
    where it is used, and INFO when nothing uses it."""
    listeners, backend_sets = _ssl_users(lb.listeners), _ssl_users(lb.backend_sets)
    items = []
    for bundle in (lb.certificates or {}).values():
        name = bundle.certificate_name
        uses = [f"{kind}{'s' if len(users[name]) > 1 else ''} {', '.join(sorted(users[name]))}"
                for kind, users in (("listener", listeners), ("backend set", backend_sets)) if name in users]
        base = dict(name=f"{lb.display_name}/{name}", region=region, source="load-balancer", id=lb.id,
                    compartment_id=lb.compartment_id, deployment=Config.lb_certificate_deployment(name),
                    detail=f"load balancer {lb.display_name}, " + (" and ".join(uses) if uses else
                                                                   "used by no listener or backend set"))
        pem = bundle.public_certificate or bundle.ca_certificate
        try:
            item = make(base, parse(pem, f"LB certificate {name}"))
        except (CertmgrError, TypeError, ValueError) as exc:
            items.append(Item("UNKNOWN", reason=f"its PEM cannot be read: {why(exc)}", **base))
            continue
        if not uses and item.severity != "OK":
            item.severity = "INFO"  # nothing breaks when it expires
        items.append(item)
    return items


def api_gateway(summary, region: str, make: MakeItem) -> Item:
    """An API Gateway certificate from its list summary, which carries its names and expiry."""
    base = dict(name=summary.display_name, region=region, source="api-gateway", id=summary.id,
                compartment_id=summary.compartment_id, names=tuple(summary.subject_names or ()),
                detail="API Gateway certificate")
    return make(base, None, summary.time_not_valid_after)


def endpoint(host: str, port: int, timeout: float, make: MakeItem) -> Item:
    """What `host:port` serves, read by a TLS handshake that accepts any certificate (an expired or
    untrusted one is what the digest must show)."""
    base = dict(name=f"{host}:{port}", region="-", source="endpoint", id=f"{host}:{port}",
                detail=f"served at {host}:{port}")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    try:
        with socket.create_connection((host, port), timeout=timeout) as raw:
            with context.wrap_socket(raw, server_hostname=None if _is_address(host) else host) as tls:  # SNI: names
                der = tls.getpeercert(binary_form=True)
    except (OSError, ssl.SSLError) as exc:
        return Item("UNKNOWN", reason=f"no TLS handshake ({type(exc).__name__}: {exc})", **base)
    return make(base, pki.info(x509.load_der_x509_certificate(der)))


def _is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def vault_certificate(config: Config, store: VaultStore, region: str, make: MakeItem,
                      warnings: list[str]) -> list[Item]:
    """certmgr's own certificate, as the renewer of this prefix keeps it in Vault."""
    name, vault_id = config.secret_names["certificate"], config.vault_id
    base = dict(name=name, region=region, source="vault", id=None, compartment_id=config.compartment_id,
                deployment=config.name_prefix, detail=f"certmgr's certificate in vault {vault_id}")
    try:
        found = store.read_by_name(name)
    except (VaultError, *API_ERRORS) as exc:
        return [Item("UNKNOWN", reason=f"reading the secret failed: {why(exc)}", **base)]
    if found is None:
        warnings.append(f"vault: no secret {name!r} in vault {vault_id}: certmgr has stored no "
                        f"certificate there yet (or CERTMGR_NAME_PREFIX differs)")
        return []
    pem, base["id"] = found
    try:
        return [make(base, parse(pem, f"secret {name}"))]
    except (CertmgrError, ValueError) as exc:
        return [Item("UNKNOWN", reason=f"its content is not a certificate: {why(exc)}", **base)]
