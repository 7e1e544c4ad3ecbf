output "function_ids" {
  value = module.certificates.function_ids
}

output "schedule_ids" {
  value = module.certificates.schedule_ids
}

output "invoke_command" {
  description = "Run the renewer now."
  value       = module.certificates.invoke_command
}

output "policy_statements" {
  description = "The IAM statements, by policy: to apply at the tenancy root when create_dynamic_group (and so create_policies) is false."
  value       = module.certificates.policy_statements
}
