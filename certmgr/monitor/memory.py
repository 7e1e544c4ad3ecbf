"""Alert memory: what was alerted, as what, on which day, kept in a Vault secret between runs."""
from __future__ import annotations

import datetime as dt
import json

from ..cloud.vault import VaultStore
from .model import Item

STATE_LIMIT = 18_000  # bytes of state JSON: Vault takes 25 KB of base64 content


class AlertMemory:
    """What was alerted, as what, on which day; kept in a Vault secret (see the module docstring)."""

    def __init__(self, store: VaultStore | None, name: str):
        self.store, self.name = store, name

    def load(self) -> dict[str, tuple[str, dt.date]]:
        if self.store is None:
            return {}
        found = self.store.read(self.name)
        if found is None:
            return {}
        data = json.loads(found[0])
        return {key: (value[0], dt.date.fromisoformat(value[1])) for key, value in data["alerted"].items()}

    def save(self, entries: dict[str, tuple[str, dt.date]]) -> list[str]:
        """Store `entries`; returns warnings (entries dropped to fit Vault's size limit)."""
        if self.store is None:
            return []
        # Dropped first: entries that suppress nothing (CRITICAL, EXPIRED), then the oldest WARNINGs. A
        # dropped entry costs at most one repeated mail.
        order = sorted(entries.items(), key=lambda kv: (kv[1][0] == "WARNING", kv[1][1]), reverse=True)
        kept = dict(order)
        while True:
            text = json.dumps({"version": 1, "alerted": {k: [s, d.isoformat()] for k, (s, d) in kept.items()}},
                              separators=(",", ":"))
            if len(text) <= STATE_LIMIT:
                break
            kept.popitem()
        self.store.write(self.name, text.encode())
        dropped = len(entries) - len(kept)
        return [f"monitor state: {dropped} entries did not fit in secret {self.name!r}; those certificates may "
                f"be alerted again before the re-alert interval"] if dropped else []


def remember(memory: dict, items: list[Item], today: dt.date, delivered: bool,
             realert_days: int) -> dict[str, tuple[str, dt.date]]:
    """The memory after this run. A WARNING that was sent is stamped today (only if the digest reached
    someone); a CRITICAL or EXPIRED one keeps the day it was first sent at that severity (it goes out every
    run anyway, and an unchanged memory is not rewritten: each write is a new Vault secret version, and a
    secret holds at most 30). OK and INFO certificates are forgotten (a later WARNING is news again); those not read
    this run keep what they had."""
    kept = {}
    seen = set()
    for item in items:
        seen.add(item.key)
        last = memory.get(item.key)
        if item.severity in ("OK", "INFO"):  # nothing to hold back next time
            continue
        if item.severity == "UNKNOWN" or item.alert == "held" or not delivered or item.alert == "repeat":
            if last:
                kept[item.key] = last
            continue
        kept[item.key] = (item.severity, today)
    for key, last in memory.items():  # not seen: region down, or deleted; kept for one interval
        if key not in seen and (today - last[1]).days < max(realert_days, 1):
            kept[key] = last
    return kept
