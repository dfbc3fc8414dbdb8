provider "fabric" {
  region = "cn-southwest-2"
}

resource "fabric_workspace" "main" {
  name = "llm-prod"
}

# Reserves between 1 and 4 MU units of mu.llama3.8b for the instances served on it.
resource "fabric_endpoint" "chat" {
  workspace_id = fabric_workspace.main.id
  name         = "chat"
  type         = "inference"
  description  = "chat endpoint"
  reserved_resource {
    mu {
      spec_code = "mu.llama3.8b"
      min       = 1
      max       = 4
    }
  }
  timeouts {
    create = "20m"
  }
}
