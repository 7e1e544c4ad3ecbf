"""A lease in Vault so that two runs (the daily schedule and a manual invoke, say) never act at once.

The lease lives in the *metadata* of a small secret, `{prefix}-lock`: who holds it and until when. Changing
metadata adds no secret version, so holding the lease never wears down OCI's 30-versions-per-secret limit.
Every change is one conditional step: the first run creates the secret (a 409 means another run created it
first: busy), later runs update it with `If-Match` on the etag they read (a 412 means another run changed it
first: busy). Release uses `If-Match` on the etag this run wrote, so a run that outlived its lease never
erases the lease of the run that took over. A lease that outlived its run (a crashed function) expires and
can be taken over. Runs with nothing to do never touch it, so a healthy daily run writes nothing at all.

The same metadata carries what a run must leave to the next one (`RunRecord`): the TXT values it is about
to present (written *before* presenting them, so the next run removes them if this one is killed) and the
CA's backoff after failed orders. Every such write is conditional on this run's etag, so it also proves
that the lease is still ours: a run that lost it stops before its next change (`LockLost`). Before a change
that records nothing (on the load balancer, in the Certificates service) `confirm` asks Vault only when the
lease is near its end by this run's clock: no run takes a lease before it ends, and the lease outlives the
run's budget by a margin meant for clocks that disagree. Forgetting TXT
values once they are removed waits for the run's next write (at the latest, the release): should the run die
before it, the next run removes values that are gone, which changes nothing.

Every take leaves the taker's id in the metadata (`taken_by`, kept by the release), so the metadata changes
whenever a run takes the lease. A run reads the record first, before anything else it looks at; when the
lease it then takes finds the metadata as that first look did, no run has acted in between, and what the run
saw still holds (`RunLock.changed` is False): it need not look again.
"""
from __future__ import annotations

import base64
import json
import logging
import time
import uuid
from dataclasses import dataclass, replace

import oci.vault

from ..errors import CertmgrError, VaultError, oci_hint, oci_reason
from .vault import Known, VaultStore

log = logging.getLogger("certmgr")

PLACEHOLDER = base64.b64encode(b"certmgr run lock: the lease is in this secret's metadata").decode()


class LockBusy(CertmgrError):
    component = "lock"


class LockLost(CertmgrError):
    """Another run took the lease over while this one ran (its lease expired, or the clocks disagree)."""

    component = "lock"


@dataclass(frozen=True)
class RunRecord:
    """What runs leave for the next one in the lock's metadata."""

    txt: tuple[tuple[str, str], ...] = ()   # (name, value) TXT pairs presented and maybe not yet removed
    failures: int = 0                      # consecutive failed orders
    retry_at: float = 0.0                  # no new order before this (epoch seconds), unless forced
    last_error: str = ""                   # why the last order failed, one line
    refused_for: str = ""                  # the refused order and its CA (Config.order_key): no other is held
    issued_by: str = ""                    # the ACME directory that issued the stored certificate (its `replaces`)
    failing_since: float = 0.0             # when the first of the failed orders in a row failed (epoch seconds)
    run_error: str = ""                    # why the last run that held the lease failed, one line ("" if it did not)
    run_failed_at: float = 0.0             # since when runs that held the lease fail (epoch seconds)
    work_seconds: float = 0.0              # how long OCI took for the last change a run waited for (its polls expect it)

    @classmethod
    def from_metadata(cls, metadata: dict | None) -> "RunRecord":
        metadata = metadata or {}
        try:
            return cls(txt=_txt_pairs(json.loads(metadata.get("txt") or "[]")),
                       failures=int(metadata.get("acme_failures") or 0),
                       retry_at=float(metadata.get("acme_retry_at") or 0),
                       last_error=str(metadata.get("acme_error") or ""),
                       refused_for=str(metadata.get("acme_refused_for") or ""),
                       issued_by=str(metadata.get("acme_issued_by") or ""),
                       failing_since=float(metadata.get("acme_failing_since") or 0),
                       run_error=str(metadata.get("run_error") or ""),
                       run_failed_at=float(metadata.get("run_failed_at") or 0),
                       work_seconds=float(metadata.get("oci_work_seconds") or 0))
        except (TypeError, ValueError):  # edited by hand: start afresh rather than refuse to run
            log.warning("lock: the run record in the lock secret's metadata is unreadable and is ignored")
            return cls()

    def to_metadata(self) -> dict:
        return {"txt": json.dumps([list(pair) for pair in self.txt]), "acme_failures": str(self.failures),
                "acme_retry_at": str(self.retry_at), "acme_error": self.last_error[:300],
                "acme_refused_for": self.refused_for, "acme_issued_by": self.issued_by,
                "acme_failing_since": str(self.failing_since), "run_error": self.run_error[:300],
                "run_failed_at": str(self.run_failed_at), "oci_work_seconds": f"{self.work_seconds:.3f}"}


