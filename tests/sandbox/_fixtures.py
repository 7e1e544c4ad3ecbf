"""Fixtures a sandbox test module declares in one line each: the real SDK's client of a service (signed as
the sandbox's user) and a service's backend (the state the emulator keeps)."""
import pytest


def sdk_client(cls: type, scope: str = "function"):
    """A fixture: the `oci` SDK's `cls` on the sandbox."""
    def client(sandbox):
        return sandbox.client(cls)
    return pytest.fixture(scope=scope)(client)


def service_backend(service, scope: str = "function"):
    """A fixture: the backend of `service` (a sandbox.oci service module) in the home region."""
    def backend(sandbox):
        return sandbox.world.backend(service)
    return pytest.fixture(scope=scope)(backend)
