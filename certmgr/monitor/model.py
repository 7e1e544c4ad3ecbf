"""What the monitor finds: one Item per certificate, its severity and whether it is alerted, and the run's
MonitorResult."""
from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field

import oci

from ..cloud import grants
from ..errors import CertmgrError, OciUnreachable, explained, oci_reason
from ..renewal.result import Timed

# Digest order, worst first. INFO: nothing will break (a load balancer certificate used by no listener or
# backend set): listed when a digest goes out, never the reason one does.
SEVERITIES = ("EXPIRED", "CRITICAL", "WARNING", "UNKNOWN", "INFO", "OK")
ALWAYS_REPEATED = ("EXPIRED", "CRITICAL", "UNKNOWN")
LABELS = {"UNKNOWN": "COULD NOT CHECK"}
# What an OCI call raises when it fails: the service's answer, or no answer at all (the SDK wraps both).
API_ERRORS = (oci.exceptions.ServiceError, oci.exceptions.RequestException, oci.exceptions.ConnectTimeout,
              OciUnreachable)  # the last: what certmgr's retry policy raises once a call got no answer


def classify(not_after: dt.datetime, now: dt.datetime, warning_days: int, critical_days: int) -> tuple[str, int]:
    """(severity, whole days left: negative for whole days since expiry). A threshold is inclusive: with 7
    critical days, a certificate that expires in exactly 7 days is CRITICAL."""
    left = not_after - now
    days = int(left / dt.timedelta(days=1))  # towards zero: 1.5 days either side of now is 1 day
    if left <= dt.timedelta(0):
        return "EXPIRED", days
    if left <= dt.timedelta(days=critical_days):
        return "CRITICAL", days
    if left <= dt.timedelta(days=warning_days):
        return "WARNING", days
    return "OK", days


def alert_reason(severity: str, last: tuple[str, dt.date] | None, today: dt.date, realert_days: int) -> str | None:
    """Why a certificate goes into this run's digest: new (first time at this severity), repeat (CRITICAL,
    EXPIRED, UNKNOWN: every run), reminder (a WARNING last sent `realert_days` or more ago); "held" for a
    WARNING sent more recently; None for OK."""
    if severity in ("OK", "INFO"):
        return None
    if severity == "UNKNOWN":
        return "repeat"
    if last is None or last[0] != severity:
        return "new"
    if severity in ALWAYS_REPEATED:
        return "repeat"
    return "reminder" if (today - last[1]).days >= realert_days else "held"


def region_of(ocid: str, default: str) -> str:
    """The region in an OCID (`ocid1.<type>.oc1.<region>.<id>`, as a name or a short code like `iad`)."""
    return grants.region_of(ocid) or default


def count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def span(left: dt.timedelta) -> str:
    """A time to or since expiry as a person reads it, never rounded to a whole day: "3 days 23 h"."""
    hours = int(abs(left) / dt.timedelta(hours=1))
    days, hours = divmod(hours, 24)
    if not days:
        return "less than an hour" if not hours else f"{hours} h"
    return count(days, "day") + (f" {hours} h" if hours else "")


def why(exc: Exception) -> str:
    if isinstance(exc, oci.exceptions.ServiceError):
        return "; ".join(filter(None, (oci_reason(exc), explained(exc))))
    if isinstance(exc, CertmgrError):
        return exc.message
    return f"{type(exc).__name__}: {exc}"


@dataclass
class Item:
    """One certificate as the monitor saw it."""

    severity: str
    name: str
    region: str
    source: str                       # certificates | load-balancer | api-gateway | vault | endpoint
    id: str | None                    # the certificate's OCID (the LB's, the secret's, host:port for those)
    compartment_id: str | None = None
    compartment: str | None = None    # the compartment's name, when Identity told
    not_after: dt.datetime | None = None
    days_left: int | None = None
    issuer: str | None = None
    serial: str | None = None         # lower-case hex, as certs.serial_hex
    names: tuple[str, ...] = ()
    detail: str | None = None         # where it is used (listeners) or what it is
    reason: str | None = None         # why it could not be checked
    alert: str | None = None          # see alert_reason
    deployment: str | None = None     # the CERTMGR_NAME_PREFIX of the certmgr deployment that renews it
    action: str | None = None         # what to do about it, one line (actions.py)
    checked_at: dt.datetime | None = field(default=None, repr=False)  # the run's time, for when()

    @property
    def key(self) -> str:
        """Identity across runs: the OCID, plus the name where one OCID holds several certificates (an LB)."""
        return self.id if self.source == "certificates" else f"{self.source}:{self.id}:{self.name}"

    def sort_key(self):
        return (SEVERITIES.index(self.severity), self.days_left if self.days_left is not None else 0,
                self.name, self.region)

    def when(self) -> str:
        if self.not_after is None:
            return "could not be checked"
        date = f"{self.not_after:%Y-%m-%d %H:%M} UTC"
        left = self.not_after - (self.checked_at or dt.datetime.now(dt.timezone.utc))
        if left <= dt.timedelta(0):
            return f"expired {date} ({span(left)} ago)"
        return f"expires {date} (in {span(left)})"

    def to_dict(self) -> dict:
        data = asdict(self)
        data["names"] = list(self.names)
        data["not_after"] = self.not_after.isoformat() if self.not_after else None
        data.pop("checked_at")
        return data

    def to_log(self) -> dict:
        """The log entry: every field, without empty ones."""
        return {k: v for k, v in self.to_dict().items() if v not in (None, [], "")}


