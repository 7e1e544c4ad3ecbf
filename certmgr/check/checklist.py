"""What `check` found: one line per thing a run needs, whether it holds, and how to fix what does not."""
from __future__ import annotations

import contextlib
import logging
from dataclasses import asdict, dataclass, field

from ..errors import CertmgrError

log = logging.getLogger("certmgr")

OK, FAILED, UNPROVEN, SKIPPED = "ok", "failed", "unproven", "skipped"
MARKS = {OK: "ok", FAILED: "FAILED", UNPROVEN: "unproven", SKIPPED: "skipped"}


@dataclass
class Item:
    name: str                 # what is checked: "dns write example.com"
    status: str = OK          # ok | failed | unproven (only a change would prove it) | skipped (see an item above)
    detail: str = ""          # what was found, or what is wrong
    fix: str | None = None    # how to fix it (a failed item), or the grant it rests on (an unproven one)


class Stop(Exception):
    """Inside `Checklist.item`: this item failed as described (its detail and fix are already set)."""


@dataclass
class Checklist:
    mode: str                                   # renew | monitor
    items: list[Item] = field(default_factory=list)

    @property
    def status(self) -> str:
        return "failed" if any(i.status == FAILED for i in self.items) else "ok"

    @contextlib.contextmanager
    def item(self, name: str):
        """`with checks.item("vault") as item: ...`: the item passes unless the block sets otherwise or raises;
        a certmgr error fails it with its message and hint (the grant a refused call lacks)."""
        found = Item(name)
        self.items.append(found)
        log.info("check: %s", name)
        try:
            yield found
        except Stop:
            found.status = FAILED
        except CertmgrError as exc:
            found.status, found.detail, found.fix = FAILED, exc.message, exc.hint
        if found.status == FAILED:
            log.info("check: %s failed: %s", name, found.detail)

    def add(self, name: str, status: str, detail: str, fix: str | None = None) -> Item:
        self.items.append(Item(name, status, detail, fix))
        return self.items[-1]

    def to_dict(self) -> dict:
        return {"status": self.status, "mode": self.mode, "items": [asdict(i) for i in self.items]}

    def render(self) -> str:
        counts = {s: sum(i.status == s for i in self.items) for s in MARKS}
        head = (f"CHECK OK: {counts[OK]} passed" if self.status == "ok" else
                f"CHECK FAILED: {counts[FAILED]} of {len(self.items)} failed, {counts[OK]} passed")
        if counts[UNPROVEN]:
            head += f", {counts[UNPROVEN]} only a change can prove"
        width = max(len(i.name) for i in self.items) if self.items else 0
        lines = [f"{head} ({self.mode} mode)"]
        for i in self.items:
            lines.append(f"  {MARKS[i.status]:<9}{i.name:<{width + 2}}{i.detail}")
            if i.fix:
                lines.append(f"  {'':<9}{'':<{width + 2}}{'fix' if i.status == FAILED else 'grant'}: {i.fix}")
        return "\n".join(lines)
