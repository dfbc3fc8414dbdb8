resource "inferform_data" "a" {
  input = lenght(["a", "b"])
}
