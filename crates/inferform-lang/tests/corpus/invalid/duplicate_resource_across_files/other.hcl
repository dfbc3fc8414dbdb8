resource "inferform_data" "shared" {
  input = 2
}
