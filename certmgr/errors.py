"""certmgr's errors: one flat tree, one class per component.

Every error says what happened (the message, starting with the component: `dns: ...`), what it left
behind (`state`, e.g. "Vault unchanged; LB still serves the previous certificate") and what to do
next (`hint`). The run reports all three, so an operator reading one log line knows where things stand.
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass


class CertmgrError(Exception):
    """Base of certmgr's errors. `str(error)` is one line: message, then state and hint when known."""

    component = "certmgr"
    status: int | None = None  # the OCI status behind it, when an OCI call failed

    def __init__(self, message: str, *, state: str | None = None, hint: str | None = None, **details):
        """`details` are the attributes a subclass declares (with their defaults) for its callers to read."""
        prefix = f"{self.component}: "
        self.message = message if message.startswith(prefix) else prefix + message
        self.state = state
        self.hint = hint
        for name, value in details.items():
            if not hasattr(type(self), name):
                raise TypeError(f"{type(self).__name__} has no detail {name!r}")
            setattr(self, name, value)
        super().__init__(self.message)

    def __str__(self) -> str:
        parts = [self.message]
        if self.state:
            parts.append(f"state: {self.state}")
        if self.hint:
            parts.append(f"hint: {self.hint}")
        return "; ".join(parts)

    def to_dict(self) -> dict:
        """The error as the run's JSON result shows it."""
        return {"error": type(self).__name__, "component": self.component, "message": self.message,
                "state": self.state, "hint": self.hint}


SIGNATURE_HINT = ("OCI did not accept the request's signature: check the API key (key_file), its fingerprint, "
                  "user and tenancy in the OCI config file, or the function's resource principal and dynamic group")
BUSY_HINT = "the service is busy or failing: the next run retries"


def oci_reason(exc) -> str:
    """One line for a failed OCI call: the service's status, code and message."""
    return f"{exc.status} {exc.code}: {exc.message}"


def explained(exc, **names) -> str | None:
    """What the clients made of a refused call in this deployment (cloud/grants.py): the grant it lacks, a
    resource in another region, a clock that is off; `names` say what the caller knows of its subject."""
    explain = getattr(exc, "explained_by", None)
    return explain(**names) if explain else None


def oci_hint(exc, otherwise: str | None = None, **names) -> str | None:
    """The hint that fits an OCI answer: the signature (or the clock) for 401, patience for 429 and 5xx, else
    `otherwise` and, for a 404, what the function may lack."""
    status, meaning = exc.status, explained(exc, **names)
    if status == 401:
        return meaning or SIGNATURE_HINT
    if status == 429 or (status or 0) >= 500:
        return BUSY_HINT
    return "; ".join(h for h in (otherwise, meaning) if h) or None


def oci_failure(cls, what: str, exc, hint: str | None = None, names: dict | None = None,
                **details) -> "CertmgrError":
    """A `cls` error for an OCI call that failed: what was attempted, the service's answer, the fitting hint;
    it keeps the status (`.status`) for callers that tell a conflict from a failure."""
    error = cls(f"{what}: {oci_reason(exc)}", hint=oci_hint(exc, hint, **(names or {})), **details)
    error.status = exc.status
    return error


@contextlib.contextmanager
def failing_as(cls, what: str, hint: str | None = None, **details):
    """Inside it, an OCI call's ServiceError becomes a `cls` error (`oci_failure`), without the SDK's chain."""
    import oci  # here, not at the top: configuration errors are reported without loading the SDK
    try:
        yield
    except oci.exceptions.ServiceError as exc:
        raise oci_failure(cls, what, exc, hint, **details) from None


@dataclass(frozen=True)
class Problem:
    """One bad environment variable: which, what is wrong with it, how to fix it."""

    variable: str
    problem: str
    fix: str

    def __str__(self) -> str:
        return f"{self.variable}: {self.problem}; {self.fix}"


