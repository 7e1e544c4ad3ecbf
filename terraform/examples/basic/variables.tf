# The seed guide's variables, with its types, defaults and ranges (the module checks the ranges).

variable "region" {
  description = "OCI region, e.g. us-ashburn-1."
  type        = string
}

variable "enable_certificate_automation" {
  description = "Enable the certificates module."
  type        = bool
  default     = false
}

variable "domain_name" {
  description = "Domain name for the TLS certificate."
  type        = string
}

variable "dns_zone_id" {
  description = "OCID of the OCI DNS zone."
  type        = string
}

variable "acme_contact_email" {
  description = "E-mail for the ACME account."
  type        = string
}

variable "acme_directory" {
  description = "ACME directory: staging or production. Start with staging; switch once a staging certificate is served."
  type        = string
  default     = "staging"
}

variable "certificate_renewal_days" {
  description = "Days before expiry to trigger renewal (7-60)."
  type        = number
  default     = 30
}

variable "certmgr_image_url" {
  description = "Container image URL for the function (pushed with `make fn-build-certmgr` / `fn push`)."
  type        = string
}

variable "compartment_id" {
  description = "OCI compartment OCID."
  type        = string
}

variable "tenancy_ocid" {
  description = "OCI tenancy OCID (for dynamic group creation)."
  type        = string
}

variable "name_prefix" {
  description = "Prefix for resource names."
  type        = string
  default     = "tmi"
}

variable "subnet_id" {
  description = "Subnet OCID for the Function Application."
  type        = string
}

variable "load_balancer_id" {
  description = "OCID of the OCI Load Balancer."
  type        = string
}

variable "vault_id" {
  description = "OCID of the OCI Vault."
  type        = string
}

variable "vault_key_id" {
  description = "OCID of the Vault encryption key."
  type        = string
}

variable "function_memory_mb" {
  description = "Function memory in MB (128, 256, 512, or 1024)."
  type        = number
  default     = 256
}

variable "function_timeout_seconds" {
  description = "Function timeout in seconds (30-300)."
  type        = number
  default     = 300
}

variable "create_dynamic_group" {
  description = "Create dynamic group and IAM policies."
  type        = bool
  default     = true
}

variable "existing_dynamic_group_name" {
  description = "Existing dynamic group name (if create_dynamic_group is false): it must match the renewer function certmgr and the monitor certmgr-monitor (e.g. every function of the compartment); the policy_statements output names it."
  type        = string
  default     = null
}

variable "tags" {
  description = "Freeform tags for all resources."
  type        = map(string)
  default     = {}
}

variable "alert_emails" {
  description = "Addresses that receive expiry alerts through a Notifications topic; empty for none."
  type        = list(string)
  default     = []
}

variable "home_region" {
  description = "The tenancy's home region, where identity resources are created (e.g. us-ashburn-1); leave it unset when it is region."
  type        = string
  default     = null
}
