inferform {
  backend "pg" {
    schema_name = "state_${inferform_data.env.output}"
  }
}

resource "inferform_data" "env" {
  input = "prod"
}
