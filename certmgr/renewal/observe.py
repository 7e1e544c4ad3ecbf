"""Observe: read what is (Vault, the LB's listeners, the CA's renewal advice, what earlier runs left in the run
lock's record) and change nothing. The zones are read by a run that orders (runner), not here: a run with
nothing to order needs no DNS."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import oci.load_balancer
from cryptography import x509

from .. import pki
from ..ca.directory import ari_window, caa_identities, profiles, read_directory
from ..cloud.certificates import DEPLOYMENT_TAG, CertificatesService, ServiceCertificate, generation
from ..settings.config import Config
from ..cloud.clients import together
from ..errors import AcmeError, CertificateError, ConfigError, Problem
from ..cloud.load_balancer import LoadBalancer, select_listeners, unused
from ..cloud.lock import RunRecord, read_record
from .plan import ListenerState, State
from ..cloud.certificate_set import CertificateVault, StoredCertificate
from ..timing import Policy


@dataclass
class Observed:
    """The State that `plan` decides on, plus what `act` needs to carry the plan out."""

    state: State
    stored: StoredCertificate | None
    listeners: dict[str, oci.load_balancer.models.Listener]
    warnings: list[str] = field(default_factory=list)
    ca_problem: AcmeError | None = None  # the CA's directory could not be read: a run must not order
    service: ServiceCertificate | None = None  # the Certificates-service certificate listeners should reference
    caa_identities: tuple[str, ...] = ()  # the CA's domains for CAA (its directory's meta.caaIdentities)
    retired: tuple[ServiceCertificate, ...] = ()  # replaced ones that no managed listener references


def _certificate_state(stored: StoredCertificate | None) -> dict:
    if stored is None:
        return {}
    try:
        chain = pki.parse_chain(stored.cert_pem + b"\n" + (stored.chain_pem or b""),
                                  what="the certificate and chain in Vault")
    except CertificateError as exc:
        return {"certificate_problem": exc.message}
    leaf = chain[0]
    key_matches = None
    if stored.key_pem is not None:
        try:
            key_matches = pki.key_matches(leaf, pki.load_private_key(stored.key_pem))
        except CertificateError:
            key_matches = False
    return {"certificate": pki.info(leaf), "chain": tuple(pki.info(c) for c in chain[1:]),
            "key_matches": key_matches}


def _listener_states(config: Config, bundles: dict, listeners, owned: list[ServiceCertificate],
                     others: dict[str, tuple[str, str]]) -> tuple[ListenerState, ...]:
    """What each listener serves: an LB bundle by name, or a Certificates-service certificate by OCID (its
    CURRENT version, when it is one of certmgr's; another's serial is not read); and which certmgr deployment
    that certificate is, when it is one's (a bundle by its name, a service certificate by its tag)."""
    serials = {}
    for name, cert in bundles.items():
        try:
            serials[name] = pki.serial_hex(pki.parse_chain(cert.public_certificate)[0])
        except CertificateError:
            serials[name] = None  # a certificate certmgr cannot read is not one it deployed
    by_id = {c.id: c for c in owned}
    states = []
    for l in listeners:
        ssl = l.ssl_configuration
        if ssl.certificate_ids:
            ref = ssl.certificate_ids[0]
            mine = by_id.get(ref)
            name, owner = (mine.name, config.name_prefix) if mine else others.get(ref, (ref, None))
            states.append(ListenerState(l.name, name, mine.serial if mine else None, ref, owner))
        else:
            states.append(ListenerState(l.name, ssl.certificate_name, serials.get(ssl.certificate_name),
                                        owner=config.lb_certificate_deployment(ssl.certificate_name)))
    return tuple(states)


def _refuse_another_deployments_name(config: Config, others: dict[str, tuple[str, str]]) -> None:
    """CERTMGR_CERTIFICATE_NAME must not name another deployment's certificate: two deployments would import
    into it by turns."""
    for name, owner in others.values():
        if generation(config.certificate_name, name) is not None:
            raise ConfigError([Problem(
                "CERTMGR_CERTIFICATE_NAME", f"{name} in compartment {config.compartment_id} is the certificate of "
                f"certmgr deployment {owner!r} (its freeform tag {DEPLOYMENT_TAG}); deployment "
                f"{config.name_prefix!r} does not take it over",
                f"give this deployment a name of its own; to hand {name} over on purpose, stop deployment "
                f"{owner!r} and set the certificate's tag {DEPLOYMENT_TAG} to {config.name_prefix!r}")])


