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
  description = "Compartment of the DNS zone (of every entry's zone, in a fleet: a common parent will do), if not compartment_id."
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
  description = "Compartment of the Load Balancer (of every entry's, in a fleet: a common parent will do), if not compartment_id. Load Balancer policies cannot name one LB, so a compartment of its own keeps the grant small."
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
    A fleet in one call: one renewer function "certmgr-<key>" per entry, with the secret prefix
    "<name_prefix>-<key>"; the renewers share one dynamic group, one set of policies and a schedule per 25
    (see iam.tf and limits.tf). Entries on one load balancer need listeners of their own: an entry without
    listeners takes every HTTPS listener of its load balancer. Empty: the one certificate of domain_name /
    domain_names, dns_zone_id and load_balancer_id, with the prefix name_prefix.
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
    # Letters and digits only: with "-" in a key, one entry's prefix could begin another's. "monitor" would
    # name its function certmgr-monitor, the monitor's name.
    condition     = alltrue([for k in keys(var.certificates) : can(regex("^[a-z][a-z0-9]{0,11}$", k)) && k != "monitor"])
    error_message = "certificates keys must be 1-12 lowercase letters or digits, starting with a letter, and not \"monitor\"."
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

