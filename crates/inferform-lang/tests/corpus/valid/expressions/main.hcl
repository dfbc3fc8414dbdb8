# Templates, heredocs, for-expressions, splats, conditionals and operators.

variable "env" {
  type    = string
  default = "staging"
}

variable "models" {
  type = map(object({
    size = number
    tags = list(string)
  }))
  default = {
    llama = { size = 8, tags = ["chat", "en"] }
    qwen  = { size = 14, tags = ["chat", "zh"] }
    phi   = { size = 3, tags = [] }
  }
}

locals {
  prefix     = "llm-${var.env}"
  escaped    = "literal $${not_interpolated} and %%{not_a_directive}"
  is_prod    = var.env == "prod"
  replicas   = local.is_prod ? 4 : 1
  tier       = var.env == "prod" ? "gold" : var.env == "staging" ? "silver" : "bronze"
  arithmetic = (7 + 3) * 2 / 4 - 10 % 3
  logic      = !local.is_prod && (1 < 2 || false) && 3 >= 3 && 2 <= 5 && 1 != 2
  negative   = -local.replicas

  names      = [for name, m in var.models : name]
  big        = [for name, m in var.models : upper(name) if m.size > 5]
  by_size    = { for name, m in var.models : name => m.size }
  grouped    = { for name, m in var.models : (m.size > 5 ? "large" : "small") => name... }
  sizes      = [for m in values(var.models) : m.size]
  tag_lists  = values(var.models)[*].tags
  first_tags = [for m in values(var.models) : m.tags][0]
  objects    = [{ id = "a", port = 80 }, { id = "b", port = 443 }]
  ports      = local.objects[*].port
  ids        = local.objects.*.id
  nested     = { a = { b = ["x", "y", "z"] } }
  indexed    = local.nested.a.b[2]
  keyed      = local.nested["a"]["b"][0]

  banner = <<EOT
Environment: ${var.env}
Replicas:    ${local.replicas}
EOT

  indented = <<-EOT
    models:
    %{~ for name in local.names }
      - ${name}
    %{~ endfor }
    tier: %{ if local.is_prod }gold%{ else }${local.tier}%{ endif }
  EOT

  inline_list = "%{ for i, n in local.names }${i > 0 ? ", " : ""}${n}%{ endfor }"
}

resource "inferform_data" "expressions" {
  input = {
    prefix      = local.prefix
    escaped     = local.escaped
    replicas    = local.replicas
    tier        = local.tier
    arithmetic  = local.arithmetic
    logic       = local.logic
    negative    = local.negative
    names       = local.names
    big         = local.big
    by_size     = local.by_size
    grouped     = local.grouped
    sizes       = local.sizes
    tag_lists   = local.tag_lists
    first_tags  = local.first_tags
    ports       = local.ports
    ids         = local.ids
    indexed     = local.indexed
    keyed       = local.keyed
    banner      = local.banner
    indented    = local.indented
    inline_list = local.inline_list
  }
}

output "summary" {
  value = "${local.prefix}: ${length(local.names)} models, ${local.replicas} replica(s)"
}
