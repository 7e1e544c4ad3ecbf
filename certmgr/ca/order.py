"""The ACME side of a renewal: account, one order for every name, DNS-01 answers, finalize that order.

Built on certbot's `acme.ClientV2`. One order per run (placed again without `replaces` only when the CA
refuses the replacement itself); TXT records are removed whatever happens after they were presented.
"""
from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass, field
from typing import Callable

import josepy as jose
from acme import challenges, errors as acme_errors, messages
from cryptography import x509

from ..cloud.dns import TxtRecord, challenge_name
from ..errors import AcmeError, CertmgrError, DnsError
from ..timing import DEFAULT, Deadline, Policy, retry_after
from .acme_private import authorization, post, post_as_get
from .client import connect

log = logging.getLogger("certmgr")


@dataclass
class Eab:
    kid: str
    hmac_key: str = field(repr=False)  # a credential: never in a repr


class _NewOrder(messages.NewOrder):
    """NewOrder with ARI's `replaces` (RFC 9773): a renewal that names the certificate it replaces is
    exempt from Let's Encrypt's rate limits."""
    replaces: str | None = jose.field("replaces", omitempty=True)


def _replacement_refused(exc: Exception) -> bool:
    """The CA's answer that this order cannot replace the named certificate: it was replaced already (409
    alreadyReplaced), or this account did not order it, or the CA does not know it. RFC 9773 names no error
    type for the last two: Let's Encrypt answers malformed or unauthorized, Pebble serverInternal ("could not
    find an order for the given certificate"), so the answer is recognised by what it is about. A rate limit
    is never such an answer: it applies without `replaces` all the more."""
    if isinstance(exc, acme_errors.ConflictError):
        return True
    if not isinstance(exc, messages.Error):
        return False
    code, detail = (exc.code or ""), (exc.detail or "").lower()
    return code == "alreadyReplaced" or (code in ("malformed", "unauthorized", "serverInternal") and
                                         any(word in detail for word in ("replace", "certid", "certificate")))


# Refusals that only a change of configuration can clear (RFC 8555 6.7), and what to change.
CONFIGURATION_REFUSALS = {
    "invalidContact": "the CA refuses the contact: set CERTMGR_ACME_EMAIL to an address it accepts",
    "unsupportedContact": "the CA refuses the contact: set CERTMGR_ACME_EMAIL to an address it accepts",
    "rejectedIdentifier": "the CA will not issue for a name: remove it from CERTMGR_DOMAIN",
    "caa": "a CAA record forbids this CA for a name: add `0 issue \"<the CA's domain>\"` beside it (or remove "
           "the CAA record), or set CERTMGR_ACME_DIRECTORY to a CA it allows",
    "externalAccountRequired": "set CERTMGR_ACME_EAB_KID and CERTMGR_ACME_EAB_HMAC_KEY from your CA",
}


def _describe(exc: Exception) -> str:
    """The CA's problem in one line, with each name's subproblem (RFC 8555 6.7.1)."""
    if isinstance(exc, messages.Error):
        parts = [f"{sub.identifier.value if sub.identifier else '?'}: {sub.typ}: {sub.detail}"
                 for sub in exc.subproblems or ()]
        return f"{exc.typ}: {exc.detail}" + (f" ({'; '.join(parts)})" if parts else "")
    return f"{type(exc).__name__}: {exc}"


def _account_gone(exc: Exception) -> bool:
    """The CA no longer serves the key's account: `accountDoesNotExist`, or `unauthorized` for a deactivated
    one (RFC 8555 7.3.6: a deactivated account's requests are refused as unauthorized)."""
    return isinstance(exc, messages.Error) and (
        exc.code == "accountDoesNotExist" or (exc.code == "unauthorized" and "deactivated" in (exc.detail or "")))


# `malformed` about a name: Let's Encrypt's details then start "Domain name" ('Domain name "www.example.com" is
# redundant with a wildcard domain in the same request', 'Domain name contains an invalid character';
# letsencrypt/boulder ra/ra.go wildcardOverlap and its name policy). Other malformed answers are the client's.
MALFORMED_NAME = "the CA finds a name malformed: correct it, or remove it from CERTMGR_DOMAIN"


def _hint(exc: Exception) -> str | None:
    """What to change when the CA's refusal (or one of its subproblems) is about the configuration."""
    if not isinstance(exc, messages.Error):
        return None
    for problem in (exc, *(exc.subproblems or ())):
        if problem.code in CONFIGURATION_REFUSALS:
            return CONFIGURATION_REFUSALS[problem.code]
        if problem.code == "malformed" and "domain name" in (problem.detail or "").lower():
            return MALFORMED_NAME
    return None


