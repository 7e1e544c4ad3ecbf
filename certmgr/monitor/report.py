"""Report: the one digest of a run, worst first: per certificate its names, when it expires, where it lives
and what to do. Plain text for Notifications and the e-mail's text part, an HTML table for the e-mail's
other part; the subject and first line say what changed since the last digest. Cut to a channel's size
limit at an item boundary."""
from __future__ import annotations

import datetime as dt
import html
from collections.abc import Sequence
from dataclasses import dataclass

from .model import LABELS, SEVERITIES, Item, count

COLOURS = {"EXPIRED": "#8b0000", "CRITICAL": "#c62828", "WARNING": "#ef6c00", "UNKNOWN": "#6a1b9a",
           "INFO": "#546e7a", "OK": "#2e7d32"}


@dataclass(frozen=True)
class Digest:
    title: str
    text: str
    html: str = ""


def changes(items: Sequence[Item], renewed: int) -> str:
    """What changed since the last digest: certificates new at their severity, and those renewed since."""
    new = [i.severity for i in items if i.alert == "new"]
    parts = [f"{new.count(s)} new {LABELS.get(s, s)}" for s in SEVERITIES if new.count(s)]
    if renewed:
        parts.append(f"{count(renewed, 'certificate')} renewed")
    return ", ".join(parts) or "no change"


def _summary(counts: dict[str, int]) -> str:
    return ", ".join(f"{counts[s]} {LABELS.get(s, s).lower() if s in LABELS else s}" for s in SEVERITIES[:4]
                     if counts.get(s))


def names(item: Item) -> str:
    shown = ", ".join(item.names) if item.names else item.name
    return shown if not item.names or item.name in item.names else f"{shown} ({item.name})"


def where(item: Item) -> str:
    place = [item.detail] if item.detail else []
    if item.region != "-":
        place.append(f"region {item.region}")
    if item.compartment_id:
        place.append(f"compartment {item.compartment or item.compartment_id}")
    return "; ".join(place)


def _block(item: Item) -> str:
    lines = [f"{LABELS.get(item.severity, item.severity):<9} {names(item)}", f"          {item.when()}",
             f"          {where(item)}"]
    if item.action:
        lines.append(f"          do: {item.action}")
    if item.issuer or item.serial:
        lines.append(f"          issuer {item.issuer or '?'}, serial {item.serial or '?'}")
    if item.reason:
        lines.append(f"          reason: {item.reason}")
    return "\n".join(lines)


def _row(item: Item) -> str:
    cell = 'style="padding:6px 10px;border-bottom:1px solid #ddd;vertical-align:top"'
    label = html.escape(LABELS.get(item.severity, item.severity))
    what = html.escape(item.action or "") + (f"<br><i>{html.escape(item.reason)}</i>" if item.reason else "")
    return (f'<tr><td {cell}><b style="color:{COLOURS[item.severity]}">{label}</b></td>'
            f"<td {cell}>{html.escape(item.when())}</td><td {cell}>{html.escape(names(item))}</td>"
            f"<td {cell}>{html.escape(where(item))}</td><td {cell}>{what}</td></tr>")


def _html(head: list[str], items: Sequence[Item]) -> str:
    header = "".join(f'<th style="text-align:left;padding:6px 10px;border-bottom:2px solid #999">{h}</th>'
                     for h in ("Severity", "Expiry", "Names", "Where", "What to do"))
    paragraphs = "".join(f"<p>{html.escape(line)}</p>" for line in head)
    return ('<!DOCTYPE html><html><body style="font-family:Arial,Helvetica,sans-serif;font-size:14px;color:#222">'
            f'{paragraphs}<table style="border-collapse:collapse" cellspacing="0"><thead><tr>{header}</tr></thead>'
            f'<tbody>{"".join(_row(item) for item in items)}</tbody></table></body></html>')


def digest(items: Sequence[Item], *, counts: dict[str, int], held_back: int, checked_at: dt.datetime,
           realert_days: int, renewed: int = 0) -> Digest:
    """The one message of a run: `items` (already worst first) in full, then what was left out and why."""
    total, summary, changed = sum(counts.values()), _summary(counts), changes(items, renewed)
    title = f"certmgr: {changed}; {summary}" if summary else f"certmgr: {changed}; all {total} certificates OK"
    head = [f"Since the last digest: {changed}.",
            f"Certificate expiry digest, {checked_at:%Y-%m-%d %H:%M} UTC: {count(total, 'certificate')} checked"
            + (f"; {summary}" if summary else "") + f"; {counts.get('OK', 0)} OK."]
    if held_back:
        head.append(f"{held_back} more WARNING certificate{'s were' if held_back != 1 else ' was'} reported in "
                    f"the last {realert_days} days and {'are' if held_back != 1 else 'is'} not repeated here.")
    body = "\n".join(head) + "\n\n" + "\n\n".join(_block(item) for item in items)
    return Digest(title, body.rstrip() + "\n", _html(head, items))


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
