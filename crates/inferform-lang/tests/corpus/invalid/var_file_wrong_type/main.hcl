variable "zones" {
  type    = list(string)
  default = []
}
