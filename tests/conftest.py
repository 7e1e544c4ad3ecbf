import pytest

from sandbox.stack import Sandbox

# Seconds an LB work request takes in tests: still asynchronous (ACCEPTED, IN_PROGRESS, SUCCEEDED, polled by
# certmgr), but short; tests about slow work requests set their own and put `sandbox.work_request_delay` back.
WORK_REQUEST_DELAY = 0.05


@pytest.fixture(scope="session")
def sandbox():
    """One sandbox per test process (per xdist worker): tests that change shared state restore it or use
    their own names."""
    with Sandbox(work_request_delay=WORK_REQUEST_DELAY) as box:
        yield box


@pytest.fixture
def clear_faults(sandbox):
    yield
    sandbox.world.faults.clear()
