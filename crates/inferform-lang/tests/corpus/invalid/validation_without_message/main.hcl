variable "env" {
  type    = string
  default = "dev"
  validation {
    condition = length(var.env) > 0
  }
}
