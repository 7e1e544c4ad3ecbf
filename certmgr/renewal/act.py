"""Act: carry out one Plan, remembering how far the run got, so that a failure can say exactly what it left
(`left_behind`, the result's `state`). The issuing and deploying steps are in `issue.py` and
`deploy.py`."""
from __future__ import annotations

import datetime as dt

from .. import pki
from ..settings.config import Config
from .deploy import DeploySteps
from ..cloud.dns import TxtRecord
from ..errors import BudgetSpent, WorkRequestPending
from .issue import IssueSteps
from ..cloud.lock import RunLock
from .observe import Observed
from .plan import DEPLOY, ISSUE, Plan
from ..timing import Deadline, Policy
from .result import Result
from .adapters import Services


def days_left(not_after: dt.datetime, now: dt.datetime) -> int:
    return (not_after - now).days


class Act(IssueSteps, DeploySteps):
    """One run's actions, and what they have done so far."""

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
            result.days_remaining = days_left(leaf.not_after, now)
            pems = pki.cert_to_pem(chain[0]), pki.chain_to_pem(chain[1:]), pki.key_to_pem(key)
        else:
            stored = observed.stored
            leaf = pki.info(pki.parse_chain(stored.cert_pem)[0])
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
