"""The module's IAM, evaluated: the home region, groups that hold exactly certmgr's functions, grants scoped to
the zones, vault, key and secrets, a monitor that only reads, schedules that only invoke; and the policies
against the table of what certmgr calls (certmgr/cloud/permissions.json), both ways: every operation has a grant
that covers it, and every grant covers some operation; and the statements certmgr names in its errors are those
the module writes for the same deployment."""
from __future__ import annotations

import re

import pytest

from certmgr.app import config_for
from certmgr.errors import ConfigError
from certmgr.cloud.grants import TABLE, Grants
from test_terraform import EXAMPLE, FLEET, MODULE, load, named, resources
from test_terraform_plan import failed_preconditions, planned
from test_terraform_seed import FLEET as TWO, GUIDE_TFVARS, fleet_tfvars, tfvars

VERBS = ["inspect", "read", "use", "manage"]
FAMILIES = {"secret-family": {"secrets", "secret-versions", "secret-bundles"},
            "leaf-certificate-family": {"leaf-certificates", "leaf-certificate-versions", "leaf-certificate-bundles"}}
WITH_EVERYTHING = {"monitor_log_id": "ocid1.log.oc1.iad.aaaalog", "monitor_log_group_id": "ocid1.loggroup.oc1.iad.aaaagroup",
                   "monitor_topic_id": "ocid1.onstopic.oc1.iad.aaaa",
                   "monitor_smtp_username_secret_id": "ocid1.vaultsecret.oc1.iad.user",
                   "monitor_smtp_password_secret_id": "ocid1.vaultsecret.oc1.iad.pass",
                   "monitor_email_from": "certmgr@example.com", "monitor_email_to": ["ops@example.com"]}
# The monitor's e-mail through Email Delivery's API: no SMTP secret, a sender.
API_EMAIL = {"monitor_smtp_username_secret_id": None, "monitor_smtp_password_secret_id": None,
             "monitor_email_from": "certmgr@example.com", "monitor_email_to": ["ops@example.com"]}
NEEDS = {"renewer": ["renewer"], "renewer-certificates-service": ["renewer", "renewer-certificates-service"],
         "monitor": ["monitor"]}


def covers(statement: str, grant: str) -> bool:
    permissions = re.search(r" to \{([A-Z_, ]+)\} in ", statement)
    if permissions:
        return grant in {p.strip() for p in permissions.group(1).split(",")}
    verb, resource = re.search(r" to (\w+) ([\w-]+) in ", statement).groups()
    if " " not in grant:
        return False
    need_verb, need_resource = grant.split()
    same = need_resource == resource or need_resource in FAMILIES.get(resource, ())
    return same and VERBS.index(verb) >= VERBS.index(need_verb)


@pytest.fixture(scope="module")
def module():
    return load(MODULE)


@pytest.fixture(scope="module")
def policies(module):
    one = planned(module, {**tfvars(GUIDE_TFVARS), **WITH_EVERYTHING})["local"].policies
    service = planned(module, {**tfvars(GUIDE_TFVARS), **WITH_EVERYTHING, "certificate_name": "web-tls"})["local"].policies
    fleet = planned(module, fleet_tfvars(TWO, **WITH_EVERYTHING))["local"].policies
    api = planned(module, {**tfvars(GUIDE_TFVARS), **WITH_EVERYTHING, **API_EMAIL})["local"].policies
    return {"renewer": one["renewer"], "monitor": one["monitor"], "renewer-certificates-service": service["renewer"],
            "fleet": fleet["renewer"], "monitor-api": api["monitor"]}


def either_email_path(policies, who: str) -> list[str]:
    """`who`'s statements; the monitor's with e-mail through SMTP and through the API (the table has both)."""
    return policies[who] + (policies["monitor-api"] if who == "monitor" else [])


def needed(who: str) -> dict[str, list[str]]:
    return {op: grants for section in NEEDS[who] for op, grants in TABLE[section].items()}


@pytest.mark.parametrize("who", [*NEEDS, "fleet"])
def test_every_operation_has_a_grant(policies, who):
    missing = {op: grant for op, grants in needed(who.replace("fleet", "renewer-certificates-service")).items()
               for grant in grants if not any(covers(s, grant) for s in either_email_path(policies, who))}
    assert missing == {}, f"no statement grants: {missing}"


