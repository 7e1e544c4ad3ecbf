# Daily runs. Resource Scheduler starts a scheduled function as a detached invocation, and a schedule holds at
# most 25 resources (limits.tf): the renewers run from schedules of 25, the monitor from one of its own. Each
# schedule is its own principal, allowed to invoke functions by the "scheduler" policy (iam.tf). The renewers of
# one schedule start together; runs on one load balancer wait for each other's work requests.

locals {
  renewer_ids = [for prefix in keys(local.entries) : oci_functions_function.renewer[prefix].id]
  schedules = merge(
    { for i, ids in chunklist(local.renewer_ids, local.limits.resources_per_schedule) : "renew-${i + 1}" => { function_ids = ids, recurrence = var.renew_recurrence } },
    local.monitor_enabled ? { monitor = { function_ids = [oci_functions_function.monitor[0].id], recurrence = var.monitor_recurrence } } : {},
  )
}

resource "oci_resource_scheduler_schedule" "this" {
  for_each = local.schedules

  action             = "START_RESOURCE"
  compartment_id     = var.compartment_id
  display_name       = "${var.name_prefix}-certmgr-${each.key}"
  description        = "Runs certmgr (${each.key}: ${length(each.value.function_ids)} functions)"
  recurrence_type    = var.schedule_recurrence_type
  recurrence_details = each.value.recurrence
  time_starts        = var.schedule_time_starts
  freeform_tags      = local.tags

  dynamic "resources" {
    for_each = each.value.function_ids
    content {
      id = resources.value
    }
  }
}
