# ---------------------------------------------------------------------------------------------------------
# The switch, as in the seed guide: nothing is created until it is true.
# ---------------------------------------------------------------------------------------------------------

variable "enable_certificate_automation" {
  description = "Create certmgr (functions, schedules, dynamic groups, policies, logs). false creates nothing."
  type        = bool
  default     = false
}

# ---------------------------------------------------------------------------------------------------------
# Where certmgr runs
# ---------------------------------------------------------------------------------------------------------

variable "tenancy_ocid" {
  description = "Tenancy OCID: dynamic groups and policies live at the tenancy root."
  type        = string
  validation {
    condition     = startswith(var.tenancy_ocid, "ocid1.tenancy.")
    error_message = "tenancy_ocid must be a tenancy OCID (ocid1.tenancy....)."
  }
}

variable "compartment_id" {
  description = "Compartment for the functions, schedules, topic and logs, and for the Vault secrets certmgr creates."
  type        = string
  validation {
    condition     = can(regex("^ocid1\\.(compartment|tenancy)\\.", var.compartment_id))
    error_message = "compartment_id must be a compartment OCID (ocid1.compartment....)."
  }
}

variable "name_prefix" {
  description = "Prefix for resource names and for the Vault secrets certmgr keeps ({prefix}-certificate, ...); certmgr's own default."
  type        = string
  default     = "tmi"
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,24}$", var.name_prefix))
    error_message = "name_prefix must be 1-25 lowercase letters, digits or '-', starting with a letter."
  }
}

variable "subnet_id" {
  description = "Subnet for the Function Application; it needs egress to the ACME server and the OCI APIs."
  type        = string
  validation {
    condition     = startswith(var.subnet_id, "ocid1.subnet.")
    error_message = "subnet_id must be a subnet OCID (ocid1.subnet....)."
  }
}

variable "certmgr_image_url" {
  description = "certmgr image in OCIR, same region as the functions (e.g. us-ashburn-1.ocir.io/<namespace>/certmgr:0.1.0)."
  type        = string
  validation {
    condition     = can(regex("^[^\\s:/]+(:[0-9]+)?/[^\\s]+[:@][^\\s/]+$", var.certmgr_image_url))
    error_message = "certmgr_image_url must be a registry path with a tag or digest, e.g. iad.ocir.io/ns/certmgr:0.1.0."
  }
}

variable "certmgr_image_digest" {
  description = "The image's digest (sha256:...), so a re-pushed tag is deployed: Terraform sees no change in a tag alone."
  type        = string
  default     = null
  validation {
    condition     = var.certmgr_image_digest == null || can(regex("^sha256:[0-9a-f]{64}$", var.certmgr_image_digest))
    error_message = "certmgr_image_digest must be sha256: followed by 64 hex digits, as `docker inspect` or OCIR shows it."
  }
}

variable "application_shape" {
  description = "The functions' architecture: GENERIC_X86, GENERIC_ARM or GENERIC_X86_ARM; the image must contain it."
  type        = string
  default     = "GENERIC_X86"
  validation {
    condition     = contains(["GENERIC_X86", "GENERIC_ARM", "GENERIC_X86_ARM"], var.application_shape)
    error_message = "application_shape must be GENERIC_X86, GENERIC_ARM or GENERIC_X86_ARM."
  }
}

variable "function_memory_mb" {
  description = "Memory of each function in MB."
  type        = number
  default     = 256
  validation {
    condition     = contains([128, 256, 512, 1024], var.function_memory_mb)
    error_message = "function_memory_mb must be 128, 256, 512 or 1024."
  }
}

variable "function_timeout_seconds" {
  description = "Function timeout. A renewal with DNS propagation waits needs up to about 4 minutes."
  type        = number
  default     = 300
  validation {
    # 300 s is the most OCI allows for a synchronous invocation (a manual run; schedules invoke detached).
    condition     = var.function_timeout_seconds >= 30 && var.function_timeout_seconds <= 300 && floor(var.function_timeout_seconds) == var.function_timeout_seconds
    error_message = "function_timeout_seconds must be a whole number from 30 to 300."
  }
}

variable "tags" {
  description = "Freeform tags for every resource."
  type        = map(string)
  default     = {}
}
