"""One renewal run: config -> observe -> plan -> act -> report.

`run()` is what both the Fn handler and the CLI call. Dry run stops after the plan. Whatever fails, the
result says what was done, what was left, and what the next run will do about it. One deadline
(CERTMGR_RUN_BUDGET) bounds every wait of the run, retries included; the Policy says how the run waits.
"""
from __future__ import annotations

import datetime as dt
import logging
import time

from cryptography import x509

from . import certs
from .ari import cert_id
from .certservice import CertificatesService, ServiceCertificate, successor_name
from .clients import Clients
from .config import Config
from .dns01 import TxtRecord, Zones, challenge_name
from .errors import (AcmeError, BudgetSpent, CertificateError, CertmgrError, LoadBalancerError,
                     PropagationTimeout, ServiceCertificateError, UsagesMismatch, WorkRequestPending)
from .lock import LockBusy, LockLost, RunLock
from .lb import LoadBalancer
from .observe import Observed, observe
from .plan import BACKOFF, DEPLOY, ISSUE, NOTHING, Plan, plan
from .policy import DEFAULT, Deadline, Policy
from .result import Result
from .vault import CertificateVault, VaultStore

log = logging.getLogger("certmgr")


class Services:
    """The adapters one run uses, built from one set of clients, waiting by one policy and deadline."""

    def __init__(self, config: Config, clients: Clients, policy: Policy = DEFAULT, deadline: Deadline | None = None):
        self.dns = Zones(clients.dns(), config.dns_zone_ids)
        self.vault = CertificateVault(VaultStore(clients.vaults(), clients.secrets(), vault_id=config.vault_id,
                                                 key_id=config.vault_key_id, compartment_id=config.compartment_id),
                                      config.secret_names)
        self.lb = LoadBalancer(clients.load_balancer(), config.lb_id, policy=policy, deadline=deadline)
        self.certificates = CertificatesService(
            clients.certificates_management(), config.compartment_id, config.certificate_name, policy=policy,
            deadline=deadline) if config.certificate_name else None


def _days_left(not_after: dt.datetime, now: dt.datetime) -> int:
    return (not_after - now).days


