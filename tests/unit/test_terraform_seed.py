"""The module against its users: the seed guide's variables and tfvars, the fleet form, the monitor's needs.

Nothing here can plan against OCI, so the module's own expressions for the functions' configuration, the
certificate entries and the policy statements are evaluated, with the values a `terraform.tfvars` gives, by
test_terraform_eval's evaluator of the HCL subset they use.
"""
from __future__ import annotations

from types import SimpleNamespace

import pytest

from certmgr.settings.config import ACME_DIRECTORIES, Config
from test_terraform import EXAMPLE, MODULE, load, named, resources
from test_terraform_eval import evaluate, scope_for, tfvars
from test_terraform_plan import failed_preconditions, instances, planned

# The seed guide's variable tables: name -> (type, default); REQUIRED has no default. The per-certificate
# ones (domain_name, dns_zone_id, load_balancer_id) are required there; here they default to null because
# the fleet form (`certificates`) replaces them, and a precondition asks for them when it is not used.
REQUIRED = object()
SEED = {
    "enable_certificate_automation": ("bool", False), "domain_name": ("string", None),
    "dns_zone_id": ("string", None), "acme_contact_email": ("string", REQUIRED),
    "acme_directory": ("string", "staging"), "certificate_renewal_days": ("number", 30),
    "certmgr_image_url": ("string", REQUIRED), "compartment_id": ("string", REQUIRED),
    "tenancy_ocid": ("string", REQUIRED), "name_prefix": ("string", "tmi"), "subnet_id": ("string", REQUIRED),
    "load_balancer_id": ("string", None), "vault_id": ("string", REQUIRED), "vault_key_id": ("string", REQUIRED),
    "function_memory_mb": ("number", 256), "function_timeout_seconds": ("number", 300),
    "create_dynamic_group": ("bool", True), "existing_dynamic_group_name": ("string", None),
    "tags": ("map(string)", {}),
}
GUIDE_TFVARS = '''
enable_certificate_automation = true
domain_name = "tmi.example.com"
dns_zone_id = "ocid1.dns-zone.oc1..aaaazone"
acme_contact_email = "admin@example.com"
acme_directory = "staging"
certmgr_image_url = "us-ashburn-1.ocir.io/namespace/certmgr:latest"
compartment_id = "ocid1.compartment.oc1..aaaacomp"
tenancy_ocid = "ocid1.tenancy.oc1..aaaatenancy"
subnet_id = "ocid1.subnet.oc1.iad.aaaasubnet"
load_balancer_id = "ocid1.loadbalancer.oc1.iad.aaaalb"
vault_id = "ocid1.vault.oc1.iad.aaaavault"
vault_key_id = "ocid1.key.oc1.iad.aaaakey"
'''


@pytest.fixture(scope="module")
def module():
    return load(MODULE)


# -- the tests ------------------------------------------------------------------------------------------------

def test_the_seed_guides_variables_exist_with_its_types_defaults_and_ranges(module):
    declared = named(module, "variable")
    for name, (kind, default) in SEED.items():
        assert name in declared, name
        assert declared[name]["type"].removeprefix("${").removesuffix("}") == kind, (name, declared[name]["type"])
        if default is REQUIRED:
            assert "default" not in declared[name], name
        else:
            assert declared[name]["default"] == default, name
    conditions = {n: " ".join(v["condition"] for v in declared[n].get("validation", [])) for n in declared}
    assert ">= 7" in conditions["certificate_renewal_days"] and "<= 60" in conditions["certificate_renewal_days"]
    assert "[128, 256, 512, 1024]" in conditions["function_memory_mb"]
    assert ">= 30" in conditions["function_timeout_seconds"] and "<= 300" in conditions["function_timeout_seconds"]


