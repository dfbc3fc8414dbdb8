variable "env" {
  type = string
}

resource "inferform_data" "a" {
  input = var.env
}
