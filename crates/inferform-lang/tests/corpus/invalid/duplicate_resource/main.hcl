resource "inferform_data" "a" {
  input = 1
}

resource "inferform_data" "a" {
  input = 2
}
