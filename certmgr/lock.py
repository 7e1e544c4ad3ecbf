"""A lease in Vault so that two runs (the daily schedule and a manual invoke, say) never act at once.

The lease is a small secret, `{prefix}-lock`, holding who has it and until when. Taking it is an update
guarded by the secret's etag (`If-Match`), so of two runs racing for it exactly one wins. A lease that
outlived its run (a crashed function) expires and can be taken over. Runs with nothing to do never touch
it, so a healthy daily run writes nothing at all.
"""
from __future__ import annotations

import base64
import json
import logging
import time
import uuid

import oci

from .errors import CertmgrError, VaultError
from .vault import VaultStore

log = logging.getLogger("certmgr")

LEASE_SECONDS = 360  # longer than a run may last (Fn's limit is 300 s)


class LockBusy(CertmgrError):
    component = "lock"


class RunLock:
    def __init__(self, store: VaultStore, name: str, *, seconds: int = LEASE_SECONDS, clock=time.time):
        self.store, self.name, self.seconds, self.clock = store, name, seconds, clock
        self.holder = uuid.uuid4().hex[:12]
        self._held, self.until = False, 0.0

    def _content(self, holder: str | None, until: float) -> oci.vault.models.Base64SecretContentDetails:
        data = json.dumps({"holder": holder, "until": until}).encode()
        return oci.vault.models.Base64SecretContentDetails(content_type="BASE64",
                                                            content=base64.b64encode(data).decode())

    def _busy(self, holder: str, until: float) -> LockBusy:
        when = time.strftime("%H:%M:%S UTC", time.gmtime(until))
        return LockBusy(f"lock: another run ({holder}) is acting until {when} at the latest",
                        state="nothing was changed by this run",
                        hint="nothing to do: the other run carries on, the next scheduled run checks again")

    def acquire(self) -> None:
        until = self.clock() + self.seconds
        secret_id = self.store.secret_id(self.name)
        try:
            if secret_id is None:
                self.store.write(self.name, json.dumps({"holder": self.holder, "until": until}).encode())
            else:
                etag = self.store.vaults.get_secret(secret_id).headers.get("etag")
                current = json.loads(self.store.read(self.name)[0] or b"{}")
                if current.get("holder") and current.get("until", 0) > self.clock():
                    raise self._busy(current["holder"], current["until"])
                self.store.vaults.update_secret(secret_id, oci.vault.models.UpdateSecretDetails(
                    secret_content=self._content(self.holder, until)), if_match=etag)
        except (oci.exceptions.ServiceError, VaultError) as exc:
            if getattr(exc, "status", None) in (409, 412):  # another run created or took it first
                raise self._busy("a concurrent run", until) from None
            reason = (f"{exc.status} {exc.code}: {exc.message}" if isinstance(exc, oci.exceptions.ServiceError)
                      else exc.message.removeprefix("vault: "))  # one line, as every other error, not the SDK's dict
            raise VaultError(f"vault: cannot take the run lock {self.name!r}: {reason}",
                             hint=getattr(exc, "hint", None) or "check CERTMGR_VAULT_ID and the function's "
                                                                "Vault policy; the next run tries again") from None
        self._held, self.until = True, until

    def release(self) -> None:
        if not self._held:
            return
        try:
            self.store.vaults.update_secret(self.store.secret_id(self.name), oci.vault.models.UpdateSecretDetails(
                secret_content=self._content(None, 0)))
        except oci.exceptions.ServiceError as exc:
            expires = time.strftime("%H:%M:%S UTC", time.gmtime(self.until))
            raise VaultError(f"vault: could not release the run lock {self.name!r}: {exc.status} {exc.code}: "
                             f"{exc.message}", state=f"the run's changes are in place; the lock expires by "
                             f"itself at {expires}", hint="nothing to do: runs until then are skipped") from None
        self._held = False
        self.store.prune(self.name)  # each locked run adds two lock versions: stay under OCI's 30

    def __enter__(self):
        self.acquire()
        return self

    def __exit__(self, exc_type, *exc):
        try:
            self.release()
        except VaultError as error:
            if exc_type is None:
                raise
            log.warning("%s", error)  # the run's own failure is the one to report; the lease expires
