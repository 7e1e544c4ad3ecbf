"""The run lock in Vault: one holder at a time, expiry takes over, a racing second run is refused; the run
record it carries survives a hand edit that leaves it unreadable."""
import logging
import threading
import time

import oci
import pytest

from certmgr.cloud.lock import LockBusy, RunLock, RunRecord, read_record
from certmgr.cloud.vault import VaultStore


def test_one_holder_at_a_time(store):
    first, second = RunLock(store, "t-lock", seconds=60), RunLock(store, "t-lock", seconds=60)
    with first:
        with pytest.raises(LockBusy) as busy:
            second.acquire()
        assert first.holder in busy.value.message
    second.acquire()  # released: free again
    second.release()


def test_expired_lease_is_taken_over(store):
    crashed = RunLock(store, "t-lock-expiry", seconds=1)
    crashed.acquire()  # never released: the run "crashed"
    later = RunLock(store, "t-lock-expiry", seconds=60, clock=lambda: time.time() + 5)
    later.acquire()
    later.release()


def _fresh_store(store) -> VaultStore:
    """A store of its own, as another run (another process) would have: no cached secret ids."""
    return VaultStore(store.vaults, store.secrets, vault_id=store.vault_id, key_id=store.key_id,
                      compartment_id=store.compartment_id)


def _race(store, name: str, runs: int) -> list[str]:
    """`runs` runs try to take the lock `name` at the same instant; "won" or "busy" for each."""
    outcomes, barrier = [], threading.Barrier(runs)

    def contend():
        lock = RunLock(_fresh_store(store), name, seconds=60)
        barrier.wait()
        try:
            lock.acquire()
            outcomes.append("won")
        except LockBusy:
            outcomes.append("busy")

    threads = [threading.Thread(target=contend) for _ in range(runs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return outcomes


def test_racing_runs_exactly_one_wins(store):
    setup = RunLock(store, "t-lock-race", seconds=60)
    setup.acquire()
    setup.release()
    outcomes = _race(store, "t-lock-race", 4)
    assert outcomes.count("won") == 1, outcomes


@pytest.mark.parametrize("round_", range(20))
def test_two_first_runs_exactly_one_wins(store, round_):
    """No lock secret yet: both runs try to create it at the same instant; the 409 loser is busy."""
    outcomes = _race(store, f"t-lock-first-{round_}", 2)
    assert sorted(outcomes) == ["busy", "won"], outcomes


def test_a_run_that_outlived_its_lease_does_not_erase_its_successor(store):
    slow = RunLock(store, "t-lock-outlived", seconds=1)
    slow.acquire()
    successor = RunLock(_fresh_store(store), "t-lock-outlived", seconds=60, clock=lambda: time.time() + 5)
    successor.acquire()  # the slow run's lease has expired: taken over
    slow.release()       # If-Match on the slow run's etag: refused, the successor keeps the lease
    with pytest.raises(LockBusy) as busy:
        RunLock(_fresh_store(store), "t-lock-outlived", seconds=60).acquire()
    assert successor.holder in busy.value.message
    successor.release()


def test_an_unreadable_record_is_read_as_a_fresh_one_and_the_lease_is_still_taken(store, caplog):
    """Someone edits the lock secret's metadata by hand and leaves the record unreadable: observe reads a
    fresh record (with a warning) instead of failing, the next run takes the lease, and its release writes a
    readable record back."""
    name = "t-lock-unreadable"
    assert read_record(store, name) == RunRecord()  # no lock secret yet
    with RunLock(store, name, seconds=60) as lock:
        lock.note(failures=2, retry_at=time.time() + 3600, txt=(("_acme-challenge.example.com", "v1"),))
    assert read_record(store, name).failures == 2
    secret_id = store.secret_id(name)
    metadata = dict(store.vaults.get_secret(secret_id).data.metadata, acme_failures="two")
    store.vaults.update_secret(secret_id, oci.vault.models.UpdateSecretDetails(metadata=metadata))

    with caplog.at_level(logging.WARNING, logger="certmgr"):
        assert read_record(_fresh_store(store), name) == RunRecord()
        later = RunLock(_fresh_store(store), name, seconds=60)
        later.acquire()
    assert "the run record in the lock secret's metadata is unreadable and is ignored" in caplog.text
    assert later.record == RunRecord()
    later.release()
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="certmgr"):
        assert read_record(store, name) == RunRecord()
    assert caplog.records == []
