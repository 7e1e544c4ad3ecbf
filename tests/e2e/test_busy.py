"""Another actor changes what certmgr deploys to while a forced renewal runs (a Terraform apply, a console
edit): the renewal waits for that change, within its budget, and ends `ok` with the wait in its timings. OCI
refuses a load balancer change while another runs (as the Network Load Balancer does: the sandbox's option
lb_busy=refuse) or queues it; it refuses a Certificates-service change while the certificate is UPDATING. A
bundle certmgr no longer serves but a backend set still uses is left, named in a warning."""
from __future__ import annotations

import time

import oci
import pytest

from _runs import run
from certmgr.settings.config import DEFAULT_RUN_BUDGET as BUDGET
from sandbox.oci import loadbalancer
from sandbox.stack import self_signed

LABEL = "busy"
OTHER_CHANGE = 1.0   # seconds the other actor's change takes


@pytest.fixture
def busy(issued_tenant):
    """The other actor's changes take OTHER_CHANGE seconds; options back to normal afterwards."""
    issued_tenant.control("POST", "/options", {"work_request_delay": OTHER_CHANGE, "certificate_delay": OTHER_CHANGE})
    yield issued_tenant
    issued_tenant.control("POST", "/options", {"work_request_delay": issued_tenant.sandbox.work_request_delay,
                                               "certificate_delay": 0, "lb_busy": "queue"})
    issued_tenant.settle()


def other_actor_uploads(tenant) -> str:
    """A bundle uploaded through the SDK, as Terraform would: its work request is running when this returns."""
    cert, key = self_signed(tenant.zone)
    details = oci.load_balancer.models.CreateCertificateDetails(
        certificate_name=f"terraform-{time.monotonic_ns()}", public_certificate=cert, private_key=key)
    return tenant.lb.create_certificate(details, tenant.lb_id).headers["opc-work-request-id"]


def renew_quickly(tenant):
    """A forced renewal whose own work requests take the suite's usual moment."""
    tenant.control("POST", "/options", {"work_request_delay": tenant.sandbox.work_request_delay})
    return run(tenant.env, force=True)


def test_a_renewal_waits_for_another_actors_load_balancer_change_the_lb_refuses_meanwhile(busy):
    busy.control("POST", "/options", {"lb_busy": "refuse"})
    other = other_actor_uploads(busy)
    result = renew_quickly(busy)
    assert (result.status, result.action) == ("ok", "issue"), result.render()
    assert result.timings["lb_wait_for_others"] > 0 and result.timings["total"] < BUDGET, result.timings
    assert busy.wait_work_request(other) == "SUCCEEDED"   # the other change went through, untouched
    assert busy.served().serial_number == int(result.serial, 16)
    refused = [c for c in busy.control("GET", "/calls") if c["status"] == 409 and c["path"].startswith(
        f"/20170115/loadBalancers/{busy.lb_id}")]
    assert refused, "the load balancer never refused a change: the test did not test the wait"


def test_a_renewal_queued_behind_another_actors_load_balancer_change_ends_ok(busy):
    other = other_actor_uploads(busy)
    result = renew_quickly(busy)
    assert (result.status, result.action) == ("ok", "issue"), result.render()
    assert "lb_wait_for_others" not in result.timings   # nothing was refused: the upload queued behind it
    assert result.timings["lb_upload"] > OTHER_CHANGE / 2, result.timings
    assert busy.wait_work_request(other) == "SUCCEEDED"


def test_an_old_bundle_a_backend_set_still_uses_is_left_with_a_warning(issued_tenant):
    lbs = issued_tenant.sandbox.backend(loadbalancer)
    old = issued_tenant.load_balancer().listeners["https"].ssl_configuration.certificate_name
    state = lbs.load_balancers[issued_tenant.lb_id].state
    app = state.backend_sets["app"]
    state.backend_sets["app"] = oci.load_balancer.models.BackendSet(**{
        **{name: getattr(app, name) for name in app.swagger_types},
        "ssl_configuration": oci.load_balancer.models.SSLConfiguration(certificate_name=old)})
    try:
        result = run(issued_tenant.env, force=True)
        assert (result.status, result.action) == ("ok", "issue"), result.render()
        assert old not in result.deleted_lb_certificates and old in issued_tenant.lb_certificate_names()
        (warning,) = [w for w in result.warnings if old in w]
        assert "backend set app still uses it" in warning, warning
    finally:
        state.backend_sets["app"] = app
