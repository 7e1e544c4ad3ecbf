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
