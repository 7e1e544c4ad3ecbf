"""Act: carry out one Plan as decided: repairs, then the issuer's order (`issue.py`) and the deployer's deploy
(`deploy.py`), both working on the run's `Job` (`job.py`)."""
from __future__ import annotations

import datetime as dt

from .. import pki
from ..cloud.dns import TxtRecord
from ..errors import WorkRequestPending
from .deploy import Deployer
from .issue import Issuer
from .job import Job
from .observe import Observed
from .plan import DEPLOY, ISSUE, Plan


class Act:
    """One run's actions: repairs, then the issuer's order and the deployer's deploy, as the plan says."""

    def __init__(self, job: Job):
        self.job = job
        self.issuer, self.deployer = Issuer(job), Deployer(job)

    def act(self, observed: Observed, planned: Plan, now: dt.datetime) -> None:
        """The waits for OCI's work expect it to take as long as the last time a run waited, which the record
        keeps for the next run."""
        job = self.job
        job.services.expect(job.lock.record.work_seconds)
        try:
            self._act(observed, planned, now)
        except WorkRequestPending as exc:
            job.progress.in_flight = exc
            raise
        finally:
            job.lock.remember(work_seconds=job.services.expected())

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
            leaf, chain, key = self.issuer.issue(observed, planned)
            result.serial, result.not_after = leaf.serial, leaf.not_after.isoformat()
            result.days_remaining = (leaf.not_after - now).days
            pems = pki.cert_to_pem(chain[0]), pki.chain_to_pem(chain[1:]), pki.key_to_pem(key)
        else:
            stored = observed.stored
            leaf = pki.info(pki.parse_chain(stored.cert_pem)[0])
            pems = stored.cert_pem.decode(), (stored.chain_pem or b"").decode(), stored.key_pem.decode()
            self.promote_set(stored)
        self.job.services.target.deploy(self.deployer, leaf, pems, observed, planned)