def test_the_guides_tfvars_give_a_renewer_that_certmgr_accepts_as_it_was_meant(module):
    scope = scope_for(module, tfvars(GUIDE_TFVARS))
    entries = scope["local"].entries
    assert list(entries) == ["tmi"]
    common, renewer = scope["local"].common_config, scope["local"].renewer_config["tmi"]
    env = {**common, **renewer, "OCI_RESOURCE_PRINCIPAL_VERSION": "2.2"}
    config = Config.from_env(env)
    assert config.domains == ("tmi.example.com",) and config.dns_zone_id == "ocid1.dns-zone.oc1..aaaazone"
    assert config.acme_directory == ACME_DIRECTORIES["staging"] and config.renewal_days == 30
    assert config.lb_id == "ocid1.loadbalancer.oc1.iad.aaaalb" and config.name_prefix == "tmi"
    assert config.run_budget == 280 and config.vault_id == "ocid1.vault.oc1.iad.aaaavault"
    assert config.warnings == () and evaluate('"${each.value.function_name}"', {
        **scope, "each": SimpleNamespace(value=SimpleNamespace(**entries["tmi"]))}) == "certmgr"


def test_nothing_is_created_until_automation_is_enabled(module):
    off = {k: v for k, v in tfvars(GUIDE_TFVARS).items() if k != "enable_certificate_automation"}
    scope = planned(module, off)
    assert scope["local"].entries == {} and scope["local"].enabled is False
    made = {address: instances(body, scope) for address, body in resources(module).items()}
    assert {address: n for address, n in made.items() if n} == {}


FLEET = {"api": {"domain_names": ["api.example.com"], "dns_zone_id": "ocid1.dns-zone.oc1..zone1",
                 "load_balancer_id": "ocid1.loadbalancer.oc1.iad.lb1", "listeners": [], "renewal_days": None,
                 "certificate_name": None},
         "www": {"domain_names": ["example.com", "*.example.com"], "dns_zone_id": "ocid1.dns-zone.oc1..zone2",
                 "load_balancer_id": "ocid1.loadbalancer.oc1.iad.lb2", "listeners": ["https"], "renewal_days": 21,
                 "certificate_name": "www-tls"}}


def fleet_tfvars(certificates: dict, **more) -> dict:
    single = ("domain_name", "dns_zone_id", "load_balancer_id")
    return {**{k: v for k, v in tfvars(GUIDE_TFVARS).items() if k not in single}, "certificates": certificates, **more}


def test_a_two_entry_fleet_gives_two_renewers_with_disjoint_secrets_in_one_group_and_one_policy(module):
    scope = planned(module, fleet_tfvars(FLEET))
    local = scope["local"]
    assert sorted(local.entries) == ["tmi-api", "tmi-www"]
    assert {e["function_name"] for e in local.entries.values()} == {"certmgr-api", "certmgr-www"}
    for prefix in local.entries:
        config = Config.from_env({**local.common_config, **local.renewer_config[prefix], "OCI_RESOURCE_PRINCIPAL_VERSION": "2.2"})
        assert config.name_prefix == prefix and set(config.kept_secrets) == {f"{prefix}-{r}" for r in local.secret_roles}
    assert Config.from_env({**local.common_config, **local.renewer_config["tmi-www"],
                            "OCI_RESOURCE_PRINCIPAL_VERSION": "2.2"}).renewal_days == 21
    # One group holds both renewers (by OCID) and one policy serves them: both zones, the fleet's secret prefix.
    functions = scope["oci_functions_function"].renewer
    rule = local.dynamic_groups["tmi-certmgr-renewer"]
    assert rule == "ANY {" + ", ".join(f"resource.id = '{functions[p].id}'" for p in sorted(functions)) + "}"
    assert sorted(local.policies) == ["monitor", "renewer", "scheduler"]
    text = "\n".join(local.policies["renewer"])
    assert "any {target.dns-zone.id = 'ocid1.dns-zone.oc1..zone1', target.dns-zone.id = 'ocid1.dns-zone.oc1..zone2'}" in text
    assert "target.secret.name = /tmi-*/" in text and text.count("dynamic-group tmi-certmgr-renewer ") == len(local.policies["renewer"])
    # The Certificates service is granted because an entry deploys through it; only that entry is told its name.
    assert "manage leaf-certificates" in text
    assert local.renewer_config["tmi-www"]["CERTMGR_CERTIFICATE_NAME"] == "www-tls"
    assert "CERTMGR_CERTIFICATE_NAME" not in local.renewer_config["tmi-api"]


