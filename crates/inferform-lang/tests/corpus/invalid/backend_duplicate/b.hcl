terraform {
  backend "pg" {
    schema_name = "inference_state"
  }
}

resource "inferform_data" "a" {
  input = "x"
}
