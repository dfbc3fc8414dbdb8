# Variables of every type, each with a default and a validation.

variable "env" {
  type        = string
  default     = "dev"
  description = "Deployment environment."
  validation {
    condition     = contains(["dev", "staging", "prod"], var.env)
    error_message = "env must be dev, staging or prod."
  }
}

variable "replicas" {
  type    = number
  default = 2
  validation {
    condition     = var.replicas >= 1 && var.replicas <= 8
    error_message = "replicas must be between 1 and 8."
  }
}

variable "public" {
  type    = bool
  default = false
  validation {
    condition     = !var.public || var.env == "prod"
    error_message = "only prod may be public."
  }
}

variable "zones" {
  type    = list(string)
  default = ["cn-southwest-2a", "cn-southwest-2b"]
  validation {
    condition     = length(var.zones) > 0
    error_message = "at least one zone."
  }
}

variable "ports" {
  type    = set(number)
  default = [8080, 8443, 8080]
  validation {
    condition     = length(var.ports) == 2
    error_message = "unreachable."
  }
}

variable "labels" {
  type    = map(string)
  default = { team = "inference", cost_center = "42" }
  validation {
    condition     = can(var.labels["team"])
    error_message = "labels need a team."
  }
}

variable "scale" {
  type = object({
    min = number
    max = number
  })
  default = { min = 0, max = 3 }
  validation {
    condition     = var.scale.min <= var.scale.max
    error_message = "min must not exceed max."
  }
}

variable "pair" {
  type    = tuple([string, string])
  default = ["a", "b"]
  validation {
    condition     = length(var.pair) == 2
    error_message = "a pair has two elements."
  }
}

variable "anything" {
  type    = any
  default = { nested = [1, 2, { deep = true }] }
  validation {
    condition     = try(var.anything.nested[2].deep, false)
    error_message = "must be deep."
  }
}

variable "untyped" {
  default = "no type given"
}

variable "token" {
  type      = string
  default   = "s3cret"
  sensitive = true
}

variable "optional_note" {
  type     = string
  default  = null
  nullable = true
}

resource "inferform_data" "settings" {
  input = {
    env      = var.env
    replicas = var.replicas
    public   = var.public
    zones    = var.zones
    ports    = var.ports
    labels   = var.labels
    scale    = var.scale
    pair     = var.pair
    anything = var.anything
    untyped  = var.untyped
    note     = var.optional_note
  }
}

resource "inferform_data" "secret" {
  input = var.token
}

output "replicas" {
  value = var.replicas
}

output "token" {
  value     = var.token
  sensitive = true
}
