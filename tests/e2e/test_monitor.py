"""The expiry monitor end to end: real SDK, real SMTP, Notifications and Logging of a sandbox of its own.

Seeded in two regions and two compartments: valid, warning (twice), critical and expired certificates, a load
balancer certificate, and certmgr's own certificate in Vault. Each test uses its
own CERTMGR_NAME_PREFIX, so its re-alert memory (`{prefix}-monitor-state`) starts empty.
"""
import base64
import datetime as dt
import itertools
import json
import logging
import socket

import pytest
import trustme

from _runs import cli
from certmgr import monitor
from certmgr.app import Request, config_for, execute
from sandbox.fn_platform import FnContainer
from sandbox.oci import certificates, loadbalancer, observability, vault
from sandbox.oci.faults import Fault
from sandbox.stack import Sandbox

CA = trustme.CA(organization_name="Monitor Test CA")
# The sandbox's own load balancer (certmgr-lb, 29 days left) is found by listing, like every load balancer.
DIGEST_ORDER = ["mon-expired", "mon-critical", "mon-lb/edge", "mon-warning", "mon-later", "certmgr-lb/bootstrap"]
COUNTS = {"EXPIRED": 1, "CRITICAL": 1, "WARNING": 4, "UNKNOWN": 0, "INFO": 0, "OK": 2}
_prefixes = itertools.count()


def issue(name: str, days: float) -> tuple[str, str, str]:
    """(certificate, chain, key) PEMs of a leaf that expires `days` from now (in the past if negative)."""
    not_after = dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=days)
    leaf = CA.issue_cert(f"{name}.example.com", not_before=not_after - dt.timedelta(days=90), not_after=not_after)
    return (leaf.cert_chain_pems[0].bytes().decode(), CA.cert_pem.bytes().decode(),
            leaf.private_key_pem.bytes().decode())


@pytest.fixture(scope="module")
def box():
    with Sandbox(pebble=False) as sandbox:
        yield sandbox


@pytest.fixture(scope="module")
def seeded(box):
    """Certificate ids by short name, and the monitored load balancer."""
    apps, edge = box.world.add_compartment("mon-apps"), box.world.add_compartment("mon-edge")
    ids = {}
    for name, region, compartment, days in [("valid", "us-ashburn-1", apps, 200),
                                            ("warning", "eu-frankfurt-1", edge, 20),
                                            ("critical", "us-ashburn-1", edge, 3),
                                            ("expired", "eu-frankfurt-1", apps, -2),
                                            ("later", "eu-frankfurt-1", edge, 25)]:
        ids[name] = box.backend(certificates, region).import_certificate(compartment, f"mon-{name}",
                                                                         *issue(name, days))
    cert_pem, _, key_pem = issue("edge", 10)
    ids["lb"] = box.backend(loadbalancer, "eu-frankfurt-1").add_load_balancer(
        edge, "mon-lb", certificates={"edge": {"publicCertificate": cert_pem, "privateKey": key_pem}},
        listeners={"https": {"defaultBackendSetName": "app", "port": 443, "protocol": "HTTP",
                             "sslConfiguration": {"certificateName": "edge", "verifyPeerCertificate": False}}})
    return ids


@pytest.fixture
def env(box, seeded):
    """A monitor-only environment (no renewal settings) with a fresh prefix and certmgr's certificate in
    Vault under it."""
    prefix = f"mon{next(_prefixes)}"
    box.backend(vault).create_secret({
        "compartmentId": box.ids["compartment"], "vaultId": box.ids["vault"], "keyId": box.ids["key"],
        "secretName": f"{prefix}-certificate",
        "secretContent": {"contentType": "BASE64", "content": base64.b64encode(issue("own", 60)[0].encode()).decode()}})
    keep = ("CERTMGR_OCI_ENDPOINT", "CERTMGR_VAULT_ID", "CERTMGR_VAULT_KEY_ID", "CERTMGR_COMPARTMENT_ID",
            "OCI_CONFIG_FILE")
    env = {k: v for k, v in box.env.items() if k in keep or k.startswith("CERTMGR_MONITOR_")}
    env.update(CERTMGR_MODE="monitor", CERTMGR_NAME_PREFIX=prefix, CERTMGR_MONITOR_LB_IDS=seeded["lb"])
    box.smtp.clear()
    yield env
    box.world.faults.clear()


def run(env, now=None):
    return monitor.run(config_for(env, "monitor"), now=now)


def topic_messages(box):
    return box.backend(observability).messages(box.ids["topic"])


def log_entries(box):
    return box.backend(observability).entries(box.ids["log"])


def secret_value(box, name):
    return box.backend(vault).secret_content(name).decode()


def assert_no_password(box, *texts):
    for secret in (box.smtp.password, base64.b64encode(box.smtp.password.encode()).decode()):
        for text in texts:
            assert secret not in text


