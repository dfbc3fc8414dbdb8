resource "inferform_data" "a" {
  input = 1

  lifecycle {
    precondition {
      condition = true
    }
  }
}
