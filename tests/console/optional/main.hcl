variable "service" {
  type = object({
    name     = string
    replicas = optional(number, 1)
    tags     = optional(list(string))
    limits = optional(object({
      cpu    = optional(number, 2)
      memory = optional(string, "4Gi")
    }), {})
  })
  default = {
    name = "chat"
  }
}

variable "pools" {
  type = map(object({
    size  = optional(number, 3)
    zones = optional(set(string), ["a"])
    gpu   = optional(bool)
  }))
  default = {
    small = {}
    big   = { size = 10, gpu = true }
  }
}

variable "nested" {
  type = list(object({
    name = string
    spec = optional(object({
      image = optional(string, "llm:latest")
      env   = optional(map(string), {})
    }))
  }))
  default = [
    { name = "a" },
    { name = "b", spec = {} },
    { name = "c", spec = { image = "x", env = { K = "v" } } },
  ]
}

variable "nullable_default" {
  type = object({
    a = optional(string, "d")
  })
  default = {
    a = null
  }
}
