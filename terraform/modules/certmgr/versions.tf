terraform {
  # Lifecycle preconditions (1.2+) carry the checks that span several variables.
  required_version = ">= 1.5.0"

  required_providers {
    oci = {
      source = "oracle/oci"
      # Resource Scheduler schedules that start an OCI Function need 6.37.0 or later.
      version = ">= 6.37.0"
    }
  }
}
