resource "inferform_data" {
  input = 1
}
