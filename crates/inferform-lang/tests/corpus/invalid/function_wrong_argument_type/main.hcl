locals {
  names = join(",", "a,b")
}
