resource "inferform_data" "a" {
  lifecycle {
    prevent_destory = true
  }
}
