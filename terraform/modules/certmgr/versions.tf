terraform {
  # optional() attributes with defaults and startswith() (1.3); preconditions on resources and outputs, whose
  # error messages name the sizes they refuse (1.2: hashicorp/terraform#30613).
  required_version = ">= 1.3.0"

  required_providers {
    oci = {
      source = "oracle/oci"
      # Resource Scheduler schedules that start an OCI Function need 6.37.0 or later.
      version = ">= 6.37.0"
      # Identity resources (dynamic groups, policies) are created in the tenancy's home region only
      # (docs.oracle.com/iaas/Content/Identity/Tasks/managingregions.htm): the caller passes a provider for it.
      configuration_aliases = [oci.home]
    }
  }
}
