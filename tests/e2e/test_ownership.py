"""One owner per listener: a listener that serves another certmgr deployment's certificate is never taken over
(two deployments would switch it back and forth every day); one that serves a certificate certmgr did not make
is taken over, as on a first deploy."""
from __future__ import annotations

from _runs import run

LABEL = "owner"


def test_a_second_deployment_on_the_same_listener_fails_and_switches_nothing(tenant):
    first = run(dict(tenant.env, CERTMGR_NAME_PREFIX="tmi"))
    assert (first.status, first.action) == ("ok", "issue"), first.render()
    served, before = tenant.served().serial_number, tenant.footprint()

    second = run(dict(tenant.env, CERTMGR_NAME_PREFIX="tmi-b"))
    assert (second.status, second.error_component) == ("failed", "lb"), second.render()
    assert f"listener https serves {first.lb_certificate}, the certificate of certmgr deployment 'tmi'" in second.error
    assert "deployment 'tmi-b' does not take a listener over from another" in second.error
    assert any("give each deployment its own listeners (CERTMGR_LB_LISTENERS)" in w for w in second.warnings)
    assert second.state == "nothing was changed; every listener keeps its certificate"
    assert tenant.served().serial_number == served
    assert [c["operation"] for c in tenant.calls_since(before) if c["status"] < 300 and not
            c["operation"].split(".", 1)[1].startswith(("get", "list"))] == []  # no order, no write, no switch

    again = run(dict(tenant.env, CERTMGR_NAME_PREFIX="tmi"))
    assert (again.status, again.action) == ("ok", "nothing"), again.render()


def test_a_certificates_service_certificate_is_its_deployments_alone(tenant):
    """Through the Certificates service, the certificate's freeform tag names its deployment: another
    deployment neither switches a listener that references it nor imports into it under the same name."""
    with tenant.another_deployment("svc") as env:
        first = run(dict(env, CERTMGR_CERTIFICATE_NAME="svc-tls"))
        assert (first.status, first.action, first.service_certificate) == ("ok", "issue", "svc-tls"), first.render()
        served, before = tenant.served().serial_number, tenant.footprint()

        other = run(dict(env, CERTMGR_NAME_PREFIX="svc-b", CERTMGR_CERTIFICATE_NAME="svcb-tls"))
        assert (other.status, other.error_component) == ("failed", "lb"), other.render()
        assert "listener https serves svc-tls, the certificate of certmgr deployment 'svc'" in other.error

        same_name = run(dict(env, CERTMGR_NAME_PREFIX="svc-b", CERTMGR_CERTIFICATE_NAME="svc-tls"))
        assert (same_name.status, same_name.error_component) == ("failed", "config"), same_name.render()
        assert (f"CERTMGR_CERTIFICATE_NAME: svc-tls in compartment {tenant.compartment_id} is the certificate of "
                "certmgr deployment 'svc'") in same_name.error
        assert tenant.served().serial_number == served
        assert [c["operation"] for c in tenant.calls_since(before) if c["status"] < 300 and not
                c["operation"].split(".", 1)[1].startswith(("get", "list"))] == []  # no order, no write, no switch

        again = run(dict(env, CERTMGR_CERTIFICATE_NAME="svc-tls"))
        assert (again.status, again.action) == ("ok", "nothing"), again.render()
