"""The issuer: one ACME order with its TXT values recorded before they are presented, the CA's refusals
remembered as a backoff, the result stored in Vault. Works on the run's `job.Job`, recording what it has done
in the job's progress."""
from __future__ import annotations

import datetime as dt
import logging

from cryptography import x509

from .. import pki
from ..ca.directory import caa_identities, cert_id, read_directory
from ..errors import AcmeError, CaaForbidden, CertificateError, CertmgrError, PropagationTimeout
from ..cloud.lock import LockLost
from .job import Step
from .observe import Observed

log = logging.getLogger("certmgr")


def ensure_caa_allows(config, services, ca, identities: tuple[str, ...] | None = None) -> None:
    """No order a CAA record forbids: the names' CAA records against `ca`'s identities (its directory's, read
    here when not given). Imported here: only a run that orders needs dnspython."""
    from ..ca.caa import check_caa
    if identities is None:
        identities = caa_identities(read_directory(ca.directory, ca_bundle=ca.ca_bundle,
                                                   timeout=services.policy.ca_timeout))
    check_caa(config.domains, services.dns, config.dns_nameservers, identities, services.policy.dns_timeout,
              variable=ca.variable)


class Issuer(Step):
    def present(self, records) -> None:
        """Record the values in the lock first: if this run dies now, the next one removes exactly them.
        Each value goes where its challenge name leads (a CNAME's target)."""
        records = self.services.dns.routed(records)
        self.lock.note(txt=tuple((r.name, r.value) for r in records))
        self.progress.txt_in_zone, self.progress.presented = list(records), True
        self.services.dns.present(records)

    def cleanup(self, records) -> None:
        self.services.dns.cleanup(self.services.dns.routed(records))
        self.progress.txt_in_zone = []
        try:
            self.lock.note(txt=())
        except LockLost:
            raise
        except CertmgrError as exc:  # the values are gone; the next run's removal of them is harmless
            log.warning("%s", exc)

    def hold_orders(self, exc: CertmgrError, ca) -> None:
        """Remember the failed order so that the next runs wait (longer after each failure in a row)."""
        record, now = self.lock.record, self.policy.wall_clock()
        current = ("", *(self.config.order_key(each) for each in self.config.cas))  # failures in a row, any CA
        failures = record.failures + 1 if record.refused_for in current else 1
        asked = exc.retry_at - now if isinstance(exc, AcmeError) and exc.retry_at else None
        until = now + self.policy.acme_wait(failures, asked)
        try:
            self.lock.note(failures=failures, retry_at=until, last_error=exc.message,
                           refused_for=self.config.order_key(ca),
                           failing_since=record.failing_since if failures > 1 and record.failing_since else now)
        except CertmgrError as error:  # the order's failure is the one to report
            log.warning("could not record the failed order: %s", error)
            return
        when = dt.datetime.fromtimestamp(until, dt.timezone.utc)
        self.result.warnings.append(f"no new order before {when:%Y-%m-%d %H:%M} UTC ({failures} failed in a row); "
                                    "a forced run orders now")

    def account_key(self, role: str, fresh: bool = False):
        """(key, store): the ACME account key from Vault, or a new one (`fresh`, or none usable is stored) and
        the function that stores it. A new key is stored once the CA's directory answered (an unreachable CA
        leaves Vault untouched) and *before* it is registered, so a failure after registration can never orphan
        an account."""
        pem = None if fresh else self.services.vault.read_account_key(role)
        if pem is not None:
            try:
                return pki.load_private_key(pem, what="the ACME account key in Vault"), None
            except CertificateError as exc:  # never stuck on it: a new key is a new account, nothing more
                self.result.warnings.append(
                    f"{exc.message}: secret {self.config.secret_names[role]!r} gets a new key and a new "
                    "ACME account is registered (the unusable version stays in the secret's history)")
        key = pki.generate_key("ecdsa-p256")

        def store() -> None:
            self.services.vault.write_account_key(pki.key_to_pem(key).encode(), role)
            log.info("created a new ACME account key in Vault")
        return key, store

    def propagation_deadline(self):
        """CERTMGR_PROPAGATION_TIMEOUT, cut short so validation, finalization, storing and deploying still
        fit in the run's budget (Fn stops a function at 300 s, mid-step)."""
        left = self.deadline.left() - self.policy.after_propagation
        return self.deadline.within(max(self.policy.min_propagation_wait, min(self.config.propagation_timeout, left)))

    def issue(self, observed: Observed, planned):
        """One order from the CA the plan chose; when the primary fails in this run (not for a reason of the
        configuration, which another CA would share) and the plan allows it, one order from the fallback CA."""
        self.job.ensure_time("order a certificate", self.policy.min_propagation_wait + self.policy.after_propagation)
        self.services.vault.check_room()  # a certificate Vault cannot take is an order wasted
        cas = {ca.role: ca for ca in self.config.cas}
        ca = cas[planned.ca]
        self.result.fallback_reason = planned.fallback_reason or None
        try:
            fullchain, key = self.order(observed, ca)
        except (AcmeError, PropagationTimeout) as exc:  # the CA refused, or its validation would fail: back off
            self.hold_orders(exc, ca)
            if not (ca.role == "primary" and planned.may_fall_back and isinstance(exc, AcmeError)
                    and not exc.configuration):
                raise
            self.result.fallback_reason = f"the primary CA failed: {exc.message}"
            log.warning("ordering from the fallback CA: %s", self.result.fallback_reason)
            ca = cas["fallback"]
            try:
                ensure_caa_allows(self.config, self.services, ca)
                fullchain, key = self.order(observed, ca)
            except (AcmeError, PropagationTimeout) as second:  # both refused: held back, the fallback's word last
                if not isinstance(second, CaaForbidden):  # not the CA's refusal: fixing the record is enough
                    self.hold_orders(second, ca)
                raise
        self.result.ca = ca.directory
        # also: the lease is ours, before Vault; the next order goes to the primary first again
        self.lock.note(failures=0, retry_at=0.0, last_error="", refused_for="", failing_since=0.0,
                       issued_by=ca.directory)
        return self.store(fullchain, key)

    def order(self, observed: Observed, ca):
        # Imported here: the ACME client and dnspython are only needed by a run that orders.
        from ..ca.order import AcmeAccount, Eab
        from ..ca.propagation import authoritative, wait_for_propagation
        config, result = self.config, self.result
        with result.timed("acme_account"):
            eab = Eab(ca.eab_kid, ca.eab_hmac_key.reveal()) if ca.eab_kid else None

            def account(fresh: bool = False) -> AcmeAccount:
                key, store = self.account_key(ca.account_key, fresh)
                return AcmeAccount(ca.directory, key, email=config.acme_email, ca_bundle=ca.ca_bundle,
                                   eab=eab, store_key=store, policy=self.policy)
            try:
                account = account()
            except AcmeError as exc:
                if not exc.account_gone:
                    raise
                account = account(fresh=True)  # the CA no longer knows the account, or deactivated it
                result.warnings.append(
                    f"{exc.message}: registered a new ACME account with a new key (a new version of secret "
                    f"{config.secret_names[ca.account_key]!r}; the old key stays in its history)")
        key = pki.generate_key(config.key_type)
        csr = pki.make_csr(key, config.domains)
        dns = self.services.dns

        def wait(records) -> None:
            """Each zone's values on that zone's nameservers (or CERTMGR_DNS_NAMESERVERS)."""
            by_zone: dict[str, list] = {}
            for record in dns.routed(records):
                by_zone.setdefault(dns.zone_of(record.name), []).append(record)
            for zone, group in by_zone.items():
                servers = authoritative(dns, zone, config.dns_nameservers)
                wait_for_propagation(group, servers, policy=self.policy, deadline=self.propagation_deadline())
        replaces = None
        issued_by = self.lock.record.issued_by or config.acme_directory  # before it was kept: the primary
        if observed.state.certificate is not None and issued_by == ca.directory:  # only that CA knows it
            try:
                replaces = cert_id(observed.stored.cert_pem)
            except (ValueError, x509.ExtensionNotFound):  # no authority key id: nothing the CA can match
                replaces = None
        log.info("ordering a certificate for %s from %s", ", ".join(config.domains), ca.directory)
        try:
            fullchain = account.issue(
                csr, present=self.present, cleanup=self.cleanup, wait=wait,
                # validation and finalization leave part of the reserve for storing and deploying
                deadline=self.deadline.earlier(self.policy.after_propagation / 2),
                profile=config.acme_profile, replaces=replaces,
                timings=result.timings)
        finally:
            result.warnings += account.warnings
        return fullchain, key

    def store(self, fullchain: str, key):
        result = self.result
        chain = pki.parse_chain(fullchain, what="the certificate chain the CA returned")
        if not pki.key_matches(chain[0], key):
            raise CertificateError("certificate: the CA returned a certificate for another key; nothing stored")
        leaf = pki.info(chain[0])
        with result.timed("vault_store"):
            self.services.vault.write_certificate(pki.cert_to_pem(chain[0]).encode(),
                                                  pki.chain_to_pem(chain[1:]).encode(),
                                                  pki.key_to_pem(key).encode(), leaf.serial)
        self.progress.stored_new = True
        result.stored_in_vault = True
        log.info("stored certificate %s (valid until %s) in Vault", leaf.serial, leaf.not_after)
        return leaf, chain, key
