variable "name" {
  type = string
}

variable "max_units" {
  type    = number
  default = 1
}

resource "inferform_data" "this" {
  input = {
    name      = var.name
    max_units = var.max_units
  }
}
