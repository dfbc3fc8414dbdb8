variable "env" {
  default = "dev"
  validation {
    condition     = var.env
    error_message = "env must be set."
  }
}
