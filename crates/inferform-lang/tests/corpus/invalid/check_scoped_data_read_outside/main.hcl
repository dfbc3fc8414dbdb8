provider "fabric" {
  region = "cn-southwest-2"
}

check "health" {
  data "fabric_workspace" "main" {
    name = "shared"
  }

  assert {
    condition     = data.fabric_workspace.main.id != ""
    error_message = "the shared workspace is missing"
  }
}

output "workspace_id" {
  value = data.fabric_workspace.main.id
}
