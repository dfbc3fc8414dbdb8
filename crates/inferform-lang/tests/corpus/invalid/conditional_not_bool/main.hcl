locals {
  size = "large" ? 8 : 1
}
