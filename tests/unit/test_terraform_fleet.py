"""A fleet inside OCI's documented limits: the module evaluated for 1, 20 and 200 certificates, each limit it
touches checked against the number OCI documents (the source beside each), with stand-in OCIDs as long as OCI's;
and what would break a limit refused at plan time, saying by how much."""
from __future__ import annotations

import pytest

from test_terraform import MODULE, load
from test_terraform_plan import failed_preconditions, ocid, planned
from test_terraform_seed import fleet_tfvars

# OCI's limits, as documented (the module states them in limits.tf; test_the_module_states_the_documented_limits).
DOCUMENTED = {
    # https://docs.oracle.com/iaas/Content/Identity/policymgmt/policy-limits-compartment-hierarchy.htm: "The
    # maximum number of policy statements allowed from the root compartment to any leaf compartment is 500", a
    # hard limit; Service Limits (docs.oracle.com/iaas/Content/General/Concepts/servicelimits.htm), "IAM With
    # Identity Domains Limits": "IAM policy statements in a tenancy 500".
    "statements_per_hierarchy": 500,
    # Service Limits, "IAM With/Without Identity Domains Limits": "Statements in an IAM policy 50", "IAM policies
    # in a tenancy 100"; without identity domains: "Dynamic groups in a tenancy 50", "Matching rule length for a
    # single dynamic group 100000".
    "statements_per_policy": 50, "policies_per_tenancy": 100, "dynamic_groups": 50, "matching_rule_characters": 100000,
    # Service Limits, "Functions Limits": "Applications ... Region | 20 | 10", "Functions ... Region | 500 | 50"
    # (Oracle Universal Credits | Pay As You Go or Trial).
    "applications_per_region": 20, "functions_per_region": 500,
    # Functions API, Function.config: "The maximum size for all configuration keys and values is limited to 4KB.
    # This is measured as the sum of octets necessary to represent each key and value in UTF-8."
    "function_config_bytes": 4096,
    # Resource Scheduler, resourcescheduleer-howitworks_resource_mgmt.htm: "Resource Scheduler can process only 25
    # resources per schedule ... If you try to add more than 25 resources to a schedule ... error 400".
    "resources_per_schedule": 25,
}
SIZES = [1, 20, 200]


def certificates(n: int, **entry) -> dict:
    """n entries as a platform team has them: two names each, in 10 zones, behind 20 load balancers with a
    listener per entry."""
    return {f"svc{i:03d}": {"domain_names": [f"svc{i}.example.com", f"www.svc{i}.example.com"],
                            "dns_zone_id": ocid("dns-zone", f"zone{i % 10}"),
                            "load_balancer_id": ocid("loadbalancer", f"lb{i % 20}"), "listeners": [f"https-svc{i}"],
                            "renewal_days": None, "certificate_name": None, **entry} for i in range(n)}


@pytest.fixture(scope="module")
def module():
    return load(MODULE)


@pytest.fixture(scope="module")
def fleets(module):
    return {n: planned(module, fleet_tfvars(certificates(n))) for n in SIZES}


def test_the_module_states_the_documented_limits(fleets):
    assert fleets[1]["local"].limits == DOCUMENTED


