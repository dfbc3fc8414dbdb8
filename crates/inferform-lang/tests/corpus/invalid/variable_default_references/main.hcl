variable "region" {
  default = "cn-southwest-2"
}

variable "zone" {
  default = "${var.region}a"
}
