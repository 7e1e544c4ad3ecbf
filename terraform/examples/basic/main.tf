# certmgr with its defaults: daily renewal against Let's Encrypt staging, a daily expiry monitor,
# invocation logs. Copy terraform.tfvars.example to terraform.tfvars and fill it in.

terraform {
  required_version = ">= 1.5.0"
  required_providers {
    oci = {
      source  = "oracle/oci"
      version = ">= 6.37.0"
    }
  }
}

# Credentials come from ~/.oci/config (profile DEFAULT) or the OCI_* environment variables.
provider "oci" {
  region = var.region
}

module "certmgr" {
  source = "../../modules/certmgr"

  tenancy_ocid   = var.tenancy_ocid
  compartment_id = var.compartment_id
  subnet_id      = var.subnet_id
  image          = var.image

  domain_names       = var.domain_names
  dns_zone_id        = var.dns_zone_id
  acme_contact_email = var.acme_contact_email
  acme_directory     = var.acme_directory

  load_balancer_id = var.load_balancer_id
  vault_id         = var.vault_id
  vault_key_id     = var.vault_key_id

  create_monitor_topic = length(var.alert_emails) > 0
  monitor_topic_emails = var.alert_emails

  tags = { "project" = "certmgr-example" }
}
