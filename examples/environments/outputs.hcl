output "workspace_ids" {
  description = "The workspace of each environment."
  value       = { for name, env in module.env : name => env.workspace_id }
}

output "service_instances" {
  description = "The service instance of each environment."
  value       = { for name, env in module.env : name => env.instance_id }
}
