resource "inferform_data" "a" {}

resource "inferform_data" "b" {
  depends_on = [inferform_data.a.id, "inferform_data.a"]
}
