"""Report: the one digest of a run, worst first, cut to a channel's size limit at an item boundary."""
from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from .model import LABELS, Item

@dataclass(frozen=True)
class Digest:
    title: str
    text: str


def _summary(counts: dict[str, int]) -> str:
    parts = [f"{counts[s]} {LABELS.get(s, s).lower() if s == 'UNKNOWN' else s}"
             for s in ("EXPIRED", "CRITICAL", "WARNING", "UNKNOWN") if counts.get(s)]
    return ", ".join(parts)


def _block(item: "Item") -> str:
    label = LABELS.get(item.severity, item.severity)
    where = f"region {item.region}"
    if item.compartment_id:
        where += f", compartment {item.compartment or item.compartment_id}"
        if item.compartment:
            where += f" ({item.compartment_id})"
    lines = [f"{label:<9} {item.name}  {item.when()}", f"          {where}", f"          id {item.id}"]
    if item.issuer or item.serial:
        lines.append(f"          issuer {item.issuer or '?'}, serial {item.serial or '?'}")
    if item.detail:
        lines.append(f"          {item.detail}")
    if item.reason:
        lines.append(f"          reason: {item.reason}")
    return "\n".join(lines)


def digest(items: Sequence["Item"], *, counts: dict[str, int], held_back: int, checked_at: dt.datetime,
           realert_days: int) -> Digest:
    """The one message of a run: `items` (already worst first) in full, then what was left out and why."""
    total = sum(counts.values())
    summary = _summary(counts)
    title = f"certmgr: {summary}" if summary else f"certmgr: all {total} certificates OK"
    head = [f"Certificate expiry digest, {checked_at:%Y-%m-%d %H:%M} UTC: {total} certificates checked"
            + (f"; {summary}" if summary else "") + f"; {counts.get('OK', 0)} OK."]
    if held_back:
        head.append(f"{held_back} more WARNING certificate{'s were' if held_back != 1 else ' was'} reported in "
                    f"the last {realert_days} days and {'are' if held_back != 1 else 'is'} not repeated here.")
    body = "\n".join(head) + "\n\n" + "\n\n".join(_block(item) for item in items)
    return Digest(title, body.rstrip() + "\n")


def fit(text: str, limit: int) -> str:
    """`text` cut at an item boundary to `limit` bytes, saying how many items were left out."""
    if len(text.encode()) <= limit:
        return text
    blocks = text.split("\n\n")
    kept, size = [], 0
    for block in blocks:
        size += len(block.encode()) + 2
        if size > limit - 200:
            break
        kept.append(block)
    left = len(blocks) - len(kept)
    return "\n\n".join(kept) + f"\n\n... and {left} more, not shown: the message limit is {limit // 1024} KB. " \
                                "The e-mail digest and the log have every certificate.\n"
