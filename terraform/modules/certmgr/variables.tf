# ---------------------------------------------------------------------------------------------------------
# The switch, as in the seed guide: nothing is created until it is true.
# ---------------------------------------------------------------------------------------------------------

variable "enable_certificate_automation" {
  description = "Create certmgr (functions, schedules, dynamic groups, policies, logs). false creates nothing."
  type        = bool
  default     = false
}

# ---------------------------------------------------------------------------------------------------------
# Where certmgr runs
# ---------------------------------------------------------------------------------------------------------

variable "tenancy_ocid" {
  description = "Tenancy OCID: dynamic groups and policies live at the tenancy root."
  type        = string
  validation {
    condition     = startswith(var.tenancy_ocid, "ocid1.tenancy.")
    error_message = "tenancy_ocid must be a tenancy OCID (ocid1.tenancy....)."
  }
}

variable "compartment_id" {
  description = "Compartment for the functions, schedules, topic and logs, and for the Vault secrets certmgr creates."
  type        = string
  validation {
    condition     = can(regex("^ocid1\\.(compartment|tenancy)\\.", var.compartment_id))
    error_message = "compartment_id must be a compartment OCID (ocid1.compartment....)."
  }
}

variable "name_prefix" {
  description = "Prefix for resource names and for the Vault secrets certmgr keeps ({prefix}-certificate, ...); certmgr's own default."
  type        = string
  default     = "tmi"
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,24}$", var.name_prefix))
    error_message = "name_prefix must be 1-25 lowercase letters, digits or '-', starting with a letter."
  }
}

variable "subnet_id" {
  description = "Subnet for the Function Application; it needs egress to the ACME server and the OCI APIs."
  type        = string
  validation {
    condition     = startswith(var.subnet_id, "ocid1.subnet.")
    error_message = "subnet_id must be a subnet OCID (ocid1.subnet....)."
  }
}

variable "certmgr_image_url" {
  description = "certmgr image in OCIR, same region as the functions (e.g. us-ashburn-1.ocir.io/<namespace>/certmgr:0.1.0)."
  type        = string
  validation {
    condition     = can(regex("^[^\\s:/]+(:[0-9]+)?/[^\\s]+[:@][^\\s/]+$", var.certmgr_image_url))
    error_message = "certmgr_image_url must be a registry path with a tag or digest, e.g. iad.ocir.io/ns/certmgr:0.1.0."
  }
}

variable "certmgr_image_digest" {
  description = "The image's digest (sha256:...), so a re-pushed tag is deployed: Terraform sees no change in a tag alone."
  type        = string
  default     = null
  validation {
    condition     = var.certmgr_image_digest == null || can(regex("^sha256:[0-9a-f]{64}$", var.certmgr_image_digest))
    error_message = "certmgr_image_digest must be sha256: followed by 64 hex digits, as `docker inspect` or OCIR shows it."
  }
}

variable "application_shape" {
  description = "The functions' architecture: GENERIC_X86, GENERIC_ARM or GENERIC_X86_ARM; the image must contain it."
  type        = string
  default     = "GENERIC_X86"
  validation {
    condition     = contains(["GENERIC_X86", "GENERIC_ARM", "GENERIC_X86_ARM"], var.application_shape)
    error_message = "application_shape must be GENERIC_X86, GENERIC_ARM or GENERIC_X86_ARM."
  }
}

variable "function_memory_mb" {
  description = "Memory of each function in MB."
  type        = number
  default     = 256
  validation {
    condition     = contains([128, 256, 512, 1024], var.function_memory_mb)
    error_message = "function_memory_mb must be 128, 256, 512 or 1024."
  }
}

variable "function_timeout_seconds" {
  description = "Function timeout. A renewal with DNS propagation waits needs up to about 4 minutes."
  type        = number
  default     = 300
  validation {
    # 300 s is the most OCI allows for a synchronous invoke (`oci fn function invoke`).
    condition     = var.function_timeout_seconds >= 30 && var.function_timeout_seconds <= 300 && floor(var.function_timeout_seconds) == var.function_timeout_seconds
    error_message = "function_timeout_seconds must be a whole number from 30 to 300."
  }
}

