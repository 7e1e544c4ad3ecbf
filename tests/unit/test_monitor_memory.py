"""The monitor's re-alert memory: what a run stamps and forgets (remember), and its record in Vault, trimmed
to what a secret holds (AlertMemory)."""
import base64
import datetime as dt

from certmgr.monitor import AlertMemory, Item, remember
from certmgr.monitor.memory import STATE_LIMIT
from sandbox.oci.vault.models import MAX_CONTENT_CHARS

TODAY = dt.date(2025, 3, 1)
DAY = dt.timedelta(days=1)


def item(key, severity, alert=None):
    return Item(severity, key, "us-ashburn-1", "certificates", key, alert=alert)


def test_remember_stamps_what_was_sent_and_forgets_ok_certificates():
    old = {"held": ("WARNING", TODAY - 2 * DAY), "now-ok": ("WARNING", TODAY - DAY),
           "unread": ("CRITICAL", TODAY - DAY), "deleted-recently": ("WARNING", TODAY - 3 * DAY),
           "deleted-long-ago": ("WARNING", TODAY - 30 * DAY)}
    old["still-crit"] = ("CRITICAL", TODAY - 4 * DAY)
    items = [item("held", "WARNING", "held"), item("now-ok", "OK"), item("unread", "UNKNOWN", "repeat"),
             item("new", "WARNING", "new"), item("crit", "CRITICAL", "new"), item("still-crit", "CRITICAL", "repeat")]
    assert remember(old, items, TODAY, True, 7) == {
        "held": ("WARNING", TODAY - 2 * DAY), "unread": ("CRITICAL", TODAY - DAY),
        "new": ("WARNING", TODAY), "crit": ("CRITICAL", TODAY), "still-crit": ("CRITICAL", TODAY - 4 * DAY),
        "deleted-recently": ("WARNING", TODAY - 3 * DAY)}


def test_an_unchanged_situation_leaves_the_memory_unchanged():
    """Each write is a Vault secret version (30 at most): a run that only repeats must not write."""
    old = {"w": ("WARNING", TODAY - DAY), "c": ("CRITICAL", TODAY - 3 * DAY), "e": ("EXPIRED", TODAY - 9 * DAY)}
    items = [item("w", "WARNING", "held"), item("c", "CRITICAL", "repeat"), item("e", "EXPIRED", "repeat")]
    assert remember(old, items, TODAY, True, 7) == old


def test_nothing_is_stamped_when_the_digest_reached_no_one():
    old = {"w": ("WARNING", TODAY - 8 * DAY)}
    assert remember(old, [item("w", "WARNING", "reminder"), item("n", "WARNING", "new")], TODAY, False, 7) == old


class MemoryStore:
    """certmgr's VaultStore interface (read/write by name), in memory."""

    def __init__(self):
        self.data = {}

    def read(self, name):
        return (self.data[name], None) if name in self.data else None

    def write(self, name, content):
        self.data[name] = content


def test_alert_memory_round_trip_and_trim_to_vault_size():
    store = MemoryStore()
    memory = AlertMemory(store, "x-monitor-state")
    assert memory.load() == {}
    small = {"ocid1.certificate.oc1.iad.a": ("WARNING", TODAY)}
    assert memory.save(small) == []
    assert memory.load() == small
    many = {f"ocid1.certificate.oc1.iad.{'a' * 60}{i:05d}": ("WARNING" if i % 2 else "CRITICAL", TODAY - i * DAY)
            for i in range(400)}
    warnings = memory.save(many)
    kept = memory.load()
    stored = store.data["x-monitor-state"]
    assert len(stored) <= STATE_LIMIT and warnings and "did not fit" in warnings[0]
    assert len(base64.b64encode(stored)) <= MAX_CONTENT_CHARS  # what Vault takes in one secret version
    assert all(severity == "WARNING" for severity, _ in kept.values())   # the entries that suppress mail stay
    assert max(TODAY - day for _, day in kept.values()) < min(TODAY - day for k, (_, day) in many.items()
                                                               if k not in kept and many[k][0] == "WARNING")


def test_memory_off_without_a_store():
    memory = AlertMemory(None, "x")
    assert memory.load() == {} and memory.save({"a": ("WARNING", TODAY)}) == []
