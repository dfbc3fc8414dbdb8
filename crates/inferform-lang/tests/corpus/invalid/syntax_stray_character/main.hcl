resource "inferform_data" "a" {
  input = @value
}
