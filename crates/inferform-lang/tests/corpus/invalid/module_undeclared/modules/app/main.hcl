resource "inferform_data" "this" {
  input = "app"
}

output "id" {
  value = inferform_data.this.id
}
