"""Observe: read what is (Vault, the LB's listeners, the zone, the CA's renewal advice) and change nothing."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import oci

from . import certs
from .acme_order import ari_window
from .config import Config, names_outside_zone
from .dns01 import OciDns
from .errors import AcmeError, CertificateError, ConfigError, Problem
from .lb import LoadBalancer, select_listeners
from .plan import ListenerState, State
from .vault import CertificateVault, StoredCertificate


@dataclass
class Observed:
    """The State that `plan` decides on, plus what `act` needs to carry the plan out."""

    state: State
    stored: StoredCertificate | None
    zone: oci.dns.models.Zone
    listeners: dict[str, oci.load_balancer.models.Listener]
    warnings: list[str] = field(default_factory=list)


def _certificate_state(stored: StoredCertificate | None) -> dict:
    if stored is None:
        return {}
    try:
        chain = certs.parse_chain(stored.cert_pem + b"\n" + (stored.chain_pem or b""),
                                  what="the certificate and chain in Vault")
    except CertificateError as exc:
        return {"certificate_problem": exc.message}
    leaf = chain[0]
    key_matches = None
    if stored.key_pem is not None:
        try:
            key_matches = certs.key_matches(leaf, certs.load_private_key(stored.key_pem))
        except CertificateError:
            key_matches = False
    return {"certificate": certs.info(leaf), "chain": tuple(certs.info(c) for c in chain[1:]),
            "key_matches": key_matches}


def _listener_states(lb: LoadBalancer, listeners) -> tuple[ListenerState, ...]:
    serials = {}
    for name, cert in lb.certificates().items():
        try:
            serials[name] = certs.serial_hex(certs.parse_chain(cert.public_certificate)[0])
        except CertificateError:
            serials[name] = None  # a certificate certmgr cannot read is not one it deployed
    return tuple(ListenerState(l.name, l.ssl_configuration.certificate_name,
                               serials.get(l.ssl_configuration.certificate_name)) for l in listeners)


def observe(config: Config, *, dns: OciDns, vault: CertificateVault, lb: LoadBalancer,
            force: bool = False) -> Observed:
    zone = dns.zone()
    outside = names_outside_zone(config.domains, zone.name)
    if outside:
        raise ConfigError([Problem("CERTMGR_DOMAIN", f"{', '.join(outside)} not in zone {zone.name} "
                                   f"({config.dns_zone_id})", "list only names inside the zone, or point "
                                   "CERTMGR_DNS_ZONE_ID at the zone that holds them")])
    listeners = select_listeners(lb.get(), config.lb_listeners)
    stored = vault.read_certificate()
    found = _certificate_state(stored)
    warnings = []
    window = None
    if "certificate" in found:
        try:
            window = ari_window(config.acme_directory, stored.cert_pem, ca_bundle=config.acme_ca_bundle)
        except (AcmeError, ValueError) as exc:  # advice only: the renewal window still decides
            warnings.append(f"no renewal advice (ARI) from the CA: {exc}")
    state = State(listeners=_listener_states(lb, listeners), ari_window=window, force=force, **found)
    return Observed(state, stored, zone, {l.name: l for l in listeners}, warnings)
