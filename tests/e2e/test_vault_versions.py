"""Secret versions stay within OCI's limits (30 in active use, 30 pending deletion) however often certmgr
writes: VaultStore counts versions from what its writes leave in the secret's metadata, and schedules the
deletion of old DEPRECATED versions as a secret nears the limit."""
import base64
import datetime as dt

import oci
import pytest

from certmgr.cloud.lock import RunLock
from certmgr.cloud.vault import KEEP_DEPRECATED, PRUNE_AT, VaultStore
from certmgr.errors import VaultError
from sandbox.oci import vault as vault_module
from sandbox.oci.faults import Fault
from sandbox.oci.vault.models import VERSION_LIMIT  # OCI's, in active use and (apart) pending deletion


def by_use(store: VaultStore, name: str) -> tuple[dict, dict]:
    """({number: stages} of versions in active use, {number: time of deletion} of those pending deletion)."""
    versions = store.versions(name)
    return ({v.version_number: v.stages for v in versions if not v.time_of_deletion},
            {v.version_number: v.time_of_deletion for v in versions if v.time_of_deletion})


def content(store: VaultStore, name: str, **selector) -> bytes:
    bundle = store.secrets.get_secret_bundle(store.secret_id(name), **selector).data
    return base64.b64decode(bundle.secret_bundle_content.content)


def operations(sandbox, since: int) -> list[str]:
    return [c["operation"] for c in sandbox.world.calls[since:]]


def test_writes_prune_only_as_a_secret_nears_the_limit_keeping_the_newest_deprecated(sandbox, store):
    since = len(sandbox.world.calls)
    for i in range(1, PRUNE_AT):
        assert store.write("cert", f"v{i}".encode()) == i
    # counted without a listing: the create, then one call per write
    assert operations(sandbox, since) == ["secrets.get_secret_bundle_by_name", "vault.create_secret",
                                          *["vault.update_secret"] * (PRUNE_AT - 2)]
    assert len(by_use(store, "cert")[0]) == PRUNE_AT - 1

    # The write that would make PRUNE_AT in use first schedules the DEPRECATED versions beyond the newest 5.
    assert store.write("cert", f"v{PRUNE_AT}".encode()) == PRUNE_AT
    active, pending = by_use(store, "cert")
    kept = range(PRUNE_AT - 2 - KEEP_DEPRECATED, PRUNE_AT - 1)
    assert active == {PRUNE_AT: ["CURRENT", "LATEST"], PRUNE_AT - 1: ["PREVIOUS"], **{n: ["DEPRECATED"] for n in kept}}
    assert sorted(pending) == list(range(1, kept.start))
    soonest = dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=1)
    assert all(soonest < when < soonest + dt.timedelta(hours=1) for when in pending.values())
    assert (content(store, "cert"), content(store, "cert", stage="PREVIOUS")) == (f"v{PRUNE_AT}".encode(),
                                                                                   f"v{PRUNE_AT - 1}".encode())
    assert content(store, "cert", version_number=kept.start) == f"v{kept.start}".encode()  # kept for rollback
    with pytest.raises(oci.exceptions.ServiceError) as gone:
        content(store, "cert", version_number=kept.start - 1)
    assert gone.value.status == 404
    assert store.warnings == []

    # Another run counts from what the last write left in the secret's metadata: still no listing.
    later = VaultStore(store.vaults, store.secrets, vault_id=store.vault_id, key_id=store.key_id,
                       compartment_id=store.compartment_id)
    since = len(sandbox.world.calls)
    assert later.write("cert", b"next") == PRUNE_AT + 1
    assert operations(sandbox, since) == ["secrets.get_secret_bundle_by_name", "vault.update_secret"]


def test_a_busy_day_of_writes_stays_within_the_limits_and_then_waits_for_deletions(sandbox, store):
    """Forced renewals all day: old versions are scheduled until 30 wait for deletion (OCI's limit), then the
    count in use grows, with warnings, to 30, where a write is refused before it is tried."""
    written = 0
    with pytest.raises(VaultError) as full:
        while True:
            store.write("busy", f"v{written + 1}".encode())
            written += 1
            active, pending = by_use(store, "busy")
            assert len(active) <= VERSION_LIMIT and len(pending) <= VERSION_LIMIT
    assert f"is at OCI's limit of {VERSION_LIMIT} versions in use" in full.value.message
    active, pending = by_use(store, "busy")
    assert (len(active), len(pending)) == (VERSION_LIMIT, VERSION_LIMIT)
    assert any("already pending deletion" in w for w in store.warnings)
    assert any("avoid forcing renewals" in w for w in store.warnings)
    assert content(store, "busy") == f"v{written}".encode()

    # A day later the pending versions are deleted; the next write schedules the ones that waited.
    for version in sandbox.backend(vault_module).secrets[store.secret_id("busy")].versions:
        if version.time_of_deletion:
            version.time_of_deletion = dt.datetime.now(dt.timezone.utc)
    assert store.write("busy", b"a day later") == written + 1
    active, pending = by_use(store, "busy")
    assert len(active) == KEEP_DEPRECATED + 3 and len(pending) <= VERSION_LIMIT  # + PREVIOUS, CURRENT and the new


def test_pending_writes_and_promotions_count_and_prune_too(store):
    """The certificate set's pattern: key written PENDING, then promoted; CURRENT and PENDING are never touched."""
    store.write("key", b"k1")
    for i in range(2, PRUNE_AT + 1):
        number = store.write("key", f"k{i}".encode(), pending=True)
        assert number == i and by_use(store, "key")[0][number] == ["PENDING", "LATEST"]
        store.promote("key", number)
    active, pending = by_use(store, "key")
    kept = range(PRUNE_AT - 2 - KEEP_DEPRECATED, PRUNE_AT - 1)
    assert active == {PRUNE_AT: ["CURRENT", "LATEST"], PRUNE_AT - 1: ["PREVIOUS"], **{n: ["DEPRECATED"] for n in kept}}
    assert sorted(pending) == list(range(1, kept.start))
    assert store.warnings == []


def test_a_pruning_failure_is_a_warning_and_the_write_stands(sandbox, store, clear_faults):
    for i in range(1, PRUNE_AT):
        store.write("acct", f"a{i}".encode())
    sandbox.world.faults.add(Fault(operation="vault.schedule_secret_version_deletion", status=500))
    assert store.write("acct", f"a{PRUNE_AT}".encode()) == PRUNE_AT
    assert content(store, "acct") == f"a{PRUNE_AT}".encode()
    assert store.warnings and "could not schedule old versions of secret 'acct'" in store.warnings[0]
    assert "500" in store.warnings[0]
    sandbox.world.faults.clear()
    store.write("acct", b"next")  # the next write catches up
    assert sorted(by_use(store, "acct")[1]) == list(range(1, PRUNE_AT - 1 - KEEP_DEPRECATED))


def test_the_run_lock_taken_twenty_times_stays_within_the_limits(store):
    for _ in range(20):
        lock = RunLock(store, "lock", seconds=60)
        lock.acquire()
        lock.release()
    active, pending = by_use(store, "lock")
    assert len(active) <= VERSION_LIMIT and len(pending) <= VERSION_LIMIT
    assert list(active) == [1] and not pending  # the lease lives in metadata: no version per run
    metadata = store.vaults.get_secret(store.secret_id("lock")).data.metadata
    assert (metadata["holder"], metadata["until"], metadata["txt"]) == ("", "0", "[]")
