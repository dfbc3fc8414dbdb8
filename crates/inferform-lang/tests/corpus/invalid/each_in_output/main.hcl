resource "inferform_data" "a" {
  for_each = toset(["x", "y"])
  input    = each.key
}

output "key" {
  value = each.key
}
