# OCI's documented limits that a fleet meets, with their sources, and how much of each this module call uses
# (output "usage"). The schedules are cut to the schedule limit, the policies to the statements-per-policy
# limit, and preconditions refuse what would break the others at plan time. What one call supports, and why:
# README, "Many certificates, one module call".

locals {
  limits = {
    # Service Limits, "IAM With Identity Domains Limits" and "IAM Without Identity Domains Limits"
    # (docs.oracle.com/iaas/Content/General/Concepts/servicelimits.htm): policies in a tenancy, statements in
    # a policy, dynamic groups in a tenancy (without identity domains; an identity domain has the object
    # limits of its type), characters of one dynamic group's matching rule.
    policies_per_tenancy     = 100
    statements_per_policy    = 50
    dynamic_groups           = 50
    matching_rule_characters = 100000
    # "Policy Statements Limit per Compartment Hierarchy" (docs.oracle.com/iaas/Content/Identity/policymgmt/
    # policy-limits-compartment-hierarchy.htm): 500 statements from the root to any leaf compartment, a hard
    # limit, shared with every other policy on that path. This module's policies sit at the root.
    statements_per_hierarchy = 500
    # Service Limits, "Functions Limits": applications and functions per region, Oracle Universal Credits
    # (Pay As You Go or Trial: 10 and 50; a service limit increase can be requested).
    applications_per_region = 20
    functions_per_region    = 500
    # Function.config (and Application.config) in the Functions API: "The maximum size for all configuration
    # keys and values is limited to 4KB ... the sum of octets necessary to represent each key and value in UTF-8"
    # (docs.oracle.com/iaas/api/#/en/functions/20181201/Function).
    function_config_bytes = 4096
    # Resource Scheduler, Resource Management: "Resource Scheduler can process only 25 resources per schedule";
    # more are refused with a 400 (docs.oracle.com/iaas/Content/resource-scheduler/concepts/
    # resourcescheduleer-howitworks_resource_mgmt.htm; a later revision of the page says 200: 25 holds for both).
    resources_per_schedule = 25
  }

  policies   = merge(local.renewer_policies, local.monitor_enabled ? { monitor = local.monitor_statements } : {}, local.enabled ? { scheduler = local.scheduler_statements } : {})
  statements = sum(concat([0], [for statements in values(local.policies) : length(statements)]))
  usage = {
    applications           = local.enabled ? 1 : 0
    functions              = length(local.function_configs)
    schedules              = length(local.schedules)
    resources_per_schedule = max(0, [for s in values(local.schedules) : length(s.function_ids)]...)
    dynamic_groups         = var.create_dynamic_group ? length(local.dynamic_groups) : 0
    policies               = var.create_policies ? length(local.policies) : 0
    statements_per_policy  = max(0, [for statements in values(local.policies) : length(statements)]...)
    statements             = local.statements
    function_config_bytes  = max(0, values(local.config_bytes)...)
  }
}
