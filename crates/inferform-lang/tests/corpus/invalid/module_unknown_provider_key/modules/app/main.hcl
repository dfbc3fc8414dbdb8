resource "inferform_data" "x" {
  input = "x"
}
