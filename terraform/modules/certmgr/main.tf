# certmgr on OCI Functions: one image, one application, a renewer per certificate and one monitor.
#   renewer  (CERTMGR_MODE=renew)    renews through ACME DNS-01, stores in Vault, deploys to the LB.
#   monitor  (CERTMGR_MODE=monitor)  reports expiring certificates; read-only except for its alerts and
#                                    its memory secret.
# The renewers share one dynamic group and a fixed set of policies (iam.tf) and run from schedules of 25
# (schedules.tf), so a fleet of hundreds stays inside OCI's limits (limits.tf). Each function's environment
# is in settings.tf. Nothing is created until enable_certificate_automation is true.

locals {
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
  fleet           = length(var.certificates) > 0
  monitor_enabled = local.enabled && var.enable_monitor

  # Entries that would own the same listener, named together ("a and b"). Terraform cannot read a load
  # balancer's listeners at plan time, and an entry without listeners takes every HTTPS listener of its load
  # balancer ("*" below), so such an entry shares a listener with any other entry on that load balancer.
  listener_claims = flatten([for prefix, e in local.entries : [
    for listener in coalescelist(e.listeners, ["*"]) : { lb = e.load_balancer_id, listener = listener, entry = prefix }
  ]])
  listener_owners = { for c in local.listener_claims : "${c.lb} ${c.listener}" => c.entry... }
  lb_owners       = { for c in local.listener_claims : c.lb => c.entry... }
  listener_collisions = concat(
    [for owners in values(local.listener_owners) : join(" and ", distinct(owners)) if length(distinct(owners)) > 1],
    [for c in local.listener_claims : join(" and ", distinct(local.lb_owners[c.lb])) if c.listener == "*" && length(distinct(local.lb_owners[c.lb])) > 1],
  )

  dns_zone_compartment_id = coalesce(var.dns_zone_compartment_id, var.compartment_id)
  vault_compartment_id    = coalesce(var.vault_compartment_id, var.compartment_id)
  lb_compartment_id       = coalesce(var.load_balancer_compartment_id, var.compartment_id)
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
    precondition {
      # One owner per listener: two entries on one listener would take it from each other every run (certmgr
      # refuses to take over a listener that serves another deployment's certificate).
      condition     = length(local.listener_collisions) == 0
      error_message = "certificates entries ${join(", ", distinct(local.listener_collisions))} would own the same load balancer listener (an entry without listeners takes every listener of its load balancer): give each entry on a load balancer listeners of its own."
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
    precondition {
      condition     = local.config_bytes[each.value.function_name] <= local.limits.function_config_bytes
      error_message = "${each.value.function_name}'s configuration takes ${local.config_bytes[each.value.function_name]} bytes, and OCI allows a function ${local.limits.function_config_bytes} (every key and value, in UTF-8): CERTMGR_DOMAIN holds the certificate's ${length(each.value.domain_names)} names; split them between certificates (entries of a fleet)."
    }
  }
}

resource "oci_functions_function" "monitor" {
  count = local.monitor_enabled ? 1 : 0

  application_id     = oci_functions_application.this[0].id
  display_name       = "certmgr-monitor"
  image              = var.certmgr_image_url
  image_digest       = var.certmgr_image_digest
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
      # What certmgr refuses of its e-mail settings (certmgr/settings/monitor_variables.py), refused here at plan.
      condition     = (var.monitor_email_from == null) == (length(var.monitor_email_to) == 0) && (var.monitor_smtp_host == null || length(local.smtp_secret_ids) == 2) && length(local.smtp_secret_ids) != 1 && (length(local.smtp_secret_ids) == 0 || var.monitor_email_from != null)
      error_message = "E-mail alerts need monitor_email_from and monitor_email_to together; SMTP (monitor_smtp_host, the SMTP credential secrets) needs both secrets, and a sender and recipients to send to."
    }
    precondition {
      condition     = !(var.create_monitor_topic && var.monitor_topic_id != null)
      error_message = "Set create_monitor_topic or monitor_topic_id, not both."
    }
    precondition {
      # The monitor may write to its log's group only (iam.tf), so the module needs the group of a log it did not make.
      condition     = var.monitor_log_id == null || var.monitor_log_group_id != null
      error_message = "Set monitor_log_group_id, the log group of monitor_log_id."
    }
    precondition {
      condition     = local.config_bytes["certmgr-monitor"] <= local.limits.function_config_bytes
      error_message = "certmgr-monitor's configuration takes ${local.config_bytes["certmgr-monitor"]} bytes, and OCI allows a function ${local.limits.function_config_bytes} (every key and value, in UTF-8): CERTMGR_MONITOR_LB_IDS lists ${length(var.monitor_load_balancer_ids)} load balancers (monitor_load_balancer_ids): the monitor finds those of the compartments it may list by itself."
    }
  }
}
