resource "inferform_data" "a" {
  input = each.value
}
