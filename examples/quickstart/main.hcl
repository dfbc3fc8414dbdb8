# A DataArts Fabric inference stack (workspace → endpoint + model → service instance) and an
# Alaya NeW expert deployment. Run it with no account against the embedded local cloud:
#
#   inferform -C examples/quickstart apply --local-cloud --auto-approve

provider "fabric" {
  region = "cn-southwest-2" # credentials from HW_ACCESS_KEY / HW_SECRET_KEY
}

provider "alaya" {} # credentials from ALAYA_ACCESS_KEY / ALAYA_SECRET_KEY

variable "env" {
  type        = string
  default     = "dev"
  description = "Environment name, used in object names."
}

resource "fabric_workspace" "main" {
  name        = "llm-${var.env}"
  description = "inference for ${var.env}"
}

resource "fabric_endpoint" "chat" {
  workspace_id = fabric_workspace.main.id
  name         = "chat"
  type         = "inference"
  description  = "chat endpoint"
  reserved_resource {
    mu {
      spec_code = "mu.llama3.8b"
      min       = 0
      max       = 1
    }
  }
}

resource "fabric_model" "llama" {
  workspace_id = fabric_workspace.main.id
  name         = "llama3-8b"
  type         = "LLM_MODEL"
  description  = "Llama 3 8B"
  version {
    name        = "v1"
    description = "first version"
    config {
      llm_model_config {
        base_model_type = "llama3-8b"
        model_path      = "obs://models/llama3"
      }
    }
  }
}

resource "fabric_service_instance" "chat" {
  workspace_id = fabric_workspace.main.id
  name         = "chat-${var.env}"
  endpoint_id  = fabric_endpoint.chat.id
  description  = "chat service"
  source {
    id = fabric_model.llama.id
  }
}
