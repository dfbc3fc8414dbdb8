variable "env" {
  default = "dev"
}

locals {
  replicas = var.env + 1
}
