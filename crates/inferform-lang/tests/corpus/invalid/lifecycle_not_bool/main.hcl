resource "inferform_data" "a" {
  lifecycle {
    create_before_destroy = "yes"
  }
}
