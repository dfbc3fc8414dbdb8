provider "fabric" {
  region = "cn-southwest-2"
}

resource "fabric_workspace" "main" {
  name = "llm-prod"
}

resource "fabric_endpoint" "chat" {
  workspace_id = fabric_workspace.main.id
  name         = "chat"
  type         = "inference"
  reserved_resource {
    mu {
      spec_code = "mu.llama3.8b"
      min       = 0
      max       = 2
    }
  }
}

resource "fabric_model" "llama" {
  workspace_id = fabric_workspace.main.id
  name         = "llama3-8b"
  type         = "LLM_MODEL"
  version {
    name = "v1"
    config {
      llm_model_config {
        base_model_type = "llama3-8b"
        model_path      = "obs://models/llama3"
      }
    }
  }
}

# Serves the model on the endpoint.
resource "fabric_service_instance" "chat" {
  workspace_id = fabric_workspace.main.id
  name         = "chat-prod"
  endpoint_id  = fabric_endpoint.chat.id
  source {
    id = fabric_model.llama.id
  }
}
