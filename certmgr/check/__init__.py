"""`certmgr check`: one pass over everything a renewal (in monitor mode, a monitor run) needs, changing nothing a
user would see; the first thing to run after `terraform apply`.

Each item says what it proved, or what is wrong and the fix; a call OCI refuses names the policy statement the
function lacks (cloud/grants.py), with this deployment's names. Files: `checklist` (items, the table),
`common` (identity, regions, clock), `renewer` and `monitor` (each mode's items).
"""
from __future__ import annotations

import logging

from ..cloud.clients import Clients
from ..errors import OUTCOME, ConfigError
from ..settings.config import Config
from ..timing import DEFAULT, Policy
from .checklist import FAILED, Checklist

log = logging.getLogger("certmgr")


def check(config: Config, *, policy: Policy = DEFAULT, clients: Clients | None = None) -> Checklist:
    """Every item of `config.mode`; never raises for what it finds (see Checklist.status)."""
    checks = Checklist(config.mode)
    try:
        clients = clients or Clients.from_config(config, policy.retry(policy.deadline(config.run_budget)))
    except ConfigError as exc:  # an OCI config file or resource principal that cannot be used
        checks.add("identity", FAILED, "; ".join(str(p) for p in exc.problems), exc.hint)
        return checks
    if config.mode == "monitor":
        from .monitor import MonitorCheck as Mode
    else:
        from .renewer import RenewerCheck as Mode
    Mode(config, clients, policy, checks).run()
    if checks.status == "failed":  # one line in the function's log, as a failed run leaves
        failed = "; ".join(f"{i.name}: {i.detail}" for i in checks.items if i.status == FAILED)
        log.error("check failed: %s", failed, extra=OUTCOME)
    return checks
