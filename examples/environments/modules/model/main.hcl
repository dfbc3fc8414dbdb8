# A model with one version, in an existing workspace.

variable "workspace_id" {
  type        = string
  description = "The workspace to create the model in."
}

variable "name" {
  type        = string
  description = "The base model, such as llama3-8b."
}

resource "fabric_model" "this" {
  workspace_id = var.workspace_id
  name         = var.name
  type         = "LLM_MODEL"
  description  = "${var.name} for serving"
  version {
    name = "v1"
    config {
      llm_model_config {
        base_model_type = var.name
        model_path      = "obs://models/${var.name}"
      }
    }
  }
}

output "id" {
  value = fabric_model.this.id
}