# ---------------------------------------------------------------------------------------------------------
# What the renewer manages
# ---------------------------------------------------------------------------------------------------------

variable "domain_name" {
  description = "The certificate's name (the seed's single name). Set this or domain_names, not both; or use certificates."
  type        = string
  default     = null
  validation {
    condition     = var.domain_name == null || can(regex("^(\\*\\.)?([a-z0-9]([a-z0-9-]*[a-z0-9])?\\.)+[a-z]{2,63}$", coalesce(var.domain_name, "x.example")))
    error_message = "domain_name must be a lowercase DNS name (optionally *.name)."
  }
}

variable "domain_names" {
  description = "Several names on one certificate, all in the DNS zone below (apex + wildcard is fine). Set this or domain_name, not both."
  type        = list(string)
  default     = []
  validation {
    condition     = alltrue([for d in var.domain_names : can(regex("^(\\*\\.)?([a-z0-9]([a-z0-9-]*[a-z0-9])?\\.)+[a-z]{2,63}$", d))])
    error_message = "domain_names must hold lowercase DNS names (optionally *.name)."
  }
}

variable "dns_zone_id" {
  description = "OCID of the OCI DNS zone holding the names; the renewer may change records in this zone only. Required unless certificates is set."
  type        = string
  default     = null
  validation {
    condition     = var.dns_zone_id == null || startswith(coalesce(var.dns_zone_id, "ocid1.dns-zone."), "ocid1.dns-zone.")
    error_message = "dns_zone_id must be a DNS zone OCID (ocid1.dns-zone....)."
  }
}

variable "dns_zone_compartment_id" {
  description = "Compartment of the DNS zone, if not compartment_id."
  type        = string
  default     = null
}

variable "acme_contact_email" {
  description = "Contact e-mail for the ACME account."
  type        = string
  validation {
    condition     = can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", var.acme_contact_email))
    error_message = "acme_contact_email must be an e-mail address."
  }
}

variable "acme_directory" {
  description = "Let's Encrypt 'staging' or 'production', or the https URL of another ACME directory."
  type        = string
  default     = "staging"
  validation {
    condition     = contains(["staging", "production"], var.acme_directory) || startswith(var.acme_directory, "https://")
    error_message = "acme_directory must be 'staging', 'production' or an https:// URL."
  }
}

variable "acme_fallback_directory" {
  description = "A second ACME CA, ordered from when the first fails and the certificate is past half its renewal window: 'staging', 'production' or an https URL; null for none. This module sets no external account binding: a CA that requires one is configured outside it."
  type        = string
  default     = null
  validation {
    condition     = var.acme_fallback_directory == null || contains(["staging", "production"], coalesce(var.acme_fallback_directory, "staging")) || startswith(coalesce(var.acme_fallback_directory, "staging"), "https://")
    error_message = "acme_fallback_directory must be 'staging', 'production' or an https:// URL."
  }
}

variable "certificate_renewal_days" {
  description = "Renew when the certificate has fewer days left than this."
  type        = number
  default     = 30
  validation {
    # Below 7 leaves no room for a failed day; above 60 renews a 90-day certificate every month for nothing.
    condition     = var.certificate_renewal_days >= 7 && var.certificate_renewal_days <= 60 && floor(var.certificate_renewal_days) == var.certificate_renewal_days
    error_message = "certificate_renewal_days must be a whole number from 7 to 60."
  }
}

variable "key_type" {
  description = "Certificate key type: ecdsa-p256, ecdsa-p384, rsa-2048, rsa-3072 or rsa-4096; null keeps certmgr's default (ecdsa-p256)."
  type        = string
  default     = null
  validation {
    condition     = var.key_type == null || contains(["ecdsa-p256", "ecdsa-p384", "rsa-2048", "rsa-3072", "rsa-4096"], coalesce(var.key_type, "ecdsa-p256"))
    error_message = "key_type must be one of ecdsa-p256, ecdsa-p384, rsa-2048, rsa-3072, rsa-4096."
  }
}

