# certmgr on OCI Functions: one image, one application, a renewer per certificate and one monitor.
#   renewer  (CERTMGR_MODE=renew)    renews through ACME DNS-01, stores in Vault, deploys to the LB.
#   monitor  (CERTMGR_MODE=monitor)  reports expiring certificates; read-only except for its alerts and
#                                    its memory secret.
# Each function runs daily from a Resource Scheduler schedule of its own (a schedule holds at most 25
# resources; one each never nears that) and has its own dynamic group, so no renewer can touch another's
# zone or secrets and the monitor never gets a renewer's write permissions. Nothing is created until
# enable_certificate_automation is true.

locals {
  acme_directories = {
    staging    = "https://acme-staging-v02.api.letsencrypt.org/directory"
    production = "https://acme-v02.api.letsencrypt.org/directory"
  }

  tags    = merge({ "app" = "certmgr" }, var.tags)
  enabled = var.enable_certificate_automation

  # The certificates, by secret prefix: the fleet map, or the one certificate of the single variables.
  single_domains = length(var.domain_names) > 0 ? var.domain_names : compact([var.domain_name])
  entries = !local.enabled ? {} : length(var.certificates) > 0 ? {
    for key, c in var.certificates : "${var.name_prefix}-${key}" => {
      function_name    = "certmgr-${key}"
      domain_names     = c.domain_names
      dns_zone_id      = c.dns_zone_id
      load_balancer_id = c.load_balancer_id
      listeners        = c.listeners
      renewal_days     = coalesce(c.renewal_days, var.certificate_renewal_days)
      certificate_name = c.certificate_name
    }
    } : {
    (var.name_prefix) = {
      function_name    = "certmgr" # what `fn deploy` names it too (func.yaml), so both paths meet
      domain_names     = local.single_domains
      dns_zone_id      = var.dns_zone_id
      load_balancer_id = var.load_balancer_id
      listeners        = var.lb_listener_names
      renewal_days     = var.certificate_renewal_days
      certificate_name = var.certificate_name
    }
  }
  fallback_directory = var.acme_fallback_directory == null ? null : lookup(local.acme_directories, var.acme_fallback_directory, var.acme_fallback_directory)
  # The exact secrets a renewer keeps (certmgr's Config.kept_secrets: a fallback CA's account key only with one).
  secret_roles      = concat(["certificate", "private-key", "chain", "acme-account-key", "lock"], local.fallback_directory == null ? [] : ["acme-fallback-account-key"])
  load_balancer_ids = distinct(concat([for e in local.entries : e.load_balancer_id], var.monitor_load_balancer_ids))

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
    CERTMGR_VAULT_ID       = var.vault_id
    CERTMGR_VAULT_KEY_ID   = var.vault_key_id
  }
  renewer_settings = {
    for prefix, e in local.entries : prefix => {
      CERTMGR_MODE                    = "renew"
      CERTMGR_NAME_PREFIX             = prefix
      CERTMGR_DOMAIN                  = join(",", e.domain_names)
      CERTMGR_DNS_ZONE_ID             = e.dns_zone_id
      CERTMGR_ACME_EMAIL              = var.acme_contact_email
      CERTMGR_ACME_DIRECTORY          = lookup(local.acme_directories, var.acme_directory, var.acme_directory)
      CERTMGR_ACME_PROFILE            = var.acme_profile
      CERTMGR_ACME_FALLBACK_DIRECTORY = local.fallback_directory
      CERTMGR_RENEWAL_DAYS            = tostring(e.renewal_days)
      CERTMGR_KEY_TYPE                = var.key_type
      CERTMGR_LB_ID                   = e.load_balancer_id
      CERTMGR_LB_LISTENERS            = join(",", e.listeners)
      CERTMGR_CERTIFICATE_NAME        = e.certificate_name
      CERTMGR_VERIFY_ENDPOINTS        = join(",", var.verify_endpoints)
      CERTMGR_PROPAGATION_TIMEOUT     = tostring(var.dns_propagation_timeout_seconds)
      # Every wait of a run ends 20 s before the function's timeout: time for the TXT clean-up and the result.
      CERTMGR_RUN_BUDGET = tostring(var.function_timeout_seconds - 20)
    }
  }
  monitor_settings = {
    CERTMGR_MODE = "monitor"
    # Its memory is the secret "<name_prefix>-monitor-state"; it scans certmgr's own certificate of the
    # single-certificate form ("<name_prefix>-certificate"), and every load balancer below.
    CERTMGR_NAME_PREFIX                  = var.name_prefix
    CERTMGR_CERTIFICATE_NAME             = var.certificate_name # listed once, not also as the Vault copy
    CERTMGR_MONITOR_WARNING_DAYS         = tostring(var.monitor_warning_days)
    CERTMGR_MONITOR_CRITICAL_DAYS        = tostring(var.monitor_critical_days)
    CERTMGR_MONITOR_LB_IDS               = join(",", local.load_balancer_ids)
    CERTMGR_MONITOR_TOPIC_ID             = local.monitor_topic_id
    CERTMGR_MONITOR_LOG_ID               = local.monitor_log_id
    CERTMGR_MONITOR_SMTP_HOST            = var.monitor_smtp_host
    CERTMGR_MONITOR_SMTP_FROM            = var.monitor_smtp_from
    CERTMGR_MONITOR_SMTP_TO              = join(",", var.monitor_smtp_to)
    CERTMGR_MONITOR_SMTP_USERNAME_SECRET = var.monitor_smtp_username_secret_id
    CERTMGR_MONITOR_SMTP_PASSWORD_SECRET = var.monitor_smtp_password_secret_id
  }
  common_config   = { for k, v in local.common_settings : k => v if v != null && v != "" }
  renewer_config  = { for prefix, settings in local.renewer_settings : prefix => { for k, v in settings : k => v if v != null && v != "" } }
  monitor_config  = { for k, v in local.monitor_settings : k => v if v != null && v != "" }
  monitor_enabled = local.enabled && var.enable_monitor

  # Known at plan time, unlike the ids of resources still to be created.
  monitor_has_topic = var.create_monitor_topic || var.monitor_topic_id != null
  monitor_has_log   = var.monitor_log_id != null || var.enable_logging
  monitor_topic_id  = var.create_monitor_topic ? one(oci_ons_notification_topic.monitor[*].id) : var.monitor_topic_id
  monitor_log_id    = var.monitor_log_id != null ? var.monitor_log_id : one(oci_logging_log.monitor[*].id)
  smtp_secret_ids   = compact([var.monitor_smtp_username_secret_id, var.monitor_smtp_password_secret_id])

  # The deployed functions (each renewer by its prefix, and "monitor"); each gets a schedule.
  schedules = merge(
    { for prefix, f in oci_functions_function.renewer : prefix => { function_id = f.id, recurrence = var.renew_recurrence, what = "renew" } },
    local.monitor_enabled ? { monitor = { function_id = oci_functions_function.monitor[0].id, recurrence = var.monitor_recurrence, what = "monitor" } } : {},
  )
}

