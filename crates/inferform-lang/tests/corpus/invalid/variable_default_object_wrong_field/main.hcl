variable "scale" {
  type = object({ min = number, max = number })
  default = {
    min = 0
    max = [4]
  }
}