variable "acme_profile" {
  description = "ACME certificate profile the CA offers (Let's Encrypt: classic, tlsserver, shortlived); null for the CA's default."
  type        = string
  default     = null
  validation {
    condition     = var.acme_profile == null || can(regex("^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$", coalesce(var.acme_profile, "x")))
    error_message = "acme_profile must be a profile name (letters, digits, '.', '_', '-')."
  }
}

variable "dns_propagation_timeout_seconds" {
  description = "How long the renewer waits for the TXT records to reach the zone's nameservers."
  type        = number
  default     = 120
  validation {
    # The whole run must fit the function timeout, with time left for ACME validation and the LB.
    condition     = var.dns_propagation_timeout_seconds >= 10 && var.dns_propagation_timeout_seconds <= 240 && floor(var.dns_propagation_timeout_seconds) == var.dns_propagation_timeout_seconds
    error_message = "dns_propagation_timeout_seconds must be a whole number from 10 to 240."
  }
}

variable "load_balancer_id" {
  description = "OCID of the Load Balancer whose HTTPS listeners serve the certificate. Required unless certificates is set."
  type        = string
  default     = null
  validation {
    condition     = var.load_balancer_id == null || startswith(coalesce(var.load_balancer_id, "ocid1.loadbalancer."), "ocid1.loadbalancer.")
    error_message = "load_balancer_id must be a load balancer OCID (ocid1.loadbalancer....)."
  }
}

variable "load_balancer_compartment_id" {
  description = "Compartment of the Load Balancer, if not compartment_id. Load Balancer policies cannot name one LB, so a compartment of its own keeps the grant small."
  type        = string
  default     = null
}

variable "lb_listener_names" {
  description = "Listeners to update; empty means every listener with an SSL configuration."
  type        = list(string)
  default     = []
}

variable "certificate_name" {
  description = "Deploy through the OCI Certificates service: certmgr keeps a certificate of this exact name in compartment_id (a new version per renewal) and listeners reference it by OCID. Null: certmgr uploads LB certificate bundles."
  type        = string
  default     = null
  validation {
    condition     = var.certificate_name == null || can(regex("^[A-Za-z0-9._-]{1,240}$", var.certificate_name))
    error_message = "certificate_name must be 1-240 letters, digits, '.', '-' or '_'."
  }
}

variable "verify_endpoints" {
  description = "host:port of the HTTPS endpoints clients use; after each deploy certmgr checks in a TLS handshake that they serve the new certificate. Empty: no check."
  type        = list(string)
  default     = []
  validation {
    condition     = alltrue([for e in var.verify_endpoints : can(regex("^[^\\s:]+:[0-9]{1,5}$", e)) || can(regex("^\\[[0-9a-fA-F:]+\\]:[0-9]{1,5}$", e))])
    error_message = "verify_endpoints must hold host:port items, e.g. www.example.com:443."
  }
}

