variable "index" {
  type = number
}

variable "label" {
  type    = string
  default = "worker"
}

resource "inferform_data" "this" {
  input = "${var.label}-${var.index}"
}

output "name" {
  value = inferform_data.this.output
}
