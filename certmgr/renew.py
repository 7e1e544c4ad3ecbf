"""One renewal run: config -> observe -> plan -> act -> report.

`run()` is what both the Fn handler and the CLI call. Dry run stops after the plan. Whatever fails, the
result says what was done, what was left, and what the next run will do about it.
"""
from __future__ import annotations

import datetime as dt
import logging
import time

from . import certs
from .acme_order import AcmeAccount, Eab, cert_id
from .clients import Clients
from .config import Config
from .dns01 import OciDns, wait_for_propagation, zone_nameservers
from .errors import CertificateError, CertmgrError
from .lock import LockBusy, RunLock
from .lb import LoadBalancer
from .observe import Observed, observe
from .plan import ISSUE, NOTHING, Plan, plan
from .result import Result
from .vault import CertificateVault, VaultStore

log = logging.getLogger("certmgr")

RUN_BUDGET = 280  # seconds: inside Fn's 300 s limit, with room for the TXT cleanup in `finally`
AFTER_PROPAGATION = 90  # seconds kept for validation, finalization, Vault and LB after the DNS wait
MIN_PROPAGATION_WAIT = 10


class Services:
    """The adapters one run uses, built from one set of clients."""

    def __init__(self, config: Config, clients: Clients):
        self.dns = OciDns(clients.dns(), config.dns_zone_id)
        self.vault = CertificateVault(VaultStore(clients.vaults(), clients.secrets(), vault_id=config.vault_id,
                                                 key_id=config.vault_key_id, compartment_id=config.compartment_id),
                                      config.secret_names)
        self.lb = LoadBalancer(clients.load_balancer(), config.lb_id)


def _days_left(not_after: dt.datetime, now: dt.datetime) -> int:
    return (not_after - now).days


class _Run:
    """Carries out one Plan, remembering how far it got so a failure can say what it left."""

    def __init__(self, config: Config, services: Services, result: Result, deadline: float):
        self.config, self.services, self.result, self.deadline = config, services, result, deadline
        self.stored_new = False
        self.txt_in_zone: list = []  # TXT records this run added and has not yet removed

    def present(self, records) -> None:
        self.txt_in_zone = list(records)
        self.services.dns.present(records)

    def cleanup(self, records) -> None:
        self.services.dns.cleanup(records)
        self.txt_in_zone = []

    def account_key(self):
        """(key, store): the ACME account key from Vault, or a new one and the function that stores it.
        A new key is stored once the CA's directory answered (an unreachable CA leaves Vault untouched)
        and *before* it is registered, so a failure after registration can never orphan an account."""
        pem = self.services.vault.read_account_key()
        if pem is not None:
            return certs.load_private_key(pem, what="the ACME account key in Vault"), None
        key = certs.generate_key("ecdsa-p256")

        def store() -> None:
            self.services.vault.write_account_key(certs.key_to_pem(key).encode())
            log.info("created a new ACME account key in Vault")
        return key, store

    def propagation_budget(self) -> float:
        """CERTMGR_PROPAGATION_TIMEOUT, cut short so validation, finalization, storing and deploying still
        fit in the run's budget (Fn stops a function at 300 s, mid-step)."""
        left = self.deadline - time.monotonic() - AFTER_PROPAGATION
        return max(MIN_PROPAGATION_WAIT, min(self.config.propagation_timeout, left))

    def issue(self, observed: Observed):
        config, result = self.config, self.result
        with result.timed("acme_account"):
            eab = Eab(config.acme_eab_kid, config.acme_eab_hmac_key.reveal()) if config.acme_eab_kid else None
            account_key, store_key = self.account_key()
            account = AcmeAccount(config.acme_directory, account_key, email=config.acme_email,
                                  ca_bundle=config.acme_ca_bundle, eab=eab, store_key=store_key)
        key = certs.generate_key(config.key_type)
        csr = certs.make_csr(key, config.domains)
        servers = list(config.dns_nameservers) or zone_nameservers(observed.zone)
        replaces = None
        if observed.state.certificate is not None:
            replaces = cert_id(observed.stored.cert_pem)
        log.info("ordering a certificate for %s", ", ".join(config.domains))
        fullchain = account.issue(
            csr, present=self.present, cleanup=self.cleanup,
            wait=lambda records: wait_for_propagation(records, servers, timeout=self.propagation_budget()),
            deadline=self.deadline, profile=config.acme_profile, replaces=replaces, timings=result.timings)
        chain = certs.parse_chain(fullchain, what="the certificate chain the CA returned")
        if not certs.key_matches(chain[0], key):
            raise CertificateError("certificate: the CA returned a certificate for another key; nothing stored")
        leaf = certs.info(chain[0])
        with result.timed("vault_store"):
            self.services.vault.write_certificate(certs.cert_to_pem(chain[0]).encode(),
                                                  certs.chain_to_pem(chain[1:]).encode(),
                                                  certs.key_to_pem(key).encode(), leaf.serial)
        self.stored_new = True
        result.stored_in_vault = True
        log.info("stored certificate %s (valid until %s) in Vault", leaf.serial, leaf.not_after)
        return leaf, chain, key

    def deploy(self, leaf: certs.CertInfo, cert_pem: str, chain_pem: str, key_pem: str,
               listeners: list) -> None:
        lb, result = self.services.lb, self.result
        name = self.config.lb_certificate_name(leaf.serial, leaf.not_before)
        result.lb_certificate = name
        with result.timed("lb_upload"):
            lb.upload(name, cert_pem, chain_pem, key_pem)
        with result.timed("lb_switch"):
            for listener in listeners:
                lb.switch(listener, name)
                result.listeners.append(listener.name)
                log.info("listener %s now serves %s", listener.name, name)
        with result.timed("lb_cleanup"):
            result.deleted_lb_certificates = lb.delete_unused(self.config.name_prefix, keep=name)

    def act(self, observed: Observed, planned: Plan, now: dt.datetime) -> None:
        result = self.result
        if planned.action == ISSUE:
            leaf, chain, key = self.issue(observed)
            result.serial, result.not_after = leaf.serial, leaf.not_after.isoformat()
            result.days_remaining = _days_left(leaf.not_after, now)
            pems = certs.cert_to_pem(chain[0]), certs.chain_to_pem(chain[1:]), certs.key_to_pem(key)
        else:
            stored = observed.stored
            leaf = certs.info(certs.parse_chain(stored.cert_pem)[0])
            pems = stored.cert_pem.decode(), (stored.chain_pem or b"").decode(), stored.key_pem.decode()
            if not stored.key_is_current and stored.version_name:
                self.services.vault.promote_key(stored.version_name)  # finish an interrupted Vault write
        self.deploy(leaf, *pems, [observed.listeners[n] for n in planned.listeners_to_update])

    def left_behind(self, planned: Plan, pending: list[str]) -> str:
        if self.stored_new:
            return (f"new certificate stored in Vault; listeners {', '.join(pending)} still serve the previous "
                    "one; the next run will deploy it")
        if self.txt_in_zone:
            left = ", ".join(sorted({r.name for r in self.txt_in_zone}))
            return (f"Vault and the load balancer are unchanged; TXT records this run added at {left} may "
                    "remain: remove those values (only them) from the zone")
        if planned.action == ISSUE:
            return "Vault and the load balancer are unchanged; TXT records added by this run were removed"
        return f"Vault unchanged; listeners {', '.join(pending)} still serve their previous certificate; " \
               "the next run will deploy again"


