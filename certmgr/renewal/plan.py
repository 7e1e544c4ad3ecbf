"""Decide what a run does: nothing, issue a new certificate, deploy the stored one to listeners, repair what an
interrupted run left, or hold back an order the CA's recent refusals advise against.

`plan(config, state, now)` is pure: everything it looks at is in its arguments, so every branch is tested
with plain data. `observe` builds the State, `act` carries out the Plan as decided: the listeners to update,
whether the Certificates service must import, and the name of the stored certificate's LB bundle.

When to renew, without ARI: when the certificate is inside the renewal window (CERTMGR_RENEWAL_DAYS before
expiry). A certificate that lives no longer than that window (a short-lived profile) would be due the
moment it is issued, so for those certmgr renews when a third of the lifetime remains, or half of it when
the lifetime is under ten days, as certbot and lego do: two more daily runs to retry in before expiry.

After failed orders, runs hold new orders back until `orders_held_until` (the CA's Retry-After, or a backoff
that grows with each consecutive failure), so an unattended schedule never hammers a CA's rate limits.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace

from ..pki import CertInfo
from ..settings.config import Config
from .target import Bundles, ServiceCertificate, target_for

NOTHING, ISSUE, DEPLOY, REPAIR, BACKOFF = "nothing", "issue", "deploy", "repair", "backoff"
SHORT_LIVED_FRACTION = 1 / 3           # of the lifetime left when a short-lived certificate is renewed
VERY_SHORT_LIFETIME = dt.timedelta(days=10)
VERY_SHORT_FRACTION = 1 / 2


@dataclass(frozen=True)
class ListenerState:
    """One listener certmgr manages, and what it serves now."""

    name: str
    certificate_name: str | None = None   # the LB certificate (or Certificates-service certificate) it names
    serial: str | None = None             # that certificate's serial (hex), when known
    certificate_id: str | None = None     # the Certificates-service certificate it references by OCID
    owner: str | None = None              # the certmgr deployment (CERTMGR_NAME_PREFIX) whose certificate it is


@dataclass(frozen=True)
class State:
    """What observe found. `listeners` are the ones certmgr manages (CERTMGR_LB_LISTENERS already applied)."""

    certificate: CertInfo | None = None       # the leaf in Vault; None when absent or unreadable
    certificate_problem: str | None = None    # why the stored certificate cannot be used, when it cannot
    chain: tuple[CertInfo, ...] = ()          # the issuers stored with it, the leaf's issuer first
    key_matches: bool | None = None           # the stored key is the certificate's own; None = no key stored
    listeners: tuple[ListenerState, ...] = ()
    ari_window: tuple[dt.datetime, dt.datetime] | None = None  # the CA's suggested renewal window (RFC 9773)
    set_is_current: bool = True               # Vault's CURRENT key and chain are the certificate's own
    leftover_txt: tuple[str, ...] = ()        # names where an interrupted run may have left TXT values
    orphans: tuple[str, ...] = ()             # this deployment's LB certificates that no listener uses (the
                                              # stored certificate's own among them: plan keeps that one)
    service_id: str | None = None             # CERTMGR_CERTIFICATE_NAME's certificate (the newest successor)
    service_serial: str | None = None         # its CURRENT version's serial (hex)
    retired: tuple[str, ...] = ()             # replaced Certificates-service certificates no listener uses
    orders_held_until: dt.datetime | None = None  # no new order before this: the CA refused recent ones
    failed_orders: int = 0                    # consecutive failed orders
    last_order_error: str = ""
    ca_unreachable: str = ""                  # why the primary CA's directory could not be read, when it could not
    held_by_fallback: bool = False            # the hold comes from the fallback CA's own refusal


@dataclass(frozen=True)
class Plan:
    """What to do and why.

    `triggers` names every reason to issue, as codes: force, missing, unusable, expired, expiring, ari,
    names, key_type, key, chain. `lb_certificate_name` is the stored certificate's name on the LB (kept by any
    clean-up). `renew_at` is when the stored certificate becomes due (the renewal window or the CA's advice,
    whichever is first). `repairs` are what interrupted runs left that this run finishes, one sentence each;
    `orphans` the unused LB bundles it deletes.
    """

    action: str
    reason: str
    triggers: tuple[str, ...] = ()
    listeners_to_update: tuple[str, ...] = ()
    lb_certificate_name: str | None = None
    serial: str | None = None
    not_after: dt.datetime | None = None
    renew_at: dt.datetime | None = None
    repairs: tuple[str, ...] = ()
    orphans: tuple[str, ...] = ()
    urgent: bool = False                      # held back while no certificate will be valid when the hold ends
    hold_warning: str = ""                    # a backoff that leaves a valid certificate: what it holds, till when
    taken: tuple[str, ...] = ()               # listeners another certmgr deployment serves: not taken over
    ca: str = "primary"                       # the CA to order from: primary | fallback
    fallback_reason: str = ""                 # why the fallback, when the plan chose it
    may_fall_back: bool = False               # the order may go to the fallback if the primary fails in this run
    import_to_service: bool = False           # the Certificates service must import it (a new or another one)


def plan(config: Config, state: State, now: dt.datetime, *, force: bool = False,
         target: Bundles | ServiceCertificate | None = None) -> Plan:
    """`_decide`, then held back while the CA's backoff runs, and with what interrupted runs left to repair.
    `force` renews whatever the certificate's state; `target` is the runner's (else chosen from `config`)."""
    decided = _decide(config, state, now, force, target or target_for(config))
    orphans = tuple(name for name in state.orphans if name != decided.lb_certificate_name)
    repairs = _repairs(state, orphans)
    held = state.orders_held_until
    may = bool(config.acme_fallback_directory) and _past_half_its_window(config, state.certificate, now)
    decided = replace(decided, orphans=orphans, taken=_taken(config, state), may_fall_back=may)
    if decided.action == ISSUE and may and held and now < held and not force and not state.held_by_fallback:
        return replace(decided, repairs=repairs, ca="fallback",
                       fallback_reason=f"orders from the primary CA are held back until {_when(held)} after "
                                       f"{state.last_order_error}")
    if decided.action == ISSUE and may and state.ca_unreachable:
        return replace(decided, repairs=repairs, ca="fallback",
                       fallback_reason=f"the primary CA cannot be reached: {state.ca_unreachable}")
    if decided.action == ISSUE and held and now < held and not force:
        orders = "order" if state.failed_orders == 1 else f"{state.failed_orders} orders in a row"
        cert = state.certificate
        urgent = cert is None or cert.not_after <= held
        warning = "" if urgent else (f"a due order is held back until {_when(held)} after the CA's refusal; the "
                                     f"certificate stays valid until {_when(cert.not_after)}")
        return replace(decided, action=BACKOFF, listeners_to_update=(), repairs=repairs, urgent=urgent,
                       hold_warning=warning,
                       reason=f"{decided.reason}; but the last {orders} failed ({state.last_order_error}): no new "
                              f"order before {_when(held)} ({_span(held - now)} from now)"
                              f"{'; no valid certificate is stored for when it ends' if urgent else ''}; "
                              "a forced run orders now")
    if decided.action == NOTHING and repairs:
        return replace(decided, action=REPAIR, repairs=repairs,
                       reason=f"an interrupted run left work: {'; '.join(repairs)}; the certificate is "
                              f"{decided.reason}")
    return replace(decided, repairs=repairs)


def _past_half_its_window(config: Config, cert: CertInfo | None, now: dt.datetime) -> bool:
    """Whether a second CA may issue: no usable certificate, or less than half of its renewal window left."""
    if cert is None:
        return True
    due, _ = renewal_time(cert, config.renewal_days)
    return cert.not_after - now < (cert.not_after - due) / 2


def _taken(config: Config, state: State) -> tuple[str, ...]:
    """Managed listeners that serve another certmgr deployment's certificate, as sentences: two deployments on
    one listener would switch it back and forth."""
    return tuple(f"listener {l.name} serves {l.certificate_name}, the certificate of certmgr deployment {l.owner!r}"
                 for l in state.listeners if l.owner not in (None, config.name_prefix))


def _repairs(state: State, orphans: tuple[str, ...]) -> tuple[str, ...]:
    found = []
    if state.leftover_txt:
        found.append(f"remove the TXT values it presented at {', '.join(state.leftover_txt)}")
    if state.certificate and not state.set_is_current:
        found.append("make the stored certificate's own key and chain CURRENT in Vault")
    if orphans:
        found.append(f"delete the unused LB certificate{'s' if len(orphans) > 1 else ''} {', '.join(orphans)}")
    if state.retired:
        found.append(f"schedule the deletion of the replaced Certificates-service certificate"
                     f"{'s' if len(state.retired) > 1 else ''} {', '.join(state.retired)}")
    return tuple(found)


def _decide(config: Config, state: State, now: dt.datetime, force: bool,
            target: Bundles | ServiceCertificate) -> Plan:
    """Issue if the stored certificate is missing, unusable or due; else deploy it where it is not served."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    listeners = tuple(listener.name for listener in state.listeners)
    forced = [("force", "renewal was forced")] if force else []
    cert = state.certificate
    if cert is None:
        absent = (("unusable", f"the stored certificate cannot be used: {state.certificate_problem}")
                  if state.certificate_problem else ("missing", "no certificate is stored in Vault"))
        return _issue(forced + [absent], listeners, import_to_service=target.imports)

    due, fraction = renewal_time(cert, config.renewal_days)
    renew_at = min(due, state.ari_window[0]) if state.ari_window else due
    common = dict(serial=cert.serial, not_after=cert.not_after, renew_at=renew_at,
                  lb_certificate_name=target.bundle_name(cert))
    found = forced + _triggers(config, state, cert, now, due, fraction)
    if found:
        return _issue(found, listeners, import_to_service=target.imports, **common)

    valid = f"valid until {_when(cert.not_after)} ({_span(cert.not_after - now)})"
    stale, not_held = target.stale(state, cert), target.not_held(state, cert)
    if not_held:
        return Plan(DEPLOY, f"{not_held}, not the stored certificate, {valid}", listeners_to_update=stale,
                    import_to_service=True, **common)
    if stale:
        who = f"listener {stale[0]} does" if len(stale) == 1 else f"listeners {', '.join(stale)} do"
        return Plan(DEPLOY, f"{who} not serve the stored certificate, {valid}", listeners_to_update=stale,
                    **common)
    served = {0: "no listener is managed", 1: "the 1 listener serves it"}.get(
        len(listeners), f"all {len(listeners)} listeners serve it")
    return Plan(NOTHING, f"{valid}, renewal due {_when(renew_at)}; {served}", **common)


