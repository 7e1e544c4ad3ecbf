# certmgr on OCI Functions: one image, two functions.
#   renewer  (CERTMGR_MODE=renew)    renews through ACME DNS-01, stores in Vault, deploys to the LB.
#   monitor  (CERTMGR_MODE=monitor)  reports expiring certificates; read-only except for its alerts.
# Each runs daily from Resource Scheduler and has its own dynamic group, so the monitor never gets the
# renewer's write permissions.

locals {
  acme_directories = {
    staging    = "https://acme-staging-v02.api.letsencrypt.org/directory"
    production = "https://acme-v02.api.letsencrypt.org/directory"
  }

  tags = merge({ "app" = "certmgr" }, var.tags)

  dns_zone_compartment_id = coalesce(var.dns_zone_compartment_id, var.compartment_id)
  vault_compartment_id    = coalesce(var.vault_compartment_id, var.compartment_id)
  lb_compartment_id       = coalesce(var.load_balancer_compartment_id, var.compartment_id)
  # Policy location of what the monitor may read.
  monitor_scope = var.monitor_compartment_id == null ? "tenancy" : "compartment id ${var.monitor_compartment_id}"

  # Environment of the functions (Fn passes config as environment variables). Settings both modes read
  # sit on the application; each function adds its own. Unset settings are left out, so certmgr applies
  # its defaults and the console shows only what was chosen.
  common_settings = {
    CERTMGR_COMPARTMENT_ID = var.compartment_id
    CERTMGR_NAME_PREFIX    = var.name_prefix
  }
  renewer_settings = {
    CERTMGR_MODE           = "renew"
    CERTMGR_DOMAIN         = join(",", var.domain_names)
    CERTMGR_DNS_ZONE_ID    = var.dns_zone_id
    CERTMGR_ACME_EMAIL     = var.acme_contact_email
    CERTMGR_ACME_DIRECTORY = lookup(local.acme_directories, var.acme_directory, var.acme_directory)
    CERTMGR_ACME_PROFILE   = var.acme_profile
    CERTMGR_RENEWAL_DAYS   = tostring(var.renewal_days)
    CERTMGR_KEY_TYPE       = var.key_type
    CERTMGR_LB_ID          = var.load_balancer_id
    CERTMGR_LB_LISTENERS   = join(",", var.lb_listener_names)
    CERTMGR_VAULT_ID       = var.vault_id
    CERTMGR_VAULT_KEY_ID   = var.vault_key_id
    # Always set: certmgr's own default (300 s) would use up the whole function timeout.
    CERTMGR_PROPAGATION_TIMEOUT = tostring(var.dns_propagation_timeout_seconds)
  }
  monitor_settings = {
    CERTMGR_MODE                         = "monitor"
    CERTMGR_MONITOR_WARNING_DAYS         = tostring(var.monitor_warning_days)
    CERTMGR_MONITOR_CRITICAL_DAYS        = tostring(var.monitor_critical_days)
    CERTMGR_MONITOR_LB_IDS               = join(",", distinct(concat([var.load_balancer_id], var.monitor_load_balancer_ids)))
    CERTMGR_MONITOR_TOPIC_ID             = local.monitor_topic_id
    CERTMGR_MONITOR_LOG_ID               = local.monitor_log_id
    CERTMGR_MONITOR_SMTP_HOST            = var.monitor_smtp_host
    CERTMGR_MONITOR_SMTP_FROM            = var.monitor_smtp_from
    CERTMGR_MONITOR_SMTP_TO              = join(",", var.monitor_smtp_to)
    CERTMGR_MONITOR_SMTP_USERNAME_SECRET = var.monitor_smtp_username_secret_id
    CERTMGR_MONITOR_SMTP_PASSWORD_SECRET = var.monitor_smtp_password_secret_id
  }
  common_config  = { for k, v in local.common_settings : k => v if v != null && v != "" }
  renewer_config = { for k, v in local.renewer_settings : k => v if v != null && v != "" }
  monitor_config = { for k, v in local.monitor_settings : k => v if v != null && v != "" }

  # Known at plan time, unlike the ids of resources still to be created.
  monitor_has_topic = var.create_monitor_topic || var.monitor_topic_id != null
  monitor_has_log   = var.monitor_log_id != null || var.enable_logging
  monitor_topic_id  = var.create_monitor_topic ? one(oci_ons_notification_topic.monitor[*].id) : var.monitor_topic_id
  monitor_log_id    = var.monitor_log_id != null ? var.monitor_log_id : one(oci_logging_log.monitor[*].id)
  smtp_secret_ids   = compact([var.monitor_smtp_username_secret_id, var.monitor_smtp_password_secret_id])

  # The deployed functions by mode; each gets a schedule.
  functions = {
    renew   = { enabled = true, function_id = oci_functions_function.renewer.id, recurrence = var.renew_recurrence }
    monitor = { enabled = var.enable_monitor, function_id = one(oci_functions_function.monitor[*].id), recurrence = var.monitor_recurrence }
  }
  schedules = { for mode, f in local.functions : mode => f if f.enabled }
}

