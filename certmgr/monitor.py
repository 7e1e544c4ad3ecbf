"""The expiry monitor: find every certificate, classify it, send one digest, log each one, remember.

Scanned: the Certificates service in every subscribed region (Resource Search for ACTIVE certificates, then
each one's CURRENT bundle), the certificates on the load balancers in CERTMGR_MONITOR_LB_IDS, and certmgr's
own certificate in Vault. Calls run on a bounded thread pool sharing one client per service and region. A
region or certificate that cannot be read becomes an UNKNOWN item ("could not check", with the reason) and
the scan goes on.

Re-alerting: CRITICAL, EXPIRED and UNKNOWN go out every run; an unchanged WARNING only every
CERTMGR_MONITOR_REALERT_DAYS. What was alerted (certificate -> [severity, date]) is kept in the Vault secret
`{prefix}-monitor-state` when CERTMGR_VAULT_ID, _VAULT_KEY_ID and _COMPARTMENT_ID are set: a function has
no disk that outlives an invocation, and Vault is where certmgr already keeps its state. Without them there
is no memory and every WARNING is sent every run (the result says so).
"""
from __future__ import annotations

import base64
import datetime as dt
import json
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field

import oci

from . import certs, notify
from .certservice import generation
from .clients import Clients, all_items
from .policy import DEFAULT, Policy
from .config import Config
from .errors import CertmgrError, ConfigError, NotifyError, oci_reason
from .monitor_config import MonitorConfig
from .notify import API_ERRORS
from .result import Timed
from .vault import VaultStore

log = logging.getLogger("certmgr.monitor")

SEVERITIES = ("EXPIRED", "CRITICAL", "WARNING", "UNKNOWN", "OK")  # digest order: worst first
ALWAYS_REPEATED = ("EXPIRED", "CRITICAL", "UNKNOWN")
SEARCH_QUERY = "query certificate resources where lifecycleState = 'ACTIVE'"
SEARCH_PAGE = 1000
STATE_LIMIT = 18_000  # bytes of state JSON: Vault takes 25 KB of base64 content
# A read that fails is reported and tried again next run: retry briefly instead of holding up the scan.
SCAN_POLICY = DEFAULT.replace(attempts=3, backoff=0.5, max_backoff=4.0)


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
    if severity == "OK":
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
    parts = ocid.split(".")
    code = parts[3] if len(parts) >= 5 else ""
    if not code:
        return default
    return oci.regions.REGIONS_SHORT_NAMES.get(code, code)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _why(exc: Exception) -> str:
    if isinstance(exc, oci.exceptions.ServiceError):
        return oci_reason(exc)
    if isinstance(exc, CertmgrError):
        return exc.message
    return f"{type(exc).__name__}: {exc}"


