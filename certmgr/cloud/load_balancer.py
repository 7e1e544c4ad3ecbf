"""Deploying a certificate to OCI Load Balancer listeners without ever leaving one without a certificate.

Each certificate gets a new, uniquely named LB certificate (never delete-then-recreate); each listener is
switched with a full copy of its configuration (OCI's update is a PUT: a field not sent is dropped); every
upload and switch is waited for, within the run's deadline, and a failed one is an error; only then are
certmgr's old LB certificates that nothing uses deleted. Deletions are not waited for: OCI queues them, and one
that has not finished is simply found again, and finished, by the next run. A bundle a backend set still uses
is left, named in a warning (OCI refuses to delete it, terraform-provider-oci#1661).

A change that meets another actor's running work request on the same load balancer is queued by OCI or
refused with a 409 (sandbox/oci/CONFORMANCE.md: which one the classic load balancer does is not documented).
A refused change waits for the running work requests, within the run's deadline, and is submitted again;
`waited` adds up that time for the run's timings.
"""
from __future__ import annotations

import copy
from typing import Callable

import oci.load_balancer

from ..errors import LoadBalancerError, WorkRequestPending, failing_as, oci_failure
from ..timing import DEFAULT, Deadline, Policy, log


def _copy(source, model_cls):
    """A `model_cls` filled with every field of the same name from `source`."""
    return model_cls(**{name: getattr(source, name, None) for name in model_cls().swagger_types})


