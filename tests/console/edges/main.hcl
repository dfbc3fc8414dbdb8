locals {
  word = "key"
  objs = [{ name = "a" }, { name = "b" }]
  list = ["x", "y"]
}