@dataclass
class MonitorResult(Timed):
    """What a monitor run found and whom it told; `render()` is the CLI's table."""

    status: str = "ok"                # ok | failed (a channel or the run itself failed)
    checked_at: str = ""
    regions: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(SEVERITIES, 0))
    notified: bool = False            # a digest went out (to at least one channel)
    reason: str = ""                  # why a digest was or was not sent
    channels: list[str] = field(default_factory=list)   # channels that delivered
    failures: list[str] = field(default_factory=list)   # what failed, with what to do
    held_back: int = 0                # WARNINGs not repeated (see CERTMGR_MONITOR_REALERT_DAYS)
    log_entries: int = 0
    memory: str = ""                  # where re-alert state lives
    items: list[Item] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    error: str | None = None

    def fail(self, message: str) -> None:
        self.status = "failed"
        self.failures.append(message)

    def to_dict(self) -> dict:
        data = asdict(self)
        data["items"] = [item.to_dict() for item in self.items]
        return data

    def render(self) -> str:
        found = ", ".join(f"{n} {LABELS.get(s, s).lower() if s == 'UNKNOWN' else s}"
                          for s, n in self.counts.items() if n)
        lines = [f"{'OK' if self.status == 'ok' else 'FAILED'}: {count(len(self.items), 'certificate')} in "
                 f"{count(len(self.regions), 'region')}" + (f": {found}" if found else "")]
        if self.error:
            lines.append(f"  error: {self.error}")
        if self.items:
            rows = [("SEVERITY", "DAYS", "NAME", "REGION", "COMPARTMENT", "ISSUER", "SERIAL", "ID")]
            rows += [(LABELS.get(i.severity, i.severity), "" if i.days_left is None else str(i.days_left),
                      i.name, i.region, i.compartment or i.compartment_id or "", (i.issuer or "")[:40],
                      (i.serial or "")[:16], i.id or "") for i in self.items]
            widths = [max(len(row[c]) for row in rows) for c in range(len(rows[0]))]
            for row in rows:
                lines.append("  " + "  ".join(cell.rjust(w) if c == 1 else cell.ljust(w)
                                              for c, (cell, w) in enumerate(zip(row, widths))).rstrip())
            lines += [f"  {i.name}: {i.reason}" for i in self.items if i.reason]
        lines.append(f"  digest: {self.reason}")
        if self.channels:
            lines.append(f"  delivered: {', '.join(self.channels)}")
        lines += [f"  failed: {f}" for f in self.failures]
        lines += [f"  warning: {w}" for w in self.warnings]
        if self.timings:
            lines.append("  timings: " + ", ".join(f"{k} {v:.2f}s" for k, v in self.timings.items()))
        return "\n".join(lines)


def merged(unlisted: list[Item]) -> list[Item]:
    """Listings that failed alike, one entry each: a grant the function lacks fails every compartment of every
    region, which must not bury the digest."""
    alike: dict[tuple, list[Item]] = {}
    for item in unlisted:
        alike.setdefault((item.source, item.name, item.reason), []).append(item)
    entries = []
    for (source, what, reason), failed in alike.items():
        places = {i.compartment or i.compartment_id for i in failed}
        regions = sorted({i.region for i in failed})
        where = f"compartment {places.pop()}" if len(places) == 1 else f"{len(places)} compartments"
        entries.append(Item("UNKNOWN", f"{what} in {where}", ", ".join(regions), source, None,
                            failed[0].compartment_id if len(failed) == 1 else None,
                            failed[0].compartment if len(failed) == 1 else None, reason=reason))
    return entries
