variable "prefix" {
  type = string
}

variable "name" {
  type = string
}

resource "inferform_data" "model" {
  input = "${var.prefix}/${var.name}"
}

output "path" {
  value = inferform_data.model.output
}
