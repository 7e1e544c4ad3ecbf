"""`check` in monitor mode: the regions and certificates the scan reads, the load balancers it watches, its
memory in Vault, the SMTP server (STARTTLS and AUTH, nothing sent); e-mail through the API, publishing to
Notifications, Logging and Monitoring are changes, listed as such."""
from __future__ import annotations

from ..cloud.grants import region_of
from ..cloud.load_balancer import LoadBalancer
from ..errors import CertmgrError, oci_failure
from ..monitor.model import API_ERRORS, MonitorResult, count
from ..monitor.runner import Monitor
from ..monitor.scan import Scan
from .checklist import FAILED, SKIPPED
from .common import Check


class MonitorCheck(Check):
    def run(self) -> None:
        clients, settings = self.clients, self.config.monitor
        if not self.identity(lambda: clients.identity().list_region_subscriptions(clients.tenancy_id)):
            self.checks.add("OCI", SKIPPED, "not checked: OCI accepts no request with this identity (see above)")
            self.clock()
            return
        now = self.policy.now()
        scan = Scan(self.config, clients, now, [])
        for region in self.regions(scan):
            with self.checks.item(f"certificates in {region}") as item:
                item.detail = f"{len(self.read(f'searching certificates in {region}', scan.search, region))} found"
        for lb_id in settings.lb_ids:
            with self.checks.item("load balancer") as item:
                lb = LoadBalancer(clients.load_balancer(region_of(lb_id) or clients.region), lb_id)
                bundles = count(len(lb.certificates()), "certificate bundle")
                item.detail = f"{lb.get().display_name} ({lb_id}): {bundles} readable"
        monitor = Monitor(self.config, clients, now, MonitorResult(), self.policy)
        self.memory(monitor)
        email = [c for c in monitor.channels() if c.name == "email"] if settings.email else []
        if settings.email_api:
            self.unproven("e-mail", "email.submit_email", f"submitting from {settings.email_from} through the Email "
                          "Delivery API sends an e-mail: the first digest proves it")
        elif email:
            with self.checks.item("e-mail") as item:
                email[0].login()
                item.detail = f"{email[0].host}:{email[0].port} accepts STARTTLS and the credentials (nothing sent)"
        if settings.topic_id:
            self.unproven("notifications", "ons.publish_message", f"publishing to {settings.topic_id} is a change: "
                          "the first digest proves it")
        if settings.log_id:
            self.unproven("logging", "loggingingestion.put_logs", f"writing to log {settings.log_id} is a change: "
                          "the first run proves it")
        if self.config.metrics:
            self.unproven("metrics", "monitoring.post_metric_data", "posting to namespace certmgr is a change: the "
                          "first run proves it")
        self.clock()

    def read(self, what: str, call, *args):
        try:
            return call(*args)
        except API_ERRORS as exc:
            if isinstance(exc, CertmgrError):
                raise
            raise oci_failure(CertmgrError, what, exc) from None

    def regions(self, scan: Scan) -> list[str]:
        with self.checks.item("regions") as item:
            found = self.read("listing the region subscriptions", self.clients.identity().list_region_subscriptions,
                              self.clients.tenancy_id).data
            regions = sorted(r.region_name for r in found if r.status == "READY")
            item.detail = f"subscribed: {', '.join(regions)}"
        return regions if item.status != FAILED else [self.clients.region]

    def memory(self, monitor: Monitor) -> None:
        store, name = monitor.memory.store, f"{self.config.name_prefix}-monitor-state"
        if store is None:
            self.checks.add("alert memory", SKIPPED, monitor.result.warnings[-1])
            return
        with self.checks.item("alert memory") as item:
            item.detail = f"{name}: " + ("readable" if store.read(name) else "none yet: the first run creates it")
        self.unproven("alert memory writes", "vault.update_secret", f"saving {name} adds a version: the first run "
                      "that alerts proves it")
        with self.checks.item("certmgr's certificate") as item:
            found = store.read_by_name(self.config.secret_names["certificate"])
            item.detail = f"{self.config.secret_names['certificate']}: " + ("readable" if found else "none stored")
