variable "env" {
  default = "dev"
}

locals {
  name = "llm-${var.env"
}
