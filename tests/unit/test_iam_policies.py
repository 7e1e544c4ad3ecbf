"""The module's policies against the table of what certmgr calls (certmgr/cloud/permissions.json), both ways:
every operation has a grant that covers it, and every grant covers some operation; and the statements certmgr
names in its errors are exactly those the module writes for the same deployment."""
from __future__ import annotations

import re

import pytest

from test_terraform import MODULE, load
from test_terraform_seed import GUIDE_TFVARS, scope_for, tfvars

from certmgr.app import config_for
from certmgr.cloud.grants import TABLE, Grants
VERBS = ["inspect", "read", "use", "manage"]
FAMILIES = {"secret-family": {"secrets", "secret-versions", "secret-bundles"},
            "leaf-certificate-family": {"leaf-certificates", "leaf-certificate-versions", "leaf-certificate-bundles"}}
WITH_EVERYTHING = {"monitor_log_id": "ocid1.log.oc1.iad.aaaalog", "monitor_topic_id": "ocid1.onstopic.oc1.iad.aaaa",
                   "monitor_smtp_username_secret_id": "ocid1.vaultsecret.oc1.iad.user",
                   "monitor_smtp_password_secret_id": "ocid1.vaultsecret.oc1.iad.pass"}


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


# Who, and what of the table they need: the Certificates-service target adds its section to the renewer's.
NEEDS = {"renewer": ["renewer"], "renewer-certificates-service": ["renewer", "renewer-certificates-service"],
         "monitor": ["monitor"]}


@pytest.fixture(scope="module")
def policies():
    scope = scope_for(load(MODULE), {**tfvars(GUIDE_TFVARS), **WITH_EVERYTHING})
    service = scope_for(load(MODULE), {**tfvars(GUIDE_TFVARS), **WITH_EVERYTHING, "certificate_name": "web-tls"})
    return {"renewer": scope["local"].renewer_statements["tmi"], "monitor": scope["local"].monitor_statements,
            "renewer-certificates-service": service["local"].renewer_statements["tmi"]}


def needed(who: str) -> dict[str, list[str]]:
    return {op: grants for section in NEEDS[who] for op, grants in TABLE[section].items()}


@pytest.mark.parametrize("who", list(NEEDS))
def test_every_operation_has_a_grant(policies, who):
    missing = {op: grant for op, grants in needed(who).items() for grant in grants
               if not any(covers(s, grant) for s in policies[who])}
    assert missing == {}, f"no statement grants: {missing}"


@pytest.mark.parametrize("who", list(NEEDS))
def test_every_grant_is_used(policies, who):
    grants = [grant for op_grants in needed(who).values() for grant in op_grants]
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


def deployment(scope, role: str) -> dict:
    """The function's environment as the module sets it (application settings and the function's own)."""
    local = scope["local"]
    own = local.monitor_config if role == "monitor" else local.renewer_config["tmi"]
    return {**local.common_config, **own}


@pytest.mark.parametrize("who", list(NEEDS))
def test_certmgr_names_the_statements_the_module_writes(policies, who):
    """Filled in from the function's own settings, certmgr's statements are the module's, word for word: the
    grant an error names is the one to add to that policy."""
    settings = {**tfvars(GUIDE_TFVARS), **WITH_EVERYTHING, "monitor_smtp_from": "certmgr@example.com", "monitor_smtp_to": ["ops@example.com"],
                **({"certificate_name": "web-tls"} if who == "renewer-certificates-service" else {})}
    env = deployment(scope_for(load(MODULE), settings), "monitor" if who == "monitor" else "renewer")
    config = config_for(env, "monitor" if who == "monitor" else "renew")
    assert sorted(Grants(config).policy()) == sorted(policies[who])


def test_a_fallback_ca_is_set_in_the_renewer_and_granted_its_account_keys_secret_alone(policies):
    """acme_fallback_directory reaches the renewer, and the policy the module writes then is certmgr's for it:
    the renewer's, and the three statements of the fallback CA's account-key secret."""
    scope = scope_for(load(MODULE), {**tfvars(GUIDE_TFVARS), **WITH_EVERYTHING, "acme_fallback_directory": "production"})
    config = config_for(deployment(scope, "renewer"), "renew")
    assert config.acme_fallback_directory == "https://acme-v02.api.letsencrypt.org/directory"
    written = scope["local"].renewer_statements["tmi"]
    assert sorted(Grants(config).policy()) == sorted(written)
    added = set(written) - set(policies["renewer"])
    assert len(added) == 3 and all("target.secret.name = 'tmi-acme-fallback-account-key'" in s for s in added)
    assert set(policies["renewer"]) <= set(written)
