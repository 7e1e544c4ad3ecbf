"""How a run spends its time: one deadline over every wait, one poll loop, one retry policy for OCI calls, the
clocks.

The caller builds a `Policy` and hands it down (the CLI and the Fn handler use `DEFAULT`; tests pass a fast
one with the same attempt counts and their own clocks), so no adapter keeps a timing constant of its own and
no decision reads the time but through `Policy.now` / `Policy.clock`. Every wait (LB work requests, the
Certificates service, DNS propagation, the ACME order, the TLS check) is `for elapsed in policy.polls(deadline)`. `OciRetry` is the
policy in the shape the `oci` SDK calls (`make_retrying_call`). Unlike the SDK's strategies it honours
`Retry-After` (up to `max_retry_after`) and, given the run's deadline, never starts a wait that would
overrun it.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import email.utils
import functools
import logging
import random
import time
from dataclasses import dataclass
from typing import Callable, Iterator

import oci

from .errors import OciUnreachable

log = logging.getLogger("certmgr")

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
RETRY_CONFLICTS = frozenset({"IncorrectState", "LockConflict"})  # 409s that clear by themselves (as the SDK)


@dataclass(frozen=True)
class Policy:
    attempts: int = 5                  # per OCI call, the first one included
    backoff: float = 1.0               # cap of the first retry's wait (full jitter); doubles per attempt
    max_backoff: float = 30.0
    max_retry_after: float = 120.0     # a longer Retry-After gives up instead (the next run tries again)
    first_poll: float = 0.05           # the first wait between looks; then as long as the time already spent,
    max_poll: float = 1.0              # up to this: at most a look a second
    dns_poll: float = 0.5              # between propagation checks
    min_propagation_wait: float = 10.0
    after_propagation: float = 90.0    # kept for validation, finalization, Vault and LB after the DNS wait
    lease_margin: float = 60.0         # the run lock outlives the run's budget by this much
    verify_for: float = 60.0           # how long a deploy may take to be served at every endpoint
    oci_timeout: tuple[float, float] = (10.0, 60.0)  # connect, read: seconds per OCI request
    ca_timeout: float = 10.0           # seconds per request for the CA's directory and renewal information
    acme_timeout: float = 30.0         # seconds per ACME request (an order's finalization can be slow)
    dns_timeout: float = 3.0           # seconds per DNS query of the propagation check
    tls_timeout: float = 5.0           # seconds per TLS handshake of the post-deploy check
    smtp_timeout: float = 30.0         # seconds per SMTP operation of the monitor's e-mail
    progress_every: float = 5.0        # a wait says what it waits for this often (INFO), from this long on
    acme_backoff: float = 3600.0       # after a failed order; doubles per consecutive failure
    max_acme_backoff: float = 23 * 3600.0  # below a day: a daily schedule still tries once a day
    clock: Callable[[], float] = time.monotonic
    wall_clock: Callable[[], float] = time.time  # for the lease and the CA's backoff, shared between runs
    sleep: Callable[[float], None] = time.sleep
    jitter: Callable[[], float] = random.random

    def replace(self, **changes) -> "Policy":
        return dataclasses.replace(self, **changes)

    def deadline(self, seconds: float) -> "Deadline":
        return Deadline(self.clock() + seconds, self.clock)

    def now(self) -> dt.datetime:
        """The wall-clock time, aware, for decisions (renewal, backoff, Vault version deletion)."""
        return dt.datetime.fromtimestamp(self.wall_clock(), dt.timezone.utc)

    def retry(self, deadline: "Deadline | None" = None, conflicts: bool = True,
              explain: Callable | None = None) -> "OciRetry":
        """`conflicts=False`: a 409 is never retried blindly (the caller waits for the busy resource itself)."""
        return OciRetry(self, deadline, conflicts, explain)

    def poll_interval(self, elapsed: float) -> float:
        """Wait before the next look: as long as the time already spent, `first_poll` at least and `max_poll` at
        most. Short work is seen soon after it ends (within the time it took), and work that takes seconds is
        looked at no more than once a second."""
        return min(self.max_poll, max(self.first_poll, elapsed))

    def polls(self, deadline: "Deadline", every: float | None = None, expect: float | None = None,
              waiting: Callable[[], str] | None = None) -> "Polls":
        """The one poll loop; see `Polls`."""
        return Polls(self, deadline, every, expect, waiting)

    def acme_wait(self, failures: int, retry_after: float | None) -> float:
        """Seconds to hold back new orders after `failures` failed ones in a row; the CA's word wins if longer."""
        grown = min(self.max_acme_backoff, self.acme_backoff * 2 ** max(0, failures - 1))
        return max(grown, retry_after or 0.0)


