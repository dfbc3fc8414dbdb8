# One environment: an endpoint and, through a nested module, its model.

variable "name" {
  type = string
  validation {
    condition     = length(var.name) <= 16
    error_message = "an environment name has at most 16 characters."
  }
}

variable "replicas" {
  type    = number
  default = 1
}

variable "model" {
  type    = string
  default = "llama3-8b"
}

locals {
  prefix = "llm-${var.name}"
}

resource "inferform_data" "endpoint" {
  input = "${local.prefix}-chat x${var.replicas}"
}

module "model" {
  source = "../model"
  prefix = local.prefix
  name   = var.model
}

output "endpoint" {
  value = inferform_data.endpoint.output
}

output "model" {
  value = module.model.path
}
