variable "a" {
  type = "string"
}
variable "b" {
  type = "list"
}
variable "c" {
  type = "map"
}
variable "d" {
  type = list
}
variable "e" {
  type = map
}
variable "f" {
  type = set
}
variable "g" {
  type = list(string)
  default = ["a"]
}
variable "h" {
  type = "number"
}
variable "i" {
  type = object({
  name = string
    size = number
  })
  validation {
    condition = "${length(var.i.name) > 0}"
    error_message = "The name must not be empty."
  }
}
resource "inferform_data" "t" {
  type = "string"
  input = list
}