def mail_body(box) -> str:
    (mail,) = box.smtp.messages
    return mail.message.get_body(("plain",)).get_content()


def in_order(text: str, names: list[str]) -> bool:
    positions = [text.index(name) for name in names]
    return positions == sorted(positions)


def test_one_digest_worst_first_on_every_channel(box, env, caplog):
    caplog.set_level(logging.DEBUG)
    topic_before, log_before = len(topic_messages(box)), len(log_entries(box))
    result = run(env)

    assert result.status == "ok", result.render()
    assert result.counts == COUNTS
    assert result.channels == ["email", "notifications", "logging"] and result.failures == []
    assert result.regions == ["ap-seoul-1", "eu-frankfurt-1", "us-ashburn-1"]
    assert [i.name for i in result.items] == DIGEST_ORDER + [f"{env['CERTMGR_NAME_PREFIX']}-certificate",
                                                             "mon-valid"]
    by_name = {i.name: i for i in result.items}
    # what the digest shows of a Certificates-service certificate comes from its listing: no bundle is read
    assert by_name["mon-later"].names == ("later.example.com",) and by_name["mon-later"].serial
    assert "certificates.get_certificate_bundle" not in {c["operation"] for c in box.world.calls}
    assert by_name["mon-lb/edge"].detail == "load balancer mon-lb, listener https"
    assert by_name["mon-lb/edge"].source == "load-balancer" and by_name["mon-lb/edge"].region == "eu-frankfurt-1"
    assert by_name["mon-expired"].compartment == "mon-apps" and by_name["mon-critical"].compartment == "mon-edge"
    assert by_name["mon-lb/edge"].issuer.endswith("O=Monitor Test CA")  # read off the bundle's PEM
    assert by_name[f"{env['CERTMGR_NAME_PREFIX']}-certificate"].severity == "OK"

    (mail,) = box.smtp.messages
    assert mail.mail_from == env["CERTMGR_MONITOR_EMAIL_FROM"] and mail.rcpt_tos == ["platform@example.com"]
    assert mail.message["Subject"] == ("certmgr: 1 new EXPIRED, 1 new CRITICAL, 4 new WARNING; "
                                       "1 EXPIRED, 1 CRITICAL, 4 WARNING")
    body = mail_body(box)
    assert in_order(body, DIGEST_ORDER) and "mon-valid" not in body

    (message,) = topic_messages(box)[topic_before:]
    assert message["title"] == mail.message["Subject"] and in_order(message["body"], DIGEST_ORDER)

    entries = [json.loads(e["data"]) for e in log_entries(box)[log_before:]]
    assert sorted((e["name"], e["severity"]) for e in entries) == sorted(
        (i.name, i.severity) for i in result.items)
    assert result.log_entries == len(entries) == 8

    output = json.dumps(result.to_dict())
    assert json.loads(output)["items"][0]["not_after"]
    assert_no_password(box, output, result.render(), caplog.text)


def test_unchanged_warnings_wait_for_the_realert_interval(box, env):
    run(env)
    box.smtp.clear()

    again = run(env)
    assert again.held_back == 4 and again.status == "ok"
    body = mail_body(box)
    assert in_order(body, ["mon-expired", "mon-critical"])
    assert "mon-warning" not in body and "mon-lb/edge" not in body
    assert "4 more WARNING certificates were reported in the last 7 days" in body
    state_name = f"{env['CERTMGR_NAME_PREFIX']}-monitor-state"
    state = json.loads(secret_value(box, state_name))["alerted"]
    assert {s for s, _ in state.values()} == {"EXPIRED", "CRITICAL", "WARNING"} and len(state) == 6
    (secret,) = [s for s in box.backend(vault).snapshot()["secrets"] if s["name"] == state_name]
    assert len(secret["versions"]) == 1   # nothing changed on the second run: no new secret version
    box.smtp.clear()

    later = run(env, now=dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=8))
    alerts = {i.name: i.alert for i in later.items}
    assert alerts["mon-warning"] == "reminder" and alerts["mon-lb/edge"] == "new"   # now CRITICAL
    assert in_order(mail_body(box), ["mon-expired", "mon-critical", "mon-lb/edge", "mon-warning", "mon-later"])


def test_no_digest_when_everything_is_ok_unless_always_send(box, env):
    env.update(CERTMGR_MONITOR_WARNING_DAYS="2", CERTMGR_MONITOR_CRITICAL_DAYS="1")
    five_days_ago = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=5)  # the expired one had 3 days left
    log_before = len(log_entries(box))
    quiet = run(env, now=five_days_ago)
    assert quiet.counts["OK"] == 8 and not quiet.notified and box.smtp.messages == []
    assert quiet.reason == "not sent: nothing is WARNING or worse" and quiet.channels == ["logging"]
    assert len(log_entries(box)) == log_before + 8   # the log gets every certificate, every run

    env["CERTMGR_MONITOR_ALWAYS_SEND"] = "true"
    asked = run(env, now=five_days_ago)
    assert asked.notified and mail_body(box).startswith("Since the last digest: no change.\r\nCertificate expiry")
    assert box.smtp.messages[0].message["Subject"] == "certmgr: no change; all 8 certificates OK"


