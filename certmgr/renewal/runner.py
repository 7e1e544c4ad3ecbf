"""One renewal run: config -> observe -> plan -> act -> report.

`run()` is what both the Fn handler and the CLI call. Dry run stops after the plan. Whatever fails, the
result says what was done, what was left, and what the next run will do about it. One deadline
(CERTMGR_RUN_BUDGET) bounds every wait of the run, retries included; the Policy says how the run waits.
"""
from __future__ import annotations

import datetime as dt
import logging
import time

from .act import Act
from .issue import ensure_caa_allows
from .job import Job
from ..cloud import metrics
from ..cloud.clients import Clients
from ..settings.config import Config
from ..errors import OUTCOME, AcmeError, CertmgrError, Interrupted, LoadBalancerError
from ..cloud.lock import LockBusy, RunLock
from .observe import Observed, observe
from .plan import BACKOFF, DEPLOY, ISSUE, NOTHING, Plan, plan
from ..timing import DEFAULT, Policy
from .result import Result
from .adapters import Services

log = logging.getLogger("certmgr")


def _decide(config: Config, services: Services, result: Result, now: dt.datetime,
            force: bool, before: Plan | None = None) -> tuple[Observed, Plan]:
    """Observe and plan; the plan is logged unless it is `before`'s again (the look under the lock)."""
    again = before and "under the lock: reading again what another run changed"
    with result.timed("observe", again):
        observed = observe(config, vault=services.vault, lb=services.lb, service=services.certificates, now=now,
                           policy=services.policy)
    result.warnings += [w for w in observed.warnings if w not in result.warnings]
    planned = plan(config, observed.state, now, force=force, target=services.target)
    result.action, result.reason = planned.action, planned.reason
    if planned.action == NOTHING:  # every managed listener serves the stored certificate: say which, and what
        result.listeners = [l.name for l in observed.state.listeners]
        served = {l.certificate_id or l.certificate_name for l in observed.state.listeners}
        result.lb_certificate = served.pop() if len(served) == 1 else None
    if planned.serial:
        result.serial, result.not_after = planned.serial, planned.not_after.isoformat()
        result.days_remaining = (planned.not_after - now).days
    if before is None or (before.action, before.reason) != (planned.action, planned.reason):
        log.info("plan: %s - %s", planned.action, planned.reason)
    return observed, planned


def _acts(planned: Plan) -> bool:
    """Whether the plan changes anything (and so needs the lock): a backoff with nothing to repair does not."""
    return planned.action != NOTHING and (planned.action != BACKOFF or bool(planned.repairs))


def _refuse_taken(config: Config, planned: Plan) -> None:
    """One owner per listener: a listener another certmgr deployment serves is never switched."""
    if planned.taken and planned.action in (ISSUE, DEPLOY):
        raise LoadBalancerError(
            f"lb: {'; '.join(planned.taken)}; deployment {config.name_prefix!r} does not take a listener over from "
            "another", state="nothing was changed; every listener keeps its certificate",
            hint="give each deployment its own listeners (CERTMGR_LB_LISTENERS); to hand a listener over on purpose, "
                 "stop the other deployment and point the listener at another certificate first")


def _held_back(planned: Plan, result: Result) -> None:
    """Holding orders back is a failed run, not an OK one, while no valid certificate will be left when the
    hold ends: someone must act (fix what the CA refused, then force a run). Otherwise it is OK, with a
    warning."""
    if planned.urgent:
        raise AcmeError(f"acme: new orders are held back and no valid certificate is stored for when they "
                        f"resume: {planned.reason}", state="nothing was ordered; the next run after the hold orders",
                        hint="fix what the CA refused (the last error above) and run with --force, or wait")
    if planned.hold_warning:
        result.warnings.append(planned.hold_warning)


