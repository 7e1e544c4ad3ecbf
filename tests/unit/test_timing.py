"""How a run waits: the poll helper on a virtual clock (how soon a wait sees work end, and how many looks it
spends), a Retry-After in either of its forms (retry_after), and how long new orders are held back after
failed ones (Policy.acme_wait).

A look costs `LATENCY` (the service answers what it knows when the request arrives, half-way); the work
ends `took` seconds after the wait began. Nothing here sleeps."""
from __future__ import annotations

import email.utils
import statistics
import time

import pytest

from certmgr.timing import DEFAULT, Policy, retry_after

LATENCY = 0.05


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def wait(took: float, expect: float | None = None, budget: float = 300.0, policy: Policy = DEFAULT):
    """(seconds from the work's end until the wait knows, looks spent), or (None, looks) past the deadline."""
    clock = Clock()
    policy = policy.replace(clock=clock, sleep=clock.sleep)
    looks = 0
    for _ in policy.polls(policy.deadline(budget), expect=expect):
        looks += 1
        clock.sleep(LATENCY)
        if clock.now - LATENCY / 2 >= took:
            return clock.now - took, looks
    return None, looks


# Work requests of a real LB take seconds (the bench's simulated cloud: 20 s); the phase against the looks varies.
LONG = [5.0 + i * 0.37 for i in range(100)]


def test_short_work_is_seen_within_the_time_it_took():
    for took in (0.01, 0.05, 0.3, 0.8):
        late, looks = wait(took)
        assert late <= max(took, DEFAULT.first_poll) + 1.5 * LATENCY + 1e-9, took
        assert looks <= 6


def test_long_work_is_looked_at_at_most_once_a_second_and_seen_within_one():
    for took in LONG:
        late, looks = wait(took)
        assert late <= DEFAULT.max_poll + 1.5 * LATENCY + 1e-9
        assert looks <= took + 5, (took, looks)   # one a second, and the few of the first second
    lates = [wait(took)[0] for took in LONG]
    assert 0.3 < statistics.median(lates) < 0.7  # the most a look a second can do without knowing more


def test_work_that_takes_about_as_long_as_last_time_is_seen_right_after_it_ends():
    """Looks a second apart, one when the work took as long as last time, then short again: the wait knows
    within the difference (and one look's latency), at no more looks than a wait that knew nothing."""
    for took in LONG:
        for jitter in (-0.2, 0.0, 0.02, 0.3):
            late, looks = wait(took + jitter, expect=took)
            assert late <= abs(jitter) + DEFAULT.first_poll + 2 * LATENCY + 1e-9, (took, jitter, late)
            assert looks <= wait(took + jitter)[1]
        assert wait(took, expect=took)[1] <= took + 1  # a look a second, and the one at the expected moment
    assert statistics.median(wait(took + 0.02, expect=took)[0] for took in LONG) <= 0.1


@pytest.mark.parametrize("ratio", [0.3, 3.0])
def test_a_wrong_expectation_costs_no_more_than_no_expectation(ratio):
    for took in LONG:
        late, looks = wait(took, expect=took * ratio)
        assert late <= DEFAULT.max_poll + 1.5 * LATENCY + 1e-9
        assert looks <= took + 10


def test_the_deadline_ends_the_looks_and_there_is_always_one():
    late, looks = wait(10.0, budget=3.0)
    assert late is None and 3 <= looks <= 8
    assert wait(10.0, budget=0.0) == (None, 1)


# -- Retry-After and the backoff after failed orders ------------------------------------------------------

@pytest.mark.parametrize("headers, expected", [
    ({"Retry-After": "120"}, 120.0),
    ({"retry-after": "7"}, 7.0),                        # header names in lower case
    ({"Retry-After": "-5"}, 0.0),                       # never a negative wait
    ({"Retry-After": "tomorrow"}, None),
    ({"Retry-After": ""}, None),
    ({}, None),
    (None, None),
])
def test_retry_after_in_seconds_or_unreadable(headers, expected):
    assert retry_after(headers) == expected


def test_retry_after_as_an_http_date_is_the_seconds_until_then():
    """RFC 9110 §10.2.3: Retry-After is an HTTP-date or delay-seconds. Read on the wall clock, so the answer
    lies between what the date leaves before the call and after it."""
    then = int(time.time()) + 3 * 3600
    header = {"Retry-After": email.utils.formatdate(then, usegmt=True)}  # IMF-fixdate
    before = time.time()
    seconds = retry_after(header)
    after = time.time()
    assert then - after <= seconds <= then - before


def test_retry_after_in_the_asctime_form_is_gmt_whatever_the_local_zone(monkeypatch):
    """asctime's form names no zone; HTTP dates are GMT (RFC 9110 §5.6.7), not the host's local time."""
    monkeypatch.setenv("TZ", "Asia/Tokyo")
    time.tzset()
    try:
        then = int(time.time()) + 3 * 3600
        header = {"Retry-After": time.strftime("%a %b %d %H:%M:%S %Y", time.gmtime(then))}
        before = time.time()
        seconds = retry_after(header)
        after = time.time()
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()
    assert then - after <= seconds <= then - before


@pytest.mark.parametrize("date", [
    "Sun, 06 Nov 1994 08:49:37 GMT",    # IMF-fixdate
    "Sunday, 06-Nov-94 08:49:37 GMT",   # obsolete RFC 850 form
    "Sun Nov  6 08:49:37 1994",         # obsolete asctime form (RFC 9110 §5.6.7: recipients accept all three)
])
def test_retry_after_as_a_past_http_date_is_no_wait(date):
    assert retry_after({"Retry-After": date}) == 0.0


POLICY = Policy(acme_backoff=100.0, max_acme_backoff=1000.0)


@pytest.mark.parametrize("failures, expected", [(0, 100.0), (1, 100.0), (2, 200.0), (3, 400.0), (4, 800.0),
                                                (5, 1000.0), (40, 1000.0)])
def test_acme_wait_doubles_per_failed_order_up_to_its_cap(failures, expected):
    assert POLICY.acme_wait(failures, None) == expected


@pytest.mark.parametrize("failures, asked, expected", [
    (1, 0.0, 100.0),
    (1, 60.0, 100.0),       # the CA asked for less than the backoff: the backoff stands
    (3, 600.0, 600.0),      # the CA asked for more: its word wins
    (5, 86400.0, 86400.0),  # even past the cap, which only bounds certmgr's own doubling
])
def test_acme_wait_takes_the_cas_retry_after_when_it_is_longer(failures, asked, expected):
    assert POLICY.acme_wait(failures, asked) == expected
