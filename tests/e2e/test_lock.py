"""The run lock in Vault: one holder at a time, expiry takes over, a racing second run is refused; the run
record it carries survives a hand edit that leaves it unreadable; a run looks again under the lock exactly when
another run took the lease since its first look."""
import logging
import threading
import time

import oci
import pytest

from _runs import run
from _slice import add_fault
from certmgr.cloud.lock import LockBusy, LockLost, RunLock, RunRecord, read_record
from certmgr.cloud.vault import VaultStore
from sandbox.oci import dns as dns_service

LABEL = "lock"


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


def test_a_lease_says_whether_another_run_took_it_since_the_first_look(store):
    """A run reads the record first; the lease it takes then says whether another run took the lease in
    between (what the run saw may be out of date: it looks again) or not (what it saw still holds)."""
    name = "t-lock-changed"
    read_record(store, name)  # no lock secret yet
    with RunLock(store, name, seconds=60) as first:  # created by this run: nobody took it before
        assert not first.changed
    looked = _fresh_store(store)
    read_record(looked, name)
    with RunLock(looked, name, seconds=60) as lease:  # nobody since the look
        assert not lease.changed
    read_record(looked, name)
    other = RunLock(_fresh_store(store), name, seconds=60)
    other.acquire()
    other.release()  # another run takes and releases the lease, its record as it found it
    with RunLock(looked, name, seconds=60) as lease:
        assert lease.changed
    with RunLock(_fresh_store(store), name, seconds=60) as lease:  # a run that did not look first
        assert lease.changed


def test_forgetting_removed_txt_values_waits_for_the_next_write(store):
    """Recording TXT values is written before they are presented; forgetting them once removed is written
    with the run's next write of the record (here the release): lost, it only makes the next run remove
    values that are gone."""
    name, pair = "t-lock-forget", ("_acme-challenge.example.com", "v1")
    with RunLock(store, name, seconds=60) as lock:
        lock.note(txt=(pair,))
        assert read_record(_fresh_store(store), name).txt == (pair,)
        lock.note(txt=())
        assert read_record(_fresh_store(store), name).txt == (pair,)
    assert read_record(_fresh_store(store), name).txt == ()


def test_the_lease_check_before_a_deploy_asks_vault_only_near_the_leases_end(store):
    """`confirm` writes nothing while more than the margin is left by the run's clock (no run takes a lease
    before it ends); past that, it writes, and so finds a run that took over (clocks that disagree)."""
    name, now = "t-lock-confirm", [1000.0]
    lock = RunLock(store, name, seconds=100, margin=30, clock=lambda: now[0])
    lock.acquire()
    vaults = store.vaults
    etag = vaults.get_secret(store.secret_id(name)).headers["etag"]
    now[0] += 69  # 31 s left
    lock.confirm()
    assert vaults.get_secret(store.secret_id(name)).headers["etag"] == etag  # nothing written
    metadata = dict(vaults.get_secret(store.secret_id(name)).data.metadata, holder="successor")
    vaults.update_secret(store.secret_id(name), oci.vault.models.UpdateSecretDetails(metadata=metadata))
    now[0] += 2  # 29 s left: written, and the successor found
    with pytest.raises(LockLost):
        lock.confirm()
    lock.release()  # nothing: the lease is the successor's
    assert vaults.get_secret(store.secret_id(name)).data.metadata["holder"] == "successor"


def test_a_run_overtaken_after_its_first_look_looks_again_and_orders_nothing(issued_tenant, clear_faults):
    """Runs A and B are both due to order (the names changed). A looks, then reads a slow zone; B orders and
    deploys meanwhile. A's lease shows that B took it since A's look: A looks again, finds B's certificate,
    and orders nothing."""
    t = issued_tenant
    extra = t.sandbox.backend(dns_service).add_zone(f"extra-{t.zone}", t.compartment_id)
    b_env = dict(t.env, CERTMGR_DOMAIN=t.zone)
    a_env = dict(b_env, CERTMGR_DNS_ZONE_ID=f"{t.zone_id},{extra}")  # the same deployment, one more zone
    add_fault(t, operation="dns.get_zone", path=f"*/zones/{extra}", latency=5.0)  # only A reads it
    certificate = f"{t.prefix}-certificate"
    versions, before = t.secret_versions()[certificate], t.footprint()
    finished = {}
    a = threading.Thread(target=lambda: finished.setdefault("a", run(a_env)))
    a.start()
    deadline = time.monotonic() + 30
    while "lb.get_load_balancer" not in [c["operation"] for c in t.calls_since(before)]:  # A has looked
        assert time.monotonic() < deadline and a.is_alive(), "run A never looked"
        time.sleep(0.02)
    b = run(b_env)
    a.join(30)
    assert (b.status, b.action) == ("ok", "issue"), b.render()
    assert (finished["a"].status, finished["a"].action) == ("ok", "nothing"), finished["a"].render()
    assert t.secret_versions()[certificate] == versions + 1  # one order: B's
