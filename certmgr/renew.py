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
from .lb import LoadBalancer
from .observe import Observed, observe
from .plan import ISSUE, NOTHING, Plan, plan
from .result import Result
from .vault import CertificateVault, VaultStore

log = logging.getLogger("certmgr")

RUN_BUDGET = 280  # seconds: inside Fn's 300 s limit, with room for the TXT cleanup in `finally`


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
        """The ACME account key from Vault; a new one is stored *before* it is registered, so a failure
        after registration can never orphan an account."""
        pem = self.services.vault.read_account_key()
        if pem is not None:
            return certs.load_private_key(pem, what="the ACME account key in Vault")
        key = certs.generate_key("ecdsa-p256")
        self.services.vault.write_account_key(certs.key_to_pem(key).encode())
        log.info("created a new ACME account key in Vault")
        return key

    def issue(self, observed: Observed):
        config, result = self.config, self.result
        with result.timed("acme_account"):
            eab = Eab(config.acme_eab_kid, config.acme_eab_hmac_key.reveal()) if config.acme_eab_kid else None
            account = AcmeAccount(config.acme_directory, self.account_key(), email=config.acme_email,
                                  ca_bundle=config.acme_ca_bundle, eab=eab)
        key = certs.generate_key(config.key_type)
        csr = certs.make_csr(key, config.domains)
        servers = list(config.dns_nameservers) or zone_nameservers(observed.zone)
        replaces = None
        if observed.state.certificate is not None:
            replaces = cert_id(observed.stored.cert_pem)
        log.info("ordering a certificate for %s", ", ".join(config.domains))
        fullchain = account.issue(
            csr, present=self.present, cleanup=self.cleanup,
            wait=lambda records: wait_for_propagation(records, servers, timeout=config.propagation_timeout),
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

    def left_behind(self, planned: Plan, pending: list[str]) -> str:
        if self.stored_new:
            return (f"new certificate stored in Vault; listeners {', '.join(pending)} still serve the previous "
                    "one; the next run will deploy it")
        if self.txt_in_zone:
            left = ", ".join(sorted({r.name for r in self.txt_in_zone}))
            return (f"Vault and the load balancer are unchanged; TXT records this run added at {left} could not "
                    "be removed: remove those values (only them) from the zone")
        if planned.action == ISSUE:
            return "Vault and the load balancer are unchanged; TXT records added by this run were removed"
        return f"Vault unchanged; listeners {', '.join(pending)} still serve their previous certificate; " \
               "the next run will deploy again"


def run(config: Config, *, force: bool = False, dry_run: bool = False, now: dt.datetime | None = None,
        clients: Clients | None = None) -> Result:
    """Observe, plan and (unless dry run) act. Never raises for operational failures: see Result.status."""
    started = time.monotonic()
    result = Result(names=list(config.domains), warnings=list(config.warnings))
    now = now or dt.datetime.now(dt.timezone.utc)
    planned = None
    runner = None
    try:
        with result.timed("observe"):
            clients = clients or Clients.from_config(config)
            services = Services(config, clients)
            observed = observe(config, dns=services.dns, vault=services.vault, lb=services.lb, force=force)
        result.warnings += observed.warnings
        planned = plan(config, observed.state, now)
        result.action, result.reason = planned.action, planned.reason
        if planned.serial:
            result.serial, result.not_after = planned.serial, planned.not_after.isoformat()
            result.days_remaining = _days_left(planned.not_after, now)
        log.info("plan: %s - %s", planned.action, planned.reason)
        if dry_run or config.dry_run:
            result.status = "dry-run"
            return result
        if planned.action == NOTHING:
            return result
        runner = _Run(config, services, result, started + RUN_BUDGET)
        if planned.action == ISSUE:
            leaf, chain, key = runner.issue(observed)
            result.serial, result.not_after = leaf.serial, leaf.not_after.isoformat()
            result.days_remaining = _days_left(leaf.not_after, now)
            cert_pem, chain_pem, key_pem = (certs.cert_to_pem(chain[0]), certs.chain_to_pem(chain[1:]),
                                            certs.key_to_pem(key))
        else:
            stored = observed.stored
            chain = certs.parse_chain(stored.cert_pem + b"\n" + (stored.chain_pem or b""))
            leaf = certs.info(chain[0])
            cert_pem, chain_pem, key_pem = (stored.cert_pem.decode(), (stored.chain_pem or b"").decode(),
                                            stored.key_pem.decode())
            if not stored.key_is_current and stored.version_name:
                services.vault.promote_key(stored.version_name)
        listeners = [observed.listeners[n] for n in planned.listeners_to_update]
        runner.deploy(leaf, cert_pem, chain_pem, key_pem, listeners)
    except CertmgrError as exc:
        result.status, result.error = "failed", exc.message
        pending = [n for n in (planned.listeners_to_update if planned else ()) if n not in result.listeners]
        result.state = exc.state or (runner.left_behind(planned, pending) if runner else
                                     "nothing was changed")
        if exc.hint:
            result.warnings.append(f"hint: {exc.hint}")
        log.error("run failed: %s", exc.message)
    except Exception as exc:  # a bug or an API reply nobody expected: still report, never crash the run
        log.exception("run failed unexpectedly")
        result.status, result.error = "failed", f"unexpected {type(exc).__name__}: {exc}"
        pending = [n for n in (planned.listeners_to_update if planned else ()) if n not in result.listeners]
        result.state = runner.left_behind(planned, pending) if runner else "nothing was changed"
    finally:
        result.timings["total"] = round(time.monotonic() - started, 3)
    return result
