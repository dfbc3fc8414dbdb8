variable "tags" {
  type = list(string, number)
}