# ---------------------------------------------------------------------------------------------------------
# Functions
# ---------------------------------------------------------------------------------------------------------

resource "oci_functions_application" "this" {
  compartment_id = var.compartment_id
  display_name   = "${var.name_prefix}-certmgr"
  subnet_ids     = [var.subnet_id]
  config         = local.common_config
  freeform_tags  = local.tags
}

resource "oci_functions_function" "renewer" {
  application_id = oci_functions_application.this.id
  display_name   = "${var.name_prefix}-certmgr-renew"
  image          = var.image
  memory_in_mbs  = var.function_memory_mb
  # A renewal waits for DNS propagation, ACME validation and LB work requests: up to ~4 minutes.
  timeout_in_seconds = var.function_timeout_seconds
  config             = local.renewer_config
  freeform_tags      = local.tags

  lifecycle {
    precondition {
      condition     = var.dns_propagation_timeout_seconds + 60 <= var.function_timeout_seconds
      error_message = "dns_propagation_timeout_seconds must leave at least 60 s of function_timeout_seconds for ACME and the LB."
    }
  }
}

resource "oci_functions_function" "monitor" {
  count = var.enable_monitor ? 1 : 0

  application_id     = oci_functions_application.this.id
  display_name       = "${var.name_prefix}-certmgr-monitor"
  image              = var.image
  memory_in_mbs      = var.function_memory_mb
  timeout_in_seconds = var.function_timeout_seconds
  config             = local.monitor_config
  freeform_tags      = local.tags

  lifecycle {
    precondition {
      condition     = var.monitor_critical_days < var.monitor_warning_days
      error_message = "monitor_critical_days must be below monitor_warning_days."
    }
    precondition {
      condition     = var.monitor_smtp_host == null || (var.monitor_smtp_from != null && length(var.monitor_smtp_to) > 0 && length(local.smtp_secret_ids) == 2)
      error_message = "E-mail alerts need monitor_smtp_from, monitor_smtp_to and both SMTP credential secrets."
    }
    precondition {
      condition     = !(var.create_monitor_topic && var.monitor_topic_id != null)
      error_message = "Set create_monitor_topic or monitor_topic_id, not both."
    }
  }
}

# ---------------------------------------------------------------------------------------------------------
# Daily runs. A scheduled function is started as a detached invocation; the schedule's own principal
# needs the permission to invoke it (policy "scheduler" below).
# ---------------------------------------------------------------------------------------------------------

resource "oci_resource_scheduler_schedule" "this" {
  for_each = local.schedules

  action             = "START_RESOURCE"
  compartment_id     = var.compartment_id
  display_name       = "${var.name_prefix}-certmgr-${each.key}"
  description        = "Runs certmgr (${each.key})"
  recurrence_type    = var.schedule_recurrence_type
  recurrence_details = each.value.recurrence
  time_starts        = var.schedule_time_starts
  freeform_tags      = local.tags

  resources {
    id = each.value.function_id
  }
}

# ---------------------------------------------------------------------------------------------------------
# Alerts and logs
# ---------------------------------------------------------------------------------------------------------

resource "oci_ons_notification_topic" "monitor" {
  count = var.enable_monitor && var.create_monitor_topic ? 1 : 0

  compartment_id = var.compartment_id
  name           = "${var.name_prefix}-certmgr-expiry"
  description    = "Certificates close to expiry, from the certmgr monitor"
  freeform_tags  = local.tags
}

resource "oci_ons_subscription" "monitor_email" {
  for_each = var.enable_monitor && var.create_monitor_topic ? toset(var.monitor_topic_emails) : toset([])

  compartment_id = var.compartment_id
  topic_id       = oci_ons_notification_topic.monitor[0].id
  protocol       = "EMAIL"
  endpoint       = each.value
  freeform_tags  = local.tags
}

resource "oci_logging_log_group" "this" {
  count = var.enable_logging ? 1 : 0

  compartment_id = var.compartment_id
  display_name   = "${var.name_prefix}-certmgr"
  freeform_tags  = local.tags
}

# What the functions print: the only place a scheduled (detached) run's output can be read.
resource "oci_logging_log" "invocations" {
  count = var.enable_logging ? 1 : 0

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
      resource    = oci_functions_application.this.id
      service     = "functions"
      source_type = "OCISERVICE"
    }
  }
}

resource "oci_logging_log" "monitor" {
  count = var.enable_logging && var.enable_monitor && var.monitor_log_id == null ? 1 : 0

  display_name       = "${var.name_prefix}-certmgr-expiry"
  log_group_id       = oci_logging_log_group.this[0].id
  log_type           = "CUSTOM"
  is_enabled         = true
  retention_duration = var.log_retention_days
  freeform_tags      = local.tags
}
