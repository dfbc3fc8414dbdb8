variable "replicas" {
  type = number
  validation {
    condition     = var.replicas >= 1 && var.replicas <= 8
    error_message = "replicas must be between 1 and 8."
  }
}
