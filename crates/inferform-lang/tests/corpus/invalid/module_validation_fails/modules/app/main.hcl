variable "name" {
  type = string
  validation {
    condition     = length(var.name) <= 16
    error_message = "a name has at most 16 characters."
  }
}

resource "inferform_data" "this" {
  input = var.name
}
