resource "inferform_data" "a" {
  input = inferform_data.b.output
}

resource "inferform_data" "b" {
  input = inferform_data.a.output
}