DEFAULT = Policy()


class Deadline:
    """A point on `clock` that every wait of a run checks against."""

    def __init__(self, at: float, clock: Callable[[], float] = time.monotonic):
        self.at, self.clock = at, clock

    def left(self) -> float:
        return self.at - self.clock()

    def allows(self, seconds: float) -> bool:
        return self.left() >= seconds

    def earlier(self, seconds: float) -> "Deadline":
        """This deadline less a reserve kept for the steps after a wait."""
        return Deadline(self.at - seconds, self.clock)

    def within(self, seconds: float) -> "Deadline":
        """The earlier of this deadline and `seconds` from now."""
        return Deadline(min(self.at, self.clock() + seconds), self.clock)


class Polls:
    """The one poll loop: `for elapsed in policy.polls(deadline, every, expect): look; if done: break`.

    Yields the seconds spent so far before each look (the first at once). Between looks it waits `every`, or
    `Policy.poll_interval` (short at first, then as long as the time spent, at most `max_poll`), or what the
    service asked for (set `asked` before the next look, e.g. a Retry-After), and ends without another look
    when the deadline cannot afford the wait: the caller then says what was still pending.

    `expect`: how long such work took last time (this run's previous work request, or the last run's, from its
    record). The looks then come a second apart from the start, none at once, and one comes at that moment;
    after it they start short again. Work that takes about as long as last time is seen right after it ends,
    at a look a second at most. Without it, a look a second is the best there is once the first short looks
    are spent: work ending at an unknown moment is seen half a second late on the median.

    `waiting`: what the wait is for, as of the last look (`TXT at 2 names: 1 of 3 nameservers answer`); a wait
    that lasts logs it with the seconds spent, every `Policy.progress_every` seconds, so a person watching a
    run sees what it waits for.
    """

    def __init__(self, policy: Policy, deadline: Deadline, every: float | None = None, expect: float | None = None,
                 waiting: Callable[[], str] | None = None):
        self.policy, self.deadline, self.every, self.expect = policy, deadline, every, expect
        self.waiting = waiting
        self.asked: float | None = None
        self.elapsed = 0.0

    def _pause(self, elapsed: float) -> float:
        if self.asked is not None:
            return self.asked
        if self.every is not None:
            return self.every
        if self.expect is None:
            return self.policy.poll_interval(elapsed)
        if elapsed < self.expect:
            return min(self.policy.max_poll, self.expect - elapsed)
        return self.policy.poll_interval(elapsed - self.expect)

    def __iter__(self) -> Iterator[float]:
        clock, started, every = self.policy.clock, self.policy.clock(), self.policy.progress_every
        said = 0.0  # when the wait last said what it waits for
        first = min(self.policy.max_poll, self.expect or 0.0)
        if first and self.deadline.allows(first):  # expected to take a while: not done at once
            self.policy.sleep(first)
        while True:
            self.elapsed = clock() - started
            yield self.elapsed
            spent = clock() - started
            if self.waiting is not None and spent - said >= every:  # after the look: its news is in `waiting`
                said = spent - spent % every
                log.info("waiting for %s; %.0f s", self.waiting(), spent)
            pause = self._pause(spent)
            self.asked = None
            if not self.deadline.allows(pause):
                return
            self.policy.sleep(pause)


