# The terraform spelling of the settings block, as brought from Terraform: required_version
# and required_providers are accepted; the backend's arguments are checked.
terraform {
  required_version = ">= 1.6"
  required_providers {
    fabric = {
      source = "example/fabric"
    }
  }

  backend "pg" {
    conn_str = "postgres://db.internal/infra"
    schema   = "inference_state"
  }
}

resource "inferform_data" "a" {
  input = "x"
}
