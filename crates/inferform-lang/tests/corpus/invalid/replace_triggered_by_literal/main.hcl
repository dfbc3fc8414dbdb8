resource "inferform_data" "a" {
  lifecycle {
    replace_triggered_by = ["inferform_data.b"]
  }
}