def renewal_time(cert: CertInfo, renewal_days: int) -> tuple[dt.datetime, float | None]:
    """When `cert` becomes due for renewal, and the lifetime fraction used (None: the renewal window was)."""
    window = dt.timedelta(days=renewal_days)
    if cert.lifetime > window:
        return cert.not_after - window, None
    fraction = VERY_SHORT_FRACTION if cert.lifetime < VERY_SHORT_LIFETIME else SHORT_LIVED_FRACTION
    return cert.not_after - cert.lifetime * fraction, fraction


def _issue(found: list[tuple[str, str]], listeners: tuple[str, ...], **details) -> Plan:
    return Plan(ISSUE, "; ".join(reason for _, reason in found), tuple(code for code, _ in found),
                listeners_to_update=listeners, **details)


def _triggers(config: Config, state: State, cert: CertInfo, now: dt.datetime, due: dt.datetime,
              fraction: float | None) -> list[tuple[str, str]]:
    """Every reason the stored certificate needs replacing, in order of weight, as (code, sentence)."""
    found = []
    left = cert.not_after - now
    if left <= dt.timedelta(0):
        found.append(("expired", f"the certificate expired {_span(-left)} ago ({_when(cert.not_after)})"))
    elif now >= due and fraction is None:
        found.append(("expiring", f"the certificate expires in {_span(left)} "
                                  f"(renewal window {config.renewal_days} days)"))
    elif now >= due:
        share = "half" if fraction == VERY_SHORT_FRACTION else "a third"
        found.append(("expiring", f"the certificate expires in {_span(left)}, less than {share} of its lifetime "
                                  f"of {_span(cert.lifetime)} (too short for the {config.renewal_days}-day "
                                  f"renewal window)"))
    if state.ari_window and now >= state.ari_window[0] and left > dt.timedelta(0):
        found.append(("ari", f"the CA's suggested renewal window opened {_when(state.ari_window[0])}"))
    missing = [n for n in config.domains if n not in cert.names]
    extra = [n for n in cert.names if n not in config.domains]
    if missing or extra:
        diff = "; ".join(part for part in (missing and f"missing {', '.join(missing)}",
                                           extra and f"not wanted {', '.join(extra)}") if part)
        found.append(("names", f"its names differ from CERTMGR_DOMAIN ({diff})"))
    if cert.key_type != config.key_type:
        found.append(("key_type", f"its key is {cert.key_type or 'of another type'}, CERTMGR_KEY_TYPE asks for "
                                  f"{config.key_type}"))
    if state.key_matches is None:
        found.append(("key", "no private key is stored for it"))
    elif not state.key_matches:
        found.append(("key", "the stored private key does not match it"))
    if not state.chain:
        found.append(("chain", "no issuer chain is stored for it"))
    elif state.chain[0].subject != cert.issuer:
        found.append(("chain", f"the stored chain does not belong to it (issued by {cert.issuer}, chain starts "
                               f"with {state.chain[0].subject})"))
    return found


def _when(moment: dt.datetime) -> str:
    return f"{moment.astimezone(dt.timezone.utc):%Y-%m-%d %H:%M} UTC"


def _span(delta: dt.timedelta) -> str:
    """A duration the way a person says it: the largest whole unit, rounded down."""
    seconds = int(abs(delta).total_seconds())
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            count = seconds // size
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return "less than a minute"