@pytest.mark.parametrize("who", [*NEEDS, "fleet"])
def test_every_grant_is_used(policies, who):
    grants = [grant for op_grants in needed(who.replace("fleet", "renewer-certificates-service")).values() for grant in op_grants]
    unused = [s for s in policies[who] if not any(covers(s, grant) for grant in grants)]
    assert unused == [], f"granted but no operation needs it: {unused}"


def test_the_certificates_service_target_adds_exactly_its_two_grants(policies):
    added = set(policies["renewer-certificates-service"]) - set(policies["renewer"])
    assert sorted(s.split(" to ")[1] for s in added) == [
        f"manage leaf-certificate-versions in compartment id {tfvars(GUIDE_TFVARS)['compartment_id']}",
        f"manage leaf-certificates in compartment id {tfvars(GUIDE_TFVARS)['compartment_id']}"]
    assert set(policies["renewer"]) <= set(policies["renewer-certificates-service"])


def test_each_statement_gives_the_grants_the_table_says():
    for entries in TABLE["statements"].values():
        for entry in entries:
            assert all(covers(entry["statement"], g) for g in entry["grants"]), entry


@pytest.mark.parametrize("who", list(NEEDS))
def test_certmgr_names_the_statements_the_module_writes(module, policies, who):
    """Filled in from the function's own settings, certmgr's statements are the module's, word for word:
    the grant an error names is the one to add to that policy."""
    settings = {**tfvars(GUIDE_TFVARS), **WITH_EVERYTHING, "monitor_email_from": "certmgr@example.com", "monitor_email_to": ["ops@example.com"],
                **({"certificate_name": "web-tls"} if who == "renewer-certificates-service" else {})}
    local = planned(module, settings)["local"]
    role = "monitor" if who == "monitor" else "renewer"
    env = {**local.common_config, **(local.monitor_config if role == "monitor" else local.renewer_config["tmi"])}
    certmgrs = Grants(config_for(env, "monitor" if role == "monitor" else "renew")).policy()
    assert sorted(certmgrs) == sorted(policies[who])


# -- the module's own rules --------------------------------------------------------------------------------------

def test_identity_resources_use_the_home_region_provider_the_examples_pass(module):
    """Identity resources are created in the tenancy's home region only: the module takes an `oci.home`
    provider for them (configuration_aliases) and both examples pass one."""
    [oci] = [p["oci"] for block in module["terraform"] for p in block["required_providers"]]
    assert oci["configuration_aliases"] == ["${oci.home}"]
    identity = {name: body for name, body in resources(module).items() if name.startswith("oci_identity_")}
    assert sorted(identity) == ["oci_identity_dynamic_group.this", "oci_identity_policy.this"]
    assert all(body.get("provider") == "${oci.home}" for body in identity.values()), identity
    others = {name: body for name, body in resources(module).items() if not name.startswith("oci_identity_")}
    assert all("provider" not in body for body in others.values())
    for directory in (EXAMPLE, FLEET):
        call = named(load(directory), "module")["certificates"]
        assert call["providers"] == {"oci": "oci", "${oci.home}": "${oci.home}"}, call["providers"]  # as hcl2 reads it


def test_the_groups_hold_certmgrs_functions_by_ocid_and_nothing_else(module):
    scope = planned(module, fleet_tfvars(TWO))
    functions = scope["oci_functions_function"]
    rules = scope["local"].dynamic_groups
    assert rules == {
        "tmi-certmgr-renewer": "ANY {" + ", ".join(f"resource.id = '{functions.renewer[p].id}'" for p in ("tmi-api", "tmi-www")) + "}",
        "tmi-certmgr-monitor": f"ANY {{resource.id = '{functions.monitor[0].id}'}}"}


