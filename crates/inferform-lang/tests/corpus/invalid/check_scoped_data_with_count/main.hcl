provider "fabric" {
  region = "cn-southwest-2"
}

check "health" {
  data "fabric_workspace" "main" {
    count = 2
    name  = "shared-${count.index}"
  }

  assert {
    condition     = length(data.fabric_workspace.main) == 2
    error_message = "a shared workspace is missing"
  }
}
