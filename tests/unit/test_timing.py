"""The poll helper on a virtual clock: how soon a wait sees work end, and how many looks it spends.

A look costs `LATENCY` (the service answers what it knows when the request arrives, half-way); the work
ends `took` seconds after the wait began. Nothing here sleeps."""
from __future__ import annotations

import statistics

import pytest

from certmgr.timing import DEFAULT, Policy

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
    """A look comes when the work took as long as last time, then looks start short again: the wait knows
    within the difference (and one look's latency), at about the looks of a wait that knew nothing."""
    for took in LONG:
        for jitter in (-0.2, 0.0, 0.02, 0.3):
            late, looks = wait(took + jitter, expect=took)
            assert late <= abs(jitter) + DEFAULT.first_poll + 2 * LATENCY + 1e-9, (took, jitter, late)
            assert looks <= wait(took + jitter)[1] + 2
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