@pytest.mark.parametrize("fleet", [False, True], ids=["one", "fleet"])
def test_renewer_grants_are_scoped_to_the_zones_vault_key_and_secrets(module, fleet):
    values = fleet_tfvars(TWO) if fleet else tfvars(GUIDE_TFVARS)
    grants = planned(module, values)["local"].renewer_statements
    zones = sorted({c["dns_zone_id"] for c in TWO.values()}) if fleet else [values["dns_zone_id"]]
    zone = ("any {" + ", ".join(f"target.dns-zone.id = '{z}'" for z in zones) + "}") if fleet else f"target.dns-zone.id = '{zones[0]}'"
    dns = [g for g in grants if " dns-" in g]
    assert dns == [g.replace("ZONE", zone) for g in (
        "Allow dynamic-group tmi-certmgr-renewer to read dns-zones in compartment id ocid1.compartment.oc1..aaaacomp where ZONE",
        # PatchZoneRecords needs DNS_ZONE_UPDATE and DNS_RECORD_UPDATE: the zone permission for that operation only.
        "Allow dynamic-group tmi-certmgr-renewer to use dns-zones in compartment id ocid1.compartment.oc1..aaaacomp "
        "where request.operation = 'PatchZoneRecords'",
        "Allow dynamic-group tmi-certmgr-renewer to manage dns-records in compartment id ocid1.compartment.oc1..aaaacomp where ZONE")]
    secret = [g for g in grants if "secret-family" in g or "manage secret" in g]
    names = ["/tmi-*/"] if fleet else [f"'tmi-{role}'" for role in ("certificate", "private-key", "chain", "acme-account-key", "lock")]
    assert len(secret) == 3 * len(names)
    assert all(any(f"target.vault.id = 'ocid1.vault.oc1.iad.aaaavault', target.secret.name = {n}" in g for g in secret) for n in names)
    assert any("use keys" in g and "target.key.id = 'ocid1.key.oc1.iad.aaaakey'" in g for g in grants)
    assert any("use vaults" in g and "target.vault.id = 'ocid1.vault.oc1.iad.aaaavault'" in g for g in grants)
    for grant in grants:
        assert " in tenancy" not in grant, grant
        assert "target.dns-record.type" not in grant  # not applied to PatchZoneRecords (DNS policy reference's note)
        assert not re.search(r"to manage (load-balancers|secret-family|all-resources|dns-zones)", grant), grant
        assert "LOAD_BALANCER_MOVE" not in grant and "LOAD_BALANCER_DELETE" not in grant


def test_monitor_grants_are_read_only_except_its_alerts_and_its_memory(policies):
    for grant in policies["monitor"]:
        verb, what = re.search(r" to (\w+) ([\w-]+)", grant).groups()
        if verb in ("inspect", "read"):
            continue
        assert what in ("ons-topics", "log-content", "vaults", "keys", "metrics", "approved-senders") or \
            "target.secret.name = 'tmi-monitor-state'" in grant, grant
    assert "request.permission = 'ONS_TOPIC_PUBLISH'" in next(g for g in policies["monitor"] if "ons-topics" in g)
    assert "where target.loggroup.id = 'ocid1.loggroup.oc1.iad.aaaagroup'" in next(g for g in policies["monitor"] if "log-content" in g)
    assert any("read secret-bundles" in g and "'tmi-certificate'" in g for g in policies["monitor"])
    assert "where target.metrics.namespace = 'certmgr'" in next(g for g in policies["monitor"] if "metrics" in g)


def test_the_module_made_log_group_is_the_monitors_and_a_given_log_needs_its_group(module):
    scope = planned(module, tfvars(GUIDE_TFVARS))
    [group] = scope["oci_logging_log_group"].this
    assert f"where target.loggroup.id = '{group.id}'" in scope["local"].monitor_statements[-1]


def test_schedules_may_only_invoke_and_the_grant_names_each_schedule(module):
    scope = planned(module, fleet_tfvars(TWO))
    ids = [s.id for _, s in sorted(scope["oci_resource_scheduler_schedule"].this.items())]
    principals = "any {" + ", ".join(f"request.principal.id = '{i}'" for i in ids) + "}"
    assert scope["local"].scheduler_statements == [
        f"Allow any-user to {grant} in compartment id ocid1.compartment.oc1..aaaacomp where {principals}"
        for grant in ("read fn-function", "use fn-invocation")]


def test_a_fallback_ca_is_set_in_the_renewer_and_granted_its_account_keys_secret_alone(module, policies):
    """acme_fallback_directory reaches the renewer, and the policy the module writes then is certmgr's for it:
    the renewer's, and the three statements of the fallback CA's account-key secret."""
    local = planned(module, {**tfvars(GUIDE_TFVARS), **WITH_EVERYTHING, "acme_fallback_directory": "production"})["local"]
    config = config_for({**local.common_config, **local.renewer_config["tmi"]}, "renew")
    assert config.acme_fallback_directory == "https://acme-v02.api.letsencrypt.org/directory"
    written = local.policies["renewer"]
    added = set(written) - set(policies["renewer"])
    assert len(added) == 3 and all("target.secret.name = 'tmi-acme-fallback-account-key'" in s for s in added)
    assert set(policies["renewer"]) <= set(written)
    assert sorted(Grants(config).policy()) == sorted(written)