class _Run:
    """Carries out one Plan, remembering how far it got so a failure can say what it left."""

    def __init__(self, config: Config, services: Services, result: Result, policy: Policy, deadline: Deadline,
                 lock: RunLock):
        self.config, self.services, self.result = config, services, result
        self.policy, self.deadline, self.lock = policy, deadline, lock
        self.stored_new = self.presented = False
        self.txt_in_zone: list = []  # TXT records this run added and has not yet removed
        self.in_flight: WorkRequestPending | None = None  # an LB change OCI had not finished at the deadline
        self.importing: str | None = None  # the Certificates-service certificate asked to take the new one
        self.imported = False                # ... and it holds it as CURRENT
        self.unswitched: list[str] = []      # listeners that do not reference it yet

    def present(self, records) -> None:
        """Record the values in the lock first: if this run dies now, the next one removes exactly them.
        Each value goes where its challenge name leads (a CNAME's target)."""
        records = self.services.dns.routed(records)
        self.lock.note(txt=tuple((r.name, r.value) for r in records))
        self.txt_in_zone, self.presented = list(records), True
        self.services.dns.present(records)

    def cleanup(self, records) -> None:
        self.services.dns.cleanup(self.services.dns.routed(records))
        self.txt_in_zone = []
        try:
            self.lock.note(txt=())
        except LockLost:
            raise
        except CertmgrError as exc:  # the values are gone; the next run's removal of them is harmless
            log.warning("%s", exc)

    def ensure_time(self, step: str, seconds: float) -> None:
        if not self.deadline.allows(seconds):
            raise BudgetSpent(f"run: {self.deadline.left():.0f}s of the run's budget left, too little to {step}",
                              hint="raise CERTMGR_RUN_BUDGET (keep it 20 s below the function's timeout), or see "
                                   "in `timings` which step took the time")

    def remove_leftover_txt(self) -> None:
        """Take out the TXT values an interrupted run recorded (the record, read under the lock, is exact)."""
        pairs = self.lock.record.txt
        if pairs:
            skipped = self.services.dns.cleanup([TxtRecord(name, value) for name, value in pairs])
            self.lock.note(txt=())
            names = ", ".join(sorted({name for name, _ in pairs} - {r.name for r in skipped}))
            if names:
                self.result.repaired.append(f"removed the TXT values an interrupted run left at {names}")
            if skipped:
                self.result.warnings.append(
                    f"TXT values an interrupted run left at {', '.join(sorted({r.name for r in skipped}))} are in "
                    "no zone of CERTMGR_DNS_ZONE_ID any more: remove those values by hand")

    def hold_orders(self, exc: CertmgrError) -> None:
        """Remember the failed order so that the next runs wait (longer after each failure in a row)."""
        record = self.lock.record
        asked = (exc.retry_after - dt.datetime.now(dt.timezone.utc)).total_seconds() \
            if isinstance(exc, AcmeError) and exc.retry_after else None
        failures = record.failures + 1
        until = self.policy.wall_clock() + self.policy.acme_wait(failures, asked)
        try:
            self.lock.note(failures=failures, retry_at=until, last_error=exc.message)
        except CertmgrError as error:  # the order's failure is the one to report
            log.warning("could not record the failed order: %s", error)
            return
        when = dt.datetime.fromtimestamp(until, dt.timezone.utc)
        self.result.warnings.append(f"no new order before {when:%Y-%m-%d %H:%M} UTC ({failures} failed in a row); "
                                    "a forced run orders now")

    def account_key(self):
        """(key, store): the ACME account key from Vault, or a new one and the function that stores it.
        A new key is stored once the CA's directory answered (an unreachable CA leaves Vault untouched)
        and *before* it is registered, so a failure after registration can never orphan an account."""
        pem = self.services.vault.read_account_key()
        if pem is not None:
            try:
                return certs.load_private_key(pem, what="the ACME account key in Vault"), None
            except CertificateError as exc:  # never stuck on it: a new key is a new account, nothing more
                self.result.warnings.append(
                    f"{exc.message}: secret {self.config.secret_names['account_key']!r} gets a new key and a new "
                    "ACME account is registered (the unusable version stays in the secret's history)")
        key = certs.generate_key("ecdsa-p256")

        def store() -> None:
            self.services.vault.write_account_key(certs.key_to_pem(key).encode())
            log.info("created a new ACME account key in Vault")
        return key, store

    def propagation_budget(self) -> float:
        """CERTMGR_PROPAGATION_TIMEOUT, cut short so validation, finalization, storing and deploying still
        fit in the run's budget (Fn stops a function at 300 s, mid-step)."""
        left = self.deadline.left() - self.policy.after_propagation
        return max(self.policy.min_propagation_wait, min(self.config.propagation_timeout, left))

    def issue(self, observed: Observed):
        self.ensure_time("order a certificate", self.policy.min_propagation_wait + self.policy.after_propagation)
        self.services.vault.check_room()  # a certificate Vault cannot take is an order wasted
        try:
            fullchain, key = self.order(observed)
        except (AcmeError, PropagationTimeout) as exc:  # the CA refused, or its validation would fail: back off
            self.hold_orders(exc)
            raise
        self.lock.note(failures=0, retry_at=0.0, last_error="")  # also: the lease is still ours, before Vault
        return self.store(fullchain, key)

    def order(self, observed: Observed):
        # Imported here: the ACME client and dnspython are only needed by a run that orders.
        from .acme_order import AcmeAccount, Eab
        from .propagation import wait_for_propagation, zone_nameservers
        config, result = self.config, self.result
        with result.timed("acme_account"):
            eab = Eab(config.acme_eab_kid, config.acme_eab_hmac_key.reveal()) if config.acme_eab_kid else None
            account_key, store_key = self.account_key()
            account = AcmeAccount(config.acme_directory, account_key, email=config.acme_email,
                                  ca_bundle=config.acme_ca_bundle, eab=eab, store_key=store_key, policy=self.policy)
        key = certs.generate_key(config.key_type)
        csr = certs.make_csr(key, config.domains)
        dns = self.services.dns

        def wait(records) -> None:
            """Each zone's values on that zone's nameservers (or CERTMGR_DNS_NAMESERVERS)."""
            by_zone: dict[str, list] = {}
            for record in dns.routed(records):
                by_zone.setdefault(dns.zone_of(record.name), []).append(record)
            for zone, group in by_zone.items():
                servers = list(config.dns_nameservers) or zone_nameservers(dns.models[zone])
                wait_for_propagation(group, servers, timeout=self.propagation_budget(), interval=self.policy.dns_poll,
                                     clock=self.policy.clock, sleep=self.policy.sleep)
        replaces = None
        if observed.state.certificate is not None:
            try:
                replaces = cert_id(observed.stored.cert_pem)
            except (ValueError, x509.ExtensionNotFound):  # no authority key id: nothing the CA can match
                replaces = None
        log.info("ordering a certificate for %s", ", ".join(config.domains))
        try:
            fullchain = account.issue(
                csr, present=self.present, cleanup=self.cleanup, wait=wait,
                # validation and finalization leave part of the reserve for storing and deploying
                deadline=time.monotonic() + self.deadline.left() - self.policy.after_propagation / 2,
                profile=config.acme_profile, replaces=replaces,
                timings=result.timings)
        finally:
            result.warnings += account.warnings
        return fullchain, key

    def store(self, fullchain: str, key):
        result = self.result
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

    def deploy_to_service(self, leaf: certs.CertInfo, pems: tuple[str, str, str], observed: Observed) -> None:
        """Import into the Certificates service (a new CURRENT version, or a successor certificate when OCI
        refuses the version), then point at it every managed listener that references anything else."""
        service, result = self.services.certificates, self.result
        target, replaced = observed.service, list(observed.retired)
        self.lock.note()  # the lease is still ours: no other run is deploying
        with result.timed("certificates_import"):
            if target is None:
                self.importing = self.config.certificate_name
                target = service.create(self.config.certificate_name, *pems, version_name=leaf.serial)
            elif not certs.same_serial(target.serial, leaf.serial):
                self.importing = target.name
                try:
                    number = service.add_version(target, *pems, version_name=leaf.serial)
                    target = ServiceCertificate(target.id, target.name, target.generation, leaf.serial, number)
                except UsagesMismatch as exc:
                    self.importing = successor_name(self.config.certificate_name, target)
                    old, target = target, service.create(self.importing, *pems, version_name=leaf.serial)
                    replaced.append(old)
                    result.warnings.append(f"{exc.message}: created {target.name} with the new certificate and pointed "
                                           f"the listeners at it; {old.name} is scheduled for deletion once unused")
        self.importing, self.imported = target.name, True
        result.service_certificate, result.lb_certificate = target.name, target.id
        self.unswitched = [name for name, listener in observed.listeners.items()
                           if (listener.ssl_configuration.certificate_ids or [None])[0] != target.id]
        self.lock.note()  # and again before the listeners change
        with result.timed("lb_switch"):
            for name in list(self.unswitched):
                self.services.lb.switch(observed.listeners[name], certificate_id=target.id)
                self.unswitched.remove(name)
                result.listeners.append(name)
                log.info("listener %s now references %s (%s)", name, target.name, target.id)
        self.tidy_service(target, replaced)
        self.delete_unused(keep=None)  # LB bundles from before the Certificates-service target
        if self.config.verify_endpoints:
            self.verify(leaf.serial)

    def tidy_service(self, target: ServiceCertificate, replaced: list[ServiceCertificate]) -> None:
        """Housekeeping once the listeners are safe: old DEPRECATED versions, replaced certificates. A failure
        is a warning; the next run tries again."""
        with self.result.timed("certificates_cleanup"):
            try:
                self.result.retired += [f"{target.name} version {n}" for n in self.services.certificates.prune(target)]
            except ServiceCertificateError as exc:
                self.result.warnings.append(f"{exc.message}; the next run tries again")
            for old in replaced:
                try:
                    self.services.certificates.retire(old)
                    self.result.retired.append(old.name)
                except ServiceCertificateError as exc:
                    self.result.warnings.append(f"{exc.message}; it stays until nothing uses it")

    def deploy(self, leaf: certs.CertInfo, cert_pem: str, chain_pem: str, key_pem: str,
               listeners: list) -> None:
        lb, result = self.services.lb, self.result
        name = self.config.lb_certificate_name(leaf.serial, leaf.not_before)
        result.lb_certificate = name
        self.lock.note()  # the lease is still ours: no other run is deploying
        with result.timed("lb_upload"):
            lb.upload(name, cert_pem, chain_pem, key_pem)
        self.lock.note()  # and again before the listeners change
        with result.timed("lb_switch"):
            for listener in listeners:
                lb.switch(listener, name)
                result.listeners.append(listener.name)
                log.info("listener %s now serves %s", listener.name, name)
        self.delete_unused(keep=name)
        if self.config.verify_endpoints:
            self.verify(leaf.serial)

    def verify(self, serial: str) -> None:
        """Every endpoint clients use must serve `serial`: the proof that OCI's success reached them."""
        from .verify import context, verify  # only a run that deployed, and was asked to, makes handshakes
        with self.result.timed("verify"):
            try:
                self.result.endpoints = verify(self.config.verify_endpoints, self.config.verify_name, serial,
                                               context(self.config.verify_ca_bundle), self.policy, self.deadline)
            except LoadBalancerError as exc:
                self.result.endpoints = getattr(exc, "report", [])
                exc.state = (f"Vault holds certificate {serial} and every listener references it, as OCI reports, "
                             "but the endpoints above do not serve it; the next run sees nothing to deploy, so "
                             "find what serves the old certificate")
                raise

    def delete_unused(self, keep: str | None) -> None:
        """Housekeeping after the listeners are safe: a failure is a warning, the next run deletes them."""
        with self.result.timed("lb_cleanup"):
            try:
                self.result.deleted_lb_certificates = self.services.lb.delete_unused(
                    self.config.owns_lb_certificate, keep=keep)
            except LoadBalancerError as exc:
                self.result.warnings.append(f"{exc.message}; the next run deletes what is left")

    def act(self, observed: Observed, planned: Plan, now: dt.datetime) -> None:
        try:
            self._act(observed, planned, now)
        except WorkRequestPending as exc:
            self.in_flight = exc
            raise

    def promote_set(self, stored) -> None:
        """Finish an interrupted Vault write (or undo one by hand): the certificate's own key and chain."""
        if stored and not stored.set_is_current and stored.version_name:
            self.services.vault.promote_key(stored.version_name)
            self.result.repaired.append("made the stored certificate's own key and chain CURRENT in Vault")

    def _act(self, observed: Observed, planned: Plan, now: dt.datetime) -> None:
        result = self.result
        self.remove_leftover_txt()
        if planned.action not in (ISSUE, DEPLOY):
            self.promote_set(observed.stored)
            if observed.state.orphans:
                self.delete_unused(keep=planned.lb_certificate_name)  # never the stored certificate's own
            if observed.retired:
                self.tidy_service(observed.service, list(observed.retired))
            return
        if planned.action == ISSUE:
            leaf, chain, key = self.issue(observed)
            result.serial, result.not_after = leaf.serial, leaf.not_after.isoformat()
            result.days_remaining = _days_left(leaf.not_after, now)
            pems = certs.cert_to_pem(chain[0]), certs.chain_to_pem(chain[1:]), certs.key_to_pem(key)
        else:
            stored = observed.stored
            leaf = certs.info(certs.parse_chain(stored.cert_pem)[0])
            pems = stored.cert_pem.decode(), (stored.chain_pem or b"").decode(), stored.key_pem.decode()
            self.promote_set(stored)
        if self.services.certificates:
            self.deploy_to_service(leaf, pems, observed)
        else:
            self.deploy(leaf, *pems, [observed.listeners[n] for n in planned.listeners_to_update])

    def left_behind(self, planned: Plan, pending: list[str]) -> str:
        if self.in_flight:
            done = "new certificate stored in Vault; " if self.stored_new else "Vault unchanged; "
            return (f"{done}{self.in_flight.what} had not finished when the run's budget ran out (work request "
                    f"{self.in_flight.work_request}): OCI may still complete it; listeners "
                    f"{', '.join(pending) or 'all'} may serve the previous certificate until then; the next run "
                    "checks what each listener serves and finishes the deploy")
        if self.imported:
            return (f"the certificate is in Vault and is the CURRENT version of {self.importing} in the Certificates "
                    f"service; listeners {', '.join(self.unswitched)} still reference another certificate; the next "
                    "run points them at it")
        if self.importing:
            return (f"{'new certificate stored in Vault' if self.stored_new else 'Vault unchanged'}; importing it into "
                    f"{self.importing} in the Certificates service did not finish (the service may hold it as CURRENT "
                    "already, and listeners that reference it serve it); the next run checks and finishes the deploy")
        if self.stored_new:
            return (f"new certificate stored in Vault; listeners {', '.join(pending)} still serve the previous "
                    "one; the next run will deploy it")
        if self.txt_in_zone:
            left = ", ".join(sorted({r.name for r in self.txt_in_zone}))
            return (f"Vault and the load balancer are unchanged; TXT records this run added at {left} may "
                    "remain: the run lock's record holds them and the next run removes exactly those values")
        if planned.action == ISSUE:
            txt = "TXT records added by this run were removed" if self.presented else "no TXT record was added"
            return f"Vault and the load balancer are unchanged; {txt}"
        if planned.action != DEPLOY:  # repair (or backoff with repairs)
            done = "; ".join(self.result.repaired) or "nothing was repaired"
            return f"Vault and the load balancer are otherwise unchanged ({done}); the next run repairs what is left"
        return f"Vault unchanged; listeners {', '.join(pending)} still serve their previous certificate; " \
               "the next run will deploy again"


