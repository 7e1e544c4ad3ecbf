"""The emulated tenancy: identity, compartments, regions, and one backend per (service, region)."""
from __future__ import annotations

import secrets
import threading
import time
from typing import Callable

from .auth import Authenticator
from .faults import Faults

REALM = "oc1"
HOME_REGION = "us-ashburn-1"
REGIONS = ("us-ashburn-1", "eu-frankfurt-1", "ap-seoul-1")
# Behaviours tests switch (POST /_control/options). `lb_busy`: what a Load Balancer change meets while another
# work request of the same load balancer runs, "queue" or "refuse" (409 Conflict); CONFORMANCE.md, lb.* rows.
# Numbers, in seconds: work_request_delay, certificate_delay, secret_activation_delay, dns_propagation_delay,
# and clock_offset (the services' time ahead of this machine's: a client whose clock is off).
DEFAULT_OPTIONS = {"work_request_delay": 0.3, "lb_busy": "queue"}
CHOICES = {"lb_busy": ("queue", "refuse")}


class Resettable:
    """A service backend of one region. `reset()` empties it: what `close()` holds (timers, listener servers)
    is stopped, and the state is what a new backend starts with."""

    def reset(self) -> None:
        getattr(self, "close", lambda: None)()
        self.__init__(self.world, self.region)


def ocid(kind: str, region: str | None = None) -> str:
    """An OCID of the real shape: ocid1.<kind>.oc1.<region>.<60 base32-ish chars>."""
    unique = "aaaaaaaa" + secrets.token_hex(26)
    return f"ocid1.{kind}.{REALM}.{region or ''}.{unique}"


class World:
    """All emulated state. Backends are created on first use; `lock` serialises handlers."""

    def __init__(self, regions: tuple[str, ...] = REGIONS, home_region: str = HOME_REGION):
        self.lock = threading.RLock()
        self.auth = Authenticator()
        self.faults = Faults()
        self.regions = list(regions)
        self.home_region = home_region
        self.tenancy_id = ocid("tenancy")
        self.compartments: dict[str, dict] = {
            self.tenancy_id: {"id": self.tenancy_id, "name": "sandbox", "parent": None}}
        self.calls: list[dict] = []
        self._backends: dict[tuple[str, str], object] = {}
        self.options: dict[str, float | str] = dict(DEFAULT_OPTIONS)
        self.mailbox: Callable[[], list[dict]] = list  # the SMTP sink's mails, once the stack has one
        self.post_office: Callable | None = None  # the SMTP sink's `deliver`: where Email Delivery's API puts mail

    def reset(self) -> None:
        """Back to a new tenancy, cheaply: every backend emptied (reset), only the root compartment, no calls
        recorded, no faults, default options. Identity and API keys stay, so clients keep working."""
        with self.lock:
            for backend in self._backends.values():
                backend.reset()
            self.compartments = {self.tenancy_id: self.compartments[self.tenancy_id]}
            self.calls.clear()
            self.faults.clear()
            self.options.clear()
            self.options.update(DEFAULT_OPTIONS)

    def add_compartment(self, name: str, parent: str | None = None) -> str:
        cid = ocid("compartment")
        self.compartments[cid] = {"id": cid, "name": name, "parent": parent or self.tenancy_id}
        return cid

    def check_compartment(self, compartment_id: str | None) -> str:
        from .errors import NotAuthorizedOrNotFound
        if compartment_id not in self.compartments:
            raise NotAuthorizedOrNotFound(f"Authorization failed or requested resource not found: "
                                          f"compartment {compartment_id!r}")
        return compartment_id

    def backend(self, module, region: str | None = None):
        key = (module.__name__, region or self.home_region)
        with self.lock:
            if key not in self._backends:
                self._backends[key] = module.Backend(self, key[1])
            return self._backends[key]

    def backends(self):
        with self.lock:
            return list(self._backends.items())

    def record(self, operation: str, region: str, status: int, principal: str, path: str = "",
               query: str = "") -> None:
        with self.lock:
            self.calls.append({"operation": operation, "region": region, "status": status,
                               "principal": principal, "path": path, "query": query, "time": time.time()})