@dataclass
class Item:
    """One certificate as the monitor saw it."""

    severity: str
    name: str
    region: str
    source: str                       # certificates | load-balancer | vault
    id: str | None                    # the certificate's OCID (the LB's or the secret's for those sources)
    compartment_id: str | None = None
    compartment: str | None = None    # the compartment's name, when Identity told
    not_after: dt.datetime | None = None
    days_left: int | None = None
    issuer: str | None = None
    serial: str | None = None         # lower-case hex, as certs.serial_hex
    names: tuple[str, ...] = ()
    detail: str | None = None
    reason: str | None = None         # why it could not be checked
    alert: str | None = None          # see alert_reason

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
        if self.severity == "EXPIRED":
            return f"expired {date} ({_count(-self.days_left, 'day') + ' ago' if self.days_left else 'less than a day ago'})"
        return f"expires {date} (in {_count(self.days_left, 'day') if self.days_left else 'less than a day'})"

    def to_dict(self) -> dict:
        data = asdict(self)
        data["names"] = list(self.names)
        data["not_after"] = self.not_after.isoformat() if self.not_after else None
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
        found = ", ".join(f"{n} {notify.LABELS.get(s, s).lower() if s == 'UNKNOWN' else s}"
                          for s, n in self.counts.items() if n)
        lines = [f"{'OK' if self.status == 'ok' else 'FAILED'}: {_count(len(self.items), 'certificate')} in "
                 f"{_count(len(self.regions), 'region')}" + (f": {found}" if found else "")]
        if self.error:
            lines.append(f"  error: {self.error}")
        if self.items:
            rows = [("SEVERITY", "DAYS", "NAME", "REGION", "COMPARTMENT", "ISSUER", "SERIAL", "ID")]
            rows += [(notify.LABELS.get(i.severity, i.severity), "" if i.days_left is None else str(i.days_left),
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


def _widen_pool(client, size: int) -> None:
    """Let `size` threads share one client: urllib3 keeps 10 connections per host by default and drops the
    rest. Same adapter class, larger pool (as the SDK's own UploadManager does)."""
    session = client.base_client.session
    for prefix in ("http://", "https://"):
        current = session.adapters.get(prefix)
        if current is not None and getattr(current, "_pool_maxsize", 0) < size:
            session.mount(prefix, type(current)(pool_connections=10, pool_maxsize=size,
                                                max_retries=current.max_retries))


class _Scan:
    """Reads every certificate; each read that fails yields an UNKNOWN item instead of an exception."""

    def __init__(self, config: Config, settings: MonitorConfig, clients: Clients, now: dt.datetime,
                 warnings: list[str]):
        self.config, self.settings, self.clients, self.now = config, settings, clients, now
        self.warnings = warnings

    def item(self, base: dict, cert_info: certs.CertInfo | None, not_after: dt.datetime | None = None) -> Item:
        not_after = not_after or cert_info.not_after
        severity, days = classify(not_after, self.now, self.settings.warning_days, self.settings.critical_days)
        extra = dict(issuer=cert_info.issuer, serial=cert_info.serial, names=cert_info.names) if cert_info else {}
        return Item(severity, not_after=not_after, days_left=days, **extra, **base)

    @staticmethod
    def parse(pem: str | bytes, what: str) -> certs.CertInfo:
        return certs.info(certs.load_ca_bundle(pem, what=what)[0])

    def regions(self, unknown: list[Item]) -> list[str]:
        try:
            found = self.clients.identity().list_region_subscriptions(self.clients.tenancy_id).data
        except API_ERRORS as exc:
            unknown.append(Item("UNKNOWN", "subscribed regions", self.clients.region, "certificates", None,
                                reason=f"listing the region subscriptions failed ({_why(exc)}); only "
                                       f"{self.clients.region} was scanned"))
            return [self.clients.region]
        return sorted(r.region_name for r in found if r.status == "READY")

    def search(self, region: str) -> list:
        details = oci.resource_search.models.StructuredSearchDetails(type="Structured", query=SEARCH_QUERY,
                                                                     matching_context_type="NONE")
        return all_items(self.clients.search(region).search_resources, details, limit=SEARCH_PAGE)

    def certificate(self, region: str, found) -> Item:
        base = dict(name=found.display_name, region=region, source="certificates", id=found.identifier,
                    compartment_id=found.compartment_id)
        try:
            bundle = self.clients.certificates(region).get_certificate_bundle(
                found.identifier).data
        except API_ERRORS as exc:
            return Item("UNKNOWN", reason=f"reading its certificate bundle failed: {_why(exc)}", **base)
        base["name"] = bundle.certificate_name or found.display_name
        try:
            info = self.parse(bundle.certificate_pem, f"certificate {found.identifier}")
        except CertmgrError:  # the service's own validity still tells the expiry
            info = None
        item = self.item(base, info, bundle.validity.time_of_validity_not_after)
        item.serial = item.serial or (bundle.serial_number or "").replace(" ", "").replace(":", "").lower() or None
        return item

    def load_balancer(self, lb_id: str) -> list[Item]:
        region = region_of(lb_id, self.clients.region)
        client = self.clients.load_balancer(region)
        try:
            lb = client.get_load_balancer(lb_id).data
            bundles = client.list_certificates(lb_id).data
        except API_ERRORS as exc:
            return [Item("UNKNOWN", f"load balancer {lb_id}", region, "load-balancer", lb_id,
                         reason=f"reading its certificates failed: {_why(exc)}")]
        users: dict[str, list[str]] = {}
        for listener in (lb.listeners or {}).values():
            if listener.ssl_configuration and listener.ssl_configuration.certificate_name:
                users.setdefault(listener.ssl_configuration.certificate_name, []).append(listener.name)
        items = []
        for bundle in bundles:
            base = dict(name=f"{lb.display_name}/{bundle.certificate_name}", region=region, source="load-balancer",
                        id=lb_id, compartment_id=lb.compartment_id)
            listeners = sorted(users.get(bundle.certificate_name, []))
            base["detail"] = (f"served by listener{'s' if len(listeners) > 1 else ''} {', '.join(listeners)}"
                              if listeners else "on the load balancer, used by no listener")
            pem = bundle.public_certificate or bundle.ca_certificate
            try:
                items.append(self.item(base, self.parse(pem, f"LB certificate {bundle.certificate_name}")))
            except (CertmgrError, TypeError) as exc:
                items.append(Item("UNKNOWN", reason=f"its PEM cannot be read: {_why(exc)}", **base))
        return items

    def vault_certificate(self) -> list[Item]:
        name, vault_id = self.config.secret_names["certificate"], self.config.vault_id
        region = region_of(vault_id, self.clients.region)
        base = dict(name=name, region=region, source="vault", id=None, compartment_id=self.config.compartment_id,
                    detail=f"certmgr's certificate in vault {vault_id}")
        try:
            bundle = self.clients.secrets(region).get_secret_bundle_by_name(name, vault_id).data
        except API_ERRORS as exc:
            if getattr(exc, "status", None) == 404:
                self.warnings.append(f"vault: no secret {name!r} in vault {vault_id}: certmgr has stored no "
                                     f"certificate there yet (or CERTMGR_NAME_PREFIX differs)")
                return []
            return [Item("UNKNOWN", reason=f"reading the secret failed: {_why(exc)}", **base)]
        base["id"] = bundle.secret_id
        try:
            pem = base64.b64decode(bundle.secret_bundle_content.content)
            return [self.item(base, self.parse(pem, f"secret {name}"))]
        except (CertmgrError, ValueError) as exc:
            return [Item("UNKNOWN", reason=f"its content is not a certificate: {_why(exc)}", **base)]

    def compartment_names(self) -> dict[str, str]:
        identity, tenancy = self.clients.identity(), self.clients.tenancy_id
        try:
            names = {tenancy: identity.get_tenancy(tenancy).data.name}
            for c in all_items(identity.list_compartments, tenancy, compartment_id_in_subtree=True, access_level="ANY"):
                names[c.id] = c.name
        except API_ERRORS as exc:
            self.warnings.append(f"identity: compartment names unavailable ({_why(exc)}); OCIDs are shown")
            return {}
        return names

    def run(self, result: MonitorResult) -> list[Item]:
        items: list[Item] = []
        size = self.settings.concurrency
        with ThreadPoolExecutor(size, thread_name_prefix="certmgr-monitor") as pool:
            names = pool.submit(self.compartment_names)
            regions = result.regions = self.regions(items)
            for region in regions:  # made here, once, before the threads share them
                _widen_pool(self.clients.certificates(region), size)
                self.clients.search(region)
            home = self.clients.region
            tasks = [pool.submit(_guard(Item("UNKNOWN", f"load balancer {lb_id}", region_of(lb_id, home),
                                             "load-balancer", lb_id), self.load_balancer, lb_id))
                     for lb_id in self.settings.lb_ids]
            if self.config.vault_id:
                tasks.append(pool.submit(_guard(Item("UNKNOWN", self.config.secret_names["certificate"],
                                                     region_of(self.config.vault_id, home), "vault", None),
                                                self.vault_certificate)))
            searches = {pool.submit(self.search, region): region for region in regions}
            for done in as_completed(searches):
                region = searches[done]
                try:
                    found = done.result()
                except API_ERRORS as exc:
                    items.append(Item("UNKNOWN", f"certificates in {region}", region, "certificates", None,
                                      reason=f"searching the region failed: {_why(exc)}"))
                    continue
                log.info("%s: %d active certificates", region, len(found))
                tasks += [pool.submit(_guard(Item("UNKNOWN", s.display_name, region, "certificates", s.identifier,
                                                  s.compartment_id), self.certificate, region, s)) for s in found]
            for task in tasks:
                items.extend(task.result())
            compartments = names.result()
        for item in items:
            item.compartment = compartments.get(item.compartment_id)
        return self.once(items)

    def once(self, items: list[Item]) -> list[Item]:
        """certmgr's certificate once: with the Certificates-service target, its Vault copy is the same
        certificate as the one the service holds (same serial), so only the service's is listed."""
        name = self.config.certificate_name
        stored = [i for i in items if i.source == "vault" and i.serial]
        if not name or not stored:
            return items
        twins = [i for i in items if i.source == "certificates" and generation(name, i.name)
                 and certs.same_serial(i.serial, stored[0].serial)]
        for twin in twins:
            twin.detail = f"certmgr's certificate, kept in vault {self.config.vault_id} as {stored[0].name}"
        return [i for i in items if not (twins and i is stored[0])]


def _guard(unknown: Item, read: Callable, *args) -> Callable[[], list[Item]]:
    """`read(*args)` as a list of items. An unexpected error (the readers catch API errors themselves) yields
    `unknown` with the reason: one certificate never stops the scan of the others."""
    def task() -> list[Item]:
        try:
            found = read(*args)
        except Exception as exc:  # noqa: BLE001
            log.exception("monitor: reading %s failed", unknown.name)
            unknown.reason = _why(exc)
            return [unknown]
        return found if isinstance(found, list) else [found]
    return task


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
    secret holds at most 30). OK certificates are forgotten (a later WARNING is news again); those not read
    this run keep what they had."""
    kept = {}
    seen = set()
    for item in items:
        seen.add(item.key)
        last = memory.get(item.key)
        if item.severity == "OK":
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


class _Monitor:
    def __init__(self, config: Config, settings: MonitorConfig, clients: Clients, now: dt.datetime,
                 result: MonitorResult):
        self.config, self.settings, self.clients, self.now, self.result = config, settings, clients, now, result
        store = None
        if config.vault_id and config.vault_key_id and config.compartment_id:
            region = region_of(config.vault_id, clients.region)
            store = VaultStore(clients.vaults(region), clients.secrets(region), vault_id=config.vault_id,
                               key_id=config.vault_key_id, compartment_id=config.compartment_id)
            result.memory = f"vault secret {config.name_prefix}-monitor-state"
        else:
            result.memory = "none"
            result.warnings.append("no re-alert memory: set CERTMGR_VAULT_ID, CERTMGR_VAULT_KEY_ID and "
                                   "CERTMGR_COMPARTMENT_ID to keep it in Vault; every WARNING is sent every run")
        self.memory = AlertMemory(store, f"{config.name_prefix}-monitor-state")

    def channel_region(self, ocid: str) -> str:
        return region_of(ocid, self.clients.region)

    def smtp_credentials(self) -> tuple[str, str]:
        values = []
        for role, secret_id in (("user name", self.settings.smtp_username_secret),
                                ("password", self.settings.smtp_password_secret)):
            try:
                bundle = self.clients.secrets(self.channel_region(secret_id)).get_secret_bundle(secret_id).data
                values.append(base64.b64decode(bundle.secret_bundle_content.content).decode().strip("\r\n"))
            except API_ERRORS as exc:
                raise NotifyError(f"e-mail: reading the SMTP {role} secret {secret_id} failed: {_why(exc)}",
                                  state="no e-mail was sent",
                                  hint="check the secret OCID and that the function may read it") from None
        return values[0].strip(), values[1]

    def channels(self) -> list:
        s, found = self.settings, []
        if s.email:
            found.append(notify.EmailChannel(host=s.smtp_host_for(self.clients.region), port=s.smtp_port,
                                             sender=s.smtp_from, recipients=s.smtp_to,
                                             credentials=self.smtp_credentials, ca_bundle=s.smtp_ca_bundle))
        if s.topic_id:
            found.append(notify.TopicChannel(self.clients.notifications(self.channel_region(s.topic_id)), s.topic_id))
        return found

    def run(self) -> None:
        result, settings, today = self.result, self.settings, self.now.date()
        with result.timed("scan"):
            items = _Scan(self.config, settings, self.clients, self.now, result.warnings).run(result)
        try:
            memory = self.memory.load()
        except (CertmgrError, ValueError, KeyError, TypeError) as exc:
            result.warnings.append(f"monitor state unreadable ({_why(exc)}); alerting as if nothing was sent")
            memory = {}
        for item in items:
            item.alert = alert_reason(item.severity, memory.get(item.key), today, settings.realert_days)
            result.counts[item.severity] += 1
        items.sort(key=Item.sort_key)
        result.items = items
        due = [i for i in items if i.alert not in (None, "held")]
        result.held_back = sum(i.alert == "held" for i in items)
        delivered = self.send(due) if due or settings.always_send else self.skip()
        if settings.log_id:
            channel = notify.LogChannel(self.clients.logging(self.channel_region(settings.log_id)), settings.log_id)
            self.deliver(channel, lambda: setattr(result, "log_entries", channel.send(items, self.now)))
        updated = remember(memory, items, today, delivered, settings.realert_days)
        try:
            if updated != memory:
                result.warnings += self.memory.save(updated)
        except CertmgrError as exc:
            result.warnings.append(f"monitor state not saved ({exc.message}); WARNINGs may be repeated next run")

    def skip(self) -> bool:
        self.result.reason = ("not sent: nothing is WARNING or worse" if not self.result.held_back else
                              f"not sent: {_count(self.result.held_back, 'WARNING certificate')} already "
                              f"reported within {_count(self.settings.realert_days, 'day')}")
        return False

    def send(self, due: list[Item]) -> bool:
        result = self.result
        channels = self.channels()
        if not channels:
            result.reason = "not sent: no e-mail or Notifications channel is configured"
            return False
        message = notify.digest(due, counts=result.counts, held_back=result.held_back, checked_at=self.now,
                                realert_days=self.settings.realert_days)
        with result.timed("notify"):
            sent = [self.deliver(channel, lambda c=channel: c.send(message)) for channel in channels]
        result.notified = any(sent)
        what = _count(len(due), "certificate") if due else "all OK (CERTMGR_MONITOR_ALWAYS_SEND)"
        result.reason = (f"sent: {what}" if all(sent) else
                         f"partly sent: {what}" if any(sent) else f"not delivered: {what}")
        return result.notified

    def deliver(self, channel, send: Callable[[], object]) -> bool:
        try:
            send()
        except CertmgrError as exc:
            log.warning("%s", exc)
            self.result.fail(str(exc))
            return False
        self.result.channels.append(channel.name)
        return True


def run(config: Config, env, *, now: dt.datetime | None = None, clients: Clients | None = None,
        policy: Policy = SCAN_POLICY) -> MonitorResult:
    """One monitor run. Never raises: whatever fails is in the result (status "failed" and `failures`).
    Without `clients`, the run's clients retry by `policy`."""
    now = now or dt.datetime.now(dt.timezone.utc)
    result = MonitorResult(checked_at=now.isoformat())
    try:
        settings = MonitorConfig.from_env(env)
    except ConfigError as exc:
        result.status, result.error, result.reason = "failed", str(exc), "not sent: the configuration is wrong"
        return result
    result.warnings += list(config.warnings) + list(settings.warnings)
    try:
        _Monitor(config, settings, clients or Clients.from_config(config, policy.retry()), now, result).run()
    except Exception as exc:  # noqa: BLE001 - a run reports, it does not crash the function
        log.exception("monitor run failed")
        result.status, result.error = "failed", _why(exc)
    return result
