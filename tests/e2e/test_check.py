"""`certmgr check` on the sandbox: every item passes and nothing a user sees changes; each operation certmgr needs,
refused with a 404, fails its item with the policy statement to add; unreachable nameservers, a resource in
another region, a disabled key and a clock an hour off each fail their item, saying so."""
from __future__ import annotations

import json
import socket

import oci
import pytest

from _runs import fast_policy, run
from certmgr.__main__ import main
from certmgr.app import Request, config_for, execute
from certmgr.check import check
from sandbox.acme_front import AcmeFront
from sandbox.oci import vault as vault_service

LABEL = "check"
RENEWER_ITEMS = {"identity", "zone", "names", "nameservers", "dns write", "vault", "key", "secrets", "run lock",
                 "load balancer", "listeners", "lb changes", "acme directory", "caa", "acme account", "clock"}


def checked(env: dict, **policy):
    return check(config_for(env, "check"), policy=fast_policy(**policy))


def item(checks, name: str):
    return next(i for i in checks.items if i.name == name or i.name.startswith(name + " "))


def seen(tenant) -> dict:
    """All a user could see change: secret versions, TXT records and the zone's version, LB bundles, work requests,
    and every run lock free."""
    zone = tenant.control("GET", f"/dns/zones/{tenant.zone_id}")
    return {"secrets": tenant.secret_versions(), "work_requests": len(tenant.work_requests()),
            "txt": [r.rdata for r in tenant.challenge_records()], "zone_version": zone["version"],
            "bundles": tenant.lb_certificate_names()}


def test_every_item_passes_and_nothing_changes(issued_tenant):
    before = seen(issued_tenant)
    checks = checked(issued_tenant.env)
    assert checks.status == "ok", checks.render()
    per_zone = ("zone ", "nameservers ", "dns write ")
    assert {i.name.rsplit(" ", 1)[0] if i.name.startswith(per_zone) else i.name for i in checks.items} == RENEWER_ITEMS
    assert {i.name: i.status for i in checks.items if i.status != "ok"} == {"lb changes": "unproven"}
    assert "LOAD_BALANCER_UPDATE" in item(checks, "lb changes").fix
    assert seen(issued_tenant) == before
    assert "the CA knows the account" in item(checks, "acme account").detail


def test_the_cli_and_the_function_answer_the_same_checklist(issued_tenant, capsys):
    assert main(["check", "--json"], environ=issued_tenant.env) == 0
    printed = json.loads(capsys.readouterr().out)
    body, ok = execute(issued_tenant.env, Request(action="check"))
    assert ok and printed["status"] == body["status"] == "ok"
    assert [i["name"] for i in printed["items"]] == [i["name"] for i in body["items"]]


# operation refused -> the item that fails, and the statement it must print (filled from the tenant's names)
REFUSED = {
    "dns.get_zone": ("zone", "read dns-zones in compartment id {compartment} where target.dns-zone.id = '{zone}'"),
    "dns.patch_zone_records": ("dns write", "manage dns-records in compartment id {compartment} where "
                               "target.dns-zone.id = '{zone}'"),
    "kms.get_vault": ("vault", "use vaults in compartment id {compartment} where target.vault.id = '{vault}'"),
    "kms.get_key": ("key", "use keys in compartment id {compartment} where target.key.id = '{key}'"),
    "secrets.get_secret_bundle_by_name": ("secrets", "use secret-family in compartment id {compartment} where all "
                                  "{{target.vault.id = '{vault}', target.secret.name = '{prefix}-certificate'}}"),
    "vault.get_secret": ("run lock", "use secret-family in compartment id {compartment} where all "
                         "{{target.vault.id = '{vault}', target.secret.name = '{prefix}-lock'}}"),
    "vault.update_secret": ("run lock", "use secret-family in compartment id {compartment} where all "
                            "{{target.vault.id = '{vault}', target.secret.name = '{prefix}-lock'}}"),
    "lb.get_load_balancer": ("load balancer", "{{LOAD_BALANCER_READ, LOAD_BALANCER_UPDATE}} in compartment id "
                             "{compartment}"),
}


@pytest.mark.parametrize("operation", list(REFUSED))
def test_a_refused_operation_fails_its_item_with_the_statement_to_add(issued_tenant, restore, operation):
    t = issued_tenant
    name, grant = REFUSED[operation]
    t.control("POST", "/faults", {"operation": operation, "status": 404})
    checks = checked(t.env)
    failed = [i for i in checks.items if i.status == "failed"]
    assert checks.status == "failed" and failed[0] is item(checks, name), checks.render()
    statement = f"Allow dynamic-group {t.prefix}-certmgr-renewer to " + grant.format(
        compartment=t.compartment_id, zone=t.zone_id, vault=t.vault_id, key=t.env["CERTMGR_VAULT_KEY_ID"],
        prefix=t.prefix)
    assert "404 NotAuthorizedOrNotFound" in failed[0].detail
    assert "if it exists, the function lacks th" in failed[0].fix and statement in failed[0].fix, failed[0].fix


def test_unreachable_nameservers_fail_the_dns_item_naming_the_address(issued_tenant):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        address = f"127.0.0.1:{probe.getsockname()[1]}"  # nothing answers there over UDP or TCP
    checks = checked({**issued_tenant.env, "CERTMGR_DNS_NAMESERVERS": address}, dns_timeout=0.2)
    failed = item(checks, "nameservers")
    assert failed.status == "failed" and address in failed.detail and "UDP" in failed.detail
    assert "TCP" in failed.detail and "UDP and TCP 53" in failed.fix
    assert [i.name for i in checks.items if i.status == "failed"] == [failed.name]


