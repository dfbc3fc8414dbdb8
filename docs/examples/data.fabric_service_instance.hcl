provider "fabric" {
  region = "cn-southwest-2"
}

data "fabric_workspace" "shared" {
  name = "llm-shared"
}

data "fabric_service_instance" "chat" {
  workspace_id = data.fabric_workspace.shared.id
  name         = "chat"
}

output "chat_id" {
  value = data.fabric_service_instance.chat.id
}
