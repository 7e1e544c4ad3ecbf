# ---------------------------------------------------------------------------------------------------------
# IAM: one dynamic group for the renewers and one for the monitor, a fixed set of policies (iam.tf)
# ---------------------------------------------------------------------------------------------------------

variable "create_dynamic_group" {
  description = "Create the renewers' dynamic group and the monitor's (the seed's switch). When false, name existing groups below."
  type        = bool
  default     = true
}

variable "existing_dynamic_group_name" {
  description = "Existing dynamic group holding the renewer functions (and the monitor, unless existing_monitor_dynamic_group_name is set), when create_dynamic_group is false."
  type        = string
  default     = null
}

variable "existing_monitor_dynamic_group_name" {
  description = "Existing dynamic group of the monitor function (when create_dynamic_group is false); unset, the monitor uses existing_dynamic_group_name."
  type        = string
  default     = null
}

variable "create_policies" {
  description = "Create the IAM policies (needs rights at the tenancy root); when false, an administrator adds the statements from the policy_statements output."
  type        = bool
  default     = true
}

variable "isolate_entry_secrets" {
  description = <<-EOT
    A fleet shares one trust boundary: every renewer may use every secret named "<name_prefix>-*" in the vault.
    true confines each renewer to its own "<name_prefix>-<key>-*" secrets, at the cost of 3 policy statements
    per entry instead of 3 in all (OCI allows 500 statements from the root to any compartment, shared with
    the whole tenancy): about 150 entries at most. No effect on a single certificate, whose grants name its
    secrets exactly.
  EOT
  type        = bool
  default     = false
}
