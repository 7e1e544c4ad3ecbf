import pytest

from sandbox.stack import Sandbox


@pytest.fixture(scope="session")
def sandbox():
    """One sandbox for the whole session: tests that change shared state restore it or use their own names."""
    with Sandbox() as box:
        yield box


@pytest.fixture
def clear_faults(sandbox):
    yield
    sandbox.world.faults.clear()
