variable "names" {
  type    = list(string)
  default = ["b", "a", "b"]
}

locals {
  word  = "key"
  list  = ["x", "y"]
  nums  = [3, 1, 2]
  map   = { a = 1, b = 2 }
  empty = []
}
