variable "state_schema" {
  type    = string
  default = "inference_state"
}

inferform {
  backend "pg" {
    schema_name = var.state_shema
  }
}

resource "inferform_data" "a" {
  input = "x"
}