def run(config: Config, *, force: bool = False, dry_run: bool = False, now: dt.datetime | None = None,
        clients: Clients | None = None, policy: Policy = DEFAULT) -> Result:
    """Observe, plan and (unless dry run) act. Never raises for operational failures: see Result.status.

    Every wait ends by `config.run_budget` seconds from now; without `clients`, OCI calls retry by `policy`
    within that deadline too."""
    started = time.monotonic()
    deadline = policy.deadline(config.run_budget)
    result = Result(names=list(config.domains), warnings=list(config.warnings))
    now = now or policy.now()
    planned = runner = services = None
    try:
        clients = clients or Clients.from_config(config, policy.retry(deadline))
        services = Services(config, clients, policy, deadline)
        observed, planned = _decide(config, services, result, now, force)
        if planned.action == ISSUE:  # the zones, read by a run that orders (and its plan) only
            services.dns.route(config.domains)  # every challenge lands in a zone certmgr can write
        if dry_run or config.dry_run:
            result.status = "dry-run"
            return result
        if not _acts(planned):
            _held_back(planned, result)
            return result
        _refuse_taken(config, planned)
        if planned.action == ISSUE:  # before the lock: a run that cannot order changes nothing
            if observed.ca_problem and planned.ca == "primary":
                raise observed.ca_problem
            ca = next(ca for ca in config.cas if ca.role == planned.ca)
            ensure_caa_allows(config, services, ca, observed.caa_identities if ca.role == "primary" else None)
        log.info("taking the run lock %s", config.lock_name)
        with RunLock(services.vault.store, config.lock_name, seconds=config.run_budget + policy.lease_margin,
                     margin=policy.lease_margin, clock=policy.wall_clock) as lock:
            if lock.changed:  # another run took the lease since the first look: what it did is not in that look
                observed, planned = _decide(config, services, result, now, force, before=planned)
            if _acts(planned):
                runner = Act(Job(config, services, result, policy, deadline, lock))
                runner.act(observed, planned, now)
        _held_back(planned, result)
    except LockBusy as exc:
        result.status, result.reason = "skipped", exc.message
        log.warning("%s", exc.message)
    except Interrupted as exc:  # the TXT values are removed and the lock released on the way out
        result.status, result.error = "interrupted", f"run: interrupted by {exc.name}"
        result.state = runner.left_behind(planned) if runner else "nothing was changed"
        log.error("run interrupted by %s: %s", exc.name, result.state, extra=OUTCOME)
    except Exception as exc:  # CertmgrError, or a bug / an API reply nobody expected: report, never crash
        known = isinstance(exc, CertmgrError)
        if not known:
            log.exception("run failed unexpectedly")
        result.status = "failed"
        result.error = exc.message if known else f"unexpected {type(exc).__name__}: {exc}"
        result.error_component = exc.component if known else None
        result.state = (known and exc.state) or (runner.left_behind(planned) if runner else "nothing was changed")
        if known and exc.hint:
            result.warnings.append(f"hint: {exc.hint}")
        log.error("run failed: %s", result.error, extra=OUTCOME)
    finally:
        if services is not None:
            result.warnings += services.vault.store.warnings  # Vault clean-up that failed, never fatal
            result.timings.update(services.waits())
        if config.metrics and clients is not None and result.status in ("ok", "failed", "interrupted"):
            result.warnings += post_metrics(config, clients, result, now, policy.now())
        result.timings["total"] = round(time.monotonic() - started, 3)
    return result


def post_metrics(config: Config, clients: Clients, result: Result, now: dt.datetime, at: dt.datetime) -> list[str]:
    """The run's figures in OCI Monitoring: whether it succeeded, and the days left on the certificate it
    leaves in place (what Alarms watch: see cloud/metrics.py)."""
    figures = [metrics.Figure.of("renewal_success", result.status == "ok", deployment=config.name_prefix)]
    if result.not_after:
        left = dt.datetime.fromisoformat(result.not_after) - now
        figures.append(metrics.Figure.of("days_to_expiry", round(left / dt.timedelta(days=1), 3),
                                         deployment=config.name_prefix, name=config.primary_name))
    return metrics.post(clients.monitoring(), config.compartment_id, figures, at)
