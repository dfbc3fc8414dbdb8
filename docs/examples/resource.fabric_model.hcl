provider "fabric" {
  region = "cn-southwest-2"
}

resource "fabric_workspace" "main" {
  name = "llm-prod"
}

resource "fabric_model" "llama" {
  workspace_id = fabric_workspace.main.id
  name         = "llama3-8b"
  type         = "LLM_MODEL"
  description  = "Llama 3 8B"
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
