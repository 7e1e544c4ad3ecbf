"""The deployer: to LB certificate bundles (upload, switch each listener, delete certmgr's unused bundles) or
to the Certificates service (import a version or a successor, point listeners at it once, prune), then the
post-deploy proof. The target (`target.py`) picks which; the deployer works on the run's `job.Job` and
records what it has done in the job's progress."""
from __future__ import annotations

import dataclasses
import logging

from .. import pki
from ..cloud.certificates import ServiceCertificate, successor_name
from ..errors import LoadBalancerError, ServiceCertificateError, UsagesMismatch, VerifyError
from .job import Step
from .observe import Observed

log = logging.getLogger("certmgr")


class Deployer(Step):
    def to_service(self, leaf: pki.CertInfo, pems: tuple[str, str, str], observed: Observed, planned) -> None:
        """Import into the Certificates service when the plan says so (a new CURRENT version, or a successor
        certificate when OCI refuses the version; the certificate itself when there is none yet), then point
        at it the listeners the plan named; after a successor, every managed listener."""
        service, result, progress = self.services.certificates, self.result, self.progress
        target, replaced, successor = observed.service, list(observed.retired), False
        self.lock.confirm()  # the lease is still ours: no other run is deploying
        with result.timed("certificates_import"):
            if target is None:
                progress.importing = self.config.certificate_name
                target = service.create(self.config.certificate_name, *pems, version_name=leaf.serial)
            elif planned.import_to_service:
                progress.importing = target.name
                try:
                    number = service.add_version(target, *pems, version_name=leaf.serial)
                    target = dataclasses.replace(target, serial=leaf.serial, version=number)
                except UsagesMismatch as exc:
                    progress.importing = successor_name(self.config.certificate_name, target)
                    old, target = target, service.create(progress.importing, *pems, version_name=leaf.serial)
                    replaced.append(old)
                    successor = True
                    result.warnings.append(f"{exc.message}: created {target.name} with the new certificate and pointed "
                                           f"the listeners at it; {old.name} is scheduled for deletion once unused")
        progress.importing, progress.imported = target.name, True
        result.service_certificate, result.lb_certificate = target.name, target.id
        named = list(observed.listeners) if successor else planned.listeners_to_update
        progress.unswitched = [name for name in named
                               if (observed.listeners[name].ssl_configuration.certificate_ids or [None])[0] != target.id]
        if progress.unswitched:
            self.lock.confirm()  # and again before the listeners change
        with result.timed("lb_switch"):
            for name in list(progress.unswitched):
                self.services.lb.switch(observed.listeners[name], certificate_id=target.id)
                progress.unswitched.remove(name)
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

    def to_bundles(self, leaf: pki.CertInfo, pems: tuple[str, str, str], listeners: list) -> None:
        lb, result = self.services.lb, self.result
        cert_pem, chain_pem, key_pem = pems
        name = self.services.target.bundle_name(leaf)
        result.lb_certificate = name
        with result.timed("lb_upload"):  # a bundle no listener uses yet changes nothing served
            lb.upload(name, cert_pem, chain_pem, key_pem)
        self.lock.confirm()  # the lease is still ours before the listeners change: no other run is deploying
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
            except VerifyError as exc:
                self.result.endpoints = exc.report
                exc.state = (f"Vault holds certificate {serial} and every listener references it, as OCI reports, "
                             "but the endpoints above do not serve it; the next run sees nothing to deploy, so "
                             "find what serves the old certificate")
                raise

    def delete_unused(self, keep: str | None) -> None:
        """Housekeeping after the listeners are safe: a failure is a warning, the next run deletes them."""
        with self.result.timed("lb_cleanup"):
            try:
                deleted, left = self.services.lb.delete_unused(self.config.owns_lb_certificate, keep=keep)
                self.result.deleted_lb_certificates = deleted
                self.result.warnings += left
            except LoadBalancerError as exc:
                self.result.warnings.append(f"{exc.message}; the next run deletes what is left")
