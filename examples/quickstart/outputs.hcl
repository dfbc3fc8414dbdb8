output "workspace_id" {
  value = fabric_workspace.main.id
}

output "endpoint_id" {
  value = fabric_endpoint.chat.id
}

output "model_id" {
  value = fabric_model.llama.id
}

output "chat_instance_id" {
  value = fabric_service_instance.chat.id
}

output "alaya_service_id" {
  value = alaya_expert_deployment.vllm.id
}

output "alaya_service_url" {
  value = alaya_expert_deployment.vllm.service_url
}
