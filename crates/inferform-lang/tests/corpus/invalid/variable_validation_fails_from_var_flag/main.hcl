variable "name" {
  type    = string
  default = "chat"
  validation {
    condition     = length(var.name) <= 8
    error_message = "name must be at most 8 characters."
  }
}