def test_isolated_entries_each_get_a_group_and_their_own_secrets_only(module):
    scope = planned(module, fleet_tfvars(FLEET, isolate_entry_secrets=True))
    local, functions = scope["local"], scope["oci_functions_function"].renewer
    for prefix, other in (("tmi-api", "tmi-www"), ("tmi-www", "tmi-api")):
        assert local.dynamic_groups[f"{prefix}-certmgr-renewer"] == f"ANY {{resource.id = '{functions[prefix].id}'}}"
        own = [s for s in local.renewer_statements if f"dynamic-group {prefix}-certmgr-renewer " in s]
        assert len(own) == 3 and all(f"target.secret.name = /{prefix}-*/" in s for s in own)
    secrets = [s for s in local.renewer_statements if "secret-family" in s or "manage secret" in s]
    assert not any("dynamic-group tmi-certmgr-renewer " in s for s in secrets)  # the shared group: no secret


def test_the_monitor_is_configured_and_allowed_to_keep_its_memory_in_vault(module):
    scope = scope_for(module, {**tfvars(GUIDE_TFVARS), "monitor_log_id": "ocid1.log.oc1.iad.aaaalog",
                               "monitor_log_group_id": "ocid1.loggroup.oc1.iad.aaaagroup"})
    env = {**scope["local"].common_config, **scope["local"].monitor_config, "OCI_RESOURCE_PRINCIPAL_VERSION": "2.2"}
    assert {"CERTMGR_VAULT_ID", "CERTMGR_VAULT_KEY_ID", "CERTMGR_COMPARTMENT_ID"} <= set(env)
    config = Config.from_env(env)
    assert config.mode == "monitor" and config.vault_id and config.name_prefix == "tmi"
    grants = "\n".join(scope["local"].monitor_statements)
    assert "target.secret.name = 'tmi-monitor-state'" in grants and "target.secret.name = 'tmi-certificate'" in grants
    assert "CERTMGR_MONITOR_LB_IDS" not in env  # it finds every load balancer it may list
    # Logging ingestion into its log's group only (loggingpolicyreference: target.loggroup.id for log-content).
    assert "use log-content in compartment id ocid1.compartment.oc1..aaaacomp where target.loggroup.id = " \
        "'ocid1.loggroup.oc1.iad.aaaagroup'" in grants


def test_the_example_passes_the_guides_variables_straight_through():
    call = named(load(EXAMPLE), "module")["certificates"]
    for name in SEED:
        assert call.get(name) == "${var." + name + "}", name


@pytest.mark.parametrize("switch", [True, False])
def test_the_seed_switch_creates_dynamic_groups_and_policies_or_neither(switch):
    """The guide's `create_dynamic_group` "Create dynamic group and IAM policies": the example passes it on as
    create_policies too. Off, with only `existing_dynamic_group_name`, nothing of IAM is created and the
    policy_statements output names that group for the renewer and the monitor alike."""
    module = load(MODULE)
    example = named(load(EXAMPLE), "module")["certificates"]
    assert example["create_policies"] == "${var.create_dynamic_group}"
    values = {**tfvars(GUIDE_TFVARS), "create_dynamic_group": switch, "create_policies": switch,
              **({} if switch else {"existing_dynamic_group_name": "ops-functions"})}
    scope = planned(module, values)
    made = {name: instances(body, scope) for name, body in resources(module).items() if name.startswith("oci_identity_")}
    if switch:
        assert sorted(made["oci_identity_dynamic_group.this"]) == ["tmi-certmgr-monitor", "tmi-certmgr-renewer"]
        assert sorted(made["oci_identity_policy.this"]) == ["monitor", "renewer", "scheduler"]
        return
    assert made == {"oci_identity_dynamic_group.this": {}, "oci_identity_policy.this": {}}
    assert failed_preconditions(module, scope) == []
    statements = [s for name in ("renewer", "monitor") for s in scope["local"].policies[name]]
    assert statements and all(s.startswith("Allow dynamic-group ops-functions to ") for s in statements)