class AcmeAccount:
    """A registered ACME account at one directory (registered once, found again by its key)."""

    def __init__(self, directory_url: str, account_key, *, email: str, ca_bundle: str | None = None,
                 eab: Eab | None = None, store_key: Callable[[], None] | None = None, policy: Policy = DEFAULT):
        self.directory_url, self.policy = directory_url, policy
        self.warnings: list[str] = []
        self.client = connect(directory_url, account_key, ca_bundle=ca_bundle, policy=policy)
        if store_key:  # a new key: keep it before the CA ties an account to it
            store_key()
        self._register(email, eab)

    def _register(self, email: str, eab: Eab | None) -> None:
        binding = None
        if eab:
            binding = messages.ExternalAccountBinding.from_data(
                account_public_key=self.client.net.key.public_key(), kid=eab.kid, hmac_key=eab.hmac_key,
                directory=self.client.directory)
        elif self.client.external_account_required():
            raise AcmeError(f"acme: {self.directory_url} requires external account binding",
                            hint="set CERTMGR_ACME_EAB_KID and CERTMGR_ACME_EAB_HMAC_KEY from your CA")
        registration = messages.NewRegistration.from_data(email=email, terms_of_service_agreed=True,
                                                          external_account_binding=binding)
        try:
            account = self.client.new_account(registration)
        except acme_errors.ConflictError as exc:  # the key already has an account: use it
            account = messages.RegistrationResource(uri=exc.location, body=messages.Registration())
        except Exception as exc:
            raise AcmeError(f"acme: account registration failed: {_describe(exc)}", hint=_hint(exc),
                            account_gone=_account_gone(exc), configuration=_hint(exc) is not None) from None
        self.client.net.account = account

    def order(self, csr_pem: bytes, *, profile: str | None = None, replaces: str | None = None):
        """`ClientV2.new_order` plus `replaces`."""
        body = _NewOrder(identifiers=[messages.Identifier(typ=messages.IDENTIFIER_FQDN, value=name)
                                      for name in _csr_names(csr_pem)],
                         profile=profile or None, replaces=replaces)
        try:
            response = post(self.client, self.client.directory["newOrder"], body)
        except (messages.Error, acme_errors.ConflictError) as exc:
            if replaces and _replacement_refused(exc):
                # An earlier order replaced this certificate but its certificate never reached Vault, or the
                # certificate is another account's: without `replaces` the order still goes through, only
                # without the rate-limit exemption. Any other refusal (rate limits first) stands.
                self.warnings.append(f"acme: ordered without `replaces` (no rate-limit exemption): the CA "
                                     f"would not let this order replace the stored certificate: {_describe(exc)}")
                return self.order(csr_pem, profile=profile)
            raise self._refused("new order refused", exc) from None
        order = messages.Order.from_json(response.json())
        authzs = [authorization(self.client, url)
                  for url in order.authorizations]
        return messages.OrderResource(body=order, uri=response.headers.get("Location"),
                                      authorizations=authzs, csr_pem=csr_pem)

    def _refused(self, what: str, exc: Exception) -> AcmeError:
        """An AcmeError for the CA's refusal, carrying its Retry-After (rate limits) when it sent one."""
        wait = self.client.net.retry_after
        when = self.policy.wall_clock() + wait if wait is not None else None
        described = "409 Conflict" if isinstance(exc, acme_errors.ConflictError) else _describe(exc)
        limited = isinstance(exc, messages.Error) and exc.code == "rateLimited"
        return AcmeError(f"acme: {what}: {described}", retry_at=when, configuration=_hint(exc) is not None,
                         hint="the CA's rate limit: certmgr holds new orders back until it passes (a forced run "
                              "overrides)" if limited else _hint(exc))

    def issue(self, csr_pem: bytes, *, present: Callable[[list[TxtRecord]], None],
              wait: Callable[[list[TxtRecord]], float], cleanup: Callable[[list[TxtRecord]], None],
              deadline: Deadline, profile: str | None = None, replaces: str | None = None,
              timings: dict | None = None) -> str:
        """Run one order to the end and return the full chain PEM.

        `present` / `wait` / `cleanup` are the DNS side; validation and finalization end by `deadline` (on
        the policy's clock); the order is looked at at least once.
        """
        try:
            return self._issue(csr_pem, present=present, wait=wait, cleanup=cleanup, deadline=deadline,
                               profile=profile, replaces=replaces, timings=timings)
        except CertmgrError:
            raise
        except Exception as exc:  # the CA or the network failed where no step above names it
            raise AcmeError(f"acme: the order failed: {_describe(exc)}") from None

    def _issue(self, csr_pem: bytes, *, present, wait, cleanup, deadline: Deadline, profile: str | None,
               replaces: str | None, timings: dict | None) -> str:
        timings = timings if timings is not None else {}
        clock = self.policy.clock
        started = clock()
        order = self.order(csr_pem, profile=profile, replaces=replaces)
        pending = []
        for authz in order.authorizations:
            if authz.body.status == messages.STATUS_VALID:
                continue  # the CA reuses a recent validation for this name
            chall = next((c for c in authz.body.challenges if isinstance(c.chall, challenges.DNS01)), None)
            if chall is None:
                raise AcmeError(f"acme: the CA offers no dns-01 challenge for {authz.body.identifier.value}")
            wildcard = "*." if authz.body.wildcard else ""
            pending.append((chall, TxtRecord(challenge_name(wildcard + authz.body.identifier.value),
                                             chall.chall.validation(self.client.net.key))))
        records = [r for _, r in pending]
        timings["acme_order"] = round(clock() - started, 3)
        try:
            if records:
                t = clock()
                log.info("presenting %d TXT values at %s", len(records), ", ".join(sorted({r.name for r in records})))
                present(records)
                timings["dns_present"] = round(clock() - t, 3)
                t = clock()
                log.info("waiting until every authoritative nameserver answers them")
                wait(records)
                timings["dns_propagation"] = round(clock() - t, 3)
            t = clock()
            log.info("answering %d challenges: the CA validates them and issues", len(pending))
            for chall, _ in pending:
                self.client.answer_challenge(chall, chall.chall.response(self.client.net.key))
            try:
                fullchain = self._finalize(order, deadline)
            except acme_errors.ValidationError as exc:
                problems = "; ".join(f"{a.body.identifier.value}: {_describe(c.error)}"
                                     for a in exc.failed_authzrs for c in a.body.challenges if c.error)
                hints = [h for a in exc.failed_authzrs for c in a.body.challenges if c.error and (h := _hint(c.error))]
                raise AcmeError(f"acme: the CA rejected the DNS-01 challenge: {problems}", configuration=bool(hints),
                                hint=hints[0] if hints else "check that the zone is delegated to OCI DNS and that no "
                                                            "CAA record forbids the CA") from None
            except acme_errors.TimeoutError:
                raise AcmeError("acme: the order did not complete before the run's deadline") from None
            except acme_errors.IssuanceError as exc:
                raise AcmeError(f"acme: the CA refused to issue: {_describe(exc.error)}", hint=_hint(exc.error),
                                configuration=_hint(exc.error) is not None) from None
            except (messages.Error, acme_errors.Error) as exc:
                raise self._refused("finalizing the order failed", exc) from None
            timings["acme_validate_finalize"] = round(clock() - t, 3)
        except BaseException:
            if records:  # the first failure is the one to report; the caller's cleanup knows what is left
                with contextlib.suppress(Exception):
                    cleanup(records)
            raise
        if records:
            log.info("removing the TXT values")
            try:
                cleanup(records)
            except DnsError as exc:  # the certificate is issued: keep it; the run lock's record has the values
                self.warnings.append(f"{exc.message}; the next run removes those TXT values")
        return fullchain

    def _finalize(self, order: messages.OrderResource, deadline: Deadline) -> str:
        """`ClientV2.poll_and_finalize`, polling by the policy and the CA's Retry-After (acme waits a fixed
        second before its first look at the order); returns the full chain PEM."""
        seen = ["the CA"]  # what the CA is doing, as of the last look
        polls = self.policy.polls(deadline, waiting=lambda: seen[0])
        looks = iter(polls)
        next(looks)  # the first look is now

        def again(asked: float | None = None) -> None:
            polls.asked = asked
            if next(looks, None) is None:
                raise acme_errors.TimeoutError()
        authzs = []
        for url in order.body.authorizations:
            authz = authorization(self.client, url)
            while authz.body.status == messages.STATUS_PENDING:
                seen[0] = f"the CA to validate {authz.body.identifier.value} (pending)"
                again()
                authz = authorization(self.client, url)
            authzs.append(authz)
        failed = [a for a in authzs if a.body.status != messages.STATUS_VALID and
                  any(c.error is not None for c in a.body.challenges)]
        if failed:
            raise acme_errors.ValidationError(failed)
        order = order.update(authorizations=authzs)
        try:
            self.client.begin_finalization(order)
        except messages.Error as exc:
            if exc.code != "orderNotReady":
                raise
        while True:
            response = post_as_get(self.client, order.uri)
            body = messages.Order.from_json(response.json())
            if body.status == messages.STATUS_VALID and body.certificate is not None:
                return post_as_get(self.client, body.certificate).text
            if body.status == messages.STATUS_INVALID:
                raise (acme_errors.IssuanceError(body.error) if body.error is not None else
                       acme_errors.Error("the CA abandoned the order without saying why"))
            if body.status == messages.STATUS_READY:
                self.client.begin_finalization(order)
            seen[0] = f"the CA to issue (order {body.status})"
            again(retry_after(response.headers))


def _csr_names(csr_pem: bytes) -> list[str]:
    csr = x509.load_pem_x509_csr(csr_pem)
    san = csr.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return san.get_values_for_type(x509.DNSName)
