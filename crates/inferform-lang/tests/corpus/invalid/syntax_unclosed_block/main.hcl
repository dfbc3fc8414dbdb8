resource "inferform_data" "a" {
  input = "x"

resource "inferform_data" "b" {
  input = "y"
}
