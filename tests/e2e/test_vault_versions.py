"""Secret versions stay within OCI's limits (30 in active use, 30 pending deletion) however often certmgr
writes: VaultStore schedules the deletion of old DEPRECATED versions after each write."""
import base64
import datetime as dt

import oci
import pytest

from certmgr.cloud.lock import RunLock
from certmgr.cloud.vault import VaultStore
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


def test_forty_writes_all_succeed_and_keep_the_newest_deprecated_versions(sandbox, store):
    for i in range(1, 41):
        assert store.write("cert", f"v{i}".encode()) == i
        active, pending = by_use(store, "cert")
        assert len(active) <= VERSION_LIMIT and len(pending) <= VERSION_LIMIT

    # 40 versions in one sitting: 30 wait for deletion (OCI's limit), so 3 old ones must wait their turn.
    active, pending = by_use(store, "cert")
    assert active == {40: ["CURRENT", "LATEST"], 39: ["PREVIOUS"], **{n: ["DEPRECATED"] for n in range(31, 39)}}
    assert sorted(pending) == list(range(1, 31))
    soonest = dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=1)
    assert all(soonest < when < soonest + dt.timedelta(hours=1) for when in pending.values())
    assert len(store.warnings) == 3 and "already pending deletion" in store.warnings[-1]
    assert (content(store, "cert"), content(store, "cert", stage="PREVIOUS")) == (b"v40", b"v39")
    assert content(store, "cert", version_number=38) == b"v38"  # the newest DEPRECATED are kept for rollback
    with pytest.raises(oci.exceptions.ServiceError) as gone:
        content(store, "cert", version_number=30)
    assert gone.value.status == 404

    # A day later the pending versions are deleted; the next write schedules the ones that waited.
    backend = sandbox.backend(vault_module)
    for version in backend.secrets[store.secret_id("cert")].versions:
        if version.time_of_deletion:
            version.time_of_deletion = dt.datetime.now(dt.timezone.utc)
    store.write("cert", b"v41")
    active, pending = by_use(store, "cert")
    assert active == {41: ["CURRENT", "LATEST"], 40: ["PREVIOUS"], **{n: ["DEPRECATED"] for n in range(35, 40)}}
    assert sorted(pending) == list(range(31, 35))
    assert len(store.warnings) == 3


def test_pending_writes_and_promotions_prune_too(store):
    """The certificate set's pattern: key written PENDING, then promoted; CURRENT and PENDING are never touched."""
    store.write("key", b"k1")
    for i in range(2, 12):
        number = store.write("key", f"k{i}".encode(), pending=True)
        assert by_use(store, "key")[0][number] == ["PENDING", "LATEST"]
        store.promote("key", number)
    active, pending = by_use(store, "key")
    assert active == {11: ["CURRENT", "LATEST"], 10: ["PREVIOUS"], **{n: ["DEPRECATED"] for n in range(5, 10)}}
    assert sorted(pending) == [1, 2, 3, 4]
    assert store.warnings == []


def test_a_pruning_failure_is_a_warning_and_the_write_stands(sandbox, store, clear_faults):
    for i in range(1, 9):
        store.write("acct", f"a{i}".encode())
    sandbox.world.faults.add(Fault(operation="vault.schedule_secret_version_deletion", status=500))
    assert store.write("acct", b"a9") == 9
    assert content(store, "acct") == b"a9"
    assert store.warnings and "could not schedule old versions of secret 'acct'" in store.warnings[0]
    assert "500" in store.warnings[0]
    sandbox.world.faults.clear()
    store.write("acct", b"a10")  # the next write catches up
    assert sorted(by_use(store, "acct")[1]) == [1, 2, 3]


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