def _decide(config: Config, services: Services, result: Result, now: dt.datetime,
            force: bool) -> tuple[Observed, Plan]:
    with result.timed("observe"):
        observed = observe(config, dns=services.dns, vault=services.vault, lb=services.lb, force=force)
    result.warnings += [w for w in observed.warnings if w not in result.warnings]
    planned = plan(config, observed.state, now)
    result.action, result.reason = planned.action, planned.reason
    if planned.serial:
        result.serial, result.not_after = planned.serial, planned.not_after.isoformat()
        result.days_remaining = _days_left(planned.not_after, now)
    log.info("plan: %s - %s", planned.action, planned.reason)
    return observed, planned


def run(config: Config, *, force: bool = False, dry_run: bool = False, now: dt.datetime | None = None,
        clients: Clients | None = None) -> Result:
    """Observe, plan and (unless dry run) act. Never raises for operational failures: see Result.status."""
    started = time.monotonic()
    result = Result(names=list(config.domains), warnings=list(config.warnings))
    now = now or dt.datetime.now(dt.timezone.utc)
    planned = runner = services = None
    try:
        services = Services(config, clients or Clients.from_config(config))
        observed, planned = _decide(config, services, result, now, force)
        if dry_run or config.dry_run:
            result.status = "dry-run"
            return result
        if planned.action == NOTHING:
            return result
        with RunLock(services.vault.store, f"{config.name_prefix}-lock"):
            # Another run may have acted between the first look and the lock: look again, under it.
            observed, planned = _decide(config, services, result, now, force)
            if planned.action != NOTHING:
                runner = _Run(config, services, result, started + RUN_BUDGET)
                runner.act(observed, planned, now)
    except LockBusy as exc:
        result.status, result.reason = "skipped", exc.message
        log.warning("%s", exc.message)
    except Exception as exc:  # CertmgrError, or a bug / an API reply nobody expected: report, never crash
        known = isinstance(exc, CertmgrError)
        if not known:
            log.exception("run failed unexpectedly")
        result.status = "failed"
        result.error = exc.message if known else f"unexpected {type(exc).__name__}: {exc}"
        pending = [n for n in (planned.listeners_to_update if planned else ()) if n not in result.listeners]
        result.state = (known and exc.state) or (runner.left_behind(planned, pending) if runner
                                                 else "nothing was changed")
        if known and exc.hint:
            result.warnings.append(f"hint: {exc.hint}")
        log.error("run failed: %s", result.error)
    finally:
        if services is not None:
            result.warnings += services.vault.store.warnings  # Vault clean-up that failed, never fatal
        result.timings["total"] = round(time.monotonic() - started, 3)
    return result
