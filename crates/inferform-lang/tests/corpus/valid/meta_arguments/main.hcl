# count, for_each over maps and sets, depends_on, lifecycle, timeouts and provider aliases.

provider "inferform" {
  alias = "secondary"
}

variable "regions" {
  type = map(object({
    replicas = number
  }))
  default = {
    "cn-southwest-2" = { replicas = 2 }
    "cn-north-4"     = { replicas = 1 }
  }
}

resource "inferform_data" "base" {
  input = "base"

  timeouts {
    create = "30s"
    update = "10m"
    delete = "1h30m"
  }

  lifecycle {
    create_before_destroy = true
    prevent_destroy       = false
    ignore_changes        = [triggers_replace]
  }
}

resource "inferform_data" "replica" {
  count = 3
  input = "replica-${count.index}-of-${inferform_data.base.input}"
}

resource "inferform_data" "per_region" {
  for_each = var.regions
  input    = "${each.key}: ${each.value.replicas}"
}

resource "inferform_data" "per_zone" {
  for_each = toset(["a", "b", "a"])
  input    = "zone-${each.value}"
}

resource "inferform_data" "last" {
  provider   = inferform.secondary
  depends_on = [inferform_data.replica, inferform_data.per_region]
  input      = length(inferform_data.replica)
  triggers_replace = [
    inferform_data.per_zone["a"].input,
    inferform_data.replica[0].input,
  ]

  lifecycle {
    replace_triggered_by = [inferform_data.base]
  }
}

output "replica_inputs" {
  value = inferform_data.replica[*].input
}

output "regions" {
  value = { for k, r in inferform_data.per_region : k => r.input }
}
