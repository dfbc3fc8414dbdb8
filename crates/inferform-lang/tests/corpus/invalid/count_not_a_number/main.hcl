resource "inferform_data" "a" {
  count = "two"
}
