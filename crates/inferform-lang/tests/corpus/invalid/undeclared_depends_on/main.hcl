resource "inferform_data" "a" {
  depends_on = [inferform_data.setup]
}