@pytest.mark.parametrize("n", SIZES)
def test_a_fleet_fits_every_limit_it_touches(fleets, n):
    scope = fleets[n]
    local, usage = scope["local"], scope["local"].usage
    assert failed_preconditions(load(MODULE), scope) == []
    # Functions: one application, a renewer per entry and the monitor, in the region's default limits.
    assert usage["applications"] == 1 <= DOCUMENTED["applications_per_region"]
    assert usage["functions"] == n + 1 <= DOCUMENTED["functions_per_region"]
    # 4 KB of configuration per function, counted as OCI counts it (the UTF-8 bytes of every key and value).
    sizes = {name: sum(len(k.encode()) + len(v.encode()) for k, v in config.items())
             for name, config in local.function_configs.items()}
    assert local.config_bytes == sizes and max(sizes.values()) <= DOCUMENTED["function_config_bytes"]
    # Schedules of at most 25 functions, each function in exactly one.
    scheduled = [i for s in local.schedules.values() for i in s["function_ids"]]
    assert sorted(scheduled) == sorted(local.function_ids.values())
    assert usage["resources_per_schedule"] <= DOCUMENTED["resources_per_schedule"]
    assert usage["schedules"] == -(-n // 25) + 1
    # Two dynamic groups, however many entries; each rule within its length.
    assert usage["dynamic_groups"] == 2 <= DOCUMENTED["dynamic_groups"]
    assert max(map(len, local.dynamic_groups.values())) <= DOCUMENTED["matching_rule_characters"]
    # Three policies of at most 50 statements, at most 500 statements in all (shared with the whole tenancy).
    assert usage["policies"] == len(local.policies) == 3 <= DOCUMENTED["policies_per_tenancy"]
    assert usage["statements_per_policy"] <= DOCUMENTED["statements_per_policy"]
    assert usage["statements"] == sum(map(len, local.policies.values())) <= DOCUMENTED["statements_per_hierarchy"]


def test_the_statements_do_not_grow_with_the_fleet(fleets):
    counts = {n: {name: len(statements) for name, statements in fleets[n]["local"].policies.items()} for n in SIZES}
    assert counts[20] == counts[200], counts
    # The renewers' grants differ only by the zones they name: 10 in a fleet of 20 or 200, one for a single entry.
    renewer = {n: fleets[n]["local"].policies["renewer"] for n in (20, 200)}
    assert renewer[20] == renewer[200]
    rule = fleets[200]["local"].dynamic_groups["tmi-certmgr-renewer"]
    assert rule.count("resource.id = 'ocid1.fnfunc.") == 200 and len(rule) < DOCUMENTED["matching_rule_characters"] / 4


def test_isolated_secrets_cost_three_statements_an_entry_and_200_do_not_fit(module, fleets):
    isolated = {n: planned(module, fleet_tfvars(certificates(n), isolate_entry_secrets=True)) for n in (20, 200)}
    shared = fleets[20]["local"].usage["statements"]
    assert isolated[20]["local"].usage["statements"] == shared - 3 + 3 * 20
    assert isolated[20]["local"].usage["dynamic_groups"] == 2 + 20
    assert sorted(isolated[20]["local"].renewer_policies) == ["renewer", "renewer-2"]  # 67 statements: two policies
    assert failed_preconditions(module, isolated[20]) == []
    [refusal] = failed_preconditions(module, isolated[200])
    assert f"hold {shared - 3 + 3 * 200} statements, and OCI allows 500" in refusal and "isolate_entry_secrets" in refusal


def test_configuration_over_4_kb_is_refused_at_plan_with_its_size(module):
    many = [f"host{i:03d}.service-example.com" for i in range(150)]  # 150 names of 28 characters
    scope = planned(module, fleet_tfvars({"big": {**certificates(1)["svc000"], "domain_names": many}}))
    size = scope["local"].config_bytes["certmgr-big"]
    assert size > DOCUMENTED["function_config_bytes"]
    [refusal] = failed_preconditions(module, scope)
    assert refusal.startswith(f"certmgr-big's configuration takes {size} bytes, and OCI allows a function 4096")
    assert failed_preconditions(module, planned(module, fleet_tfvars(
        {"big": {**certificates(1)["svc000"], "domain_names": many[:100]}}))) == []


def test_the_monitor_finds_a_fleets_load_balancers_itself(module):
    """The monitor lists every load balancer of the compartments it may list, so its configuration does not grow
    with the fleet's load balancers (it used to name them all, and stopped fitting 4 KB at about 43); those it
    cannot list (monitor_load_balancer_ids) still count against the limit, refused at plan with the size."""
    spread = {k: {**c, "load_balancer_id": ocid("loadbalancer", k)} for k, c in certificates(20).items()}
    assert failed_preconditions(module, planned(module, fleet_tfvars(spread))) == []
    extra = [ocid("loadbalancer", f"extra{i}") for i in range(60)]
    [refusal] = failed_preconditions(module, planned(module, fleet_tfvars(spread, monitor_load_balancer_ids=extra)))
    assert refusal.startswith("certmgr-monitor's configuration takes ") and "lists 60 load balancers" in refusal


@pytest.mark.parametrize("listeners, collide", [
    ((["a"], ["b"]), False), ((["a"], ["a", "b"]), True), ((["a"], []), True), (([], []), True)])
def test_entries_on_one_listener_are_refused_at_plan_by_name(module, listeners, collide):
    """An entry without listeners takes every HTTPS listener of its load balancer, so it shares one with any
    other entry there; on different load balancers, nothing collides."""
    same = certificates(1)["svc000"]
    entries = {"api": {**same, "listeners": listeners[0]}, "www": {**same, "listeners": listeners[1]},
               "other": {**same, "load_balancer_id": ocid("loadbalancer", "elsewhere"), "listeners": []}}
    refusals = failed_preconditions(module, planned(module, fleet_tfvars(entries)))
    assert refusals == (["certificates entries tmi-api and tmi-www would own the same load balancer listener "
                         "(an entry without listeners takes every listener of its load balancer): give each entry "
                         "on a load balancer listeners of its own."] if collide else [])
