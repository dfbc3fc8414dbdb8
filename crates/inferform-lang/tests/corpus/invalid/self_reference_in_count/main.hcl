resource "inferform_data" "a" {
  count = length(inferform_data.a)
}
