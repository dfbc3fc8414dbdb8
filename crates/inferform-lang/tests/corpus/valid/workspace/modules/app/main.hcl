# Files brought from Terraform say terraform.workspace.
resource "inferform_data" "app" {
  input = {
    name    = "app-${terraform.workspace}"
    is_prod = terraform.workspace == "prod"
  }
}

output "name" {
  value = inferform_data.app.input.name
}
