"""The Load Balancer rows of sandbox/oci/CONFORMANCE.md as raw signed HTTP: a change made while another work
request of the same load balancer runs (queued, or refused with 409 when the sandbox is told to), and a
certificate bundle that a backend set still uses."""
import time
import uuid

import pytest
import requests

from _fixtures import send, service_backend
from sandbox.oci import loadbalancer
from sandbox.stack import self_signed

API = "/20170115/loadBalancers"
lbs = service_backend(loadbalancer)


def bundle(name: str) -> dict:
    cert, key = self_signed("conformance.example")
    return {"certificateName": name, "publicCertificate": cert, "privateKey": key}


@pytest.fixture
def lb(sandbox, lbs):
    """A load balancer whose backend set `app` re-encrypts to its backends with the bundle `backend-tls`."""
    pems = bundle("backend-tls")
    lb_id = lbs.add_load_balancer(sandbox.ids["compartment"], f"conformance-{uuid.uuid4().hex[:6]}",
                                  certificates={"backend-tls": pems},
                                  backend_sets={"app": {"sslConfiguration": {"certificateName": "backend-tls"}}})
    yield lb_id
    lbs.remove_load_balancer(lb_id)


@pytest.fixture
def lb_busy(sandbox):
    """Set the world option `lb_busy` through the control API for one test."""
    def choose(mode: str) -> None:
        reply = requests.post(sandbox.env["SANDBOX_CONTROL"] + "/options", json={"lb_busy": mode}, timeout=5)
        assert reply.status_code == 200 and reply.json()["lb_busy"] == mode
    yield choose
    sandbox.world.options["lb_busy"] = "queue"


@pytest.fixture
def slow(sandbox):
    before = sandbox.world.options["work_request_delay"]
    sandbox.world.options["work_request_delay"] = 0.2
    yield
    sandbox.world.options["work_request_delay"] = before


def state_of(sandbox, work_request_id: str) -> str:
    return send(sandbox, "GET", f"/20170115/loadBalancerWorkRequests/{work_request_id}").json()["lifecycleState"]


def finish(sandbox, work_request_id: str) -> str:
    for _ in range(200):
        state = state_of(sandbox, work_request_id)
        if state in ("SUCCEEDED", "FAILED"):
            return state
        time.sleep(0.02)
    raise AssertionError(f"{work_request_id} still {state}")


def test_a_change_while_another_runs_is_queued_by_default(sandbox, lb, slow):
    first = send(sandbox, "POST", f"{API}/{lb}/certificates", bundle("first"))
    second = send(sandbox, "POST", f"{API}/{lb}/certificates", bundle("second"))
    assert (first.status_code, second.status_code) == (202, 202), second.text
    assert state_of(sandbox, second.headers["opc-work-request-id"]) == "ACCEPTED"   # in the queue
    assert [finish(sandbox, r.headers["opc-work-request-id"]) for r in (first, second)] == ["SUCCEEDED"] * 2


def test_a_change_while_another_runs_is_refused_when_the_sandbox_refuses(sandbox, lb, slow, lb_busy):
    lb_busy("refuse")
    first = send(sandbox, "POST", f"{API}/{lb}/certificates", bundle("first"))
    refused = send(sandbox, "POST", f"{API}/{lb}/certificates", bundle("second"))
    assert (refused.status_code, refused.json()["code"]) == (409, "Conflict"), refused.text
    assert "Updating to Updating" in refused.json()["message"]
    listed = send(sandbox, "GET", f"{API}/{lb}/workRequests").json()
    assert [w["lifecycleState"] for w in listed][:1] in (["ACCEPTED"], ["IN_PROGRESS"])   # what a client waits on
    assert finish(sandbox, first.headers["opc-work-request-id"]) == "SUCCEEDED"
    again = send(sandbox, "POST", f"{API}/{lb}/certificates", bundle("second"))
    assert again.status_code == 202 and finish(sandbox, again.headers["opc-work-request-id"]) == "SUCCEEDED"


def test_a_bundle_a_backend_set_uses_cannot_be_deleted(sandbox, lb):
    """terraform-provider-oci#1661: 409 "Certificate '…' is attached to one or more listeners/backendSets"."""
    reply = send(sandbox, "DELETE", f"{API}/{lb}/certificates/backend-tls")
    assert (reply.status_code, reply.json()["code"]) == (409, "Conflict"), reply.text
    message = reply.json()["message"]
    assert message.startswith("Certificate 'backend-tls' is attached to one or more listeners/backendSets")
    assert "backend set 'app'" in message
    assert "backend-tls" in send(sandbox, "GET", f"{API}/{lb}").json()["certificates"]


def test_a_stale_if_match_on_a_load_balancer_change_is_a_412(sandbox, lb):
    etag = send(sandbox, "GET", f"{API}/{lb}").headers["etag"]
    done = send(sandbox, "POST", f"{API}/{lb}/certificates", bundle("fresh"), {"If-Match": etag})
    assert done.status_code == 202 and finish(sandbox, done.headers["opc-work-request-id"]) == "SUCCEEDED"
    stale = send(sandbox, "DELETE", f"{API}/{lb}/certificates/fresh", headers={"If-Match": etag})
    assert (stale.status_code, stale.json()["code"]) == (412, "NoEtagMatch"), stale.text
