variable "region" {
  type = string
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

variable "certmgr_image_url" {
  type = string
}

variable "acme_contact_email" {
  type = string
}

variable "vault_id" {
  type = string
}

variable "vault_key_id" {
  type = string
}

variable "certificates" {
  description = "One entry per certificate: its names, zone, load balancer and (optionally) listeners, renewal window, and the Certificates-service name to deploy as."
  type = map(object({
    domain_names     = list(string)
    dns_zone_id      = string
    load_balancer_id = string
    listeners        = optional(list(string), [])
    renewal_days     = optional(number)
    certificate_name = optional(string)
  }))
}

variable "home_region" {
  description = "The tenancy's home region, where identity resources are created (e.g. us-ashburn-1); leave it unset when it is region."
  type        = string
  default     = null
}