class ConfigError(CertmgrError):
    """The environment is wrong. Lists every problem at once, so one redeploy fixes them all."""

    component = "config"

    def __init__(self, problems: list[Problem], *, notes: list[str] | tuple[str, ...] = ()):
        self.problems = list(problems)
        self.notes = tuple(notes)  # e.g. a misspelt variable that may explain a missing one
        count = f"{len(self.problems)} problem{'s' if len(self.problems) != 1 else ''}"
        lines = "".join(f"\n  - {p}" for p in self.problems) + "".join(f"\n  note: {n}" for n in self.notes)
        super().__init__(f"{count} in the environment:{lines}", state="nothing was changed",
                         hint="fix the variables above in the function's configuration and run again")

    def __str__(self) -> str:
        return self.message  # each problem already says how to fix it

    def to_dict(self) -> dict:
        return dict(super().to_dict(), problems=[vars(p) for p in self.problems], notes=list(self.notes))


class DnsError(CertmgrError):
    """OCI DNS: reading a zone, writing or removing the `_acme-challenge` TXT records."""

    component = "dns"


class PropagationTimeout(DnsError):
    """The TXT records did not show on every nameserver in time. A DnsError, so one except catches both.

    `pending` names the servers and the names they still lack (`host:port name`)."""

    pending: tuple[str, ...] = ()


class LoadBalancerError(CertmgrError):
    """The load balancer: its certificate bundles and listeners."""

    component = "lb"


class VerifyError(LoadBalancerError):
    """The deploy reached OCI but an endpoint does not serve the new certificate; `report` is what each served."""

    report: list = []


class WorkRequestPending(LoadBalancerError):
    """A work request had not finished when the run's deadline came: OCI may still complete it."""

    work_request: str = ""  # its OCID
    what: str = ""          # the change it carries, in words


class ServiceCertificateError(CertmgrError):
    """The Certificates service (CERTMGR_CERTIFICATE_NAME): importing, switching, pruning versions."""

    component = "certificates"


class UsagesMismatch(ServiceCertificateError):
    """The Certificates service refuses a version whose extended key usages differ from the certificate's."""


class VaultError(CertmgrError):
    """Vault: the certificate's secrets, the ACME account key, the run lock."""

    component = "vault"


class AcmeError(CertmgrError):
    """`retry_at` is set when the CA said when to come back (rate limits, Retry-After): seconds since the
    epoch on the policy's wall clock, as the backoff it becomes is stored."""

    component = "acme"
    retry_at: float | None = None
    account_gone: bool = False  # the CA reports the account deactivated or unknown: a new one is needed
    configuration: bool = False  # refused for what the configuration asks (contact, names, CAA): no other CA helps


class CaaForbidden(AcmeError):
    """A CAA record forbids the CA, found before asking it: no refusal of the CA's to hold orders back for."""


class CertificateError(CertmgrError):
    """A certificate, chain or key cannot be used. Never carries key material."""

    component = "certificate"


class BudgetSpent(CertmgrError):
    """The run's time budget (CERTMGR_RUN_BUDGET) does not leave room for the next step."""

    component = "run"


class NotifyError(CertmgrError):
    """A monitor channel: e-mail, Notifications or Logging."""

    component = "notify"


class OciUnreachable(CertmgrError):
    """An OCI call that failed without an answer (connection refused, timeout, TLS) after its retries."""

    component = "oci"


class Interrupted(BaseException):
    """SIGINT or SIGTERM reached the CLI: the run stops where it is, removes its TXT values, releases its lock
    and reports. A BaseException, as KeyboardInterrupt, so that no `except Exception` takes it for a failure."""

    def __init__(self, signum: int):
        import signal
        self.signum, self.name = signum, signal.Signals(signum).name
        super().__init__(self.name)


OUTCOME = {"outcome": True}  # `extra` of the one log line that sums a run up ("run failed: ..."), for the CLI
