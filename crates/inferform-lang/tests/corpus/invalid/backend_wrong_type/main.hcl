# Found when the arguments are evaluated, with the variables' values.
variable "create_schema" {
  type    = string
  default = "sometimes"
}

inferform {
  backend "pg" {
    schema_name          = "inference_state"
    skip_schema_creation = var.create_schema
  }
}

resource "inferform_data" "a" {
  input = "x"
}
