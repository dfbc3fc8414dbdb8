# One environment's inference stack: workspace → endpoint + model → service instance.

variable "name" {
  type        = string
  description = "The environment's name, used in every object's name."
  validation {
    condition     = length(var.name) <= 16
    error_message = "an environment name has at most 16 characters"
  }
}

variable "max_units" {
  type        = number
  default     = 1
  description = "The most compute units the endpoint may scale to."
}

variable "model" {
  type        = string
  description = "The base model to serve."
}

locals {
  prefix = "llm-${var.name}"
}

resource "fabric_workspace" "this" {
  name        = local.prefix
  description = "inference for ${var.name}"
}

resource "fabric_endpoint" "chat" {
  workspace_id = fabric_workspace.this.id
  name         = "${local.prefix}-chat"
  type         = "inference"
  reserved_resource {
    mu {
      spec_code = "mu.${var.model}"
      min       = 0
      max       = var.max_units
    }
  }
}

module "model" {
  source       = "../model"
  workspace_id = fabric_workspace.this.id
  name         = var.model
}

resource "fabric_service_instance" "chat" {
  workspace_id = fabric_workspace.this.id
  name         = "${local.prefix}-chat"
  endpoint_id  = fabric_endpoint.chat.id
  description  = "chat service for ${var.name}"
  source {
    id = module.model.id
  }
}

output "workspace_id" {
  value = fabric_workspace.this.id
}

output "endpoint_id" {
  value = fabric_endpoint.chat.id
}

output "instance_id" {
  value = fabric_service_instance.chat.id
}
