# Modules: one stamped out with for_each, one with count, a nested module, module outputs
# read by the root (a splat and a for expression), defaults, and depends_on a module.

variable "environments" {
  type = map(object({
    replicas = number
  }))
  default = {
    dev  = { replicas = 1 }
    prod = { replicas = 2 }
  }
}

module "env" {
  source   = "./modules/stack"
  for_each = var.environments

  name     = each.key
  replicas = each.value.replicas
}

module "worker" {
  source = "./modules/worker"
  count  = 2

  index = count.index
}

resource "inferform_data" "summary" {
  depends_on = [module.worker]
  input = {
    workers   = module.worker[*].name
    dev_model = module.env["dev"].model
  }
}

output "worker_names" {
  value = module.worker[*].name
}

output "endpoints" {
  value = { for name, env in module.env : name => env.endpoint }
}
