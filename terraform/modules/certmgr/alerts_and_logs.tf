# The monitor's Notifications topic (and its e-mail subscriptions), the functions' invocation log and the
# monitor's custom log.

resource "oci_ons_notification_topic" "monitor" {
  count = local.monitor_enabled && var.create_monitor_topic ? 1 : 0

  compartment_id = var.compartment_id
  name           = "${var.name_prefix}-certmgr-expiry"
  description    = "Certificates close to expiry, from the certmgr monitor"
  freeform_tags  = local.tags
}

resource "oci_ons_subscription" "monitor_email" {
  for_each = local.monitor_enabled && var.create_monitor_topic ? toset(var.monitor_topic_emails) : toset([])

  compartment_id = var.compartment_id
  topic_id       = oci_ons_notification_topic.monitor[0].id
  protocol       = "EMAIL"
  endpoint       = each.value
  freeform_tags  = local.tags
}

resource "oci_logging_log_group" "this" {
  count = local.enabled && var.enable_logging ? 1 : 0

  compartment_id = var.compartment_id
  display_name   = "${var.name_prefix}-certmgr"
  freeform_tags  = local.tags
}

# What the functions print: the only place a scheduled (detached) run's output can be read.
resource "oci_logging_log" "invocations" {
  count = local.enabled && var.enable_logging ? 1 : 0

  display_name       = "${var.name_prefix}-certmgr-invoke"
  log_group_id       = oci_logging_log_group.this[0].id
  log_type           = "SERVICE"
  is_enabled         = true
  retention_duration = var.log_retention_days
  freeform_tags      = local.tags

  configuration {
    compartment_id = var.compartment_id
    source {
      category    = "invoke"
      resource    = oci_functions_application.this[0].id
      service     = "functions"
      source_type = "OCISERVICE"
    }
  }
}

resource "oci_logging_log" "monitor" {
  count = local.monitor_enabled && var.enable_logging && var.monitor_log_id == null ? 1 : 0

  display_name       = "${var.name_prefix}-certmgr-expiry"
  log_group_id       = oci_logging_log_group.this[0].id
  log_type           = "CUSTOM"
  is_enabled         = true
  retention_duration = var.log_retention_days
  freeform_tags      = local.tags
}
