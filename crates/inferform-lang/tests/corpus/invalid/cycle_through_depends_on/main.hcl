resource "inferform_data" "a" {
  depends_on = [inferform_data.b]
}

resource "inferform_data" "b" {
  input = local.from_a
}

locals {
  from_a = inferform_data.a.id
}