def _txt_pairs(value) -> tuple[tuple[str, str], ...]:
    """The recorded TXT values: a list of [name, value] string pairs, or ValueError."""
    if not isinstance(value, list) or not all(
            isinstance(pair, list) and len(pair) == 2 and all(isinstance(s, str) for s in pair) for pair in value):
        raise ValueError("the recorded TXT values are not [name, value] pairs")
    return tuple((name, text) for name, text in value)


def read_record(store: VaultStore, name: str) -> RunRecord:
    """The record as it stands, read by name without taking the lease (observe's view, and what the lease
    compares with: `RunLock.changed`)."""
    if store.read(name) is None:
        return RunRecord()
    return RunRecord.from_metadata(store.known[name].metadata)


class RunLock:
    def __init__(self, store: VaultStore, name: str, *, seconds: float, margin: float = 0.0, clock=time.time):
        self.store, self.name, self.seconds, self.margin, self.clock = store, name, seconds, margin, clock
        self.holder = uuid.uuid4().hex[:12]
        self.etag: str | None = None  # the lock secret's etag after this run's own last change
        self.until = 0.0
        self.record = RunRecord()     # as found when the lease was taken, then as this run changed it
        self.changed = True           # the metadata moved since this run's first look: another run took the lease

    def _metadata(self, holder: str | None, until: float, record: RunRecord) -> dict:
        return {"holder": holder or "", "until": str(until), "taken_by": self.holder, **record.to_metadata()}

    def _busy(self, holder: str, until: float) -> LockBusy:
        when = time.strftime("%H:%M:%S UTC", time.gmtime(until))
        return LockBusy(f"lock: another run ({holder}) is acting until {when} at the latest",
                        state="nothing was changed by this run",
                        hint="nothing to do: the other run carries on, the next scheduled run checks again")

    def _create(self, until: float) -> str:
        """Create the lock secret holding our lease; only one of several racing creators succeeds."""
        details = oci.vault.models.CreateSecretDetails(
            compartment_id=self.store.compartment_id, vault_id=self.store.vault_id, key_id=self.store.key_id,
            secret_name=self.name, metadata=self._metadata(self.holder, until, self.record),
            secret_content=oci.vault.models.Base64SecretContentDetails(content_type="BASE64", content=PLACEHOLDER),
            description="certmgr run lock", freeform_tags={"managed-by": "certmgr"})
        try:
            response = self.store.vaults.create_secret(details)
        except oci.exceptions.ServiceError as exc:
            if exc.status == 409 and self.store.read(self.name) is None:  # its name is taken, yet unreadable
                self.store.confirm_absent(self.name)
            raise self.store._fail("writing", self.name, exc) from None  # keeps the status: 409 = busy
        self.store.known[self.name] = Known(response.data.id, details.metadata)
        self.changed = False  # no run had taken it: this is its first lease
        return response.headers.get("etag")

    def _take(self, secret_id: str, until: float, seen: dict | None) -> str:
        """Take the lease from the secret as read now, unless another run holds it; `seen` is the metadata this
        run's first look found (None: it found no lock, or did not look)."""
        response = self.store.vaults.get_secret(secret_id)
        current = response.data.metadata or {}
        self.changed = seen is None or current != seen
        held_until = float(current.get("until") or 0)
        if current.get("holder") and held_until > self.clock():
            raise self._busy(current["holder"], held_until)
        self.record = RunRecord.from_metadata(current)
        return self._write(self.holder, until, self.record, response.headers.get("etag"))

    def _write(self, holder: str | None, until: float, record: RunRecord, etag: str | None) -> str | None:
        """The lease and the record as the lock secret's metadata, only if it still has `etag`; the new etag."""
        return self.store.vaults.update_secret(self.store.secret_id(self.name), oci.vault.models.UpdateSecretDetails(
            metadata=self._metadata(holder, until, record)), if_match=etag).headers.get("etag")

    def acquire(self) -> None:
        until = self.clock() + self.seconds
        first_look = self.store.known.get(self.name)
        seen = dict(first_look.metadata) if first_look else None
        try:
            secret_id = self.store.secret_id(self.name)
            self.etag = self._create(until) if secret_id is None else self._take(secret_id, until, seen)
        except (oci.exceptions.ServiceError, VaultError) as exc:
            if getattr(exc, "status", None) in (409, 412):  # another run created or took it first
                raise self._busy("a concurrent run", until) from None
            reason = (oci_reason(exc) if isinstance(exc, oci.exceptions.ServiceError)
                      else exc.message.removeprefix("vault: "))  # one line, as every other error, not the SDK's dict
            raise VaultError(f"vault: cannot take the run lock {self.name!r}: {reason}",
                             hint=getattr(exc, "hint", None) or oci_hint(exc, "check CERTMGR_VAULT_ID and the "
                                                                         "function's Vault policy; the next run tries "
                                                                         "again", secret_name=self.name)) from None
        self.until = until

    def note(self, **changes) -> None:
        """Write `changes` to the run record, extending the lease; raise LockLost if it is no longer ours.
        With no changes (or none that change the record), this is the lease check a run makes before a change in
        Vault or on the LB. A change that only forgets TXT values waits for the next write (see above)."""
        record, until = replace(self.record, **changes), self.clock() + self.seconds
        if replace(record, txt=self.record.txt) == self.record and set(record.txt) < set(self.record.txt):
            self.record = record
            return
        try:
            self.etag = self._write(self.holder, until, record, self.etag)
        except oci.exceptions.ServiceError as exc:
            if exc.status == 412 and self._still_ours():
                self.record, self.until = record, until  # a retried write whose first attempt had landed
                return
            if exc.status == 412:
                self.etag = None  # never release what is another run's
                raise LockLost(f"lock: another run took over the lease on {self.name!r} while this run was "
                               "acting; this run stopped before its next change") from None
            raise self.store._fail("writing", self.name, exc) from None
        self.record, self.until = record, until

    def remember(self, **changes) -> None:
        """Changes to the run record that need no write of their own: the next write carries them (at the
        latest, the release)."""
        self.record = replace(self.record, **changes)

    def confirm(self) -> None:
        """The lease check before a change on the load balancer or in the Certificates service: a write (`note`)
        only once less than `margin` of the lease is left by this run's clock; before that, no other run can
        have taken it unless the clocks disagree by more than the margin."""
        if self.clock() > self.until - self.margin:
            self.note()

    def _still_ours(self) -> bool:
        """After a 412: a retried write whose first attempt landed finds its own lease there. Take up its
        etag instead of reporting a takeover."""
        response = self.store.vaults.get_secret(self.store.secret_id(self.name))
        if (response.data.metadata or {}).get("holder") != self.holder:
            return False
        self.etag = response.headers.get("etag")
        return True

    def release(self) -> None:
        if self.etag is None:
            return
        etag, self.etag = self.etag, None
        try:
            self._write(None, 0, self.record, etag)
        except oci.exceptions.ServiceError as exc:
            if exc.status == 412:  # the lease expired and another run took it over: it is theirs now
                log.warning("lock: the lease on %r expired during this run and another run took it over",
                            self.name)
                return
            expires = time.strftime("%H:%M:%S UTC", time.gmtime(self.until))
            raise VaultError(f"vault: could not release the run lock {self.name!r}: {oci_reason(exc)}",
                             state=f"the run's changes are in place; the lock expires by itself at {expires}",
                             hint="nothing to do: runs until then are skipped") from None

    def __enter__(self):
        self.acquire()
        return self

    def __exit__(self, exc_type, exc, tb):
        """Release the lease, leaving in the record whether the run failed and why (what the monitor reports)."""
        if exc is None:
            self.record = replace(self.record, run_error="", run_failed_at=0.0)
        else:
            why = getattr(exc, "message", None) or f"{exc_type.__name__}: {exc}"
            self.record = replace(self.record, run_error=why.splitlines()[0],
                                  run_failed_at=self.record.run_failed_at or self.clock())
        try:
            self.release()
        except VaultError as error:
            if exc_type is None:
                raise
            log.warning("%s", error)  # the run's own failure is the one to report; the lease expires
