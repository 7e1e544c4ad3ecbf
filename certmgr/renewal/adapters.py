"""The adapters one run uses (DNS zones, Vault, the load balancer, the Certificates service when it is the
deploy target), built from one set of clients, waiting by one policy and one deadline, and the deploy target,
chosen once. `runner` and `status` both start from here. Their reads run at once where they are independent
(`clients.together`), so each thread calls OCI through clients of its own (`Clients.per_thread`)."""
from __future__ import annotations

from ..cloud.certificates import CertificatesService
from ..cloud.clients import Clients
from ..settings.config import Config
from ..cloud.dns import Zones
from ..cloud.load_balancer import LoadBalancer
from ..timing import DEFAULT, Deadline, Policy
from ..cloud.certificate_set import CertificateVault
from ..cloud.vault import VaultStore
from .target import target_for


class Services:
    """The adapters of one run."""

    def __init__(self, config: Config, clients: Clients, policy: Policy = DEFAULT, deadline: Deadline | None = None):
        own = clients.per_thread
        self.dns = Zones(own("dns"), config.dns_zone_ids)
        self.vault = CertificateVault(VaultStore(own("vaults"), own("secrets"), vault_id=config.vault_id,
                                                 key_id=config.vault_key_id, compartment_id=config.compartment_id,
                                                 policy=policy),
                                      config.secret_names)
        self.policy, self.target = policy, target_for(config)
        self.lb = LoadBalancer(own("load_balancer"), config.lb_id, policy=policy, deadline=deadline)
        self.certificates = CertificatesService(
            own("certificates_management"), config.compartment_id, config.certificate_name, config.name_prefix,
            policy=policy, deadline=deadline) if config.certificate_name else None

    def expect(self, seconds: float) -> None:
        """How long OCI's work took the last time a run waited for it: what the first wait expects."""
        self.lb.took = seconds or None
        if self.certificates:
            self.certificates.took = seconds or None

    def expected(self) -> float:
        """How long OCI's work took the last time this run (or the last one) waited for it."""
        took = self.certificates.took if self.certificates and self.certificates.took else self.lb.took
        return round(took or 0.0, 3)

    def waits(self) -> dict[str, float]:
        """Seconds this run waited for other actors' changes to finish before its own were accepted."""
        waited = {"lb_wait_for_others": self.lb.waited,
                  "certificates_wait_for_others": self.certificates.waited if self.certificates else 0.0}
        return {step: round(seconds, 3) for step, seconds in waited.items() if seconds}