variable "certificates" {
  description = <<-EOT
    A fleet in one call: one renewer function, schedule, dynamic group and policy per entry, each with the
    secret prefix "<name_prefix>-<key>", so no entry can touch another's objects. Empty: the one certificate
    of domain_name / domain_names, dns_zone_id and load_balancer_id, with the prefix name_prefix.
  EOT
  type = map(object({
    domain_names     = list(string)
    dns_zone_id      = string
    load_balancer_id = string
    listeners        = optional(list(string), [])
    renewal_days     = optional(number)
    certificate_name = optional(string)
  }))
  default = {}
  validation {
    # Letters and digits only: with "-" in a key, one entry's prefix could begin another's.
    condition     = alltrue([for k in keys(var.certificates) : can(regex("^[a-z][a-z0-9]{0,11}$", k))])
    error_message = "certificates keys must be 1-12 lowercase letters or digits, starting with a letter."
  }
  validation {
    condition = alltrue([for c in values(var.certificates) : length(c.domain_names) > 0 && alltrue([
      for d in c.domain_names : can(regex("^(\\*\\.)?([a-z0-9]([a-z0-9-]*[a-z0-9])?\\.)+[a-z]{2,63}$", d))
    ])])
    error_message = "each certificates entry needs domain_names: lowercase DNS names (optionally *.name)."
  }
  validation {
    condition = alltrue([for c in values(var.certificates) :
      startswith(c.dns_zone_id, "ocid1.dns-zone.") && startswith(c.load_balancer_id, "ocid1.loadbalancer.") &&
    (c.renewal_days == null || try(c.renewal_days >= 7 && c.renewal_days <= 60, false))])
    error_message = "each certificates entry needs a DNS zone and a load balancer OCID, and renewal_days from 7 to 60 if set."
  }
  validation {
    # One owner per listener: two entries on one listener would take it from each other every run (certmgr
    # refuses to take a listener over from another deployment). No listeners: every HTTPS listener of the LB.
    condition = alltrue(flatten([for k, c in var.certificates : [for k2, c2 in var.certificates :
      k == k2 || c.load_balancer_id != c2.load_balancer_id ||
    (length(c.listeners) > 0 && length(c2.listeners) > 0 && length(setintersection(c.listeners, c2.listeners)) == 0)]]))
    error_message = "two certificates entries name the same load balancer listener (an entry without listeners takes every listener of its load balancer): give each entry listeners of its own."
  }
  validation {
    condition     = alltrue([for c in values(var.certificates) : c.certificate_name == null || can(regex("^[A-Za-z0-9._-]{1,240}$", c.certificate_name))])
    error_message = "a certificates entry's certificate_name must be 1-240 letters, digits, '.', '-' or '_'."
  }
}

variable "vault_id" {
  description = "OCID of the Vault that stores the certificate, its key and the ACME account key."
  type        = string
  validation {
    condition     = startswith(var.vault_id, "ocid1.vault.")
    error_message = "vault_id must be a Vault OCID (ocid1.vault....)."
  }
}

variable "vault_key_id" {
  description = "OCID of the Vault master encryption key for new secrets."
  type        = string
  validation {
    condition     = startswith(var.vault_key_id, "ocid1.key.")
    error_message = "vault_key_id must be a key OCID (ocid1.key....)."
  }
}

variable "vault_compartment_id" {
  description = "Compartment of the Vault and its key, if not compartment_id."
  type        = string
  default     = null
}

# ---------------------------------------------------------------------------------------------------------
# Schedules
# ---------------------------------------------------------------------------------------------------------

variable "schedule_recurrence_type" {
  description = "How renew_recurrence and monitor_recurrence are written: ICAL (RFC 5545) or CRON."
  type        = string
  default     = "ICAL"
  validation {
    condition     = contains(["ICAL", "CRON"], var.schedule_recurrence_type)
    error_message = "schedule_recurrence_type must be ICAL or CRON."
  }
}

variable "renew_recurrence" {
  description = "When the renewer runs. Daily is enough: it only renews inside the renewal window."
  type        = string
  default     = "FREQ=DAILY;INTERVAL=1"
}

variable "monitor_recurrence" {
  description = "When the expiry monitor runs."
  type        = string
  default     = "FREQ=DAILY;INTERVAL=1"
}

variable "schedule_time_starts" {
  description = "RFC 3339 time of the first scheduled run (sets the time of day of a daily schedule); null lets OCI choose."
  type        = string
  default     = null
}

# ---------------------------------------------------------------------------------------------------------
# Expiry monitor
# ---------------------------------------------------------------------------------------------------------

variable "enable_monitor" {
  description = "Deploy the expiry monitor function (read-only permissions) and its schedule."
  type        = bool
  default     = true
}

variable "monitor_compartment_id" {
  description = "Compartment (and its children) the monitor scans for certificates and load balancers; null scans the whole tenancy."
  type        = string
  default     = null
}

