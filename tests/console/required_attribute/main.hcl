# A default that leaves out a required attribute: Terraform refuses the configuration.
variable "shape" {
  type = object({
    name = string
    size = number
  })
  default = {
    name = "x"
  }
}