def test_with_email_through_the_api_certmgr_names_the_sender_grant_the_module_writes(module, policies):
    local = planned(module, {**tfvars(GUIDE_TFVARS), **WITH_EVERYTHING, **API_EMAIL})["local"]
    config = config_for({**local.common_config, **local.monitor_config}, "monitor")
    assert config.monitor.email_api and config.metrics
    assert sorted(Grants(config).policy()) == sorted(policies["monitor-api"])
    assert ("Allow dynamic-group tmi-certmgr-monitor to use approved-senders in compartment id "
            "ocid1.compartment.oc1..aaaacomp where target.approved-sender.emailaddress = 'certmgr@example.com'"
            in policies["monitor-api"])
    assert not any("approved-senders" in s for s in policies["monitor"])  # SMTP: the credential's user sends


def test_a_fleet_entry_names_the_statements_of_the_fleets_shared_policy(module):
    """In a fleet, a refused call names the shared group and the secret pattern the module writes (a single zone
    here: with several, the module's condition lists them all, and the entry's own zone is the grant it needs)."""
    local = planned(module, fleet_tfvars(TWO, **WITH_EVERYTHING))["local"]
    config = config_for({**local.common_config, **local.renewer_config["tmi-api"]}, "renew")
    assert config.fleet_prefix == "tmi"
    named, written = Grants(config).policy(), local.policies["renewer"]
    assert {s for s in named if "dns-zone.id" not in s} <= set(written)
    for statement in (s for s in named if "dns-zone.id" in s):  # the module's names every zone of the fleet
        head, zone = statement.split(" where ")
        assert any(w.startswith(head + " where ") and zone in w for w in written), statement
    assert Grants(config).statements("vault.update_secret", secret_name="tmi-api-lock")[0] == (
        "Allow dynamic-group tmi-certmgr-renewer to use secret-family in compartment id ocid1.compartment.oc1..aaaacomp "
        "where all {target.vault.id = 'ocid1.vault.oc1.iad.aaaavault', target.secret.name = /tmi-*/}")


@pytest.mark.parametrize("role", ["renew", "monitor"])
@pytest.mark.parametrize("email", [{}, API_EMAIL], ids=["smtp", "api-email"])
def test_without_metrics_neither_the_module_nor_certmgr_grants_them(module, role, email):
    """enable_metrics = false leaves CERTMGR_METRICS unset, and then no policy has `use metrics`: certmgr's
    statements are still the module's, word for word, on either e-mail path."""
    local = planned(module, {**tfvars(GUIDE_TFVARS), **WITH_EVERYTHING, **email, "enable_metrics": False})["local"]
    env = {**local.common_config, **(local.monitor_config if role == "monitor" else local.renewer_config["tmi"])}
    config = config_for(env, role)
    assert "CERTMGR_METRICS" not in env and not config.metrics
    written = local.policies["monitor" if role == "monitor" else "renewer"]
    assert not any(" use metrics " in s for s in written)
    assert sorted(Grants(config).policy()) == sorted(written)


def test_smtp_secrets_without_a_sender_are_refused_at_plan_as_certmgr_refuses_them(module):
    """The SMTP credential secrets without monitor_email_from and _to: certmgr would refuse the monitor's
    configuration at every run, so the module refuses it at plan; with them, both accept it."""
    for sender, accepted in (({"monitor_email_from": None, "monitor_email_to": []}, False), ({}, True)):
        scope = planned(module, {**tfvars(GUIDE_TFVARS), **WITH_EVERYTHING, **sender})
        refusals = failed_preconditions(module, scope)
        env = {**scope["local"].common_config, **scope["local"].monitor_config}
        if accepted:
            assert refusals == [] and config_for(env, "monitor").monitor.smtp_username_secret
            continue
        assert len(refusals) == 1 and refusals[0].startswith("E-mail alerts need monitor_email_from")
        with pytest.raises(ConfigError, match="CERTMGR_MONITOR_EMAIL_FROM"):
            config_for(env, "monitor")
