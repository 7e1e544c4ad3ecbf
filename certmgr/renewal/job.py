"""What one run's act shares: the `Job` (settings, adapters, result, timing, lease) and its `Progress`, the one
record of what act has changed so far, from which a failure's `state` is derived (`Progress.left_behind`).
The issuer and the deployer are `Step`s on the job."""
from __future__ import annotations

from dataclasses import dataclass, field

from ..cloud.lock import RunLock
from ..errors import BudgetSpent, WorkRequestPending
from ..settings.config import Config
from ..timing import Deadline, Policy
from .adapters import Services
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


class Step:
    """The issuer or the deployer: works on the run's job and records what it did in the job's progress."""

    def __init__(self, job: Job):
        self.job, self.progress = job, job.progress
        self.config, self.services, self.result = job.config, job.services, job.result
        self.policy, self.deadline, self.lock = job.policy, job.deadline, job.lock
