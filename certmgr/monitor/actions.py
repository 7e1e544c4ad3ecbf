"""What to do about each certificate of the digest, one line: for certmgr's own, how its renewer is doing
(the run record it leaves in the metadata of its `<prefix>-lock` secret: failed orders in a row, since when
and the CA's error; or a run that failed later, e.g. at the load balancer, since when and why); for the
others, where to renew and redeploy them."""
from __future__ import annotations

import datetime as dt
import logging

from ..cloud.lock import RunRecord, read_record
from ..cloud.vault import VaultStore
from ..errors import CertmgrError
from .model import API_ERRORS, Item, why

log = logging.getLogger("certmgr.monitor")

ELSEWHERE = {
    "certificates": "imported into the Certificates service: renew it with its issuer and import the new version "
                    "(or let certmgr renew it: CERTMGR_CERTIFICATE_NAME)",
    "load-balancer": "renew it with its issuer, add the new bundle to the load balancer and switch the listeners "
                     "above to it (or let certmgr renew it: CERTMGR_LB_ID)",
    "api-gateway": "renew it with its issuer and update this API Gateway certificate with the new one",
    "endpoint": "find what terminates TLS there (a load balancer, a gateway, a server outside OCI) and renew it there",
    "vault": "renew it with its issuer and store the new one",
}


def records(store: VaultStore | None, deployments: set[str], warnings: list[str]) -> dict[str, RunRecord | None]:
    """Each deployment's run record, read from its lock secret (None: no vault to read it from, or unreadable)."""
    found: dict[str, RunRecord | None] = {}
    for deployment in sorted(deployments):
        found[deployment] = None
        if store is None:
            continue
        try:
            found[deployment] = read_record(store, f"{deployment}-lock")
        except (CertmgrError, *API_ERRORS) as exc:
            warnings.append(f"vault: the run record of certmgr deployment {deployment} cannot be read ({why(exc)})")
    return found


def action(item: Item, record: RunRecord | None) -> str | None:
    """One line: what a person should do about `item` (None for a certificate that needs nothing)."""
    if item.severity == "OK":
        return None
    if item.severity == "INFO":
        return "nothing is served with it: delete it from the load balancer, or ignore it"
    if item.severity == "UNKNOWN":
        return "see why it could not be checked; the next run tries again"
    if not item.deployment:
        return ELSEWHERE[item.source]
    who = f"certmgr deployment {item.deployment}"
    if record is not None and record.failures:
        since = dt.datetime.fromtimestamp(record.failing_since or record.retry_at, dt.timezone.utc)
        return (f"{who} renews it, and its renewer is failing since {since:%Y-%m-%d %H:%M} UTC "
                f"({record.failures} failed order{'s' if record.failures > 1 else ''} in a row): "
                f"{record.last_error or 'no error recorded'}")
    if record is not None and record.run_error:
        since = dt.datetime.fromtimestamp(record.run_failed_at, dt.timezone.utc)
        return f"{who} renews it, and its runs are failing since {since:%Y-%m-%d %H:%M} UTC: {record.run_error}"
    if item.severity in ("CRITICAL", "EXPIRED"):
        return (f"{who} should have renewed it by now and has recorded no failed order: check that its schedule "
                f"runs (its renewal_success metric) and run `python -m certmgr check` with its settings")
    return f"{who} renews it before it expires: nothing to do while its runs succeed"


def annotate(items: list[Item], store: VaultStore | None, warnings: list[str]) -> None:
    """Set every item's action, reading the run records of the deployments among those that need one."""
    found = records(store, {i.deployment for i in items if i.deployment and i.severity not in ("OK", "INFO")},
                    warnings)
    for item in items:
        item.action = action(item, found.get(item.deployment) if item.deployment else None)
