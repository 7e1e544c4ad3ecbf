"""The Certificates-service rows of sandbox/oci/CONFORMANCE.md as raw signed HTTP: a change while the certificate
is being updated by someone else (409 IncorrectState, transient, until it is ACTIVE again), and a DEPRECATED
version, which cannot be made CURRENT again."""
import time
import uuid

import pytest

from _fixtures import send, service_backend
from sandbox.oci import certificates
from sandbox.stack import self_signed

API = "/20210224/certificates"
service = service_backend(certificates)


def new_version(name: str) -> dict:
    cert, key = self_signed(name)
    return {"certificateConfig": {"configType": "IMPORTED", "certificatePem": cert, "certChainPem": cert,
                                  "privateKeyPem": key}}


@pytest.fixture
def cert_id(sandbox, service):
    cert, key = self_signed("conformance.example")
    return service.import_certificate(sandbox.ids["compartment"], f"conf-{uuid.uuid4().hex[:8]}", cert, cert, key)


@pytest.fixture
def busy_for(sandbox):
    """Seconds a certificate stays UPDATING after a change, for one test."""
    yield lambda seconds: sandbox.world.options.update(certificate_delay=seconds)
    sandbox.world.options.pop("certificate_delay", None)


def test_a_change_while_the_certificate_is_updating_is_a_transient_409(sandbox, cert_id, busy_for):
    busy_for(0.2)
    first = send(sandbox, "PUT", f"{API}/{cert_id}", new_version("conformance.example"))
    assert first.status_code == 200 and first.json()["lifecycleState"] == "UPDATING"
    refused = send(sandbox, "PUT", f"{API}/{cert_id}", new_version("conformance.example"))
    assert (refused.status_code, refused.json()["code"]) == (409, "IncorrectState"), refused.text
    for _ in range(100):
        if send(sandbox, "GET", f"{API}/{cert_id}").json()["lifecycleState"] == "ACTIVE":
            break
        time.sleep(0.02)
    assert send(sandbox, "PUT", f"{API}/{cert_id}", new_version("conformance.example")).status_code == 200


def test_a_deprecated_version_cannot_be_made_current(sandbox, cert_id):
    for _ in range(2):
        assert send(sandbox, "PUT", f"{API}/{cert_id}", new_version("conformance.example")).status_code == 200
    stages = {v["versionNumber"]: v["stages"] for v in send(sandbox, "GET", f"{API}/{cert_id}/versions").json()["items"]}
    assert stages[1] == ["DEPRECATED"]
    refused = send(sandbox, "PUT", f"{API}/{cert_id}", {"currentVersionNumber": 1})
    assert (refused.status_code, refused.json()["code"]) == (400, "InvalidParameter"), refused.text
    assert send(sandbox, "PUT", f"{API}/{cert_id}", {"currentVersionNumber": 2}).status_code == 200   # PREVIOUS may
