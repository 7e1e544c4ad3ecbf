"""The post-deploy proof: after a deploy, each CERTMGR_VERIFY_ENDPOINTS endpoint must serve the new serial
in a real, verified TLS handshake. A listener whose live server lags behind the API (the sandbox's
`stale-listener`) fails the run, and the result says what each endpoint served."""
from __future__ import annotations

import pytest

from _runs import run

LABEL = "proof"


@pytest.fixture(scope="module")
def tenant(tenant):
    """The slice checks its listener after each deploy (runs give the endpoints one second: `fast_policy`)."""
    tenant.env.update(CERTMGR_VERIFY_ENDPOINTS=tenant.env["SANDBOX_LB_HTTPS"],
                      CERTMGR_VERIFY_CA_BUNDLE=tenant.env["SANDBOX_ACME_ROOT"])
    return tenant


def stale(tenant, on: bool) -> None:
    tenant.control("POST", f"/lb/{tenant.lb_id}/stale-listener", {"listener": "https", "stale": on})


def test_a_deploy_that_is_served_passes_and_lists_what_each_endpoint_served(tenant):
    result = run(tenant.env)
    assert (result.status, result.action) == ("ok", "issue"), result.render()
    assert result.endpoints == [{"endpoint": tenant.env["SANDBOX_LB_HTTPS"], "serial": format(int(result.serial, 16), "x"),
                                 "ok": True}]
    assert tenant.served().serial_number == int(result.serial, 16)


def test_a_listener_that_keeps_serving_the_old_certificate_fails_the_run(tenant):
    old = tenant.served().serial_number
    stale(tenant, True)
    try:
        result = run(tenant.env, force=True)
    finally:
        stale(tenant, False)
    assert result.status == "failed", result.render()
    assert f"serves {old:x}" in result.error and "expected" in result.error
    assert result.endpoints and result.endpoints[0]["ok"] is False and result.endpoints[0]["serial"] == f"{old:x}"
    assert "the endpoints above do not serve it" in result.state


def test_an_untrusted_endpoint_is_named_as_such(tenant):
    env = dict(tenant.env)
    del env["CERTMGR_VERIFY_CA_BUNDLE"]  # the sandbox's ACME root is in no system store
    result = run(env, force=True)
    assert result.status == "failed" and "untrusted" in result.error, result.render()
