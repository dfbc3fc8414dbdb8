variable "env" {
  type = strin
}
