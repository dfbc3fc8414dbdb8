resource "inferform_data" "a" {
  count = -1
}