# ---------------------------------------------------------------------------------------------------------
# Functions
# ---------------------------------------------------------------------------------------------------------

resource "oci_functions_application" "this" {
  count = local.enabled ? 1 : 0

  compartment_id = var.compartment_id
  display_name   = "${var.name_prefix}-certmgr" # FN_APP for the Makefile's fn-* targets
  subnet_ids     = [var.subnet_id]
  shape          = var.application_shape
  config         = local.common_config
  freeform_tags  = local.tags

  lifecycle {
    precondition {
      condition     = var.domain_name == null || length(var.domain_names) == 0
      error_message = "Set domain_name (one name) or domain_names (several), not both."
    }
    precondition {
      condition     = length(var.certificates) == 0 || (var.domain_name == null && length(var.domain_names) == 0 && var.dns_zone_id == null && var.load_balancer_id == null)
      error_message = "Set certificates (a fleet) or domain_name/domain_names, dns_zone_id and load_balancer_id (one certificate), not both."
    }
    precondition {
      condition     = length(var.certificates) > 0 || (length(local.single_domains) > 0 && var.dns_zone_id != null && var.load_balancer_id != null)
      error_message = "Set domain_name (or domain_names), dns_zone_id and load_balancer_id, or a certificates map."
    }
  }
}

resource "oci_functions_function" "renewer" {
  for_each = local.entries

  application_id = oci_functions_application.this[0].id
  display_name   = each.value.function_name
  image          = var.certmgr_image_url
  image_digest   = var.certmgr_image_digest
  memory_in_mbs  = var.function_memory_mb
  # A renewal waits for DNS propagation, ACME validation and LB work requests: up to ~4 minutes.
  timeout_in_seconds = var.function_timeout_seconds
  config             = local.renewer_config[each.key]
  freeform_tags      = local.tags

  lifecycle {
    precondition {
      condition     = var.dns_propagation_timeout_seconds + 60 <= var.function_timeout_seconds
      error_message = "dns_propagation_timeout_seconds must leave at least 60 s of function_timeout_seconds for ACME and the LB."
    }
    precondition {
      # CERTMGR_RUN_BUDGET is the timeout less 20 s, and certmgr refuses a budget under 100 s: what an order
      # needs (the shortest DNS wait and the reserve for validation, finalization, Vault and the LB).
      condition     = var.function_timeout_seconds - 20 >= 100
      error_message = "function_timeout_seconds must be at least 120 for the renewer: an order needs 100 s of its run budget (the timeout less 20 s)."
    }
  }
}

resource "oci_functions_function" "monitor" {
  count = local.monitor_enabled ? 1 : 0

  application_id     = oci_functions_application.this[0].id
  display_name       = "certmgr-monitor"
  image              = var.certmgr_image_url
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
  display_name       = "${each.key}-certmgr-${each.value.what}"
  description        = "Runs certmgr (${each.value.what}, ${each.key})"
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
