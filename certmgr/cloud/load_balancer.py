"""Deploying a certificate to OCI Load Balancer listeners without ever leaving one without a certificate.

Each certificate gets a new, uniquely named LB certificate (never delete-then-recreate); each listener is
switched with a full copy of its configuration (OCI's update is a PUT: a field not sent is dropped); every
upload and switch is waited for, within the run's deadline, and a failed one is an error; only then are
certmgr's old LB certificates that no listener uses deleted. Deletions are not waited for: OCI queues them,
and one that has not finished is simply found again, and finished, by the next run.
"""
from __future__ import annotations

from typing import Callable

import oci.load_balancer

from ..errors import LoadBalancerError, WorkRequestPending, failing_as, oci_failure
from ..timing import DEFAULT, Deadline, Policy


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

    def _fail(self, what: str, exc: oci.exceptions.ServiceError) -> LoadBalancerError:
        return oci_failure(LoadBalancerError, f"lb: {what} on load balancer {self.lb_id} failed", exc)

    def get(self) -> oci.load_balancer.models.LoadBalancer:
        with failing_as(LoadBalancerError, f"lb: cannot read load balancer {self.lb_id}",
                        "check CERTMGR_LB_ID and the function's LB policy"):
            return self.client.get_load_balancer(self.lb_id).data

    def certificates(self) -> dict[str, oci.load_balancer.models.Certificate]:
        try:
            return {c.certificate_name: c for c in self.client.list_certificates(self.lb_id).data}
        except oci.exceptions.ServiceError as exc:
            raise self._fail("listing certificates", exc) from None

    def wait(self, work_request_id: str, what: str) -> None:
        """Poll until the work request ends; raise WorkRequestPending if the deadline comes first. The looks
        expect it to take as long as the previous one of this run (upload, then each switch, on the same LB)."""
        for spent in self.policy.polls(self.deadline, expect=self.took):
            try:
                wr = self.client.get_work_request(work_request_id).data
            except oci.exceptions.ServiceError as exc:
                raise self._fail(f"reading work request {work_request_id} ({what})", exc) from None
            if wr.lifecycle_state == "SUCCEEDED":
                if wr.time_accepted and wr.time_finished:
                    self.took = (wr.time_finished - wr.time_accepted).total_seconds()
                return
            if wr.lifecycle_state == "FAILED":
                details = "; ".join(f"{e.error_code}: {e.message}" for e in wr.error_details or []) or wr.message
                raise LoadBalancerError(f"lb: {what} failed (work request {work_request_id}): {details}")
        raise WorkRequestPending(f"lb: {what} still {wr.lifecycle_state} after {spent:.0f}s, when the run's time "
                                 f"budget ran out (work request {work_request_id})", work_request=work_request_id,
                                 what=what)

    def upload(self, name: str, cert_pem: str, chain_pem: str, key_pem: str) -> None:
        details = oci.load_balancer.models.CreateCertificateDetails(
            certificate_name=name, public_certificate=cert_pem, ca_certificate=chain_pem or None,
            private_key=key_pem)
        try:
            response = self.client.create_certificate(details, self.lb_id)
        except oci.exceptions.ServiceError as exc:
            if exc.status == 409:
                # Uploaded by an earlier, interrupted run (same name means same serial), maybe still in its
                # work request: a switch submitted now queues behind it, and fails if that upload did.
                return
            raise self._fail(f"uploading certificate {name}", exc) from None
        self.wait(response.headers["opc-work-request-id"], f"uploading certificate {name}")

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
            response = self.client.update_listener(details, self.lb_id, listener.name)
        except oci.exceptions.ServiceError as exc:
            raise self._fail(f"switching listener {listener.name}", exc) from None
        self.wait(response.headers["opc-work-request-id"], f"switching listener {listener.name}")

    def delete_unused(self, ours: Callable[[str], bool], keep: str | None = None) -> list[str]:
        """Ask OCI to delete the LB certificates that are `ours` (this deployment's names, exactly) and that
        no listener uses, except `keep`; return their names. The deletions finish on their own."""
        return [name for name in unused(self.get(), self.certificates(), ours, keep) if self.delete(name)]

    def delete(self, name: str) -> bool:
        try:
            self.client.delete_certificate(self.lb_id, name)
        except oci.exceptions.ServiceError as exc:
            if exc.status == 404:
                return False  # an earlier run's deletion finished first
            raise self._fail(f"deleting unused certificate {name}", exc) from None
        return True


def unused(lb: oci.load_balancer.models.LoadBalancer, certificates, ours: Callable[[str], bool],
           keep: str | None = None) -> list[str]:
    """Names among `certificates` that are `ours`, not `keep`, and used by no listener of `lb`."""
    in_use = {l.ssl_configuration.certificate_name for l in (lb.listeners or {}).values() if l.ssl_configuration}
    return sorted(name for name in certificates if ours(name) and name != keep and name not in in_use)


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