class LoadBalancer:
    def __init__(self, client: oci.load_balancer.LoadBalancerClient, lb_id: str, *, policy: Policy = DEFAULT,
                 deadline: Deadline | None = None):
        self.client, self.lb_id = client, lb_id
        self.policy = policy
        self.deadline = deadline  # every wait ends by it; without one (a reader, e.g. the monitor) nothing waits
        # Seconds the last work request waited for took, by the service's clock: its timeAccepted to its
        # timeFinished ("created" and "completed", oci.load_balancer.models.WorkRequest).
        self.took: float | None = None
        self.waited = 0.0  # seconds spent waiting for other actors' work requests before a change was accepted
        # The load balancer as this run last read it, with this run's uploads, switches and deletions since: what
        # the clean-up after a deploy decides on, without reading it again.
        self.seen: oci.load_balancer.models.LoadBalancer | None = None

    def _fail(self, what: str, exc: oci.exceptions.ServiceError) -> LoadBalancerError:
        return oci_failure(LoadBalancerError, f"lb: {what} on load balancer {self.lb_id} failed", exc)

    def get(self) -> oci.load_balancer.models.LoadBalancer:
        with failing_as(LoadBalancerError, f"lb: cannot read load balancer {self.lb_id}",
                        "check CERTMGR_LB_ID and the function's LB policy"):
            found = self.client.get_load_balancer(self.lb_id).data
        self.seen = copy.deepcopy(found)
        return found

    def certificates(self) -> dict[str, oci.load_balancer.models.Certificate]:
        try:
            return {c.certificate_name: c for c in self.client.list_certificates(self.lb_id).data}
        except oci.exceptions.ServiceError as exc:
            raise self._fail("listing certificates", exc) from None

    def wait(self, work_request_id: str, what: str) -> None:
        """Poll until the work request succeeds; a failed one is an error. The looks expect it to take as long
        as the previous one of this run (upload, then each switch, on the same LB)."""
        wr = self._finish(work_request_id, what, expect=self.took)
        if wr.lifecycle_state == "FAILED":
            details = "; ".join(f"{e.error_code}: {e.message}" for e in wr.error_details or []) or wr.message
            raise LoadBalancerError(f"lb: {what} failed (work request {work_request_id}): {details}")
        if wr.time_accepted and wr.time_finished:
            self.took = (wr.time_finished - wr.time_accepted).total_seconds()

    def _finish(self, work_request_id: str, what: str, expect: float | None = None):
        """Poll until the work request ends, SUCCEEDED or FAILED; raise WorkRequestPending if the deadline
        comes first."""
        wr = None
        for spent in self.policy.polls(self.deadline, expect=expect,
                                       waiting=lambda: f"work request {work_request_id} ({what}) {wr.lifecycle_state}"):
            try:
                wr = self.client.get_work_request(work_request_id).data
            except oci.exceptions.ServiceError as exc:
                raise self._fail(f"reading work request {work_request_id} ({what})", exc) from None
            if wr.lifecycle_state in ("SUCCEEDED", "FAILED"):
                return wr
        raise WorkRequestPending(f"lb: {what} still {wr.lifecycle_state} after {spent:.0f}s, when the run's time "
                                 f"budget ran out (work request {work_request_id})", work_request=work_request_id,
                                 what=what)

    def _submit(self, what: str, call, *args):
        """`call(*args)`, a change; refused with a 409 while other work requests of the load balancer run, it
        waits for them and is submitted again. A 409 with none running (a name taken, a bundle in use) is the
        caller's to judge."""
        while True:
            try:
                return call(*args)
            except oci.exceptions.ServiceError as exc:
                running = self._running() if exc.status == 409 and self.deadline is not None else []
                if not running:
                    raise
                started = self.policy.clock()
                for wr in running:
                    log.info("lb: %s waits for %s work request %s of another change", what, wr.type, wr.id)
                    self._finish(wr.id, f"{what}, waiting for {wr.type} work request {wr.id} of another change")
                self.waited += self.policy.clock() - started

    def _running(self) -> list:
        """The load balancer's work requests not yet finished (the list is newest first: one page holds them)."""
        try:
            found = self.client.list_work_requests(self.lb_id).data
        except oci.exceptions.ServiceError as exc:
            raise self._fail("listing work requests", exc) from None
        return [wr for wr in reversed(found) if wr.lifecycle_state in ("ACCEPTED", "IN_PROGRESS")]

    def upload(self, name: str, cert_pem: str, chain_pem: str, key_pem: str) -> None:
        details = oci.load_balancer.models.CreateCertificateDetails(
            certificate_name=name, public_certificate=cert_pem, ca_certificate=chain_pem or None,
            private_key=key_pem)
        try:
            response = self._submit(f"uploading certificate {name}", self.client.create_certificate, details,
                                    self.lb_id)
        except oci.exceptions.ServiceError as exc:
            if exc.status != 409:
                raise self._fail(f"uploading certificate {name}", exc) from None
            # Uploaded by an earlier, interrupted run (same name means same serial), maybe still in its work
            # request: a switch submitted now queues behind it, and fails if that upload did.
        else:
            self.wait(response.headers["opc-work-request-id"], f"uploading certificate {name}")
        if self.seen is not None:
            self.seen.certificates = {**(self.seen.certificates or {}), name: oci.load_balancer.models.Certificate(
                certificate_name=name, public_certificate=cert_pem, ca_certificate=chain_pem or None)}

    def switch(self, listener: oci.load_balancer.models.Listener, certificate_name: str | None = None, *,
               certificate_id: str | None = None) -> None:
        """Point `listener` at an LB certificate bundle, or at a Certificates-service certificate by OCID,
        keeping every other field it has."""
        details = _copy(listener, oci.load_balancer.models.UpdateListenerDetails)
        ssl = _copy(listener.ssl_configuration, oci.load_balancer.models.SSLConfigurationDetails)
        ssl.certificate_name, ssl.certificate_ids = (None, [certificate_id]) if certificate_id else (certificate_name, None)
        details.ssl_configuration = ssl
        if listener.connection_configuration is not None:
            details.connection_configuration = _copy(listener.connection_configuration,
                                                     oci.load_balancer.models.ConnectionConfiguration)
        try:
            response = self._submit(f"switching listener {listener.name}", self.client.update_listener, details,
                                    self.lb_id, listener.name)
        except oci.exceptions.ServiceError as exc:
            raise self._fail(f"switching listener {listener.name}", exc) from None
        self.wait(response.headers["opc-work-request-id"], f"switching listener {listener.name}")
        if self.seen is not None and listener.name in (self.seen.listeners or {}):
            self.seen.listeners[listener.name].ssl_configuration = ssl

    def delete_unused(self, ours: Callable[[str], bool], keep: str | None = None) -> tuple[list[str], list[str]]:
        """Ask OCI to delete the LB certificates that are `ours` (this deployment's names, exactly) and that
        nothing uses, except `keep`, as this run last saw the load balancer (`seen`). Returns their names, and a
        warning for each one of ours that a backend set still uses (left in place). The deletions finish on their
        own; should something have come to use one since, OCI refuses its deletion (a warning)."""
        lb = self.seen or self.get()
        users = in_use(lb)
        held = {name: [u for u in users.get(name, []) if u.startswith("backend set")]
                for name in lb.certificates or {} if ours(name) and name != keep}
        warnings = [f"lb: certificate bundle {name} is left on load balancer {self.lb_id}: {', '.join(sets)} still "
                    f"uses it; point {'them' if len(sets) > 1 else 'it'} at {keep or 'the new certificate'} and the "
                    "next run deletes it" for name, sets in sorted(held.items()) if sets]
        return [name for name in unused(lb, held, ours, keep) if self.delete(name)], warnings

    def delete(self, name: str) -> bool:
        """Ask OCI to delete the bundle `name`; False when it is already gone (an earlier run's deletion)."""
        try:
            self._submit(f"deleting certificate {name}", self.client.delete_certificate, self.lb_id, name)
            deleted = True
        except oci.exceptions.ServiceError as exc:
            if exc.status != 404:
                raise self._fail(f"deleting unused certificate {name}", exc) from None
            deleted = False
        if self.seen is not None:
            self.seen.certificates = {n: c for n, c in (self.seen.certificates or {}).items() if n != name}
        return deleted


