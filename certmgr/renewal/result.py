"""What a run did and why: one object that the Fn handler returns as JSON and the CLI prints."""
from __future__ import annotations

import contextlib
import json
import logging
import time
from dataclasses import asdict, dataclass, field


log = logging.getLogger("certmgr")

# What each timed step does, as its start is logged (INFO: `-v` on the CLI, always in the function's log).
STEPS = {"observe": "reading Vault, the listeners, the zones and the CA's advice", "acme_account": "the ACME account",
         "vault_store": "storing the certificate, chain and key in Vault",
         "lb_upload": "uploading the certificate bundle to the load balancer", "lb_switch": "switching the listeners",
         "lb_cleanup": "deleting this deployment's unused certificate bundles",
         "certificates_import": "importing the certificate into the Certificates service",
         "certificates_cleanup": "scheduling old Certificates-service versions for deletion",
         "verify": "checking that every endpoint serves the new certificate", "scan": "scanning every certificate",
         "notify": "sending the digest"}


class Timed:
    """`timed(step)` logs the step's start and adds its seconds to the `timings` dict of the result it is mixed
    into."""

    timings: dict[str, float]

    @contextlib.contextmanager
    def timed(self, step: str, doing: str | None = None):
        log.info("%s", doing or STEPS.get(step, step))
        start = time.monotonic()
        try:
            yield
        finally:
            self.timings[step] = round(self.timings.get(step, 0.0) + time.monotonic() - start, 3)


@dataclass
class Result(Timed):
    status: str = "ok"              # ok | failed | dry-run | skipped (another run holds the lock) | interrupted
    action: str = "nothing"         # nothing | issue | deploy | repair | backoff  (what the plan said)
    reason: str = ""                # why, in one sentence
    names: list[str] = field(default_factory=list)
    serial: str | None = None
    not_after: str | None = None
    days_remaining: int | None = None
    listeners: list[str] = field(default_factory=list)  # switched to the certificate this run; nothing to do: serving it
    lb_certificate: str | None = None  # what the listeners reference: an LB bundle's name, or a certificate's OCID
    service_certificate: str | None = None  # the Certificates-service certificate holding it (CERTMGR_CERTIFICATE_NAME)
    deleted_lb_certificates: list[str] = field(default_factory=list)  # deletions asked of OCI this run
    retired: list[str] = field(default_factory=list)  # Certificates-service certificates / versions scheduled for deletion
    repaired: list[str] = field(default_factory=list)  # what interrupted runs left, finished by this one
    endpoints: list[dict] = field(default_factory=list)  # post-deploy check: endpoint, serial served, ok
    stored_in_vault: bool = False
    ca: str | None = None              # the ACME directory that issued this run's certificate
    fallback_reason: str | None = None  # why it was the fallback CA, when it was
    timings: dict[str, float] = field(default_factory=dict)  # seconds per step
    warnings: list[str] = field(default_factory=list)
    error: str | None = None        # what failed
    error_component: str | None = None  # the part that failed: config, dns, vault, lb, acme, ...; None = a bug
    state: str | None = None        # what was left behind, and what the next run will do

    def to_dict(self) -> dict:
        return asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    def render(self) -> str:
        """The human summary the CLI prints."""
        verb = {"nothing": "nothing to do", "issue": "issue a new certificate",
                "deploy": "deploy the stored certificate", "repair": "finish what an interrupted run left",
                "backoff": "hold back the order"}[self.action]
        head = {"ok": "OK", "failed": "FAILED", "dry-run": "DRY RUN (would)", "skipped": "SKIPPED",
                "interrupted": "INTERRUPTED"}[self.status]
        served = self.service_certificate or self.lb_certificate or "the stored certificate"
        serve = "serve" if self.action == "nothing" else "now serve"
        rows = [("names", ", ".join(self.names)), ("serial", self.serial), ("ca", self.ca),
                ("fallback", self.fallback_reason),
                ("expires", self.not_after and f"{self.not_after} ({self.days_remaining} days left)"),
                ("vault", self.stored_in_vault and "new certificate, chain and key stored"),
                ("imported", self.service_certificate and
                 f"CURRENT version of {self.service_certificate} ({self.lb_certificate})"),
                ("listeners", self.listeners and f"{', '.join(self.listeners)} {serve} {served}"),
                ("removed", ", ".join(self.deleted_lb_certificates)), ("retired", ", ".join(self.retired))]
        rows += [("repaired", repair) for repair in self.repaired]
        rows += [("served", f"{seen['endpoint']} {seen['serial']}{'' if seen['ok'] else ' (not the new one)'}")
                 for seen in self.endpoints]
        rows += [("warning", warning) for warning in self.warnings]
        # A run that failed (or was stopped) before it had a plan has no reason: its error is the headline.
        headline = f"{head}: {verb} - {self.reason}" if self.reason or not self.error else f"{head}: {self.error}"
        rows += [("error", self.reason and self.error), ("state", self.state),
                 ("timings", ", ".join(f"{k} {v:.2f}s" for k, v in self.timings.items()))]
        lines = [headline] + [f"  {label + ':':<11}{value}" for label, value in rows if value]
        return "\n".join(lines)
