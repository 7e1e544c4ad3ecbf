"""Act: carry out one Plan as decided, with an issuer (`issue.py`) and a deployer (`deploy.py`) that share one
`Job`: the settings, adapters, result, lease and deadline of the run, and its `Progress`, the one record of
what act has changed so far, from which a failure's `state` (`left_behind`) is derived."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from .. import pki
from ..cloud.dns import TxtRecord
from ..cloud.lock import RunLock
from ..errors import BudgetSpent, WorkRequestPending
from ..settings.config import Config
from ..timing import Deadline, Policy
from .adapters import Services
from .deploy import Deployer
from .issue import Issuer
from .observe import Observed
from .plan import DEPLOY, ISSUE, Plan
from .result import Result


@dataclass
class Progress:
    """How far act got. Each step sets what it has done the moment it is done."""

    presented: bool = False                # TXT values went into a zone
    txt_in_zone: list = field(default_factory=list)  # TXT records added and not yet removed
    stored_new: bool = False               # a new certificate, chain and key are in Vault
    in_flight: WorkRequestPending | None = None  # an LB change OCI had not finished at the deadline
    importing: str | None = None           # the Certificates-service certificate asked to take the new one
    imported: bool = False                 # ... and it holds it as CURRENT
    unswitched: list[str] = field(default_factory=list)  # listeners that do not reference it yet

    def left_behind(self, planned: Plan, result: Result) -> str:
        """What a failed run leaves, in one sentence, and what the next run does about it."""
        pending = [n for n in planned.listeners_to_update if n not in result.listeners]
        vault = "new certificate stored in Vault" if self.stored_new else "Vault unchanged"
        if self.in_flight:
            return (f"{vault}; {self.in_flight.what} had not finished when the run's budget ran out (work request "
                    f"{self.in_flight.work_request}): OCI may still complete it; listeners "
                    f"{', '.join(pending) or 'all'} may serve the previous certificate until then; the next run "
                    "checks what each listener serves and finishes the deploy")
        if self.imported:
            return (f"the certificate is in Vault and is the CURRENT version of {self.importing} in the Certificates "
                    f"service; listeners {', '.join(self.unswitched)} still reference another certificate; the next "
                    "run points them at it")
        if self.importing:
            return (f"{vault}; importing it into {self.importing} in the Certificates service did not finish (the "
                    "service may hold it as CURRENT already, and listeners that reference it serve it); the next "
                    "run checks and finishes the deploy")
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
            done = "; ".join(result.repaired) or "nothing was repaired"
            return f"Vault and the load balancer are otherwise unchanged ({done}); the next run repairs what is left"
        return f"Vault unchanged; listeners {', '.join(pending)} still serve their previous certificate; " \
               "the next run will deploy again"


@dataclass
class Job:
    """What the issuer and the deployer share: one run's settings, adapters, result, timing, lease, progress."""

    config: Config
    services: Services
    result: Result
    policy: Policy
    deadline: Deadline
    lock: RunLock
    progress: Progress = field(default_factory=Progress)

    def ensure_time(self, step: str, seconds: float) -> None:
        if not self.deadline.allows(seconds):
            raise BudgetSpent(f"run: {self.deadline.left():.0f}s of the run's budget left, too little to {step}",
                              hint="raise CERTMGR_RUN_BUDGET (keep it 20 s below the function's timeout), or see "
                                   "in `timings` which step took the time")


class Act:
    """One run's actions: repairs, then the issuer's order and the deployer's deploy, as the plan says."""

    def __init__(self, job: Job):
        self.job = job
        self.issuer, self.deployer = Issuer(job), Deployer(job)

    def act(self, observed: Observed, planned: Plan, now: dt.datetime) -> None:
        try:
            self._act(observed, planned, now)
        except WorkRequestPending as exc:
            self.job.progress.in_flight = exc
            raise

    def left_behind(self, planned: Plan) -> str:
        return self.job.progress.left_behind(planned, self.job.result)

    def remove_leftover_txt(self) -> None:
        """Take out the TXT values an interrupted run recorded (the record, read under the lock, is exact)."""
        job = self.job
        pairs = job.lock.record.txt
        if pairs:
            skipped = job.services.dns.cleanup([TxtRecord(name, value) for name, value in pairs])
            job.lock.note(txt=())
            names = ", ".join(sorted({name for name, _ in pairs} - {r.name for r in skipped}))
            if names:
                job.result.repaired.append(f"removed the TXT values an interrupted run left at {names}")
            if skipped:
                job.result.warnings.append(
                    f"TXT values an interrupted run left at {', '.join(sorted({r.name for r in skipped}))} are in "
                    "no zone of CERTMGR_DNS_ZONE_ID any more: remove those values by hand")

    def promote_set(self, stored) -> None:
        """Finish an interrupted Vault write (or undo one by hand): the certificate's own key and chain."""
        if stored and not stored.set_is_current and stored.version_name:
            self.job.services.vault.promote_key(stored.version_name)
            self.job.result.repaired.append("made the stored certificate's own key and chain CURRENT in Vault")

    def _act(self, observed: Observed, planned: Plan, now: dt.datetime) -> None:
        result = self.job.result
        self.remove_leftover_txt()
        if planned.action not in (ISSUE, DEPLOY):
            self.promote_set(observed.stored)
            if planned.orphans:
                self.deployer.delete_unused(keep=planned.lb_certificate_name)  # never the stored certificate's own
            if observed.retired:
                self.deployer.tidy_service(observed.service, list(observed.retired))
            return
        if planned.action == ISSUE:
            leaf, chain, key = self.issuer.issue(observed)
            result.serial, result.not_after = leaf.serial, leaf.not_after.isoformat()
            result.days_remaining = (leaf.not_after - now).days
            pems = pki.cert_to_pem(chain[0]), pki.chain_to_pem(chain[1:]), pki.key_to_pem(key)
        else:
            stored = observed.stored
            leaf = pki.info(pki.parse_chain(stored.cert_pem)[0])
            pems = stored.cert_pem.decode(), (stored.chain_pem or b"").decode(), stored.key_pem.decode()
            self.promote_set(stored)
        self.job.services.target.deploy(self.deployer, leaf, pems, observed, planned)
