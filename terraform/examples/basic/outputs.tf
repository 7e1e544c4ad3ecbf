output "function_ids" {
  value = module.certmgr.function_ids
}

output "schedule_ids" {
  value = module.certmgr.schedule_ids
}

output "invoke_command" {
  description = "Run the renewer now."
  value       = module.certmgr.invoke_command
}
