variable "region" {
  description = "OCI region, e.g. us-ashburn-1."
  type        = string
}

variable "tenancy_ocid" {
  type = string
}

variable "compartment_id" {
  type = string
}

variable "subnet_id" {
  type = string
}

variable "image" {
  description = "certmgr image pushed with `fn build` / `fn push`."
  type        = string
}

variable "domain_names" {
  type = list(string)
}

variable "dns_zone_id" {
  type = string
}

variable "acme_contact_email" {
  type = string
}

variable "acme_directory" {
  description = "Start with staging; switch to production once a staging certificate is served."
  type        = string
  default     = "staging"
}

variable "load_balancer_id" {
  type = string
}

variable "vault_id" {
  type = string
}

variable "vault_key_id" {
  type = string
}

variable "alert_emails" {
  description = "Addresses that receive expiry alerts through a Notifications topic; empty for none."
  type        = list(string)
  default     = []
}
