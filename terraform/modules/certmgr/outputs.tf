output "application_id" {
  description = "OCID of the Function Application."
  value       = oci_functions_application.this.id
}

output "function_ids" {
  description = "Function OCIDs by mode (renew, monitor)."
  value       = { for mode, schedule in local.schedules : mode => schedule.function_id }
}

output "schedule_ids" {
  description = "Resource Scheduler schedule OCIDs by mode."
  value       = { for mode, schedule in oci_resource_scheduler_schedule.this : mode => schedule.id }
}

output "invoke_commands" {
  description = "OCI CLI commands that run each function now (synchronously, so within its timeout)."
  value       = { for mode, schedule in local.schedules : mode => "oci fn function invoke --function-id ${schedule.function_id} --file - --body ''" }
}

output "invoke_command" {
  description = "OCI CLI command that runs the renewer now."
  value       = "oci fn function invoke --function-id ${oci_functions_function.renewer.id} --file - --body ''"
}

output "monitor_topic_id" {
  description = "Notifications topic the monitor publishes to, if any."
  value       = local.monitor_topic_id
}

output "policy_statements" {
  description = "IAM statements by policy, for an administrator to apply when create_policies is false."
  value = {
    renewer   = local.renewer_statements
    monitor   = var.enable_monitor ? local.monitor_statements : []
    scheduler = local.scheduler_statements
  }
}

output "log_search_scope" {
  description = "Where the functions' output is searchable: LOG_SCOPE for `make fn-logs-certmgr`"
  value       = var.enable_logging ? "${var.compartment_id}/${oci_logging_log_group.this[0].id}/${oci_logging_log.invocations[0].id}" : null
}