def retry_after(headers) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date), or None."""
    value = (headers or {}).get("retry-after") or (headers or {}).get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
            if when.tzinfo is None:  # asctime's form carries no zone: HTTP dates are GMT (RFC 9110, 5.6.7)
                when = when.replace(tzinfo=dt.timezone.utc)
            return max(0.0, when.timestamp() - time.time())
        except (TypeError, ValueError):
            return None


def retryable(exc: Exception, conflicts: bool = True) -> bool:
    """Throttling, transient server errors, connection problems and timeouts (and, with `conflicts`, the 409s
    that clear by themselves); never a client mistake."""
    status = getattr(exc, "status", None)
    if status is not None:
        return status in RETRY_STATUSES or (conflicts and status == 409
                                            and getattr(exc, "code", None) in RETRY_CONFLICTS)
    return isinstance(exc, (oci.exceptions.RequestException, oci.exceptions.ConnectTimeout))


def unreachable(func, operation: str, exc: Exception, attempts: int) -> OciUnreachable:
    """The network failure in one line, with the endpoint it could not reach (requests' own text is long)."""
    text = str(exc)
    why = next((words for words in ("Connection refused", "timed out", "Name or service not known",
                                    "certificate verify failed", "Connection reset") if words in text), text[:160])
    endpoint = getattr(getattr(func, "__self__", None), "endpoint", "the OCI endpoint")
    return OciUnreachable(f"oci: no answer from {endpoint} to {operation} after {attempts} attempt"
                          f"{'s' if attempts != 1 else ''}: {type(exc).__name__}: {why}",
                          hint="check CERTMGR_REGION (and CERTMGR_OCI_ENDPOINT if set), and that the function's "
                               "subnet reaches OCI's services (a service or NAT gateway); the next run tries again")


class OciRetry:
    """An `oci` retry strategy built from a Policy: bounded attempts, full-jitter exponential backoff,
    `Retry-After` honoured, and no wait that the deadline cannot afford."""

    def __init__(self, policy: Policy, deadline: Deadline | None = None, conflicts: bool = True,
                 explain: Callable | None = None):
        self.policy, self.deadline, self.conflicts = policy, deadline, conflicts
        self.explain = explain  # (ServiceError, **names) -> what it means here (cloud/grants.py), kept on the error

    def explaining(self, explain: Callable) -> "OciRetry":
        """This strategy, leaving on each ServiceError it gives up on `explained_by(**names)`: `explain`'s reading."""
        return OciRetry(self.policy, self.deadline, self.conflicts, explain)

    def add_circuit_breaker_callback(self, callback) -> None:
        """The SDK hands its circuit breaker to the strategy; certmgr runs without one (see clients.py)."""

    def wait(self, exc: Exception, attempt: int) -> float | None:
        """Seconds to wait before attempt `attempt + 1`, or None to give up now."""
        if attempt >= self.policy.attempts or not retryable(exc, self.conflicts):
            return None
        asked = retry_after(getattr(exc, "headers", None))
        if asked is not None and asked > self.policy.max_retry_after:
            return None
        pause = asked if asked is not None else \
            self.policy.jitter() * min(self.policy.max_backoff, self.policy.backoff * 2 ** (attempt - 1))
        if self.deadline is not None and not self.deadline.allows(pause):
            return None
        return pause

    def make_retrying_call(self, func, *args, **kwargs):
        attempt = 0
        while True:
            attempt += 1
            try:
                return func(*args, **kwargs)
            except Exception as exc:
                pause = self.wait(exc, attempt)
                if pause is None:
                    if getattr(exc, "status", None) is None and retryable(exc):
                        raise unreachable(func, kwargs.get("operation_name", "call"), exc, attempt) from None
                    if self.explain is not None and isinstance(exc, oci.exceptions.ServiceError):
                        exc.explained_by = functools.partial(self.explain, exc)
                    raise
                log.info("retrying %s in %.1fs (attempt %d of %d): %s", kwargs.get("operation_name", "call"),
                         pause, attempt + 1, self.policy.attempts, getattr(exc, "status", type(exc).__name__))
                self.policy.sleep(pause)
