"""Fixtures a sandbox test module declares in one line each: the real SDK's client of a service (signed as
the sandbox's user) and a service's backend (the state the emulator keeps); and `send`, one request signed as
the SDK signs it but written by hand, for what no SDK model lets a client send."""
import uuid

import pytest
import requests


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


def fresh_zone(backend_fixture: str, label: str):
    """A fixture: a new public zone `<label><random>.test` in the sandbox's compartment (the backend fixture
    named `backend_fixture` adds it), by name."""
    def zone(sandbox, request):
        name = f"{label}{uuid.uuid4().hex[:10]}.test"
        request.getfixturevalue(backend_fixture).add_zone(name, sandbox.ids["compartment"])
        return name
    return pytest.fixture(zone)


def send(sandbox, method: str, path: str, body=None, headers: dict | None = None) -> requests.Response:
    """`method path` on the sandbox with a JSON body (None: no body), signed by the oci SDK's signer."""
    prepared = requests.Request(method, sandbox.endpoint + path, json=body, headers=headers or {}).prepare()
    sandbox.signer(prepared)
    return requests.Session().send(prepared)
