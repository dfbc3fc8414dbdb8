resource "inferform_data" "shared" {
  input = 1
}
