"""`python -m certmgr status`: what Vault holds and what each managed listener serves, and the plan."""
from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field

from .. import pki
from ..cloud.clients import Clients
from ..settings.config import Config
from ..errors import CertmgrError
from .observe import observe
from .plan import plan
from .adapters import Services
from ..timing import DEFAULT, Policy


@dataclass
class Status:
    status: str = "ok"
    certificate: dict | None = None
    listeners: list[dict] = field(default_factory=list)
    plan: str = ""
    warnings: list[str] = field(default_factory=list)
    error: str | None = None
    hint: str | None = None  # what to do about the error

    def to_dict(self) -> dict:
        return asdict(self)

    def render(self) -> str:
        if self.error:
            return f"FAILED: {self.error}" + (f"\nhint:      {self.hint}" if self.hint else "")
        cert = self.certificate
        lines = ["vault:     " + (f"{', '.join(cert['names'])} serial {cert['serial']}, expires {cert['not_after']} "
                                  f"({cert['days_remaining']} days)" if cert else "no certificate stored")]
        for listener in self.listeners:
            mark = "serves it" if listener["serves_stored"] else "serves something else"
            lines.append(f"listener:  {listener['name']}: {listener['certificate_name']} ({mark})")
        lines.append(f"plan:      {self.plan}")
        lines += [f"warning:   {w}" for w in self.warnings]
        return "\n".join(lines)


def status(config: Config, *, now: dt.datetime | None = None, clients: Clients | None = None,
           policy: Policy = DEFAULT) -> Status:
    now = now or policy.now()
    try:
        services = Services(config, clients or Clients.from_config(config), policy, policy.deadline(config.run_budget))
        observed = observe(config, vault=services.vault, lb=services.lb,
                           service=services.certificates, now=now, policy=policy)
    except CertmgrError as exc:
        return Status(status="failed", error=exc.message, hint=exc.hint)
    state = observed.state
    decided = plan(config, state, now, target=services.target)
    cert = state.certificate
    report = Status(plan=f"{decided.action}: {decided.reason}", warnings=observed.warnings)
    if cert:
        report.certificate = {"names": list(cert.names), "serial": cert.serial, "issuer": cert.issuer,
                              "not_after": cert.not_after.isoformat(), "days_remaining": (cert.not_after - now).days,
                              "key_matches": state.key_matches}
    report.listeners = [{"name": l.name, "certificate_name": l.certificate_name, "serial": l.serial,
                         "serves_stored": bool(cert and pki.same_serial(l.serial, cert.serial))}
                        for l in state.listeners]
    return report
