"""`status`, `plan` and the monitor read what a listener serves the same way, on the same state: once when
the listener serves Vault's certificate, once after it is pointed back at another bundle by hand."""
from __future__ import annotations

import datetime as dt

import oci
from cryptography import x509

from _runs import run
from certmgr import monitor
from certmgr.app import config_for
from certmgr.settings.config import Config
from certmgr.renewal.status import status


def views(tenant) -> dict:
    """What each of the three says about the https listener and Vault's certificate."""
    config = Config.from_env(tenant.env)
    stored = format(x509.load_pem_x509_certificate(tenant.secret("certificate")).serial_number, "x")
    report = status(config, now=dt.datetime.now(dt.timezone.utc))
    env = dict(tenant.env, CERTMGR_MODE="monitor", CERTMGR_MONITOR_LB_IDS=tenant.lb_id,
               CERTMGR_MONITOR_REGIONS=tenant.sandbox.world.home_region)
    scan = monitor.run(config_for(env, "monitor"))
    served_by_https = [i for i in scan.items if i.id == tenant.lb_id and "listener https" in (i.detail or "")]
    return {"status": report.listeners[0]["serves_stored"],
            "plan": report.plan.startswith("nothing"),
            "monitor": len(served_by_https) == 1 and int(served_by_https[0].serial, 16) == int(stored, 16)}


def test_status_plan_and_monitor_agree_on_what_the_listener_serves(make_tenant):
    tenant = make_tenant("agree")
    assert run(tenant.env).status == "ok"
    assert views(tenant) == {"status": True, "plan": True, "monitor": True}

    listener = tenant.load_balancer().listeners["https"]
    ssl = listener.ssl_configuration
    details = oci.load_balancer.models.UpdateListenerDetails(
        default_backend_set_name=listener.default_backend_set_name, port=listener.port, protocol=listener.protocol,
        hostname_names=listener.hostname_names, rule_set_names=listener.rule_set_names,
        ssl_configuration=oci.load_balancer.models.SSLConfigurationDetails(
            certificate_name="bootstrap", protocols=ssl.protocols, cipher_suite_name=ssl.cipher_suite_name))
    work_request = tenant.lb.update_listener(details, tenant.lb_id, "https").headers["opc-work-request-id"]
    assert tenant.wait_work_request(work_request) == "SUCCEEDED"
    assert views(tenant) == {"status": False, "plan": False, "monitor": False}
