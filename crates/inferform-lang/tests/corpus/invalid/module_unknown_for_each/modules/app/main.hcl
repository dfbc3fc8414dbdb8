variable "name" {
  type = string
}

resource "inferform_data" "this" {
  input = var.name
}
