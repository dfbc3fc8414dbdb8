provider "alaya" {}

data "alaya_expert_deployment" "chat" {
  name      = "chat"
  namespace = "default"
  vks_id    = "vcacb50arkk4"
}

output "chat_url" {
  value = data.alaya_expert_deployment.chat.service_url
}
