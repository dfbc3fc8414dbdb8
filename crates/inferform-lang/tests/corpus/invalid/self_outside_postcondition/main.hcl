resource "inferform_data" "a" {
  input = 1

  lifecycle {
    precondition {
      condition     = self.input > 0
      error_message = "positive"
    }
  }
}