def _decide(config: Config, services: Services, result: Result, now: dt.datetime,
            force: bool) -> tuple[Observed, Plan]:
    with result.timed("observe"):
        observed = observe(config, dns=services.dns, vault=services.vault, lb=services.lb,
                           service=services.certificates, force=force, now=now)
    result.warnings += [w for w in observed.warnings if w not in result.warnings]
    planned = plan(config, observed.state, now)
    result.action, result.reason = planned.action, planned.reason
    if planned.serial:
        result.serial, result.not_after = planned.serial, planned.not_after.isoformat()
        result.days_remaining = _days_left(planned.not_after, now)
    log.info("plan: %s - %s", planned.action, planned.reason)
    return observed, planned


def _acts(planned: Plan) -> bool:
    """Whether the plan changes anything (and so needs the lock): a backoff with nothing to repair does not."""
    return planned.action != NOTHING and (planned.action != BACKOFF or bool(planned.repairs))


def run(config: Config, *, force: bool = False, dry_run: bool = False, now: dt.datetime | None = None,
        clients: Clients | None = None, policy: Policy = DEFAULT) -> Result:
    """Observe, plan and (unless dry run) act. Never raises for operational failures: see Result.status.

    Every wait ends by `config.run_budget` seconds from now; without `clients`, OCI calls retry by `policy`
    within that deadline too."""
    started = time.monotonic()
    deadline = policy.deadline(config.run_budget)
    result = Result(names=list(config.domains), warnings=list(config.warnings))
    now = now or dt.datetime.now(dt.timezone.utc)
    planned = runner = services = None
    try:
        services = Services(config, clients or Clients.from_config(config, policy.retry(deadline)), policy, deadline)
        observed, planned = _decide(config, services, result, now, force)
        if dry_run or config.dry_run:
            result.status = "dry-run"
            return result
        if not _acts(planned):
            return result
        if planned.action == ISSUE:  # before the lock: a run that cannot order changes nothing
            if observed.ca_problem:
                raise observed.ca_problem
            for name in config.domains:
                services.dns.target(challenge_name(name))  # every challenge lands in a zone certmgr can write
        with RunLock(services.vault.store, config.lock_name, seconds=config.run_budget + policy.lease_margin,
                     clock=policy.wall_clock) as lock:
            # Another run may have acted between the first look and the lock: look again, under it.
            observed, planned = _decide(config, services, result, now, force)
            if _acts(planned):
                runner = _Run(config, services, result, policy, deadline, lock)
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
