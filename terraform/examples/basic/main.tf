# certmgr with its defaults: daily renewal against Let's Encrypt staging, a daily expiry monitor,
# invocation logs. Copy terraform.tfvars.example to terraform.tfvars and fill it in; the module is called
# "certificates", so `terraform output -module=certificates invoke_command` works as the seed guide says.

terraform {
  required_version = ">= 1.3.0"
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

# Dynamic groups and policies are created in the tenancy's home region, whatever region the functions run in.
provider "oci" {
  alias  = "home"
  region = coalesce(var.home_region, var.region)
}

module "certificates" {
  source = "../../modules/certmgr"
  providers = {
    oci      = oci
    oci.home = oci.home
  }

  enable_certificate_automation = var.enable_certificate_automation

  tenancy_ocid      = var.tenancy_ocid
  compartment_id    = var.compartment_id
  name_prefix       = var.name_prefix
  subnet_id         = var.subnet_id
  certmgr_image_url = var.certmgr_image_url

  domain_name              = var.domain_name
  dns_zone_id              = var.dns_zone_id
  acme_contact_email       = var.acme_contact_email
  acme_directory           = var.acme_directory
  certificate_renewal_days = var.certificate_renewal_days

  load_balancer_id = var.load_balancer_id
  vault_id         = var.vault_id
  vault_key_id     = var.vault_key_id

  function_memory_mb          = var.function_memory_mb
  function_timeout_seconds    = var.function_timeout_seconds
  create_dynamic_group        = var.create_dynamic_group
  create_policies             = var.create_dynamic_group # the seed's switch: "Create dynamic group and IAM policies"
  existing_dynamic_group_name = var.existing_dynamic_group_name

  create_monitor_topic = length(var.alert_emails) > 0
  monitor_topic_emails = var.alert_emails

  tags = var.tags
}
