locals {
  zones = ["a", "b"]
  label = "zones: ${local.zones}"
}
