output "application_id" {
  description = "OCID of the Function Application (null while enable_certificate_automation is false)."
  value       = one(oci_functions_application.this[*].id)
}

locals {
  function_ids = merge(
    { for prefix, f in oci_functions_function.renewer : prefix => f.id },
    local.monitor_enabled ? { monitor = oci_functions_function.monitor[0].id } : {},
  )
}

output "function_ids" {
  description = "Function OCIDs: each renewer by its secret prefix, and \"monitor\"."
  value       = local.function_ids
}

output "schedule_ids" {
  description = "Resource Scheduler schedule OCIDs: \"renew-1\", \"renew-2\", ... (25 renewers each) and \"monitor\"."
  value       = { for key, schedule in oci_resource_scheduler_schedule.this : key => schedule.id }
}

# The OCI CLI reads a reply for 60 s by default (the SDK's read timeout: docs.oracle.com/iaas/tools/python/latest/
# customize_service_client/connection_read_timeout.html; `--read-timeout` in oci_cli_docs/oci.html overrides it)
# and then retries the call: a renewal that takes longer would be invoked again every minute. The read timeout
# outlasts the function's own timeout, so one command is one run.
locals {
  invoke = "oci fn function invoke --read-timeout ${var.function_timeout_seconds + 30} --file - --body '' --function-id"
}

output "invoke_commands" {
  description = "OCI CLI commands that run each function now (synchronously, so within its timeout)."
  value       = { for key, id in local.function_ids : key => "${local.invoke} ${id}" }
}

output "invoke_command" {
  description = "OCI CLI command that runs the renewer now (the first one, in a fleet); prints the run's JSON result."
  value       = length(local.entries) > 0 ? "${local.invoke} ${values(oci_functions_function.renewer)[0].id}" : null
}

output "secret_prefixes" {
  description = "The Vault secret prefix of each renewer ({prefix}-certificate, -private-key, -chain, -acme-account-key, -lock)."
  value       = keys(local.entries)
}

output "monitor_topic_id" {
  description = "Notifications topic the monitor publishes to, if any."
  value       = local.monitor_topic_id
}

output "policy_statements" {
  description = "IAM statements by policy (\"renewer\", \"monitor\", \"scheduler\"), for an administrator to apply at the tenancy root when create_policies is false."
  value       = local.policies
}

output "usage" {
  description = "What this call uses of OCI's limits (limits.tf): functions, schedules, dynamic groups, policies, statements, the largest function configuration in bytes."
  value       = local.usage

  precondition {
    condition     = local.statements <= local.limits.statements_per_hierarchy
    error_message = "certmgr's policies hold ${local.statements} statements, and OCI allows ${local.limits.statements_per_hierarchy} from the tenancy root to any compartment, every other policy on the way included: isolate_entry_secrets costs 3 statements per entry; set it to false, or split the fleet between module calls."
  }
  precondition {
    condition     = length(local.policies) <= local.limits.policies_per_tenancy
    error_message = "certmgr would write ${length(local.policies)} policies, and a tenancy holds at most ${local.limits.policies_per_tenancy}."
  }
}

output "log_search_scope" {
  description = "Where the functions' output is searchable: LOG_SCOPE for `make fn-logs-certmgr`"
  value       = local.enabled && var.enable_logging ? "${var.compartment_id}/${oci_logging_log_group.this[0].id}/${oci_logging_log.invocations[0].id}" : null
}
