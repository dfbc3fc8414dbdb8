provider "fabric" {
  region = "cn-southwest-2"
}

data "fabric_workspace" "shared" {
  name = "llm-shared"
}

output "shared_workspace_id" {
  value = data.fabric_workspace.shared.id
}