def in_use(lb: oci.load_balancer.models.LoadBalancer) -> dict[str, list[str]]:
    """Bundle name -> what uses it on `lb`: "listener <name>", "backend set <name>" (both can, and OCI refuses
    to delete a bundle either uses)."""
    users: dict[str, list[str]] = {}
    for kind, items in (("listener", lb.listeners), ("backend set", lb.backend_sets)):
        for name, item in sorted((items or {}).items()):
            if item.ssl_configuration and item.ssl_configuration.certificate_name:
                users.setdefault(item.ssl_configuration.certificate_name, []).append(f"{kind} {name}")
    return users


def unused(lb: oci.load_balancer.models.LoadBalancer, certificates, ours: Callable[[str], bool],
           keep: str | None = None) -> list[str]:
    """Names among `certificates` that are `ours`, not `keep`, and used by nothing on `lb`."""
    users = in_use(lb)
    return sorted(name for name in certificates if ours(name) and name != keep and name not in users)


def select_listeners(lb: oci.load_balancer.models.LoadBalancer, names: tuple[str, ...]) -> list:
    """The listeners to manage: those named, or every listener with an SSL configuration."""
    listeners = lb.listeners or {}
    if not names:
        chosen = [l for l in listeners.values() if l.ssl_configuration is not None]
        if not chosen:
            raise LoadBalancerError(f"lb: load balancer {lb.id} has no listener with an SSL configuration",
                                    hint="add an HTTPS listener, or name listeners in CERTMGR_LB_LISTENERS")
        return sorted(chosen, key=lambda l: l.name)
    missing = [n for n in names if n not in listeners]
    plain = [n for n in names if n in listeners and listeners[n].ssl_configuration is None]
    if missing or plain:
        problems = ([f"no listener named {', '.join(missing)} (has: {', '.join(sorted(listeners))})"] if missing else []) + \
                   ([f"listener {', '.join(plain)} has no SSL configuration"] if plain else [])
        raise LoadBalancerError("lb: CERTMGR_LB_LISTENERS: " + "; ".join(problems))
    return [listeners[n] for n in names]
