variable "name" {
  type = string
}

variable "replicas" {
  type    = number
  default = 1
}

resource "inferform_data" "this" {
  input = "${var.name} x${var.replicas}"
}
