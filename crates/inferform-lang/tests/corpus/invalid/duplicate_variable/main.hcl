variable "env" {
  default = "dev"
}

variable "env" {
  default = "prod"
}
