# Many certificates in one module call: a renewer function per entry of `certificates`, each with the secret
# prefix "<name_prefix>-<key>" (here tmi-api, tmi-www); the renewers share one dynamic group, one set of
# policies, and a schedule per 25. `terraform output usage` shows what the fleet takes of OCI's limits.

terraform {
  required_version = ">= 1.3.0"
  required_providers {
    oci = {
      source  = "oracle/oci"
      version = ">= 6.37.0"
    }
  }
}

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

  enable_certificate_automation = true

  tenancy_ocid      = var.tenancy_ocid
  compartment_id    = var.compartment_id
  subnet_id         = var.subnet_id
  certmgr_image_url = var.certmgr_image_url

  acme_contact_email = var.acme_contact_email
  vault_id           = var.vault_id
  vault_key_id       = var.vault_key_id

  certificates = var.certificates
}

output "invoke_commands" {
  value = module.certificates.invoke_commands
}

output "usage" {
  value = module.certificates.usage
}
