variable "name" {
  type = string
}

variable "model" {
  type        = string
  description = "The base model to serve."
}

resource "inferform_data" "this" {
  input = "${var.name}: ${var.model}"
}
