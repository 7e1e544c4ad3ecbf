# Each function's environment (Fn passes a function's configuration as environment variables). Settings both
# modes read sit on the application; each function adds its own. Unset settings are left out, so certmgr
# applies its defaults and the console shows only what was chosen.

locals {
  acme_directories = {
    staging    = "https://acme-staging-v02.api.letsencrypt.org/directory"
    production = "https://acme-v02.api.letsencrypt.org/directory"
  }
  fallback_directory = var.acme_fallback_directory == null ? null : lookup(local.acme_directories, var.acme_fallback_directory, var.acme_fallback_directory)

  common_settings = {
    CERTMGR_COMPARTMENT_ID = var.compartment_id
    CERTMGR_VAULT_ID       = var.vault_id
    CERTMGR_VAULT_KEY_ID   = var.vault_key_id
    CERTMGR_METRICS        = var.enable_metrics ? "true" : null
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
      # The shared policies' prefix, so a refused call names the statement the fleet's policy has (isolated
      # entries' secret grants are their own: there certmgr names the entry's group).
      CERTMGR_FLEET_PREFIX = local.fleet && !local.isolated ? var.name_prefix : null
      # Every wait of a run ends 20 s before the function's timeout: time for the TXT clean-up and the result.
      CERTMGR_RUN_BUDGET = tostring(var.function_timeout_seconds - 20)
    }
  }
  monitor_settings = {
    CERTMGR_MODE = "monitor"
    # Its memory is the secret "<name_prefix>-monitor-state"; it scans certmgr's own certificate of the
    # single-certificate form ("<name_prefix>-certificate") and every load balancer of every compartment it
    # may list; monitor_load_balancer_ids adds load balancers outside them.
    CERTMGR_NAME_PREFIX                  = var.name_prefix
    CERTMGR_CERTIFICATE_NAME             = var.certificate_name # listed once, not also as the Vault copy
    CERTMGR_MONITOR_WARNING_DAYS         = tostring(var.monitor_warning_days)
    CERTMGR_MONITOR_CRITICAL_DAYS        = tostring(var.monitor_critical_days)
    CERTMGR_MONITOR_LB_IDS               = join(",", var.monitor_load_balancer_ids)
    CERTMGR_MONITOR_TOPIC_ID             = local.monitor_topic_id
    CERTMGR_MONITOR_LOG_ID               = local.monitor_log_id
    CERTMGR_MONITOR_LOG_GROUP_ID         = local.monitor_has_log ? local.monitor_log_group_id : null
    CERTMGR_MONITOR_SMTP_HOST            = var.monitor_smtp_host
    CERTMGR_MONITOR_EMAIL_FROM           = var.monitor_email_from
    CERTMGR_MONITOR_EMAIL_TO             = join(",", var.monitor_email_to)
    CERTMGR_MONITOR_ENDPOINTS            = join(",", var.monitor_endpoints)
    CERTMGR_MONITOR_SMTP_USERNAME_SECRET = var.monitor_smtp_username_secret_id
    CERTMGR_MONITOR_SMTP_PASSWORD_SECRET = var.monitor_smtp_password_secret_id
  }
  common_config  = { for k, v in local.common_settings : k => v if v != null && v != "" }
  renewer_config = { for prefix, settings in local.renewer_settings : prefix => { for k, v in settings : k => v if v != null && v != "" } }
  monitor_config = { for k, v in local.monitor_settings : k => v if v != null && v != "" }

  # Known at plan time, unlike the ids of resources still to be created.
  monitor_has_topic = var.create_monitor_topic || var.monitor_topic_id != null
  monitor_has_log   = var.monitor_log_id != null || var.enable_logging
  monitor_topic_id  = var.create_monitor_topic ? one(oci_ons_notification_topic.monitor[*].id) : var.monitor_topic_id
  monitor_log_id    = var.monitor_log_id != null ? var.monitor_log_id : one(oci_logging_log.monitor[*].id)
  smtp_secret_ids   = compact([var.monitor_smtp_username_secret_id, var.monitor_smtp_password_secret_id])

  # How much of OCI's 4 KB each function's configuration takes (limits.tf): the UTF-8 bytes of every key and
  # value. Terraform counts characters, so the bytes are read off their base64 form: 3 bytes for every 4
  # characters, less the padding. By function name.
  function_configs = merge(
    { for prefix, e in local.entries : e.function_name => local.renewer_config[prefix] },
    local.monitor_enabled ? { "certmgr-monitor" = local.monitor_config } : {},
  )
  config_base64 = { for name, config in local.function_configs : name => base64encode(join("", [for k, v in config : "${k}${v}"])) }
  config_bytes  = { for name, encoded in local.config_base64 : name => length(encoded) / 4 * 3 - length(regexall("=", encoded)) }
}
