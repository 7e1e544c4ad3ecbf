"""One monitor run: settings, scan, classify against the alert memory, report, deliver, remember."""
from __future__ import annotations

import base64
import datetime as dt
import logging
from collections.abc import Callable

from ..cloud.clients import Clients
from ..settings.config import Config
from ..errors import CertmgrError, NotifyError
from ..timing import DEFAULT, Policy
from ..cloud.vault import VaultStore
from ..cloud import metrics
from .actions import annotate
from .deliver import EmailApiChannel, EmailChannel, LogChannel, TopicChannel
from .memory import AlertMemory, remember
from .model import API_ERRORS, Item, MonitorResult, alert_reason, count, region_of, why
from .report import digest
from .scan import Scan

log = logging.getLogger("certmgr.monitor")
# A read that fails is reported and tried again next run: retry briefly instead of holding up the scan.
SCAN_POLICY = DEFAULT.replace(attempts=3, backoff=0.5, max_backoff=4.0)


class Monitor:
    def __init__(self, config: Config, clients: Clients, now: dt.datetime, result: MonitorResult, policy: Policy):
        self.config, self.settings, self.clients, self.now, self.result = config, config.monitor, clients, now, result
        self.policy = policy
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
                raise NotifyError(f"e-mail: reading the SMTP {role} secret {secret_id} failed: {why(exc)}",
                                  state="no e-mail was sent",
                                  hint="check the secret OCID and that the function may read it") from None
        return values[0].strip(), values[1]

    def channels(self) -> list:
        s, found = self.settings, []
        if s.email_api:
            found.append(EmailApiChannel(self.clients.email(), self.config.compartment_id or self.clients.tenancy_id,
                                         sender=s.email_from, recipients=s.email_to))
        elif s.email:
            found.append(EmailChannel(host=s.smtp_host_for(self.clients.region), port=s.smtp_port,
                                      sender=s.email_from, recipients=s.email_to,
                                      credentials=self.smtp_credentials, ca_bundle=s.smtp_ca_bundle,
                                      timeout=self.policy.smtp_timeout))
        if s.topic_id:
            found.append(TopicChannel(self.clients.notifications(self.channel_region(s.topic_id)), s.topic_id))
        return found

    def run(self) -> None:
        result, settings, today = self.result, self.settings, self.now.date()
        with result.timed("scan"):
            items = Scan(self.config, self.clients, self.now, result.warnings).run(result)
        try:
            memory = self.memory.load()
        except (CertmgrError, ValueError, KeyError, TypeError) as exc:
            result.warnings.append(f"monitor state unreadable ({why(exc)}); alerting as if nothing was sent")
            memory = {}
        for item in items:
            item.alert = alert_reason(item.severity, memory.get(item.key), today, settings.realert_days)
            result.counts[item.severity] += 1
        items.sort(key=Item.sort_key)
        result.items = items
        annotate(items, self.memory.store, result.warnings)
        due = [i for i in items if i.alert not in (None, "held")]
        result.held_back = sum(i.alert == "held" for i in items)
        renewed = sum(i.severity == "OK" and i.key in memory for i in items)
        listed = due + [i for i in items if i.severity == "INFO"]  # listed when a digest goes out, never its cause
        delivered = self.send(listed, renewed) if due or settings.always_send else self.skip()
        if self.config.metrics:
            figures = [metrics.Figure.of("days_to_expiry", round((i.not_after - self.now) / dt.timedelta(days=1), 3),
                                         source=i.source, region=i.region, name=i.name, deployment=i.deployment)
                       for i in items if i.not_after and i.severity != "INFO"]
            result.warnings += metrics.post(self.clients.monitoring(), self.config.compartment_id, figures,
                                            self.policy.now())
        if settings.log_id:
            channel = LogChannel(self.clients.logging(self.channel_region(settings.log_id)), settings.log_id)
            self.deliver(channel, lambda: setattr(result, "log_entries", channel.send(items, self.now)))
        updated = remember(memory, items, today, delivered, settings.realert_days)
        try:
            if updated != memory:
                result.warnings += self.memory.save(updated)
        except CertmgrError as exc:
            result.warnings.append(f"monitor state not saved ({exc.message}); WARNINGs may be repeated next run")

    def skip(self) -> bool:
        self.result.reason = ("not sent: nothing is WARNING or worse" if not self.result.held_back else
                              f"not sent: {count(self.result.held_back, 'WARNING certificate')} already "
                              f"reported within {count(self.settings.realert_days, 'day')}")
        return False

    def send(self, due: list[Item], renewed: int) -> bool:
        result = self.result
        channels = self.channels()
        if not channels:
            result.reason = "not sent: no e-mail or Notifications channel is configured"
            return False
        message = digest(due, counts=result.counts, held_back=result.held_back, checked_at=self.now,
                         realert_days=self.settings.realert_days, renewed=renewed)
        with result.timed("notify"):
            sent = [self.deliver(channel, lambda c=channel: c.send(message)) for channel in channels]
        result.notified = any(sent)
        alerted = sum(i.severity != "INFO" for i in due)
        what = count(alerted, "certificate") if alerted else "all OK (CERTMGR_MONITOR_ALWAYS_SEND)"
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


def run(config: Config, *, now: dt.datetime | None = None, clients: Clients | None = None,
        policy: Policy = SCAN_POLICY) -> MonitorResult:
    """One monitor run on a monitor-mode Config (`app.config_for(env, "monitor")`). Never raises for what
    fails on the way: that is in the result (status "failed" and `failures`). Without `clients`, the run's
    clients retry by `policy`."""
    if config.monitor is None:
        raise ValueError("the monitor needs a monitor-mode Config (CERTMGR_MODE=monitor)")
    now = now or policy.now()
    result = MonitorResult(checked_at=now.isoformat())
    result.warnings += list(config.warnings) + list(config.monitor.warnings)
    try:
        Monitor(config, clients or Clients.from_config(config, policy.retry()), now, result, policy).run()
    except Exception as exc:  # noqa: BLE001 - a run reports, it does not crash the function
        log.exception("monitor run failed")
        result.status, result.error = "failed", why(exc)
    return result
