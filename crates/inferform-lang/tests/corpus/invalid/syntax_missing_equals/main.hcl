resource "inferform_data" "a" {
  input "x"
}
