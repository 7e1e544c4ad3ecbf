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

variable "monitor_email_from" {
  description = "Approved sender address (Email Delivery, in compartment_id, in the functions' region) of the alert e-mail; null for no e-mail. Sent through Email Delivery's API with the function's identity, unless the SMTP secrets below are set."
  type        = string
  default     = null
}

variable "monitor_email_to" {
  description = "Recipients of the alert e-mail."
  type        = list(string)
  default     = []
}

variable "monitor_smtp_username_secret_id" {
  description = "OCID of the Vault secret holding the SMTP user name: e-mail then goes through SMTP (with the password secret), not the API."
  type        = string
  default     = null
}

variable "monitor_smtp_password_secret_id" {
  description = "OCID of the Vault secret holding the SMTP password."
  type        = string
  default     = null
}

variable "monitor_log_id" {
  description = "Existing custom log in compartment_id for the monitor's findings, instead of creating one (with monitor_log_group_id)."
  type        = string
  default     = null
}

variable "monitor_log_group_id" {
  description = "The log group of monitor_log_id: the monitor may write to that group's logs only."
  type        = string
  default     = null
}

# ---------------------------------------------------------------------------------------------------------
# Logs
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


variable "monitor_endpoints" {
  description = "host:port of TLS endpoints whose served certificate the monitor checks by a handshake."
  type        = list(string)
  default     = []
  validation {
    condition     = alltrue([for e in var.monitor_endpoints : can(regex("^[^\\s:]+:[0-9]{1,5}$|^\\[[0-9a-fA-F:]+\\]:[0-9]{1,5}$", e))])
    error_message = "monitor_endpoints must hold host:port items (an IPv6 address in brackets)."
  }
}

variable "enable_metrics" {
  description = "Every run posts its figures to OCI Monitoring (namespace certmgr, in compartment_id): days_to_expiry and renewal_success, which the Alarms below watch."
  type        = bool
  default     = true
}

variable "create_alarms" {
  description = "Alarms on the metrics, notifying the monitor's topic: a certificate under monitor_critical_days, a renewer whose runs of the last day all failed, a renewer that has not reported for a day (it expects renew_recurrence to run it at least daily). Needs enable_metrics and a topic (create_monitor_topic or monitor_topic_id)."
  type        = bool
  default     = true
}
