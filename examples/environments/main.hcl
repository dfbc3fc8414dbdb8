# Several environments from one reusable module. Each entry of `environments` becomes a
# module instance, `module.env["dev"]`, `module.env["prod"]`, with its own workspace,
# endpoint, model and service instance. Try it with no account against the local cloud:
#
#   inferform -C examples/environments apply --local-cloud --auto-approve

provider "fabric" {
  region = "cn-southwest-2" # credentials from HW_ACCESS_KEY / HW_SECRET_KEY
}

variable "environments" {
  description = "The environments to run, by name: how far each endpoint may scale."
  type = map(object({
    max_units = number
    model     = string
  }))
  default = {
    dev = {
      max_units = 1
      model     = "llama3-8b"
    }
    prod = {
      max_units = 4
      model     = "llama3-70b"
    }
  }
}

module "env" {
  source   = "./modules/inference-stack"
  for_each = var.environments

  name      = each.key
  max_units = each.value.max_units
  model     = each.value.model
}