def test_a_vault_in_another_region_is_named_so_by_the_check_and_by_a_run(issued_tenant):
    vault_id = issued_tenant.vault_id.replace(".us-ashburn-1.", ".eu-frankfurt-1.")
    env = {**issued_tenant.env, "CERTMGR_VAULT_ID": vault_id}
    failed = item(checked(env), "vault")
    assert failed.status == "failed", failed
    assert f"vault {vault_id} is in region eu-frankfurt-1, and the function runs in us-ashburn-1" in failed.detail
    result = run(env, force=True)
    hint = next(w for w in result.warnings if w.startswith("hint: "))
    assert result.status == "failed" and f"vault {vault_id} is in region eu-frankfurt-1" in hint, result.render()


def test_a_disabled_key_fails_its_item(issued_tenant, sandbox):
    key_id = issued_tenant.env["CERTMGR_VAULT_KEY_ID"]
    sandbox.backend(vault_service).set_key_state(key_id, "DISABLED")
    try:
        failed = item(checked(issued_tenant.env), "key")
    finally:
        sandbox.backend(vault_service).set_key_state(key_id, "ENABLED")
    assert failed.status == "failed" and "DISABLED" in failed.detail and "enable it" in failed.fix


def test_a_clock_an_hour_off_is_named_with_its_offset(issued_tenant, restore):
    issued_tenant.control("POST", "/options", {"clock_offset": 3600})
    try:
        checks = checked(issued_tenant.env)
        result = run(issued_tenant.env)
    finally:
        issued_tenant.control("POST", "/options", {"clock_offset": 0})
    identity = item(checks, "identity")
    assert identity.status == "failed" and "this machine's clock is 1.0 h behind OCI's" in identity.fix
    assert item(checks, "OCI").status == "skipped"
    assert "this machine's clock is 1.0 h behind OCI's" in item(checks, "clock").detail
    assert result.status == "failed" and any("clock is 1.0 h behind OCI's" in w for w in result.warnings)


def test_the_monitors_check_logs_in_to_the_mail_server_and_sends_nothing(sandbox):
    env = dict(sandbox.env, CERTMGR_MODE="monitor", CERTMGR_NAME_PREFIX="checkmon")
    sent = len(sandbox.smtp.messages)
    checks = checked(env)
    assert checks.status == "ok", checks.render()
    assert item(checks, "e-mail").status == "ok" and len(sandbox.smtp.messages) == sent
    assert {i.name for i in checks.items if i.status == "unproven"} == {"alert memory writes", "notifications",
                                                                         "logging"}


def test_a_run_refused_a_write_names_the_same_statement(issued_tenant, restore):
    issued_tenant.control("POST", "/faults", {"operation": "dns.patch_zone_records", "status": 404})
    result = run(issued_tenant.env, force=True)
    group, compartment = f"{issued_tenant.prefix}-certmgr-renewer", issued_tenant.compartment_id
    statements = (f"Allow dynamic-group {group} to use dns-zones in compartment id {compartment} where "
                  f"request.operation = 'PatchZoneRecords'; Allow dynamic-group {group} to manage dns-records in "
                  f"compartment id {compartment} where target.dns-zone.id = '{issued_tenant.zone_id}'")
    assert result.status == "failed" and result.error_component == "dns", result.render()
    assert f"hint: if it exists, the function lacks these grants: {statements}" in result.warnings, result.warnings


def test_a_caa_record_forbidding_the_ca_fails_its_item(issued_tenant, tmp_path):
    front = AcmeFront(issued_tenant.sandbox.pebble, tmp_path).start()  # publishes caaIdentities, as Let's Encrypt
    front.caa_identities = ["pebble.test"]
    caa = oci.dns.models.RecordOperation(domain=issued_tenant.zone, rtype="CAA", rdata='0 issue "other-ca.example"',
                                         ttl=60, operation="ADD")
    issued_tenant.dns.patch_zone_records(issued_tenant.zone_id, oci.dns.models.PatchZoneRecordsDetails(items=[caa]))
    try:
        checks = checked(dict(issued_tenant.env, CERTMGR_ACME_DIRECTORY=front.directory_url,
                              CERTMGR_ACME_CA_BUNDLE=str(front.ca_bundle)))
    finally:
        caa.operation = "REMOVE"
        issued_tenant.dns.patch_zone_records(issued_tenant.zone_id, oci.dns.models.PatchZoneRecordsDetails(items=[caa]))
        front.stop()
    failed = item(checks, "caa")
    assert failed.status == "failed" and 'does not name pebble.test' in failed.detail, failed
    assert '0 issue "pebble.test"' in failed.fix


@pytest.mark.parametrize("variable, value, name, said", [
    ("CERTMGR_LB_LISTENERS", "nope", "listeners", "no listener named nope"),
    ("CERTMGR_DOMAIN", "elsewhere.example", "names", "elsewhere.example is in no zone of CERTMGR_DNS_ZONE_ID"),
    ("CERTMGR_ACME_PROFILE", "nope", "acme profile", "'nope' is not offered"),
])
def test_a_setting_that_cannot_work_fails_its_item(issued_tenant, variable, value, name, said):
    failed = item(checked({**issued_tenant.env, variable: value}), name)
    assert failed.status == "failed" and said in failed.detail, failed
