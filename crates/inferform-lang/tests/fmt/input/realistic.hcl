# A DataArts Fabric inference stack.

provider "fabric" {
    region = "cn-southwest-2" # credentials from HW_ACCESS_KEY / HW_SECRET_KEY
}

variable "env" {
type = string
default = "dev"
description = "Environment name, used in object names."
}

resource "fabric_workspace" "main" {
  name = "llm-${var.env}"
  description = "inference for ${var.env}"
}

resource "fabric_model" "llama" {
  count = var.enabled ? 1 : 0
  workspace_id = fabric_workspace.main.id
  name = "llama3-8b"
  type = "LLM_MODEL"
  version {
    name = "v1"
    config {
      llm_model_config {
        base_model_type = "llama3-8b"
        model_path = "obs://models/llama3"
      }
    }
  }
  depends_on = [fabric_workspace.main]
}

resource "alaya_expert_deployment" "vllm" {
  for_each = toset(["a","b"])
  name = "expert-${each.key}"
  served_name = [ "testvllm" ]
  head_config {
    image = "registry.example/test:vllm"
    cmd = ["sh", "-c", "test.sh"]
    labels = {}
    env = {
      VLLM_ALLOW_RUNTIME_LORA_UPDATING = "true"
      OTHER = "1"
    }
  }
}

output "chat_instance_id" {
  value = fabric_model.llama[0].id
  sensitive = false
}