def _record_state(record: RunRecord, config: Config) -> dict:
    """What earlier runs left. A backoff holds only the order that was refused: after a change to what was
    ordered (the CA that refused, its account binding, names, contact, profile), the next order goes out at
    once. (A record from before the key was kept holds as it did.)"""
    keys = {ca.role: config.order_key(ca) for ca in config.cas}
    same = record.refused_for in ("", *keys.values())
    held = (dt.datetime.fromtimestamp(record.retry_at, dt.timezone.utc) if record.retry_at and same else None)
    return {"leftover_txt": tuple(sorted({name for name, _ in record.txt})), "orders_held_until": held,
            "failed_orders": record.failures, "last_order_error": record.last_error,
            "held_by_fallback": bool(held) and record.refused_for == keys.get("fallback")}


def _directory(config: Config, policy: Policy) -> tuple[dict | None, AcmeError | None]:
    """The CA's directory, or why it cannot be read (a run that must order stops on it; others go on)."""
    try:
        return read_directory(config.acme_directory, ca_bundle=config.acme_ca_bundle, timeout=policy.ca_timeout), None
    except AcmeError as exc:
        return None, exc


def _no_service() -> tuple[list, dict]:
    return [], {}


def _cloud(config: Config, vault: CertificateVault, lb: LoadBalancer, service: CertificatesService | None):
    """The run record first, then the rest at once. First: a run that takes the lease compares the record with
    this look (cloud/lock.py), and only a look that began after the record was read can be trusted when the
    record has not moved since; another run's last change comes before its release."""
    record = read_record(vault.store, config.lock_name)
    return (record, *together(lb.get, vault.read_certificate, service.listing if service else _no_service))


def observe(config: Config, *, vault: CertificateVault, lb: LoadBalancer,
            service: CertificatesService | None = None, now: dt.datetime, policy: Policy) -> Observed:
    # The reads run at once where they do not depend on one another (at a real region's latency each call
    # costs tens of milliseconds); their errors are raised in order, as when they ran one after another.
    (record, balancer, stored, (owned, others)), (directory, ca_problem) = together(
        lambda: _cloud(config, vault, lb, service), lambda: _directory(config, policy))
    _refuse_another_deployments_name(config, others)
    listeners = select_listeners(balancer, config.lb_listeners)
    # GetLoadBalancer carries the LB's certificate bundles (`LoadBalancer.certificates`, a map by name, in the
    # SDK model and the API reference): no ListCertificates needed to read what listeners serve.
    bundles = balancer.certificates or {}
    target = owned[-1] if owned else None
    referenced = {l.ssl_configuration.certificate_ids[0] for l in (balancer.listeners or {}).values()
                  if l.ssl_configuration and l.ssl_configuration.certificate_ids}
    retired = tuple(c for c in owned[:-1] if c.id not in referenced)
    found = _certificate_state(stored)
    warnings = []
    window = None
    if ca_problem and "certificate" in found:
        warnings.append(f"no renewal advice (ARI) from the CA: {ca_problem}")
    if directory is not None and config.acme_profile and config.acme_profile not in profiles(directory):
        offered = ", ".join(profiles(directory))
        raise ConfigError([Problem("CERTMGR_ACME_PROFILE", f"{config.acme_profile!r} is not a profile the CA at "
                                   f"{config.acme_directory} offers ({'it offers ' + offered if offered else 'it offers no profiles'})",
                                   f"set one it offers{' (' + offered + ')' if offered else ''}, or leave it "
                                   "empty for the CA's default")])
    if directory is not None and "certificate" in found and found["certificate"].not_after > now:
        try:  # no advice is asked for an expired certificate
            window = ari_window(directory, stored.cert_pem, ca_bundle=config.acme_ca_bundle,
                                timeout=policy.ca_timeout)
        except (AcmeError, ValueError, x509.ExtensionNotFound) as exc:  # advice only: the window still decides
            warnings.append(f"no renewal advice (ARI) from the CA: {exc}")
    state = State(listeners=_listener_states(config, bundles, listeners, owned, others), ari_window=window,
                  set_is_current=stored.set_is_current if stored else True,
                  orphans=tuple(unused(balancer, bundles, config.owns_lb_certificate)),
                  service_id=target and target.id, service_serial=target and target.serial,
                  retired=tuple(c.name for c in retired), ca_unreachable=ca_problem.message if ca_problem else "",
                  **_record_state(record, config), **found)
    identities = caa_identities(directory)
    return Observed(state, stored, {l.name: l for l in listeners}, warnings, ca_problem, service=target,
                    retired=retired, caa_identities=identities)
