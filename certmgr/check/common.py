"""What both modes' checks share: the identity (a first signed call), a resource's region, the clock against
the Date headers of OCI's and the CA's answers, and what only a change can prove."""
from __future__ import annotations

import oci

from ..cloud.clients import Clients
from ..cloud.grants import clock_off, region_of, skew
from ..errors import oci_hint, oci_reason
from ..settings.config import Config
from ..timing import Policy
from .checklist import FAILED, SKIPPED, UNPROVEN, Checklist, Item, Stop


class Check:
    def __init__(self, config: Config, clients: Clients, policy: Policy, checks: Checklist):
        self.config, self.clients, self.policy, self.checks = config, clients, policy, checks
        self.deadline = policy.deadline(config.run_budget)
        self.dates: dict[str, str | None] = {}  # whose Date header ("OCI's") -> its value

    def identity(self, probe) -> bool:
        """The identity in use and its region, proven by `probe()`, a first signed call: any answer but 401
        means OCI accepts the signature (a 404 is for the items below to explain)."""
        c = self.clients
        who = ("the resource principal" if c.resource_principal else
               f"config file {c.config_file or oci.config.DEFAULT_LOCATION} (profile {c.profile})")
        with self.checks.item("identity") as item:
            item.detail = f"{who}, region {c.region}"
            try:
                self.dates["OCI's"] = probe().headers.get("date")
            except oci.exceptions.ServiceError as exc:
                self.dates["OCI's"] = (exc.headers or {}).get("date")
                if exc.status == 401:
                    item.detail, item.fix = f"OCI refuses the signature of {who}: {oci_reason(exc)}", oci_hint(exc)
                    raise Stop from None
            item.detail += ": OCI accepts its signature"
        return item.status != FAILED

    def same_region(self, item: Item, what: str, ocid: str | None, variable: str) -> None:
        """Fail `item` when `ocid` names another region than the function's: OCI would answer 404 for it."""
        where, here = region_of(ocid), self.clients.region
        if where and where != here:
            item.detail = (f"{what} {ocid} is in region {where}, and the function runs in {here}: OCI answers for "
                           f"it only in {where}")
            item.fix = f"set {variable} to a {what} in {here}, or run the function in {where}"
            raise Stop

    def unproven(self, name: str, operation: str, detail: str) -> None:
        """An item only a change proves, with the statement that grants it."""
        self.checks.add(name, UNPROVEN, detail, "; ".join(self.clients.grants.statements(operation)) or None)

    def clock(self) -> None:
        with self.checks.item("clock") as item:
            offsets = {who: off for who, date in self.dates.items()
                       if date and (off := skew({"date": date})) is not None}
            if not offsets:
                item.status, item.detail = SKIPPED, "no answer with a Date header to compare with"
                return
            item.detail = ", ".join(f"{off:+.0f} s against {who}" for who, off in offsets.items())
            wrong = [said for who, off in offsets.items() if (said := clock_off(off, who))]
            if wrong:
                item.detail = "; ".join(wrong)
                item.fix = "set the clock right (NTP): OCI refuses requests signed 5 minutes off its time"
                raise Stop