variable "monitor_warning_days" {
  description = "Warn when a certificate has fewer days left than this."
  type        = number
  default     = 30
  validation {
    condition     = var.monitor_warning_days >= 1 && var.monitor_warning_days <= 365 && floor(var.monitor_warning_days) == var.monitor_warning_days
    error_message = "monitor_warning_days must be a whole number from 1 to 365."
  }
}

variable "monitor_critical_days" {
  description = "Raise a critical alert when a certificate has fewer days left than this."
  type        = number
  default     = 7
  validation {
    condition     = var.monitor_critical_days >= 1 && var.monitor_critical_days <= 365 && floor(var.monitor_critical_days) == var.monitor_critical_days
    error_message = "monitor_critical_days must be a whole number from 1 to 365."
  }
}

variable "monitor_load_balancer_ids" {
  description = "Load balancers whose certificates the monitor checks, besides load_balancer_id."
  type        = list(string)
  default     = []
  validation {
    condition     = alltrue([for id in var.monitor_load_balancer_ids : startswith(id, "ocid1.loadbalancer.")])
    error_message = "monitor_load_balancer_ids must hold load balancer OCIDs."
  }
}

variable "create_monitor_topic" {
  description = "Create a Notifications topic for expiry alerts, with an e-mail subscription per monitor_topic_emails."
  type        = bool
  default     = false
}

variable "monitor_topic_emails" {
  description = "E-mail addresses subscribed to the created topic (each must confirm the subscription)."
  type        = list(string)
  default     = []
}

variable "monitor_topic_id" {
  description = "Existing Notifications topic in compartment_id for alerts, instead of creating one."
  type        = string
  default     = null
}

variable "monitor_smtp_host" {
  description = "SMTP host for alert e-mail (e.g. smtp.email.us-ashburn-1.oci.oraclecloud.com); null disables e-mail."
  type        = string
  default     = null
}

variable "monitor_smtp_from" {
  description = "Approved sender address for alert e-mail."
  type        = string
  default     = null
}

variable "monitor_smtp_to" {
  description = "Recipients of alert e-mail."
  type        = list(string)
  default     = []
}

variable "monitor_smtp_username_secret_id" {
  description = "OCID of the Vault secret holding the SMTP user name."
  type        = string
  default     = null
}

variable "monitor_smtp_password_secret_id" {
  description = "OCID of the Vault secret holding the SMTP password."
  type        = string
  default     = null
}

variable "monitor_log_id" {
  description = "Existing custom log in compartment_id for the monitor's findings, instead of creating one."
  type        = string
  default     = null
}

# ---------------------------------------------------------------------------------------------------------
# Logging, IAM, tags
# ---------------------------------------------------------------------------------------------------------

variable "enable_logging" {
  description = "Create a log group with the functions' invocation log (and the monitor's custom log)."
  type        = bool
  default     = true
}

variable "log_retention_days" {
  description = "Retention of the created logs."
  type        = number
  default     = 30
  validation {
    condition     = contains([30, 60, 90, 120, 150, 180], var.log_retention_days)
    error_message = "log_retention_days must be 30, 60, 90, 120, 150 or 180."
  }
}

variable "create_dynamic_group" {
  description = "Create one dynamic group per function. When false, name existing groups below."
  type        = bool
  default     = true
}

variable "existing_dynamic_group_name" {
  description = "Existing dynamic group of the renewer function (when create_dynamic_group is false; one certificate only)."
  type        = string
  default     = null
}

variable "existing_monitor_dynamic_group_name" {
  description = "Existing dynamic group of the monitor function (when create_dynamic_group is false); unset, the monitor uses existing_dynamic_group_name."
  type        = string
  default     = null
}

variable "create_policies" {
  description = "Create the IAM policies (needs rights at the tenancy root); when false, an administrator adds the statements from the policy_statements output."
  type        = bool
  default     = true
}

variable "tags" {
  description = "Freeform tags for every resource."
  type        = map(string)
  default     = {}
}
