# A local the backend uses may read variables and other locals only, however deep.
variable "team" {
  type    = string
  default = "ml"
}

locals {
  env    = inferform_data.env.output
  schema = "${var.team}_${local.env}"
}

inferform {
  backend "pg" {
    schema_name = local.schema
  }
}

resource "inferform_data" "env" {
  input = "prod"
}