def test_wrong_smtp_credentials_fail_email_only(box, env, caplog):
    wrong = box.backend(vault).create_secret({
        "compartmentId": box.ids["compartment"], "vaultId": box.ids["vault"], "keyId": box.ids["key"],
        "secretName": f"{env['CERTMGR_NAME_PREFIX']}-wrong-password",
        "secretContent": {"contentType": "BASE64", "content": base64.b64encode(b"not-the-password").decode()}})
    env["CERTMGR_MONITOR_SMTP_PASSWORD_SECRET"] = wrong.id
    topic_before = len(topic_messages(box))
    result = run(env)

    assert result.status == "failed" and result.channels == ["notifications", "logging"]
    (failure,) = result.failures
    assert failure.startswith(f"notify: e-mail: {box.smtp.address} refused the SMTP credentials (535")
    assert "hint: check the user name and password secrets" in failure
    assert box.smtp.messages == [] and len(topic_messages(box)) == topic_before + 1
    output = json.dumps(result.to_dict()) + result.render() + caplog.text
    assert_no_password(box, output)
    assert "not-the-password" not in output


def test_unreachable_smtp_server_fails_email_only(box, env):
    with socket.socket() as probe:   # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env["CERTMGR_MONITOR_SMTP_PORT"] = str(port)
    result = run(env)
    assert result.status == "failed" and result.channels == ["notifications", "logging"]
    (failure,) = result.failures
    assert f"cannot reach SMTP server 127.0.0.1:{port} (Connection refused)" in failure
    assert "CERTMGR_MONITOR_SMTP_HOST / _PORT" in failure


def test_missing_topic_fails_notifications_only(box, env):
    missing = "ocid1.onstopic.oc1.us-ashburn-1.aaaaaaaanotthere"
    env["CERTMGR_MONITOR_TOPIC_ID"] = missing
    result = run(env)
    assert result.status == "failed" and result.channels == ["email", "logging"]
    (failure,) = result.failures
    assert failure.startswith(f"notify: notifications: publishing to topic {missing} failed: "
                              f"404 NotAuthorizedOrNotFound")
    assert len(box.smtp.messages) == 1 and "partly sent" in result.reason


def test_a_region_that_cannot_be_searched_is_reported_and_the_rest_scanned(box, env):
    env["CERTMGR_MONITOR_CONCURRENCY"] = "1"   # searches run in region order: ap-seoul-1 gets the fault
    box.world.faults.add(Fault(operation="resource_search.search_resources", status=404, count=1))
    result = run(env)
    (region,) = [i for i in result.items if i.name == "certificates in ap-seoul-1"]
    assert region.severity == "UNKNOWN" and region.reason.startswith("searching the region failed: 404")
    assert result.counts["EXPIRED"] == result.counts["CRITICAL"] == 1
    assert "certificates in ap-seoul-1" in mail_body(box)


def test_bad_configuration_lists_every_problem(env):
    env.update(CERTMGR_MONITOR_WARNING_DAYS="7", CERTMGR_MONITOR_CRITICAL_DAYS="14",
               CERTMGR_MONITOR_REALERT_DAYS="weekly", CERTMGR_MONITOR_EMAIL_FROM="")
    body, ok = execute(env, Request(action="monitor"))
    assert not ok and body["status"] == "failed"
    for variable in ("CERTMGR_MONITOR_CRITICAL_DAYS", "CERTMGR_MONITOR_REALERT_DAYS", "CERTMGR_MONITOR_EMAIL_FROM"):
        assert variable in body["error"]
    assert body["error"].startswith("config: 3 problems in the environment:")


def test_fn_container_runs_the_monitor(box, env):
    with FnContainer(env) as container:
        reply = container.invoke(b'{"action":"monitor"}', timeout=120)
        logs = container.logs()
    body = json.loads(reply.body)
    assert reply.status == 200 and body["status"] == "ok"
    assert body["counts"] == COUNTS
    assert len(box.smtp.messages) == 1
    assert_no_password(box, reply.body.decode(), logs)


def test_cli_prints_the_table(box, env):
    done = cli(env, "monitor", timeout=120)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("OK: 8 certificates in 3 regions: 1 EXPIRED, 1 CRITICAL, 4 WARNING")
    assert lines[1].split() == ["SEVERITY", "DAYS", "NAME", "REGION", "COMPARTMENT", "ISSUER", "SERIAL", "ID"]
    assert [line.split()[0] for line in lines[2:10]] == ["EXPIRED", "CRITICAL", "WARNING", "WARNING", "WARNING",
                                                         "WARNING", "OK", "OK"]
    assert_no_password(box, done.stdout, done.stderr)
