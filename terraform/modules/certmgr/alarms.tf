# Alarms on certmgr's metrics (CERTMGR_METRICS: namespace certmgr, in compartment_id), notifying the monitor's
# topic. Queries are MQL (https://docs.oracle.com/iaas/Content/Monitoring/Reference/mql.htm); the renewers
# and the monitor post once a run, so every window is a day, the longest interval an alarm query offers
# (Monitoring/Tasks/create-edit-alarm-query-interval.htm). An absence alarm's absent() is 1 when a stream sends
# nothing for the whole window, and keeps being 1 for its absence detection period, 1 minute to 3 days
# (Monitoring/Tasks/create-alarm-absence.htm, create-edit-alarm-query-absence-detection-period.htm; groupBy as
# those pages advise). Arguments: the oci provider's oci_monitoring_alarm (website/docs/r/monitoring_alarm.html.
# markdown), which are the Monitoring API's CreateAlarmDetails: pending_duration PT1M to PT1H, message_format
# RAW, PRETTY_JSON or ONS_OPTIMIZED (tests/unit/test_terraform_alarms.py holds them to the oci SDK's model).

locals {
  alarms = local.monitor_enabled && var.enable_metrics && var.create_alarms && local.monitor_has_topic ? {
    expiring = {
      severity = "CRITICAL"
      query    = "days_to_expiry[1d].groupBy(name).min() < ${var.monitor_critical_days}"
      pending  = "PT1M"
      body     = "A certificate has fewer than ${var.monitor_critical_days} days left (dimension name). The monitor's digest says where it lives and what to do."
    }
    renewal-failing = {
      severity = "ERROR"
      query    = "renewal_success[1d].groupBy(deployment).max() < 1"
      pending  = "PT1M"
      body     = "Every run of a certmgr renewer (dimension deployment) failed in the last day. Its result says why: fn-logs-certmgr, or the invocation log."
    }
    renewer-silent = {
      severity = "ERROR"
      # A whole day without a report, for an hour more (the longest pending OCI allows): a daily renewer that
      # missed a run, or could not even post its figures. It keeps firing for up to 3 days of silence.
      query   = "renewal_success[1d].groupBy(deployment).absent(72h)"
      pending = "PT1H"
      body    = "A certmgr renewer (dimension deployment) has reported no run for a day: check its schedule, and its invocation log for a run that could not start."
    }
  } : {}
}

resource "oci_monitoring_alarm" "this" {
  for_each = local.alarms

  compartment_id        = var.compartment_id
  metric_compartment_id = var.compartment_id
  namespace             = "certmgr"
  display_name          = "${var.name_prefix}-certmgr-${each.key}"
  query                 = each.value.query
  severity              = each.value.severity
  pending_duration      = each.value.pending
  body                  = each.value.body
  destinations          = [local.monitor_topic_id]
  is_enabled            = true
  message_format        = "ONS_OPTIMIZED"
  # One notification per stream: which certificate, which deployment.
  is_notifications_per_metric_dimension_enabled = true
  freeform_tags                                 = local.tags
}
