locals {
  config = jsondecode("{not json")
}
